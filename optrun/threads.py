"""Helper threads for large numba steps: one kernel call per thread on its own columns.

The numba kernels are compiled ``nogil=True``; a large step is split into one contiguous range of
columns per thread, so every element goes through the same operations as on one thread and
results are bit-identical whatever the thread count. (The numpy backend stays on one thread:
measured with its cache-sized slices shared among two threads, AdaGrad, Adam, NAdam, AMSGrad and
Adadelta steps at d = 1e7 took 0.95-1.17x their one-thread time: the slices' many ufunc passes
are bound by the shared cache and memory, not by the core.)

``OPTRUN_THREADS=n`` caps the threads (``1``: every step on the calling thread); by default all
CPUs this process may run on. Helpers start on first use and sleep on a condition variable between
steps, so they cost nothing while a run does other work (objective, trace).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable


def available() -> int:
    """Threads a large step may use: ``OPTRUN_THREADS`` when set to a positive integer, else the
    CPUs this process may run on."""
    env = os.environ.get("OPTRUN_THREADS", "").strip()
    if env.isascii() and env.isdigit() and int(env) >= 1:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class Team:
    """``n - 1`` helper threads that, with the calling thread, run one call each.

    The calls must release the GIL for most of their time (numba ``nogil`` kernels, numpy ufunc
    loops); the caller runs the first call itself while the helpers wake. For the numba backend
    this replaces numba's ``parallel=True`` thread pools: its workqueue layer polls with 1 us
    naps that take ~55 us each on Linux (timer slack), ~110 us per parallel call measured here,
    and its OpenMP layer's spinning threads slowed whole runs by 1.3-1.6x. Measured (AdaGrad
    torch fused step, 2 threads, d = 1e6): 0.72 ms, against 0.9-1.2 ms with the workqueue layer
    and 1.3 ms on one thread.
    """

    def __init__(self, n: int):
        self.n = n
        self.lock = threading.Lock()  # one step at a time (Python threads may share the team)
        self.cond = threading.Condition()  # guards the helpers' job/done fields; wakes both sides
        self.generation = 0  # the current step's number; a helper's job is stamped with it
        self.helpers = [_Helper() for _ in range(n - 1)]
        for h in self.helpers:
            threading.Thread(target=self._serve, args=(h,), name="optrun-kernel", daemon=True).start()

    def _serve(self, h: _Helper) -> None:
        while True:
            with self.cond:
                while h.job is None or h.job[0] == h.done:
                    self.cond.wait()
                generation, fn, args = h.job
            if fn is None:  # the team was replaced
                return
            error = None
            try:
                fn(*args)
            except BaseException as e:  # noqa: BLE001 - any failure goes to the caller, which raises it
                error = e
            with self.cond:
                h.error, h.done = error, generation
                self.cond.notify_all()

    def run(self, fn: Callable, calls: list[tuple]) -> None:
        """``fn(*calls[c])`` for every ``c``, the first on this thread; returns (or raises, a
        failure of any call or a Ctrl-C) only once every helper given a job is done with it.

        A job is handed over by one attribute assignment, so an interrupt leaves each helper
        either with this step's job (then waited for) or without one. (Holding SIGINT back with
        ``pthread_sigmask`` does not work: native threads such as OpenBLAS's take the signal for
        the process and Python runs the handler in the main thread anyway.)"""
        with self.lock:
            self.generation += 1
            generation = self.generation
            helpers = self.helpers[: len(calls) - 1]
            try:
                for h, args in zip(helpers, calls[1:]):
                    h.job = (generation, fn, args)
                with self.cond:
                    self.cond.notify_all()
                fn(*calls[0])
            finally:  # even on an error or a Ctrl-C here: the helpers write into the caller's arrays
                failure = self._settle(generation, helpers)
            if failure is not None:
                raise failure

    def _settle(self, generation: int, helpers: list[_Helper]) -> BaseException | None:
        """Wait until every helper holding a job of step ``generation`` is done; the first
        failure among them. A Ctrl-C while settling is raised after the wait. (Python checks for
        signals between bytecodes, so a Ctrl-C landing in the few bytecodes between the end of
        the caller's own call and the ``try`` below could still leave early; everywhere a step
        spends its time, the caller's call and this wait, it cannot.)"""
        interrupt: KeyboardInterrupt | None = None
        while True:
            try:
                mine = [h for h in helpers if h.job is not None and h.job[0] == generation]
                with self.cond:
                    self.cond.notify_all()  # a job handed over just before an interrupt
                    while any(h.done != generation for h in mine):
                        self.cond.wait()
                failure = next((h.error for h in mine if h.error is not None), None)
                break
            except KeyboardInterrupt as e:
                interrupt = e
        if interrupt is not None:
            raise interrupt
        return failure

    def close(self) -> None:
        """Let the helpers end (after the job in hand, if any)."""
        with self.cond:
            self.generation += 1
            for h in self.helpers:
                h.job = (self.generation, None, None)
            self.cond.notify_all()


class _Helper:
    """One helper thread's mailbox: ``job`` = ``(step, fn, args)``, ``done`` = the last step it
    finished, ``error`` = that step's failure or None."""

    def __init__(self) -> None:
        self.job: tuple[int, Callable | None, tuple | None] | None = None
        self.done = 0
        self.error: BaseException | None = None


_TEAM: Team | None = None
_TEAM_LOCK = threading.Lock()


def team(n: int) -> Team:
    """The process's team of ``n`` threads (the caller and ``n - 1`` helpers)."""
    global _TEAM
    with _TEAM_LOCK:
        if _TEAM is None or _TEAM.n != n:
            if _TEAM is not None:
                _TEAM.close()
            _TEAM = Team(n)
        return _TEAM


def _forget_team() -> None:  # a forked child has none of the parent's helper threads
    global _TEAM, _TEAM_LOCK
    _TEAM, _TEAM_LOCK = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_team)
