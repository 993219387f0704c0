"""Helper threads for large numba steps: one kernel call per thread on its own columns.

The numba kernels are compiled ``nogil=True``; a large step is split into one contiguous range of
columns per thread, so every element goes through the same operations as on one thread and
results are bit-identical whatever the thread count. (The numpy backend stays on one thread:
measured with its cache-sized slices shared among two threads, AdaGrad, Adam, NAdam, AMSGrad and
Adadelta steps at d = 1e7 took 0.95-1.17x their one-thread time: the slices' many ufunc passes
are bound by the shared cache and memory, not by the core.)

``OPTRUN_THREADS=n`` caps the threads (``1``: every step on the calling thread); by default all
CPUs this process may run on. Helpers start on first use and sleep in a blocking queue between
steps, so they cost nothing while a run does other work (objective, trace).
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import threading
from collections.abc import Callable, Iterator


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
        self.generation = 0  # of the current step: a token of an abandoned step is never counted
        self.done: queue.SimpleQueue = queue.SimpleQueue()
        self.jobs: list[queue.SimpleQueue] = [queue.SimpleQueue() for _ in range(n - 1)]
        for q in self.jobs:
            threading.Thread(target=self._serve, args=(q,), name="optrun-kernel", daemon=True).start()

    def _serve(self, jobs: queue.SimpleQueue) -> None:
        if _MASKABLE:  # signals go to the main thread, whose handlers decide (helpers never see them)
            signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
        while True:
            job = jobs.get()
            if job is None:  # the team was replaced
                return
            generation, fn, args = job
            try:
                fn(*args)
            except BaseException as e:  # noqa: BLE001 - any failure goes to the caller, which raises it
                self.done.put((generation, e))
            else:
                self.done.put((generation, None))

    def run(self, fn: Callable, calls: list[tuple]) -> None:
        """``fn(*calls[c])`` for every ``c``, the first on this thread; returns when all are done.

        SIGINT and SIGTERM are held back until the helpers are done (their handlers then run as
        usual), so a Ctrl-C cannot return control while a helper still writes into the caller's
        arrays; failures of any call are raised here."""
        with _signals_deferred(), self.lock:
            self.generation += 1
            generation, posted = self.generation, 0
            try:
                for q, args in zip(self.jobs, calls[1:]):
                    q.put((generation, fn, args))
                    posted += 1
                fn(*calls[0])
            finally:  # even on an error here: the helpers are writing into the caller's arrays
                failure = self._wait(generation, posted)
            if failure is not None:
                raise failure

    def _wait(self, generation: int, k: int) -> BaseException | None:
        """Wait for the ``k`` helpers of step ``generation``; the first failure among them."""
        failure: BaseException | None = None
        interrupt: KeyboardInterrupt | None = None
        while k:
            try:
                gen, e = self.done.get()
            except KeyboardInterrupt as i:  # a handler that ran before the signals were held back
                interrupt = i
                continue
            if gen == generation:
                k -= 1
                failure = failure or e
        if interrupt is not None:
            raise interrupt
        return failure

    def close(self) -> None:
        """Let the helpers end (after any job already queued)."""
        for q in self.jobs:
            q.put(None)


_MASKABLE = hasattr(signal, "pthread_sigmask")
_DEFERRED = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back in this thread for the block (no-op where unsupported)."""
    if not _MASKABLE:
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


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
