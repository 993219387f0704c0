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


def blocked(
    optimizer: Optimizer, block: int = BLOCK_ELEMENTS, min_elements: int = MIN_ELEMENTS, min_width: int = 1024
) -> Optimizer:
    """``optimizer`` with each step computed in slices of about ``block`` elements (module doc).

    Requires an elementwise kernel whose state is a NamedTuple (or tuple) of arrays updated in
    place and whose ``update`` returns that same state object; anything else (a state the kernel
    replaces, a nested state) is run unblocked. Steps of fewer than ``min_elements`` elements per
    array are run unblocked too, and a slice is at least ``min_width`` columns wide (many members
    with few coordinates each are not worth slicing). Results are bit-identical to ``optimizer``
    either way.
    """
    init, update = optimizer[0], optimizer[1]  # a fused apply, if any, is not blocked
    cache: dict[str, Any] = {}

    def plan(state: Any, x: np.ndarray) -> list[tuple[int, int, Any, np.ndarray]] | None:
        if not isinstance(state, tuple) or not all(isinstance(f, np.ndarray) for f in state):
            return None
        S = int(np.prod(x.shape[:-1], dtype=np.int64))
        d = x.shape[-1]
        width = max(min_width, block // max(S, 1), 1)
        if x.size < min_elements or d < 2 * width:
            return None
        make = type(state)._make if hasattr(state, "_fields") else type(state)
        names = getattr(state, "_fields", ())
        scratch = set(getattr(type(state), "SCRATCH", ()))
        # one slice-sized buffer per scratch field, shared by the slices (module doc)
        shared = {
            k: np.empty(x.shape[:-1] + (width,), dtype=f.dtype)
            for k, f in enumerate(state)
            if k < len(names) and names[k] in scratch and f.shape == x.shape
        }
        parts = []
        for a in range(0, d, width):
            b = min(d, a + width)
            fields = [
                shared[k][..., : b - a] if k in shared else f[..., a:b] if f.shape == x.shape else f
                for k, f in enumerate(state)
            ]
            parts.append((a, b, make(fields), x[..., a:b]))
        return parts

    def blocked_update(g: np.ndarray, state: Any, x: np.ndarray, t: int):
        if cache.get("state") is not state or cache.get("x") is not x:
            cache.clear()
            cache.update(state=state, x=x, parts=plan(state, x), step=None)
        parts = cache["parts"]
        if parts is None:
            return update(g, state, x, t)
        small = [(f, f.copy()) for f in state if f.shape != x.shape]
        step_field = cache["step"]
        for i, (a, b, st, xb) in enumerate(parts):
            if i:
                for f, start in small:
                    np.copyto(f, start)
            step, st_out = update(g[..., a:b], st, xb, t)
            if st_out is not st:  # the kernel replaced its state: cannot be blocked
                raise RuntimeError("blocked(): the kernel's update returned a new state")
            if step_field is None:
                step_field = next((k for k, f in enumerate(st) if f is step), -1)
                if step_field < 0:
                    raise RuntimeError("blocked(): the kernel's step is not a field of its state")
                cache["step"] = step_field
        return state[step_field], state

    return Optimizer(init, blocked_update)
