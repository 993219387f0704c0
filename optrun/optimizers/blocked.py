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

A state's ``SCRATCH`` fields (a class attribute naming the buffers every step writes before
it reads them: ``tmp``, ``geff``...) are not sliced: all slices use one buffer of a slice's size
per field, which stays in cache, where slices of the d-sized field would each be written back
to memory (about 2 arrays of traffic per scratch field and step). The d-sized fields in the
state are then left as ``init`` made them. Only what a step writes before reading may be shared,
so the results are the same bits.

Blocking pays only when the arrays of one step no longer fit in the caches; below
:data:`MIN_ELEMENTS` elements (measured, see the benchmarks) the wrapper calls ``update`` once.

Threads. Given ``threads`` (:mod:`optrun.threads`), a step of at least
:data:`PARALLEL_MIN_ELEMENTS` elements shares its slices among the team (``OPTRUN_THREADS`` as for
the numba backend; ``1``: the calling thread only): one contiguous group of slices per thread,
each group with its own slice-sized scratch and its own copy of the state fields not shaped like
``x``, restored before each slice from their value at the start of the step, exactly as on one
thread. numpy releases the GIL inside each ufunc loop, so the threads compute at once. Every
element goes through the same calls as on one thread, and the first group writes the state's own
small fields, which end the step with the value every slice leaves: the results are the same
bits whatever the thread count. The first step of a wrapper runs on one thread (it finds which
state field is the step). The numpy backend (:func:`optrun.backends.build_variant`) passes no
``threads``: in five interleaved measurements at d = 1e7 (benchmarks/results/issue16-numpy2.md;
``benchmarks/bench_kernels.py`` measures it on every run) two threads took 0.77-1.21x the time of
one, the compute-bound variants (AdaGrad, RMSProp, Adadelta, Adam) 0.91-1.16x, while a
compute-bound loop split over the same two threads in the same rounds ran at a median 0.97x of
its one-thread speed (the second core held by other processes): no gain could be shown.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Optimizer

#: elements of one slice (all members together): 64K float64 = 512 KiB per array, so the 5-8
#: arrays a kernel touches per slice stay in L2 and L3 (measured at d = 1e6 and 1e7: 2**15-2**18
#: are within the noise of each other; 2**13-2**14 pay too much Python per slice)
BLOCK_ELEMENTS = 1 << 16
#: below this many elements per array a step is not blocked (its arrays mostly fit in cache)
MIN_ELEMENTS = 1 << 19
#: from this many elements per array a blocked step given ``threads`` shares its slices among them
PARALLEL_MIN_ELEMENTS = 1 << 20


