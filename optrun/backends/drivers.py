"""Tile drivers and chunk loops, generated from the element kernels of :mod:`.kernels`.

Every kernel shares the head ``kernel(lo, hi, step, so, add, C, g, x, *rest)``, so five templates
serve them all:

``apply(lo, hi, tile, sq, C, g, x, *rest)`` (:data:`_APPLY_SOURCE`)
    runs the kernel over columns ``[lo, hi)`` in tiles of ``tile.shape[1]`` columns with ``add``
    set: each element's step goes into ``x`` in the same pass that computes it (``x`` gets exactly
    the bits of ``np.add(x, step, out=x)``, the step being the same double) and into the tile,
    whose squares are then summed while it is still in cache. So ``x`` and the state cross
    memory once per step and no d-sized step is written or read back. The squares are summed by
    :func:`sum_sq` per block of :data:`SUM_BLOCK` columns from the start of each thread's range
    and the block sums added in column order: not numpy's ``vecdot`` order (step norms agree to a
    few ulps, not bit for bit), but the same for a member alone and in a batch. ``tile.shape[1]``
    must be a multiple of ``SUM_BLOCK``. (Measured, AdaGrad torch, 2 threads: adding the tile
    into ``x`` in a second pass took 9.4 ms at d = 1e7 and 1.0 ms at 1e6; in the kernel's pass
    7.3 ms and 0.65 ms.)
``apply_to(lo, hi, tile, sq, out, C, g, x, *rest)`` (:data:`_APPLY_TO_SOURCE`)
    the same step out of place: tile by tile, ``x``'s columns are copied into ``out`` and the
    kernel steps ``out`` in place while they are in cache (``x`` is read once and not written):
    the bits ``apply`` leaves in ``x`` (the kernel reads the same values), for a runner that
    keeps the point it steps from (its best point so far) without copying it. (Measured at
    d = 1e6 and 1e7 against ``apply``: AdaGrad 1.4-1.5x, AMSGrad 1.15-1.25x with a separate
    ``out = x + tile`` loop after the kernel; see the commit for this form.)
``steps(n, code, p, X, D, tile, C, g, x, *rest)`` (:func:`_steps_template`)
    runs ``n`` steps on one thread: ``apply`` with row ``k`` of the ``(n, c, S)`` coefficients
    ``C`` (squared step norms into ``D[k]``), then ``X[k] = x`` and the objective's compiled
    gradient (:func:`optrun.backends.compiled.gradient`) into ``g``, as the runner does step by
    step.
``given_steps(n, G, project, lo, hi, X, D, tile, C, g, x, *rest)`` (:func:`_given_steps_template`)
    the same chunk loop for gradients known before the steps (an online objective whose gradient
    does not depend on ``x``: :meth:`optrun.objectives.rounds.Rounds.gradients`): after step ``k``,
    with ``project``, ``x`` is clipped onto ``[lo, hi]`` (:func:`box`, the runner's projection),
    then ``X[k] = x`` and ``g = G[k]``.
``scheduled_steps(n, G, F, project, lo, hi, X, D, step, C, g, x, *rest)`` (:func:`_scheduled_steps_template`)
    the same with a learning-rate schedule (:func:`optrun.optimizers.schedules.scheduled`): the
    kernel writes its step into ``step``, which is multiplied by ``F[k, s]`` (``lr(t - 1) / alpha``)
    and added to ``x``, its squares summed in column order: ``vecdot``'s bits for one column
    (the only case it serves: the 1-D online objectives).

Each generated function is the template's code with the kernel bound as a global and its own
name (``<kernel>_apply``, ``<kernel>_steps``, ``<kernel>_given_steps``,
``<kernel>_scheduled_steps``): the chunk loop is the template function's code, the
tile drivers are compiled from source with the kernel's parameters written out in place of
``*rest`` and the kernel inlined (numba inlines no call with ``*args``; a call per tile passes
every array's fields, ~0.5 us for the Adam kernels), so the tile can be short. numba's on-disk
cache (``cache=True``) keeps one entry per kernel, keyed by that name, and finds it again in the
next process (a closure over the kernel, or the kernel passed as an argument, would be compiled
anew in every process). numba
checks a cache entry against the source file of the function only (here this one), while the
compiled driver contains its kernel's code: so the cache name also carries :data:`SOURCE_TAG`, a
hash of :mod:`.kernels` and :mod:`.compiled`, and editing a kernel compiles its drivers anew.
"""

