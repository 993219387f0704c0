"""A sweep's batches on a Dask cluster (``optrun run --executor dask``): :class:`DaskExecutor`.

Each task is a whole batch (:class:`~optrun.execution.batch.BatchJob`), submitted with
``pure=False`` (members draw random numbers) and ``retries``; results stream back with
``as_completed``. A worker may be on another machine, so it writes nothing into the sweep folder:
it runs the batch in a temporary folder of its own and hands back the batch's rows with the bytes
of its files (the trace, a points file), which the client writes once, each whole under a temporary
name. What travels is configs and results, not code: optrun and the users' modules must be
importable on the workers (checked on every worker before the sweep starts).

Signals: after a first SIGINT/SIGTERM the client cancels every batch not yet back (their members
stay ``pending``, for ``optrun resume``; unlike the local pool, a running batch's partial rows are
not awaited) and keeps the finished ones; the batches already running on the workers see a Dask
``Event`` and stop after their current step (a cancelled task's thread cannot be killed). A worker that dies mid-batch has the batch retried by Dask; a batch that
keeps killing workers (``KilledWorker``) comes back as failed members with the reason.

``distributed`` is imported only here, and only when a :class:`DaskExecutor` is made.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import OptrunError
from ..store.sweepstore import batch_files, put_batch_files
from .batch import BatchJob, run_batch, worker_failed_rows
from .signals import Signals

INSTALL = "--executor dask needs Dask's distributed scheduler: pip install 'optrun[dask]'"
RETRIES = 2  # a batch whose worker died runs again at most this many times (Dask's retries)
CONNECT_S = 10.0  # how long to wait for a scheduler, and for the client and cluster to close
POLL_S = 0.02  # how often the client looks at the signals while no batch comes back
STOP_POLL_S = 0.5  # how often a running batch asks whether the sweep was stopped

Rows = list[dict[str, Any]]
Progress = Callable[[BatchJob, float], None]


class DaskUnavailable(OptrunError):
    """``--executor dask`` without dask[distributed] installed (exit 2)."""


class WorkerSetupError(OptrunError):
    """A worker cannot import a module the sweep needs (exit 2, before the sweep folder exists)."""


def require_distributed() -> Any:
    """The ``distributed`` module, or :class:`DaskUnavailable` naming how to install it."""
    try:
        import distributed
    except ImportError:
        raise DaskUnavailable(INSTALL) from None
    return distributed


# ------------------------------------------------------------------------------ on a worker


def worker_name() -> str:
    """This worker's address (its host name outside a Dask worker)."""
    try:
        from distributed import get_worker

        return get_worker().address
    except ValueError:  # not inside a worker
        return socket.gethostname()


def stop_poller(event: str | None) -> Callable[[], bool]:
    """On a worker: has the client set the Dask ``Event`` named ``event`` (the sweep was stopped)?
    Asked of the scheduler at most every :data:`STOP_POLL_S`: a cancelled batch's thread cannot be
    killed, so it stops itself between two steps instead of running to its end."""
    if event is None:
        return lambda: False
    from distributed import Event

    ev, due = Event(event), [time.monotonic() + STOP_POLL_S]

    def stopped() -> bool:
        now = time.monotonic()
        if now < due[0]:
            return False
        due[0] = now + STOP_POLL_S
        try:
            return ev.is_set()
        except (OSError, RuntimeError, TimeoutError):  # no scheduler to ask: keep going
            return False

    return stopped


def remote_batch(
    batch: int, indices: list[int], configs: list, stop: str | None = None, data: tuple | None = None
) -> dict[str, Any]:
    """One batch on a worker, in a temporary folder of its own: its rows, the bytes of the files
    it wrote (by their path in the sweep folder), and who ran it. It stops between two steps once
    the client sets the Dask event ``stop`` (its result is then not waited for). ``data``: the
    sweep's ``(datasets, optima)``, sent once to every worker, read instead of the data files."""
    from ..objectives.data_supply import owned, provided

    if data:  # this worker's own copies, once (see owned)
        owned(data[0])
    with tempfile.TemporaryDirectory(prefix="optrun-batch-") as tmp, provided(*(data or ({},))):
        rows = run_batch(tmp, batch, indices, configs, should_stop=stop_poller(stop))
        files = batch_files(tmp, batch)
    where = worker_name()
    for row in rows:  # a failure says where it happened (a module missing on one machine)
        if row.get("status") == "failed" and row.get("error"):
            row["error"] = f"{row['error']} (on worker {where})"
    return {"rows": rows, "files": files, "worker": where}


