"""Where a sweep's batches run: the :class:`Executor` interface and its serial and local
process-pool engines.

An executor is handed whole batches (:class:`~optrun.execution.batch.BatchJob`, many members
each, never single members) and yields each batch's summary rows as it finishes. It watches
the sweep's :class:`~optrun.execution.signals.Signals`: after a first signal it starts no new batch
and lets the running ones stop after their current step (their partial rows come back); after a
second one it waits at most :data:`HURRY_GRACE_S` more, then gives up on the batches still out,
which come back ``interrupted``. Another engine (a Dask cluster, say) plugs in by implementing
:meth:`Executor.results`; the sweep's logic (:mod:`optrun.execution.sweep`) does not change.
"""

from __future__ import annotations

import gc
import importlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from ..threads import cpus
from .batch import BatchJob, interrupted_rows, run_batch, worker_failed_rows
from .signals import Signals

HURRY_GRACE_S = 1.0  # after a second signal, how long the workers' partial batches are still awaited
#: after killing hung workers, how long the pool is given to notice and shut down (see ``_settle``)
SETTLE_S = 2.0

Rows = list[dict[str, Any]]
# (the batch, the fraction of its iterations done) while a batch runs, for a progress bar
Progress = Callable[[BatchJob, float], None]


class Executor(Protocol):
    """Runs a sweep's batches, ``workers`` at a time (recorded in the sweep's summary)."""

    workers: int

    def results(
        self,
        jobs: list[BatchJob],
        sig: Signals,
        stopped: Callable[[], bool],
        progress: Progress | None = None,
    ) -> Iterator[tuple[BatchJob, Rows | None]]:
        """Run ``jobs`` and yield each of them once: with its rows (one per member, in order) as
        it finishes, or with None when it never started because a signal came or ``stopped``
        (the sweep fails fast) said so first (its members stay pending). Batches abandoned after
        a second signal are yielded last, with ``interrupted`` rows."""
        ...


class SerialExecutor:
    """The batches one after the other in this process (a second Ctrl-C aborts a hung evaluation:
    its batch is recorded interrupted). It reports progress inside each batch."""

    workers = 1

    def results(
        self,
        jobs: list[BatchJob],
        sig: Signals,
        stopped: Callable[[], bool],
        progress: Progress | None = None,
    ) -> Iterator[tuple[BatchJob, Rows | None]]:
        for n, job in enumerate(jobs):
            if sig.received is not None or stopped():
                yield from ((left, None) for left in jobs[n:])  # never started: pending
                return
            T = max(job.configs[0].iterations, 1)

            def prog(c, job=job, T=T):
                if progress is not None:
                    progress(job, min(1.0, (c.first_iteration + c.n) / (T + 1)))

            yield job, run_batch(*job, progress=prog, should_stop=lambda: sig.received is not None)


# ------------------------------------------------------------------------------ a process pool

_STOP: list[int] = []  # in a pool worker: the signals that asked it to stop

#: what a worker's first batch would import on first use (start points draw with numpy.random,
#: which loads hashlib and secrets; the numpy kernels' blocked steps): imported by each worker as
#: it starts, while the parent still writes the sweep's first files and pickles the jobs
WORKER_IMPORTS = ("numpy.random", "optrun.optimizers.blocked")