from __future__ import annotations

import hashlib
import inspect
import types
from collections.abc import Callable

import numpy as np
from numba import njit

from . import compiled
from . import kernels as K
from .compiled import gradient

#: hash of the kernels' and compiled gradients' source, part of each generated function's cache name
SOURCE_TAG = hashlib.sha1((inspect.getsource(K) + inspect.getsource(compiled)).encode()).hexdigest()[:10]

#: columns per partial sum of squares; tiles are whole multiples of it, so a member's step norm
#: does not depend on the tile width (which shrinks with the batch size S)
SUM_BLOCK = 1024


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def sum_sq(t):
    """``sum(t ** 2)``, reassociation allowed so that LLVM vectorizes the reduction (several
    partial sums, combined at the end). Only this function has the flag: the kernels' arithmetic
    is never reassociated. The order is fixed by the compiled code, so the same machine gives
    the same bits every time; it is not numpy's pairwise order."""
    acc = 0.0
    for j in range(t.shape[0]):
        acc += t[j] * t[j]
    return acc


@njit(**K.JIT)
def sum_tile(n, tile, acc):
    """``acc[s] += sum(tile[s, :n] ** 2)``, the sum taken per :data:`SUM_BLOCK` columns and the
    block sums added in column order."""
    for s in range(tile.shape[0]):
        t_ = tile[s, :n]
        r = acc[s]
        for k in range(0, n, SUM_BLOCK):
            r = r + sum_sq(t_[k : min(n, k + SUM_BLOCK)])
        acc[s] = r


#: the tile drivers' source: ``{rest}`` is the kernel's parameters after ``x`` spelled out, because
#: numba inlines a function (``inline="always"``) only into a call without ``*args``
_APPLY_SOURCE = """
def {name}(lo, hi, tile, sq, C, g, x, {rest}):
    acc = np.zeros(g.shape[0])
    for a in range(lo, hi, tile.shape[1]):
        b = min(hi, a + tile.shape[1])
        kernel(a, b, tile, a, True, C, g, x, {rest})
        sum_tile(b - a, tile, acc)
    sq[:] = acc
"""

_APPLY_TO_SOURCE = """
def {name}(lo, hi, tile, sq, out, C, g, x, {rest}):
    acc = np.zeros(g.shape[0])
    for a in range(lo, hi, tile.shape[1]):
        b = min(hi, a + tile.shape[1])
        out[:, a:b] = x[:, a:b]
        kernel(a, b, tile, a, True, C, g, out, {rest})
        sum_tile(b - a, tile, acc)
    sq[:] = acc
"""


def _steps_template(n, code, p, X, D, tile, C, g, x, *rest):
    for k in range(n):
        apply(0, x.shape[1], tile, D[k], C[k], g, x, *rest)  # noqa: F821 (bound by _generate)
        X[k] = x
        gradient(code, p, x, g)


@njit(**K.JIT)
def box(x, lo, hi):
    """``x`` clipped onto ``[lo, hi]`` per column in place, with the values of ``np.minimum(np.maximum(x,
    lo), hi)`` (the runner's projection): a NaN stays, and a bound equal to ``x`` (``-0.0`` against
    ``0.0``) replaces it, as numpy's ``maximum`` and ``minimum`` return their second argument on a tie."""
    for s in range(x.shape[0]):
        for j in range(x.shape[1]):
            v = x[s, j]
            if not (v > lo[j] or np.isnan(v)):
                v = lo[j]
            if not (v < hi[j] or np.isnan(v)):
                v = hi[j]
            x[s, j] = v


