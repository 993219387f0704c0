"""Busy-waits without the GIL, for the hand-off of :mod:`optrun.threads` (imported only with numba).

A thread that sleeps on a condition variable between two steps wakes 50-100 us after it is
notified on the 2-core reference machine (a futex wake, a scheduler decision and, in a virtual
machine, the vCPU leaving its halt state), while a numba step at d = 1e6 takes 0.2-0.8 ms: the
hand-off was a third of the step. Watching a word in memory instead sees the new value within
a microsecond. The watch is a compiled ``nogil`` loop: a Python loop would hold the GIL, which
the thread handing out the step needs to reach its own share.

Each loop is bounded (``spins`` rounds of an atomic load and the CPU's spin-wait hint,
``pause`` on x86; none elsewhere), so an idle team stops costing CPU after the bound and its
threads go back to sleeping on the condition variable; :func:`rounds_per_us` measures how many
rounds fit in a microsecond.
"""

from __future__ import annotations

import ctypes
import os
import platform
import time

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

#: the LLVM intrinsic of the CPU's spin-wait hint, by ``platform.machine()``
_HINT = {"x86_64": "llvm.x86.sse2.pause", "amd64": "llvm.x86.sse2.pause"}
#: spin rounds between two :func:`give_way` calls (~1.5 us on the reference machine)
YIELD_EVERY = 64
#: POSIX systems have ``sched_yield`` in the C library the process already loaded
HAS_SCHED_YIELD = hasattr(ctypes.CDLL(None), "sched_yield") if os.name == "posix" else False


@intrinsic
def load_acquire(typingctx, words, i):
    """``words[i]`` read with an acquire load: read anew on every call (never hoisted out of a
    loop) and ordered before the reads that follow it."""
    sig = types.int64(words, i)

    def codegen(context, builder, signature, args):
        ty = signature.args[0]
        arr = context.make_array(ty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, ty, arr, [args[1]])
        return builder.load_atomic(ptr, "acquire", 8)

    return sig, codegen


@intrinsic
def relax(typingctx):
    """The CPU's spin-wait hint (a no-op where it has none): spares the sibling hyperthread and
    the memory bus while a thread watches a word."""
    sig = types.none()
    hint = _HINT.get(platform.machine().lower(), "")

    def codegen(context, builder, signature, args):
        if hint:
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []), hint)
            builder.call(fn, [])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def give_way(typingctx):
    """``sched_yield()``: another thread waiting for this core (a second process's work on a
    busy machine, the thread this one waits for) runs first; returns at once when none is."""
    sig = types.none()

    def codegen(context, builder, signature, args):
        if HAS_SCHED_YIELD:
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield"
            )
            builder.call(fn, [])
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, nogil=True, inline="always")
def pause(k):
    """Round ``k``'s wait: the spin-wait hint, and every :data:`YIELD_EVERY` rounds a
    :func:`give_way`."""
    relax()
    if k % YIELD_EVERY == YIELD_EVERY - 1:
        give_way()


@njit(cache=True, nogil=True)
def until_not(words, i, value, spins, grace):
    """Watch ``words[i]`` until it is not ``value`` or ``spins`` rounds have passed; True when it
    changed (then after ``grace`` more rounds)."""
    for k in range(spins + 1):
        if load_acquire(words, i) != value:
            for j in range(grace):
                pause(j)
            return True
        pause(k)
    return False


@njit(cache=True, nogil=True)
def until_all(words, lo, hi, value, spins):
    """Watch ``words[lo:hi]`` until every one is ``value`` or ``spins`` rounds have passed; True
    when all are."""
    for k in range(spins + 1):
        done = True
        for i in range(lo, hi):
            if load_acquire(words, i) != value:
                done = False
                break
        if done:
            return True
        pause(k)
    return False


def rounds_per_us(trials: int = 3, spins: int = 20_000) -> float:
    """Rounds of :func:`until_not` per microsecond on this machine (the fastest of ``trials``)."""
    words = np.zeros(1, dtype=np.int64)
    until_not(words, 0, 0, 1, 0)  # compile (or load from the cache) first
    best = float("inf")
    for _ in range(trials):
        t0 = time.perf_counter()
        until_not(words, 0, 0, spins, 0)
        best = min(best, time.perf_counter() - t0)
    return spins / max(best * 1e6, 1e-3)