def blocked(
    optimizer: Optimizer,
    block: int = BLOCK_ELEMENTS,
    min_elements: int = MIN_ELEMENTS,
    min_width: int = 1024,
    threads: Any = None,
    parallel_min: int | None = None,
) -> Optimizer:
    """``optimizer`` with each step computed in slices of about ``block`` elements (module doc).

    Requires an elementwise kernel whose state is a NamedTuple (or tuple) of arrays updated in
    place and whose ``update`` returns that same state object; anything else (a state the kernel
    replaces, a nested state) is run unblocked. Steps of fewer than ``min_elements`` elements per
    array are run unblocked too, and a slice is at least ``min_width`` columns wide (many members
    with few coordinates each are not worth slicing). Given ``threads`` (:mod:`optrun.threads`,
    or anything with its ``available()`` and ``team(n)``), steps of at least ``parallel_min``
    elements (None: :data:`PARALLEL_MIN_ELEMENTS` when the step is first planned) share their
    slices among ``available()`` threads. Results are bit-identical to ``optimizer`` either way.
    """
    init, update = optimizer[0], optimizer[1]  # a fused apply, if any, is not blocked
    cache: dict[str, Any] = {}

    def blocked_update(g: np.ndarray, state: Any, x: np.ndarray, t: int):
        if cache.get("state") is not state or cache.get("x") is not x:
            cache.clear()
            width = max(min_width, block // max(int(np.prod(x.shape[:-1], dtype=np.int64)), 1), 1)
            ok = isinstance(state, tuple) and all(isinstance(f, np.ndarray) for f in state)
            sliced = ok and x.size >= min_elements and x.shape[-1] >= 2 * width
            cache.update(state=state, x=x, plan=Plan(state, x, width) if sliced else None)
            limit = PARALLEL_MIN_ELEMENTS if parallel_min is None else parallel_min
            cache["parallel"] = threads is not None and x.size >= limit
        pl = cache["plan"]
        if pl is None:
            return update(g, state, x, t)
        n = min(threads.available(), len(pl.parts)) if cache["parallel"] and pl.step_field is not None else 1
        pl.save_start()
        err = np.geterr()  # numpy's error state is per thread: the helpers take the caller's
        if n > 1:
            threads.team(n).run(
                run_slices, [(update, g, t, parts, small, err) for small, parts in pl.groups(n)]
            )
        else:
            a, b, st, xb = pl.parts[0]
            pl.find_step(update(g[..., a:b], st, xb, t), st)
            run_slices(update, g, t, pl.parts[1:], pl.small, None)
        return state[pl.step_field], state

    return Optimizer(init, blocked_update)


_REPLACED = "blocked(): the kernel's update returned a new state"


class Plan:
    """The slices of one state and ``x``: ``parts`` = ``(a, b, state slice, x slice)`` (one
    thread), and per thread count the groups of slices each thread runs (:meth:`groups`)."""

    def __init__(self, state: Any, x: np.ndarray, width: int):
        self.state, self.x, self.width = state, x, width
        self.make = type(state)._make if hasattr(state, "_fields") else type(state)
        names = getattr(state, "_fields", ())
        scratch = set(getattr(type(state), "SCRATCH", ()))
        #: d-sized fields every step writes before reading: one slice-sized buffer each (module doc)
        self.scratch = [
            k for k, f in enumerate(state) if k < len(names) and names[k] in scratch and f.shape == x.shape
        ]
        #: fields not shaped like x (NAdam's running product): restored before each slice
        self.small_fields = [k for k, f in enumerate(state) if f.shape != x.shape]
        self.start = [state[k].copy() for k in self.small_fields]
        self.small = [(state[k], s) for k, s in zip(self.small_fields, self.start)]
        self.parts = self.slices(0, x.shape[-1], {})
        self.step_field: int | None = None
        self._groups: dict[int, list] = {}

    def slices(self, lo: int, hi: int, own: dict[int, np.ndarray]) -> list[tuple[int, int, Any, np.ndarray]]:
        """The slices of columns ``[lo, hi)``; fields in ``own`` replaced by those arrays, and
        scratch fields by one slice-sized buffer shared by these slices."""
        x, w = self.x, self.width
        shared = {k: np.empty(x.shape[:-1] + (w,), dtype=self.state[k].dtype) for k in self.scratch}
        whole = {k: own.get(k, self.state[k]) for k in self.small_fields}  # not sliced
        parts = []
        for a in range(lo, hi, w):
            b = min(hi, a + w)
            fields = [
                whole[k] if k in whole else shared[k][..., : b - a] if k in shared else f[..., a:b]
                for k, f in enumerate(self.state)
            ]
            parts.append((a, b, self.make(fields), x[..., a:b]))
        return parts

    def save_start(self) -> None:
        """Keep the small fields' values at the start of the step (restored before each slice)."""
        for f, start in self.small:
            np.copyto(start, f)

    def find_step(self, result: tuple, st: Any) -> None:
        """Check the first slice's ``update`` result and find which state field is the step."""
        step, st_out = result
        if st_out is not st:  # the kernel replaced its state: cannot be blocked
            raise RuntimeError(_REPLACED)
        if self.step_field is None:
            k = next((k for k, f in enumerate(st) if f is step), -1)
            if k < 0:
                raise RuntimeError("blocked(): the kernel's step is not a field of its state")
            self.step_field = k

    def groups(self, n: int) -> list[tuple[list, list]]:
        """``n`` contiguous groups of whole slices, each ``(small, parts)``: the first works on the
        state's own small fields and the one-thread scratch, the others on their own copies."""
        out = self._groups.get(n)
        if out is None:
            k = -(-len(self.parts) // n)
            out = [(self.small, self.parts[:k])]
            for i in range(k, len(self.parts), k):
                own = {f: self.state[f].copy() for f in self.small_fields}
                lo, hi = self.parts[i][0], self.parts[min(i + k, len(self.parts)) - 1][1]
                out.append(
                    ([(own[f], s) for f, s in zip(self.small_fields, self.start)], self.slices(lo, hi, own))
                )
            self._groups[n] = out
        return out


def run_slices(update: Any, g: np.ndarray, t: int, parts: list, small: list, err: dict | None) -> None:
    """One thread's share of a blocked step: ``update`` on each of its slices in order, the small
    fields restored to their start values before each (``small``: ``(field, start)`` pairs); in
    numpy error state ``err`` (None: the thread's own)."""
    if err is not None:
        with np.errstate(**err):
            run_slices(update, g, t, parts, small, None)
        return
    for a, b, st, xb in parts:
        for f, start in small:
            np.copyto(f, start)
        if update(g[..., a:b], st, xb, t)[1] is not st:
            raise RuntimeError(_REPLACED)