def user_refs(configs: list) -> list[tuple[str, str, str | None]]:
    """The user code ``(ref, role, config source)`` the configs import: objective and gradient
    functions, and a user optimizer's factory (``algorithm.name: "module:factory"``)."""
    refs = []
    for cfg in configs:
        params = cfg.objective.params or {}
        wanted = [
            (params.get("function"), "objective function"),
            (params.get("gradient"), "gradient function"),
        ]
        if ":" in cfg.algorithm.name:
            wanted.append((cfg.algorithm.name, "user optimizer"))
        for ref, role in wanted:
            if isinstance(ref, str) and (ref, role, cfg.source) not in refs:
                refs.append((ref, role, cfg.source))
    return refs


def located(configs: list) -> list:
    """``configs`` whose ``source`` is an absolute path: a worker's working folder is not this
    process's, and a user module is looked for beside the config file."""
    here: dict[str, str] = {}
    out = []
    for cfg in configs:
        if os.path.isabs(cfg.source):
            out.append(cfg)
            continue
        if cfg.source not in here:
            here[cfg.source] = os.path.abspath(cfg.source)
        out.append(cfg.with_source(here[cfg.source]))
    return out


def check_imports(refs: list[tuple[str, str, str | None]]) -> str | None:
    """On a worker: why one of ``refs`` cannot be imported here, or None."""
    from ..objectives.user import load_callable
    from ..store.records import recorded_module_dirs

    for ref, role, source in refs:
        try:
            load_callable(ref, role, source, recorded_module_dirs(source))
        except OptrunError as e:
            return e.message if hasattr(e, "message") else str(e)
    return None


# ------------------------------------------------------------------------------ the client


