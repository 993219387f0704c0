"""Busy-waits without the GIL, for the hand-off of :mod:`optrun.threads` (imported only with numba).

A thread that sleeps on a condition variable between two steps wakes 50-100 us after it is
notified on the 2-core reference machine (a futex wake, a scheduler decision and, in a virtual
machine, the vCPU leaving its halt state), while a numba step at d = 1e6 takes 0.2-0.8 ms.
Watching a word in memory instead sees the new value within a microsecond. The watch is a
compiled ``nogil`` loop: a Python loop would hold the GIL, which the thread handing out the step
needs to reach its own share.

Each watch is bounded in time (``CLOCK_MONOTONIC``, read every :data:`CHECK_EVERY` rounds of an
atomic load and the CPU's spin-wait hint, ``pause`` on x86), not in rounds: on a busy machine a
watching thread may be descheduled for milliseconds, and a bound in rounds would then keep it
watching (and keep its wake-ups slow) far past the window. Every ``yield_every`` rounds it calls
``sched_yield`` so that a thread waiting for its core (the one it waits for, when two share a
core) runs first. Without a monotonic clock in the C library (not POSIX) there is no watch:
:data:`AVAILABLE` is False and the team only sleeps.
"""

from __future__ import annotations

import ctypes
import os
import platform
import time

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

#: the LLVM intrinsic of the CPU's spin-wait hint, by ``platform.machine()``
_HINT = {"x86_64": "llvm.x86.sse2.pause", "amd64": "llvm.x86.sse2.pause"}
_LIBC = ctypes.CDLL(None) if os.name == "posix" else None
#: ``clock_gettime`` and ``sched_yield`` are in the C library the process already loaded
AVAILABLE = (
    _LIBC is not None
    and hasattr(time, "CLOCK_MONOTONIC")
    and hasattr(_LIBC, "clock_gettime")
    and hasattr(_LIBC, "sched_yield")
)
_CLOCK = getattr(time, "CLOCK_MONOTONIC", 1)
#: rounds between two looks at the clock (~1-2 us on the reference machine)
CHECK_EVERY = 64


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
        if AVAILABLE:
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield"
            )
            builder.call(fn, [])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def now_ns(typingctx):
    """``CLOCK_MONOTONIC`` in nanoseconds (``clock_gettime``, a vDSO call on Linux: ~20 ns)."""
    sig = types.int64()

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        if not AVAILABLE:
            return ir.Constant(i64, 0)
        ts = cgutils.alloca_once(builder, ir.ArrayType(i64, 2))  # struct timespec {sec, nsec}
        fnty = ir.FunctionType(ir.IntType(32), [ir.IntType(32), ts.type])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "clock_gettime")
        builder.call(fn, [ir.Constant(ir.IntType(32), _CLOCK), ts])
        sec = builder.load(cgutils.gep(builder, ts, 0, 0))
        nsec = builder.load(cgutils.gep(builder, ts, 0, 1))
        return builder.add(builder.mul(sec, ir.Constant(i64, 1_000_000_000)), nsec)

    return sig, codegen


@njit(cache=True, nogil=True, inline="always")
def waited(k, start, window_ns, yield_every):
    """After round ``k`` of a watch begun at ``start``: the spin-wait hint; every
    :data:`CHECK_EVERY` rounds a look at the clock (True: ``window_ns`` is over) and every
    ``yield_every`` rounds (0: never) a :func:`give_way`."""
    relax()
    if yield_every > 0 and k % yield_every == yield_every - 1:
        give_way()
    return k % CHECK_EVERY == CHECK_EVERY - 1 and now_ns() - start > window_ns


@njit(cache=True, nogil=True)
def until_not(words, i, value, window_ns, grace_ns, yield_every):
    """Watch ``words[i]`` until it is not ``value`` or ``window_ns`` have passed; True when it
    changed (returned ``grace_ns`` after the change was seen)."""
    start, k = now_ns(), 0
    while load_acquire(words, i) == value:
        if waited(k, start, window_ns, yield_every):
            return False
        k += 1
    end = now_ns() + grace_ns
    while now_ns() < end:
        relax()
    return True


@njit(cache=True, nogil=True)
def until_all(words, lo, hi, value, window_ns, yield_every):
    """Watch ``words[lo:hi]`` until every one is ``value`` or ``window_ns`` have passed; True
    when all are."""
    start, k = now_ns(), 0
    while True:
        done = True
        for i in range(lo, hi):
            if load_acquire(words, i) != value:
                done = False
                break
        if done:
            return True
        if waited(k, start, window_ns, yield_every):
            return False
        k += 1