def _given_steps_template(n, G, project, lo, hi, X, D, tile, C, g, x, *rest):
    for k in range(n):
        apply(0, x.shape[1], tile, D[k], C[k], g, x, *rest)  # noqa: F821 (bound by _generate)
        if project:
            box(x, lo, hi)
        X[k] = x
        g[:, :] = G[k]


def _scheduled_steps_template(n, G, F, project, lo, hi, X, D, step, C, g, x, *rest):
    for k in range(n):
        kernel(0, x.shape[1], step, 0, False, C[k], g, x, *rest)  # noqa: F821 (bound by _generate)
        for s in range(x.shape[0]):
            f, acc = F[k, s], 0.0
            for j in range(x.shape[1]):
                v = step[s, j] * f
                step[s, j] = v
                x[s, j] = x[s, j] + v
                acc = acc + v * v
            D[k, s] = acc
        if project:
            box(x, lo, hi)
        X[k] = x
        g[:, :] = G[k]


def _generate(template: Callable, name: str, **bound: Callable) -> Callable:
    """``template``'s code under its own ``name`` with ``bound`` as globals, compiled lazily (and
    cached under ``name`` and :data:`SOURCE_TAG`)."""
    fn = types.FunctionType(template.__code__, {**template.__globals__, **bound}, name)
    fn.__qualname__ = f"{name}_{SOURCE_TAG}"
    fn.__doc__ = (
        f"{template.__name__.strip('_').replace('_template', '')} of kernels.{name.rsplit('_', 1)[0]}"
    )
    return njit(**K.JIT)(fn)


def _inlined(source: str, kernel: str, role: str) -> Callable:
    """The driver ``source`` for ``kernel``, compiled lazily with the kernel inlined into it (no call
    per tile: a call passes every array's fields, ~0.5 us for the Adam kernels) and cached under
    its name ``<kernel>_<role>`` and :data:`SOURCE_TAG`. The source is compiled as this file's
    code, which numba's cache needs (it checks a cache entry against that file)."""
    fn_k = getattr(K, kernel)
    rest = ", ".join(list(inspect.signature(fn_k.py_func).parameters)[8:])
    name = f"{kernel}_{role}"
    scope = {
        "__name__": __name__,  # the module numba's cache imports to rebuild the driver's environment
        "np": np,
        "sum_tile": sum_tile,
        "kernel": njit(error_model="numpy", nogil=True, inline="always")(fn_k.py_func),
    }
    exec(compile(source.format(name=name, rest=rest), __file__, "exec"), scope)
    fn = scope[name]
    fn.__qualname__ = f"{name}_{SOURCE_TAG}"
    fn.__doc__ = f"{role} of kernels.{kernel}"
    return njit(**K.JIT)(fn)


#: kernel name -> its tile driver
APPLY: dict[str, Callable] = {n: _inlined(_APPLY_SOURCE, n, "apply") for n in K.KERNELS}
#: kernel name -> its out-of-place tile driver
APPLY_TO: dict[str, Callable] = {n: _inlined(_APPLY_TO_SOURCE, n, "apply_to") for n in K.KERNELS}
#: kernel name -> its chunk loop
STEPS: dict[str, Callable] = {
    n: _generate(_steps_template, f"{n}_steps", apply=APPLY[n], gradient=gradient) for n in K.KERNELS
}
#: kernel name -> its chunk loop with given gradients and a box projection
GIVEN_STEPS: dict[str, Callable] = {
    n: _generate(_given_steps_template, f"{n}_given_steps", apply=APPLY[n]) for n in K.KERNELS
}
#: kernel name -> its chunk loop with given gradients, a box projection and a learning-rate schedule
SCHEDULED_STEPS: dict[str, Callable] = {
    n: _generate(_scheduled_steps_template, f"{n}_scheduled_steps", kernel=getattr(K, n)) for n in K.KERNELS
}