def reachable(scheduler: str) -> None:
    """Raise a one-line error when ``scheduler`` is not a ``tcp://HOST:PORT`` address or does not
    answer (a client that fails to connect leaves a traceback behind when it is collected)."""
    if not scheduler.startswith("tcp://"):
        raise OptrunError(
            f"--scheduler '{scheduler}': optrun connects to tcp://HOST:PORT addresses, e.g. tcp://10.0.0.5:8786"
        )
    host, _, port = scheduler[len("tcp://") :].rpartition(":")
    if not port.isdigit() or not host:
        raise OptrunError(f"--scheduler '{scheduler}': give tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_S).close()
    except OSError as e:
        raise OptrunError(f"cannot reach the Dask scheduler at {scheduler}: {e.strerror or e}") from None


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """SIGINT blocked inside the block (from the main thread), so that the processes started
    there keep it blocked (a signal mask survives fork and exec): a terminal's Ctrl-C reaches
    every process of its group, and the LocalCluster's workers must not die of it (with
    tracebacks) while the client stops the sweep. This process gets a SIGINT that came during
    the block when it ends (blocked, not ignored: the Ctrl-C is not lost)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class DaskExecutor:
    """Batches as tasks on a Dask cluster: the one at ``scheduler`` (``tcp://HOST:PORT``), or a
    ``LocalCluster`` of ``workers`` processes on 127.0.0.1 (no dashboard) that :meth:`close` stops."""

    #: what a first Ctrl-C prints (the sweep's :class:`Signals` notice)
    notice = (
        "interrupted: the batches still out are cancelled (their members stay pending, for optrun "
        "resume); every finished batch is kept"
    )

    def __init__(self, scheduler: str | None = None, workers: int | None = None):
        distributed = require_distributed()
        self.cluster = None
        if scheduler:
            reachable(scheduler)
            try:
                self.client = distributed.Client(scheduler, timeout=CONNECT_S, set_as_default=False)
            except ValueError as e:
                raise OptrunError(f"--scheduler '{scheduler}': {e} (e.g. tcp://10.0.0.5:8786)") from None
            except OSError as e:  # (TimeoutError too)
                raise OptrunError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
        else:
            # the worker processes inherit it: a terminal's Ctrl-C is the client's; and no warning
            # that the scheduler's (unused) web server found port 8787 taken
            with sigint_blocked(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.cluster = distributed.LocalCluster(
                    n_workers=workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=logging.CRITICAL,  # (failed batches are reported by the sweep)
                )
            self.client = distributed.Client(self.cluster, set_as_default=False)
        self.scheduler = self.client.scheduler.address
        self.used: set[str] = set()  # the workers that handed back a batch
        n = len(self.client.scheduler_info().get("workers", {}))
        if n == 0:
            self.close()
            raise OptrunError(
                f"the Dask scheduler at {self.scheduler} has no workers: start some "
                f"(dask worker {self.scheduler}) or leave --scheduler out for a LocalCluster here"
            )
        self.workers = n
        self.data: Any = None  # the future of the sweep's data on every worker (send_data)

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the client, and the cluster it started."""
        try:
            self.client.close(timeout=CONNECT_S)
        finally:
            if self.cluster is not None:
                self.cluster.close(timeout=CONNECT_S)
                self.cluster = None

    def check(self, configs: list) -> None:
        """Raise :class:`WorkerSetupError` (one line naming the worker and the module) when a
        worker cannot import the user functions ``configs`` name."""
        refs = user_refs(located(configs))
        if not refs:
            return
        answers = self.client.run(check_imports, refs)
        for worker, problem in sorted(answers.items()):
            if problem:
                raise WorkerSetupError(f"worker {worker}: {problem}")

    def send_data(self, datasets: dict, optima: dict) -> None:
        """Send a sweep's data sets (read once, here: a worker needs no copy of the files) and
        the f* found for them to every worker, once; its batches read them from there."""
        self.data = None
        if datasets:
            (self.data,) = self.client.scatter([(datasets, optima)], broadcast=True, hash=False)

    def record(self) -> dict[str, Any]:
        """What the sweep's meta.json records of the executor."""
        return {"executor": "dask", "scheduler": self.scheduler, "workers_used": sorted(self.used)}

    def results(
        self,
        jobs: list[BatchJob],
        sig: Signals,
        stopped: Callable[[], bool],
        progress: Progress | None = None,
    ) -> Iterator[tuple[BatchJob, Rows | None]]:
        from distributed import Event, as_completed

        client = self.client
        stop = Event(client=client)  # set when the sweep stops: the running batches stop too
        futs = {
            client.submit(
                remote_batch,
                job.batch,
                job.indices,
                located(job.configs),
                stop.name,
                self.data,
                pure=False,
                retries=RETRIES,
            ): job
            for job in jobs
        }
        pending = dict(futs)
        done = as_completed(list(futs), loop=client.loop)
        try:
            while pending and sig.received is None and not stopped():
                ready = done.next_batch(block=False)
                if not ready:
                    time.sleep(POLL_S)
                for fut in ready:
                    job = pending.pop(fut)
                    yield job, self._take(fut, job)
        finally:
            if pending:  # a signal, or the sweep fails fast: the batches not back are not waited for
                client.cancel(list(pending), force=True)
                with contextlib.suppress(OSError, TimeoutError):
                    stop.set()
        for job in sorted(pending.values(), key=lambda j: j.batch):  # their members stay pending
            yield job, None
        self.data = None  # the sweep's data leave the workers with their last reference

    def _take(self, fut: Any, job: BatchJob) -> Rows:
        """A batch's rows, its files written into the sweep folder (once: the batch is back)."""
        try:
            out = fut.result()
        except Exception as e:  # noqa: BLE001 - KilledWorker after the retries, a worker's own error
            last = getattr(getattr(e, "last_worker", None), "address", None)
            if last is not None:  # KilledWorker: its text is a paragraph
                e = RuntimeError(f"the batch's worker died every time it ran (the last one: {last})")
            return worker_failed_rows(job, e)
        finally:
            fut.release()
        try:
            put_batch_files(job.folder, out["files"])
        except OSError as e:  # a full disk here: the batch's members failed, as on the local pool
            why = f"writing the batch's trace failed: {e.strerror or e}"
            return [
                {"status": "failed", "stop_reason": "error", "error": why, "iterations": None}
                for _ in job.indices
            ]
        self.used.add(out["worker"])
        return out["rows"]
