"""Helper threads for large numba steps: one kernel call per thread on its own columns.

The numba kernels are compiled ``nogil=True``; a large step is split into one contiguous range of
columns per thread, so every element goes through the same operations as on one thread and
results are bit-identical whatever the thread count. (The numpy backend stays on one thread:
:func:`optrun.optimizers.blocked.blocked` can share its cache-sized slices among this team, but
at d = 1e7 that measured 0.77-1.21x the one-thread time for the 23 variants, with a compute-bound
control on the same two threads at a median 0.97x of one thread in the same rounds: no free core.)

``OPTRUN_THREADS=n`` caps the threads (``1``: every step on the calling thread); by default all
CPUs this process may run on (asked once per process). Helpers start on first use.

The hand-off. A helper asleep on a condition variable wakes 50-100 us after it is notified on the
2-core reference machine, against 0.2-0.5 ms for a gd step at d = 1e6 on two threads. So after a
step each helper first watches a word (``posted``) for at most :data:`SPIN_US` without the GIL
(:mod:`optrun.backends.spin`: a compiled loop of atomic loads and the CPU's spin-wait hint,
bounded by the monotonic clock, with a ``sched_yield`` every :data:`YIELD_EVERY` rounds so that
a thread waiting for the core gets it), and only then sleeps on the condition variable: an idle
team costs no CPU after the window, and steps less than :data:`SPIN_US` apart are handed over
in a few microseconds. The caller, done with its own share, watches the helpers' ``finished``
words the same way. A helper that saw its post waits :data:`GRACE_US` before taking the GIL,
which the caller holds until its own call releases it (taking it at once puts the helper to
sleep on the GIL). A team with more threads than the process's CPUs only sleeps.

Who runs a share. Each job is claimed by the thread that starts it: its helper, or the caller
once done with its own share, when the helper has not started it yet (another process holds the
helper's core, or it is still waking). Same columns, same call, same bits; a step then costs
its shares back to back on the caller instead of waiting for the scheduler. Measured on the
busy reference machine (load 3-5 on 2 cores; ``benchmarks/bench_threads.py``, interleaved): a
trivial kernel's hand-off 4-7 us, against 13-20 us watching without taking and 21-46 us as
before (sleeping); a gd step at d = 1e6 0.65-0.82 ms, against 0.67-1.04 ms as before. Several
workers of a sweep, each with its own team, share the cores the same way; the watches' yields
and time bound keep what they take to at most :data:`SPIN_US` a step.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import numpy as np

#: how long (microseconds) a helper watches for the next step after finishing one, and the
#: caller for the helpers' end of a step, before sleeping on the condition variable
SPIN_US = 100.0
#: how long (microseconds) a helper that saw its post waits before taking the GIL (measured on
#: the reference machine, trivial kernel, no stealing: hand-off 27.6 us with 0, 21.3 us with 2,
#: 23.9 us with 5)
GRACE_US = 2.0
#: spin rounds between two ``sched_yield`` calls of a watching thread (0: never)
YIELD_EVERY = 64


def available() -> int:
    """Threads a large step may use: ``OPTRUN_THREADS`` when set to a positive integer, else the
    CPUs this process may run on. Read at every step (a dictionary look-up; the variable may
    change while the process runs), the CPUs once (:func:`cpus`)."""
    env = os.environ.get("OPTRUN_THREADS", "").strip()
    if env.isascii() and env.isdigit() and int(env) >= 1:
        return int(env)
    return cpus()


#: ``(the affinity function asked, its answer)``: :func:`cpus` asks the kernel once per process
_CPUS: list = [None, 0]


def cpus() -> int:
    """The CPUs this process may run on, asked once per process (a ``sched_getaffinity`` system
    call on every step cost a few microseconds each; a forked child asks again, and so does a
    test that replaces ``os.sched_getaffinity``)."""
    ask = getattr(os, "sched_getaffinity", None)
    if _CPUS[0] is not ask or ask is None:
        try:
            n = max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            n = max(1, os.cpu_count() or 1)
        _CPUS[:] = [ask, n]
    return _CPUS[1]


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

    def __init__(self, n: int, spin_us: float | None = None):
        self.n = n
        self.lock = threading.Lock()  # one step at a time (Python threads may share the team)
        self.cond = threading.Condition()  # guards the helpers' job/done fields; wakes both sides
        self.generation = 0  # the current step's number; a helper's job is stamped with it
        self.waiting = False  # the caller is (about to be) asleep on ``cond`` for its helpers
        self.steal = True  # the caller runs the jobs no helper has started (False: a benchmark's control)
        self.helpers = [_Helper() for _ in range(n - 1)]
        self.spin = _Spin.make(n, SPIN_US if spin_us is None else spin_us)
        for i, h in enumerate(self.helpers, 1):
            threading.Thread(target=self._serve, args=(i, h), name="optrun-kernel", daemon=True).start()

    def _serve(self, i: int, h: _Helper) -> None:
        h.native_id = threading.get_native_id()
        while True:
            spin = self.spin  # None: sleep at once (a benchmark compares the two)
            seen = spin is not None and spin.until_not(
                spin.posted, i, h.done, spin.window_ns, spin.grace_ns, spin.yield_every
            )  # watch for the next job a while before sleeping (no GIL held)
            job = h.job
            if seen and job is not None and job[0] == h.done == spin.posted[i]:
                continue  # the post seen was a job the caller ran itself: watch for the next
            if job is None or job[0] == h.done:  # nothing posted within the window: sleep
                with self.cond:
                    h.asleep = True  # before the check: a job posted after it is announced
                    while h.job is None or h.job[0] == h.done:
                        self.cond.wait()
                    h.asleep = False
                    job = h.job
            if job[1] is None:  # the team was replaced
                return
            if not self._take(i, h, job):  # the caller took it: wait until it is done with it
                with h.claim:
                    pass

    def _take(self, i: int, h: _Helper, job: tuple) -> bool:
        """Run helper ``i``'s ``job`` on this thread unless another thread has taken it or it is
        done; True when it ran here. The helper and the caller both take jobs this way (the
        caller, done with its own share, the jobs no helper has started), so each runs once,
        with the same columns and the same bits whoever runs it: a helper whose core another
        process holds costs a step its share's time on the caller, not the milliseconds until
        the scheduler runs it."""
        generation, fn, args = job
        if not h.claim.acquire(blocking=False):
            return False
        try:
            if h.done == generation:
                return False
            error = None
            try:
                fn(*args)
            except BaseException as e:  # noqa: BLE001 - any failure goes to the caller, which raises it
                error = e
            h.error, h.done = error, generation
        finally:
            h.claim.release()
        if self.waiting:  # read after done is set: a caller that missed it is asleep, wake it
            with self.cond:
                self.cond.notify_all()
        if self.spin is not None:  # last: the caller, watching, takes the GIL as this thread lets it go
            self.spin.finished[i] = generation
        return True

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
                if any(h.asleep for h in helpers):  # read after the jobs are set (see _serve)
                    with self.cond:
                        self.cond.notify_all()
                if self.spin is not None:  # last: a watching helper wakes as this thread starts its share
                    self.spin.posted[1 : len(helpers) + 1] = generation
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
                for i, h in enumerate(helpers, 1):  # the jobs no helper has started yet
                    job = h.job
                    if self.steal and job is not None and job[0] == generation and h.done != generation:
                        self._take(i, h, job)
                if self.spin is not None and len(mine) == len(helpers):
                    sp = self.spin
                    sp.until_all(sp.finished, 1, len(mine) + 1, generation, sp.window_ns, sp.yield_every)
                if any(h.done != generation for h in mine):
                    with self.cond:
                        self.waiting = True  # before the check: a helper done after it wakes us
                        try:
                            self.cond.notify_all()  # a job handed over just before an interrupt
                            while any(h.done != generation for h in mine):
                                self.cond.wait()
                        finally:
                            self.waiting = False
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
            for i, h in enumerate(self.helpers, 1):
                h.job = (self.generation, None, None)
                if self.spin is not None:
                    self.spin.posted[i] = self.generation
            self.cond.notify_all()


class _Spin:
    """The words the team watches without the GIL (:mod:`optrun.backends.spin`): ``posted[i]``
    the last step handed to helper ``i``, ``finished[i]`` the last it finished; each watch lasts
    at most ``window_ns``, a helper takes the GIL ``grace_ns`` after its post, and a watching
    thread yields its core every ``yield_every`` rounds (0: never)."""

    def __init__(self, n: int, window_ns: int, grace_ns: int, until_not: Callable, until_all: Callable):
        self.posted = np.zeros(n, dtype=np.int64)
        self.finished = np.zeros(n, dtype=np.int64)
        self.window_ns, self.grace_ns, self.yield_every = window_ns, grace_ns, YIELD_EVERY
        self.until_not, self.until_all = until_not, until_all

    @classmethod
    def make(cls, n: int, spin_us: float) -> _Spin | None:
        """None (sleep on the condition variable only) when there are no helpers, more threads
        than CPUs (a watching thread would hold a core another thread of the team needs),
        ``spin_us`` is 0, numba is not installed or the C library has no monotonic clock."""
        if n < 2 or n > cpus() or spin_us <= 0:
            return None
        try:
            from .backends.spin import AVAILABLE, until_all, until_not
        except ImportError:
            return None
        if not AVAILABLE:
            return None
        return cls(n, int(spin_us * 1000), int(GRACE_US * 1000), until_not, until_all)


class _Helper:
    """One helper thread's mailbox: ``job`` = ``(step, fn, args)``, ``done`` = the last step it
    finished, ``error`` = that step's failure or None.

    ``job`` and ``done`` are written outside the condition's lock; each side sets its own flag
    (``asleep``, the team's ``waiting``) before it checks the other's field under the lock, and
    the other side reads that flag after writing its field, so (Python's operations being
    sequentially consistent under the GIL) either the sleeper sees the field or the writer sees
    the flag and notifies: no wake-up is lost, and none is paid for while both watch."""

    def __init__(self) -> None:
        self.job: tuple[int, Callable | None, tuple | None] | None = None
        self.native_id = 0  # the thread's id for the OS (its CPU time in /proc), once started
        self.asleep = False  # (about to be) asleep on the condition variable
        self.claim = threading.Lock()  # held by the thread running the job (helper or caller)
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
    _CPUS[:] = [None, 0]  # and may be given other CPUs


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_team)
