"""Cache blocking for the numpy kernels: one step processed in slices along the last axis.

A built-in numpy kernel makes several passes over its arrays per step (one per ufunc call, see
:mod:`optrun.optimizers.transforms`). When the arrays are larger than the cache, every pass
streams from main memory and the step costs (passes / minimal traffic) times the memory roof.
:func:`blocked` calls the same ``update`` on slices ``[..., a:b]`` of ``g``, ``x`` and every state
array shaped like ``x``, so that the passes of one slice re-read data still in L2 and only the
first touch of each array goes to main memory. This is loop tiling (Wolf & Lam, "A data locality
optimizing algorithm", PLDI 1991) applied to a chain of elementwise loops.

Why the result is bit-identical to the unblocked kernel: every built-in kernel is elementwise
along the last axis (element ``j`` of the step and of the new state depends only on element
``j`` of ``g``, ``x`` and the state, on ``t`` and on the hyperparameters), and each element goes
through exactly the same sequence of ufuncs in the same order; slicing changes only which
elements a call covers. Hyperparameters of shape ``(S, 1)`` broadcast against ``(S, b - a)``
slices as against the whole array. State fields not shaped like ``x`` (NAdam's running product
of shape ``(S, 1)``) are updated once per step by the kernel, so they are restored to their
value at the start of the step before every slice after the first: each slice sees the state
the whole-array call would have seen, and all slices leave the same value behind.

Blocking pays only when the arrays of one step no longer fit in the caches; below
:data:`MIN_ELEMENTS` elements (measured, see the benchmarks) the wrapper calls ``update`` once.

Above it, the slices are shared among threads (:mod:`optrun.threads`): contiguous groups of
slices, one group per thread, each thread running the same ``update`` on its own slices. numpy
releases the GIL inside each ufunc loop, so the threads compute at once and only the few
microseconds of Python per call take turns. Slices are disjoint and elementwise, so results are
bit-identical to one thread. A kernel with a state field not shaped like ``x`` (NAdam's running
product, restored before each slice) stays on one thread; so does the first step of a wrapper
(it finds which state field is the step).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..threads import available, team
from .base import Optimizer

#: elements of one slice (all members together): 64K float64 = 512 KiB per array, so the 5-8
#: arrays a kernel touches per slice stay in L2 and L3 (measured at d = 1e6 and 1e7: 2**15-2**18
#: are within the noise of each other; 2**13-2**14 pay too much Python per slice)
BLOCK_ELEMENTS = 1 << 16
#: below this many elements per array a step is not blocked (its arrays mostly fit in cache)
MIN_ELEMENTS = 1 << 19


def blocked(optimizer: Optimizer, block: int = BLOCK_ELEMENTS,
            min_elements: int = MIN_ELEMENTS, min_width: int = 1024) -> Optimizer:
    """``optimizer`` with each step computed in slices of about ``block`` elements (module doc).

    Requires an elementwise kernel whose state is a NamedTuple (or tuple) of arrays updated in
    place and whose ``update`` returns that same state object; anything else (a state the kernel
    replaces, a nested state) is run unblocked. Steps of fewer than ``min_elements`` elements per
    array are run unblocked too, and a slice is at least ``min_width`` columns wide (many members
    with few coordinates each are not worth slicing). Results are bit-identical to ``optimizer``
    either way.

    The result also has the fused ``apply`` the runner prefers: each slice's step is added into
    ``x`` while it is in cache, and the squared norms are ``vecdot(step, step)`` over whole rows,
    the very call the runner makes after ``update``, so they are the same bits too.
    """
    init, update = optimizer[0], optimizer[1]  # a fused apply, if any, is not blocked
    cache: dict[Any, Any] = {}

    def plan(state: Any, x: np.ndarray) -> _Plan | None:
        if not isinstance(state, tuple) or not all(isinstance(f, np.ndarray) for f in state):
            return None
        S = int(np.prod(x.shape[:-1], dtype=np.int64))
        d = x.shape[-1]
        width = max(min_width, block // max(S, 1), 1)
        if x.size < min_elements or d < 2 * width:
            return None
        return _Plan(state, x, width)

    def step_in_slices(g: np.ndarray, state: Any, x: np.ndarray, t: int, add: bool) -> Any:
        """The step in slices (``add``: each slice's step also added into ``x``); the step array,
        or None when this step cannot be blocked (the caller then runs it whole)."""
        if cache.get("state") is not state or cache.get("x") is not x:
            cache.clear()
            cache.update(state=state, x=x, plan=plan(state, x))
        pl = cache["plan"]
        if pl is None:
            return None
        n = min(available(), len(pl.parts)) if pl.step_field is not None else 1
        err = np.geterr()  # numpy's error state is per thread: the helpers take the caller's
        if n > 1:  # contiguous groups of slices, one per thread (module doc)
            groups = pl.groups(n)
            team(len(groups)).run(_run_slices, [(update, g, t, grp, err, add) for grp in groups])
            pl.settle(groups[0])
        else:
            pl.save_start()
            a, b, st, xb = pl.parts[0]
            step = pl.find_step(update(g[..., a:b], st, xb, t))
            if add:
                np.add(xb, step, out=xb)
            _run_slices(update, g, t, pl.parts[1:], err, add, pl.small)
        return state[pl.step_field]

    def blocked_update(g: np.ndarray, state: Any, x: np.ndarray, t: int):
        step = step_in_slices(g, state, x, t, add=False)
        return update(g, state, x, t) if step is None else (step, state)

    def blocked_apply(g: np.ndarray, state: Any, x: np.ndarray, t: int, step_sq: np.ndarray):
        step = step_in_slices(g, state, x, t, add=True)
        if step is None:  # as the runner does with update
            step, state = update(g, state, x, t)
            np.add(x, step, out=x)
        np.vecdot(step, step, out=step_sq)
        return state

    return Optimizer(init, blocked_update, blocked_apply)


_REPLACED = "blocked(): the kernel's update returned a new state"


class _Plan:
    """The slices of one state and ``x``: ``parts`` = ``(a, b, state slice, x slice)``."""

    def __init__(self, state: Any, x: np.ndarray, width: int):
        d = x.shape[-1]
        self.state, self.x = state, x
        self.make = type(state)._make if hasattr(state, "_fields") else type(state)
        #: fields not shaped like x (NAdam's running product): the kernel updates them once per
        #: call, so each slice must start from their value at the start of the step
        self.small_fields = [k for k, f in enumerate(state) if f.shape != x.shape]
        self.start = {k: np.empty_like(state[k]) for k in self.small_fields}
        self.small = [(state[k], self.start[k]) for k in self.small_fields]
        self.parts = [(a, min(d, a + width), self._slice(state, a, min(d, a + width)), x[..., a:min(d, a + width)])
                      for a in range(0, d, width)]
        self.step_field: int | None = None
        self._groups: dict[int, list] = {}

    def _slice(self, fields: Any, a: int, b: int, own: dict | None = None) -> Any:
        return self.make([own[k] if own and k in own else f[..., a:b] if f.shape == self.x.shape else f
                          for k, f in enumerate(fields)])

    def save_start(self) -> None:
        """Keep the small fields' values at the start of the step (restored before each slice)."""
        for f, start in self.small:
            np.copyto(start, f)

    def find_step(self, result: tuple) -> np.ndarray:
        """The step of the first slice's ``update`` result (and which state field holds it)."""
        step, st = result
        if st is not self.parts[0][2]:  # the kernel replaced its state: cannot be blocked
            raise RuntimeError(_REPLACED)
        if self.step_field is None:
            k = next((k for k, f in enumerate(st) if f is step), -1)
            if k < 0:
                raise RuntimeError("blocked(): the kernel's step is not a field of its state")
            self.step_field = k
        return step

    def groups(self, n: int) -> list[list]:
        """``n`` contiguous groups of parts; with small fields, each group works on its own copy."""
        out = self._groups.get(n)
        if out is None:
            k = -(-len(self.parts) // n)
            out = []
            for i in range(0, len(self.parts), k):
                own = {f: np.empty_like(self.state[f]) for f in self.small_fields}
                out.append((own, [(a, b, self._slice(self.state, a, b, own) if own else st, xb)
                                  for a, b, st, xb in self.parts[i:i + k]]))
            self._groups[n] = out
        for own, _ in out:  # every group starts from the step's starting values
            for f, arr in own.items():
                np.copyto(arr, self.state[f])
        return out

    def settle(self, group: tuple) -> None:
        """After a threaded step: the small fields take the value every group computed."""
        for f, arr in group[0].items():
            np.copyto(self.state[f], arr)


def _run_slices(update: Any, g: np.ndarray, t: int, parts: Any, err: dict, add: bool,
                small: list | None = None) -> None:
    """One thread's share of a blocked step: ``update`` on each of its slices, in order, each
    slice's step added into its slice of ``x`` when ``add``. ``parts`` is a list of slices, or
    a group ``(own small fields, slices)`` (see :meth:`_Plan.groups`)."""
    if isinstance(parts, tuple):
        own, parts = parts
        small = [(arr, arr.copy()) for arr in own.values()]
    with np.errstate(**err):
        for a, b, st, xb in parts:
            for arr, start in small or ():
                np.copyto(arr, start)
            step, st_out = update(g[..., a:b], st, xb, t)
            if st_out is not st:
                raise RuntimeError(_REPLACED)
            if add:
                np.add(xb, step, out=xb)