def worker_threads(workers: int) -> None:
    """In a pool worker: cap the helper threads of a large numba step (:mod:`optrun.threads`) at
    this worker's share of the CPUs, ``max(1, cpus // workers)``, so that ``workers`` teams do not
    oversubscribe the cores; unless the user set ``OPTRUN_THREADS``. Same bits either way."""
    if not os.environ.get("OPTRUN_THREADS", "").strip():
        os.environ["OPTRUN_THREADS"] = str(max(1, cpus() // max(1, workers)))


def _worker_init(pids: Any, workers: int) -> None:
    """Pool workers note SIGINT/SIGTERM and stop their batch between two steps; they never raise
    KeyboardInterrupt (a terminal's Ctrl-C reaches every process of the group, and the parent
    forwards the signal too). Each tells the parent its pid, for forwarding and killing, sets its
    thread cap and imports what every batch needs."""

    def note(signum, frame):
        _STOP.append(signum)

    signal.signal(signal.SIGINT, note)
    signal.signal(signal.SIGTERM, note)
    pids.put(os.getpid())
    gc.enable()  # (also when forked while the parent paused it: a batch may make cyclic garbage)
    gc.freeze()  # what the worker inherited: its collections do not go over it (nor copy its pages)
    worker_threads(workers)
    for name in WORKER_IMPORTS:
        importlib.import_module(name)


def _started() -> int:
    """A no-op job: submitted first, it makes the pool fork its workers at once."""
    return os.getpid()


def _worker(job: tuple) -> tuple[int, Rows | None]:
    """One batch in a pool worker; ``(batch, None)`` when a signal came before it started (its
    members stay ``pending``: nothing of them ran, and no trace file is made)."""
    folder, batch, indices, configs = job
    if _STOP:
        return batch, None
    return batch, run_batch(folder, batch, indices, configs, should_stop=lambda: bool(_STOP))


def openmp_started() -> bool:
    """Has this process run numba ``parallel=True`` code on GNU OpenMP threads (a user's own
    objective: numba picks OpenMP when it is available, or NUMBA_THREADING_LAYER=omp; optrun's
    kernels use their own threads, see :mod:`optrun.threads`)? A child forked from it would be
    killed by numba ("fork() called from a process already using GNU OpenMP")."""
    numba = sys.modules.get("numba")
    if numba is None:
        return False
    try:
        return numba.threading_layer() == "omp"
    except ValueError:  # no parallel kernel has run yet
        return False


def pool_context() -> Any:
    """Workers are forked (they start at once, with everything imported), unless this process
    already runs OpenMP threads: then they start from a fresh server process."""
    import multiprocessing

    if not hasattr(os, "fork"):
        return multiprocessing.get_context()
    return multiprocessing.get_context("forkserver" if openmp_started() else "fork")


class ProcessPoolExecutor:
    """The batches in a local process pool (:mod:`concurrent.futures`). Signals are forwarded to
    the workers, which finish their current step and hand back partial batches; after a second
    signal and :data:`HURRY_GRACE_S`, the workers still running are killed."""

    def __init__(self, workers: int):
        self.workers = workers
        self._pool: tuple[Any, _WorkerPids] | None = None

    def start(self) -> None:
        """Fork the workers now (else at the first batch): they start, and import what a batch
        needs, while the caller still prepares the jobs."""
        if self._pool is not None:
            return
        import concurrent.futures as cf

        ctx = pool_context()
        pids = _WorkerPids(ctx)
        pool = cf.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=ctx,
            initializer=_worker_init,
            initargs=(pids.queue, self.workers),
        )
        pool.submit(_started)  # a forked pool starts all its workers at the first submit
        self._pool = pool, pids

    def close(self) -> None:
        """Shut down the workers of :meth:`start` when no batch will be sent to them."""
        if self._pool is not None:
            (pool, pids), self._pool = self._pool, None
            pool.shutdown(wait=True)
            pids.close()

    def results(
        self,
        jobs: list[BatchJob],
        sig: Signals,
        stopped: Callable[[], bool],
        progress: Progress | None = None,
    ) -> Iterator[tuple[BatchJob, Rows | None]]:
        self.start()
        assert self._pool is not None
        (pool, pids), self._pool = self._pool, None
        futs = {pool.submit(_worker, job): job for job in jobs}
        pending = set(futs)
        try:
            yield from self._wait(futs, pending, pids, sig, stopped)
        finally:
            if pending:  # hurried (or failing): the workers still running are not waited for
                pids.send(signal.SIGKILL)
                _settle(pool)
            else:
                pool.shutdown(wait=True)
            pids.close()
        for fut in pending:  # a second signal stopped the wait: these batches' members did not finish
            yield futs[fut], interrupted_rows(futs[fut])

    @staticmethod
    def _wait(futs: dict, pending: set, pids: _WorkerPids, sig: Signals, stopped: Callable[[], bool]):
        """Yield the batches as they finish; ``pending`` is left holding those never waited for."""
        import concurrent.futures as cf

        forwarded = 0  # signals passed on to the workers
        give_up = None  # after a second signal: when to stop waiting
        while pending:
            finished, _ = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
            pending -= finished
            for fut in finished:
                job = futs.pop(fut)  # and the future with its result: rows are kept once
                try:
                    _, res = fut.result()
                except Exception as e:  # noqa: BLE001 - a worker died (BrokenProcessPool)
                    res = worker_failed_rows(job, e)
                yield job, res
            if (sig.received is not None or stopped()) and pending:
                for fut in pending:
                    fut.cancel()
                if sig.received is not None and forwarded < sig.count:
                    forwarded = sig.count
                    pids.send(sig.received)
                cancelled = [f for f in futs if f in pending and f.cancelled()]  # in batch order
                pending -= set(cancelled)
                for fut in cancelled:  # never started: their members stay pending
                    yield futs.pop(fut), None
                if sig.hurry:
                    give_up = give_up or time.monotonic() + HURRY_GRACE_S
                    if time.monotonic() >= give_up:
                        break


def _settle(pool: Any) -> None:
    """Shut down a pool whose workers were just killed, waiting at most :data:`SETTLE_S`.

    Its manager thread notices the dead workers and ends; left running, it races Python 3.11's
    exit hook for :mod:`concurrent.futures`, which then prints an ``OSError`` traceback as the
    process exits (a CPython race fixed in 3.12). The wait is bounded: a second Ctrl-C must not
    hang on a pool that does not settle."""
    closer = threading.Thread(
        target=pool.shutdown, kwargs={"wait": True, "cancel_futures": True}, daemon=True
    )
    closer.start()
    closer.join(SETTLE_S)


class _WorkerPids:
    """The pids the pool's workers report as they start (no reaching into the pool's internals)."""

    def __init__(self, ctx: Any):
        self.queue = ctx.SimpleQueue()
        self.known: set[int] = set()

    def send(self, signum: int) -> None:
        """Send ``signum`` to every worker that has started (a finished one is skipped)."""
        while not self.queue.empty():
            self.known.add(self.queue.get())
        for pid in self.known:
            try:
                os.kill(pid, signum)
            except OSError:
                pass

    def close(self) -> None:
        self.queue.close()


def executor_for(workers: int, batches: int) -> Executor:
    """The serial executor for one worker or one batch, else a process pool."""
    return SerialExecutor() if workers == 1 or batches == 1 else ProcessPoolExecutor(workers)
