"""A sweep: open its folder, run its batches through an executor
(:mod:`optrun.execution.executors`), keep every member's summary row, finish with the gates and
the exit status; and resume one, running only the members that did not finish.

See :mod:`optrun.sweep` for how members are declared and grouped and
:mod:`optrun.store.sweepstore` for the folder layout.
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import Iterator
from typing import Any, Protocol

from ..errors import RunReadError, RunSelectionError, StorageError
from ..problem import summary_fields
from ..store import FORMAT_VERSION, RunFolder
from ..store.folder import FolderLock, utc_now
from ..store.records import check_format, config_path, read_meta, read_summary
from ..store.sweepstore import ROW_CELLS, ROW_FIELDS, SweepFolder, write_summary
from ..sweep import Plan, make_batches, sweep_gate
from ..sweep.batches import batch_configs
from .batch import BatchJob
from .executors import Executor, ProcessPoolExecutor, executor_for
from .learning import SweepData, check_unchanged, sweep_data
from .provenance import meta_record, process_record, still_running
from .results import SweepOutcome
from .signals import Signals, exit_code, signal_name

SAVE_SECONDS = 5.0  # at most this long between summary writes while a sweep runs
SWEEP_NOTICE = (
    "interrupted: each batch stops after its current step, and the sweep keeps every finished "
    "member (press Ctrl-C again to stop waiting for the batches)"
)


class SweepReporter(Protocol):
    def sweep_start(
        self, run_id: str, path: str, plan: Plan, batches: list[list[int]], workers: int
    ) -> None: ...

    def sweep_progress(self, members_done: int, batches_done: int) -> None: ...

    def member_failed(self, member: int, assignment: dict[str, Any], error: str) -> None: ...

    def sweep_finish(self, outcome: SweepOutcome) -> None: ...


def cell(v: Any) -> Any:
    """An axis value as a summary cell: dicts and lists as compact JSON text."""
    if isinstance(v, (dict, list)):
        import json

        return json.dumps(v, separators=(",", ":"))
    return v


def execute_sweep(
    plan: Plan,
    runs_dir: str,
    reporter: SweepReporter | None = None,
    workers: int | None = None,
    fail_fast: bool = False,
    argv: list[str] | None = None,
    folder_path: str | None = None,
    only: list[int] | None = None,
    previous_rows: list[dict[str, Any]] | None = None,
    lock: FolderLock | None = None,
    executor: Executor | None = None,
) -> SweepOutcome:
    """Run every member of ``plan`` (or only ``only``, resuming into ``folder_path``, whose ``lock``
    the caller holds). The folder stays locked and signals stay handled until its summary is final:
    however many Ctrl-C arrive, the sweep ends ``interrupted`` with every finished member recorded.
    The batches run through ``executor`` when given, else serially (one worker or one batch) or in
    a local process pool of ``workers`` processes (default: the number of cores)."""
    with Signals(getattr(executor, "notice", SWEEP_NOTICE)) as sig:
        try:  # learning problems: their data read and f* found once, before the folder is made
            data = _sweep_data(plan, folder_path, executor)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        if folder_path is None:
            folder = RunFolder.create(runs_dir, plan.base.name)
            lock = FolderLock.acquire(folder.path, f"sweep {folder.id}")
        try:
            path = folder_path or folder.path
            sweep = _Sweep(plan, path, folder_path is not None, only, previous_rows, reporter, fail_fast, sig)
            sweep.data = data.meta()
            executor = sweep.start(workers, argv, executor)  # (a pool's workers are forked here)
            # the rows kept (a dict per member) are no garbage: no collection passes over them; for
            # the whole run when the batches (a user's objective) run in other processes
            with collector_paused(isinstance(executor, ProcessPoolExecutor)):
                sweep.run(executor)
                with collector_paused():
                    return sweep.finish()
        finally:
            if lock is not None:
                lock.release()


def _sweep_data(plan: Plan, folder_path: str | None, executor: Executor | None) -> SweepData:
    """The sweep's learning data (:func:`~optrun.execution.learning.sweep_data`): on a resume,
    refused when it changed since the sweep started; handed to an executor that sends data."""
    members = plan.members
    kinds = plan.bases if len(plan.base_of) == len(members) else members
    send = getattr(executor, "send_data", None)
    data = sweep_data(kinds, keep_arrays=send is not None)
    if folder_path is not None and data.records:
        try:
            recorded = read_meta(folder_path).get("data")
        except (OSError, ValueError, AttributeError):
            recorded = None
        check_unchanged(recorded, data.records, f"sweep {os.path.basename(os.path.normpath(folder_path))}")
    if send is not None:
        send(data.datasets, data.optima)
        data.datasets, data.optima = {}, {}  # (on the workers now: not held here for the sweep)
    return data


@contextlib.contextmanager
def collector_paused(pause: bool = True) -> Iterator[None]:
    """No garbage-collection passes inside the block (when ``pause``); the collector is left as
    it was found (a block inside another one changes nothing)."""
    collecting = pause and gc.isenabled()
    if collecting:
        gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class _Sweep:
    """One sweep being run: its batches, its rows (one per member), its records on disk."""

    def __init__(
        self,
        plan: Plan,
        path: str,
        resuming: bool,
        only: list[int] | None,
        previous_rows: list[dict[str, Any]] | None,
        reporter: SweepReporter | None,
        fail_fast: bool,
        sig: Signals,
    ):
        self.plan, self.path, self.resuming = plan, path, resuming
        self.reporter, self.fail_fast, self.sig = reporter, fail_fast, sig
        members = plan.members
        self.todo = list(range(len(members))) if only is None else list(only)
        kinds = [plan.base_of[i] for i in self.todo] if len(plan.base_of) == len(members) else None
        self.batches = [
            [self.todo[i] for i in b] for b in make_batches([members[i] for i in self.todo], kinds=kinds)
        ]
        self.run_id = os.path.basename(os.path.normpath(path))
        used = [r.get("batch", -1) for r in (previous_rows or []) if isinstance(r.get("batch"), int)]
        self.first_batch = max(used, default=-1) + 1
        self.axis_cols = [k for ax in plan.axes for k in ax.keys]
        # an online objective's members add their final regret, a learning problem's its test
        # loss and accuracy (before the fields a batch formats)
        kinds = plan.bases if len(plan.base_of) == len(members) else members
        added = dict.fromkeys(name for kind in kinds for name in summary_fields(kind))
        self.lead_cols = self.axis_cols + list(added)
        # one row per member; None: pending, its row made when it is written (see _complete)
        self.rows: list[dict[str, Any]] = (
            [dict(r) for r in previous_rows] if previous_rows else [None] * len(members)  # type: ignore[list-item]
        )
        self.cells: list[str | None] = [None] * len(members)  # summary.csv text of a row's fields
        self.done_members = 0
        self.batches_done = 0
        self.failures: list[str] = []
        self.stop_all = False
        self.next_save = time.monotonic() + SAVE_SECONDS
        self.folder = SweepFolder(path)
        self.executor: Executor | None = None
        self.data: dict[str, Any] = {}

    def start(self, workers: int | None, argv: list[str] | None, executor: Executor | None) -> Executor:
        """Write the folder's first files, tell the reporter, and choose the executor (``executor``
        when given: its ``workers`` are recorded)."""
        plan, members = self.plan, self.plan.members
        # the distinct configs (members differ from them only by seed), when the plan says which
        kinds = plan.bases if len(plan.base_of) == len(members) else members
        self.workers = max(1, min(workers or os.cpu_count() or 1, len(self.batches)))
        if executor is not None:
            self.workers = executor.workers
        started = utc_now()
        self.t0 = time.perf_counter()
        self.base_summary = {
            "format_version": FORMAT_VERSION,
            "kind": "sweep",
            "id": self.run_id,
            "name": plan.base.name,
            "members": len(members),
            "axes": self.axis_cols,
            "algorithm": sorted({m.algorithm.name for m in kinds}),
            "variant": sorted({m.algorithm.variant for m in kinds}),
            "objective": sorted({m.objective.name for m in kinds}),
            **process_record(),
            "started_at": started,
        }
        self.meta = meta_record(kinds, argv, started, {"workers": self.workers, "batches": len(self.batches)})
        self.meta.update(self.data)  # learning problems: their data, as a run's meta.json
        executor = executor or executor_for(self.workers, len(self.batches))
        self.meta.update(executor_record(executor))
        if isinstance(executor, ProcessPoolExecutor):
            executor.start()  # the workers start while the folder's first files are written
        try:
            if not self.resuming:
                from ..config.yamlio import dump_yaml

                self.folder.write_config(dump_yaml(plan.resolved_dict()))
            self.folder.write_meta(self.meta, self.resuming)
            self.folder.write_head({**self.base_summary, "status": "running", "updated_at": started})
        except OSError as e:
            if isinstance(executor, ProcessPoolExecutor):
                executor.close()
            raise StorageError(f"cannot write the sweep folder {self.path}: {e.strerror or e}") from None
        if self.reporter:
            self.reporter.sweep_start(self.run_id, self.path, plan, self.batches, self.workers)
        return executor

    def run(self, executor: Executor) -> None:
        """Every batch through ``executor``, each one's rows kept as it finishes."""
        self.executor = executor
        jobs = [
            BatchJob(self.path, self.first_batch + b, idx, batch_configs(self.plan, idx))
            for b, idx in enumerate(self.batches)
        ]
        for job, rows in executor.results(jobs, self.sig, lambda: self.stop_all, self._progress):
            with collector_paused():
                self._take(job, rows)

    def _progress(self, job: BatchJob, fraction: float) -> None:
        if self.reporter:
            self.reporter.sweep_progress(self.done_members + len(job.indices) * fraction, self.batches_done)

    def _take(self, job: BatchJob, res: list[dict[str, Any]] | None) -> None:
        """Keep a finished batch's rows (None: it was stopped before it started, its members stay
        pending); save the summary now and then, so a killed sweep keeps its finished members."""
        if res is None:
            return
        rows, cells, axis_cols, assignments = self.rows, self.cells, self.axis_cols, self.plan.assignments
        for i, r in zip(job.indices, res):
            cells[i] = r.pop(ROW_CELLS, None)
            old = rows[i]
            if old is None:
                axes = {k: cell(assignments[i].get(k)) for k in axis_cols}
                rows[i] = {"member": i, "batch": job.batch, **axes, **r}
            else:  # a resumed sweep's row: its recorded number and axis values
                rows[i] = {
                    "member": old.get("member", i),
                    "batch": job.batch,
                    **{k: old.get(k) for k in axis_cols},
                    **r,
                }
            if r["status"] == "failed":
                msg = r.get("error", "failed")
                self.failures.append(f"member {i}: {msg}")
                if self.reporter:
                    self.reporter.member_failed(i, self.plan.assignments[i], msg)
                if self.fail_fast:
                    self.stop_all = True
        self.done_members += sum(r.get("status") != "interrupted" for r in res)  # finished, not stopped
        self.batches_done += 1
        if self.reporter:
            self.reporter.sweep_progress(self.done_members, self.batches_done)
        if time.monotonic() >= self.next_save:
            t = time.monotonic()
            try:
                running = {**self.base_summary, "status": "running", "updated_at": utc_now()}
                self._write_summary(running)
            except OSError:
                pass  # the final write reports a full disk
            # at most every SAVE_SECONDS, and never more than ~10% of the time on saving
            self.next_save = time.monotonic() + max(SAVE_SECONDS, 10 * (time.monotonic() - t))

    def _complete(self) -> None:
        """Give each member that has no row yet its pending row."""
        rows, assignments = self.rows, self.plan.assignments
        for i in [i for i, r in enumerate(rows) if r is None]:
            rows[i] = {
                "member": i,
                "batch": None,
                **{k: cell(assignments[i].get(k)) for k in self.axis_cols},
                "status": "pending",
            }

    def _write_summary(self, summary: dict[str, Any]) -> None:
        """summary.csv and summary.json: the member number, its batch, the axis values, the fields."""
        self._complete()
        columns = ["member", "batch", *self.lead_cols, *ROW_FIELDS]
        write_summary(self.path, summary, columns, self.rows, self.cells, len(columns) - len(ROW_FIELDS))

    def finish(self) -> SweepOutcome:
        """The final summary (status, counts, gates), written with the meta record; the outcome."""
        wall = time.perf_counter() - self.t0
        self._complete()
        sig, rows = self.sig, self.rows
        statuses = [r.get("status") for r in rows]
        counts = {s: statuses.count(s) for s in sorted(set(statuses))}
        if sig.received is not None or "interrupted" in counts or ("pending" in counts and not self.stop_all):
            status = "interrupted"
        else:
            status = "failed" if self.stop_all else "completed"
        expect_misses = sum(1 for r in rows if r.get("expect_passed") is False)
        summary = {
            **self.base_summary,
            "status": status,
            "counts": counts,
            "batches": len(self.batches),
            "workers": self.workers,
            "wall_time_s": wall,
            "members_per_second": len(self.todo) / wall if wall else None,
            "expect_failed_members": expect_misses,
            "ended_at": utc_now(),
            "updated_at": utc_now(),
        }
        expect = self.plan.base.expect
        gate = sweep_gate(expect, rows)  # expect.success_rate_min / f_gap_median_max
        if gate is not None:
            summary["gate"] = gate
        if sig.received is not None:
            summary["signal"] = signal_name(sig.received)
        self.meta.update(executor_record(self.executor))
        self.meta["ended_at"] = summary["ended_at"]
        try:
            self._write_summary(summary)
            self.folder.write_meta(self.meta, self.resuming)
        except OSError as e:
            raise StorageError(f"cannot write the sweep summary of {self.path}: {e.strerror or e}") from None
        failed = bool(
            counts.get("failed")
            or (gate is not None and not gate["passed"])
            # with success_rate_min, members that miss count against the rate, not on their own
            or ((counts.get("diverged") or expect_misses) and expect.success_rate_min is None)
        )
        outcome = SweepOutcome(
            self.run_id, self.path, summary, rows, exit_code(status, sig.received, failed), self.failures
        )
        if self.reporter:
            self.reporter.sweep_finish(outcome)
        return outcome


def resume_sweep(
    path: str,
    reporter: SweepReporter | None = None,
    workers: int | None = None,
    argv: list[str] | None = None,
    executor: Executor | None = None,
) -> SweepOutcome:
    """Run the members of the sweep at ``path`` that are missing, failed or interrupted, and those
    whose batch trace file is gone (their rows are rerun into a new batch file), through
    ``executor`` when given (else as :func:`execute_sweep` chooses). The folder is locked first:
    a second resume of the same sweep exits 2 instead of writing beside this one."""
    run_id = os.path.basename(os.path.normpath(path))
    check_format(path, f"sweep {run_id}")  # a newer format is refused before its folder is locked
    lock = FolderLock.acquire(path, f"sweep {run_id}")
    try:
        plan, rows, todo = _resumable(path, run_id)
    except BaseException:
        lock.release()
        raise
    return execute_sweep(
        plan,
        os.path.dirname(path),
        reporter,
        workers=workers,
        argv=argv,
        folder_path=path,
        only=todo,
        previous_rows=rows,
        lock=lock,
        executor=executor,
    )


def executor_record(executor: Executor | None) -> dict[str, Any]:
    """What meta.json records of the executor: ``executor`` ("local": this machine's processes, or
    "dask" with its ``scheduler`` and ``workers_used``)."""
    record = getattr(executor, "record", None)
    return record() if record is not None else {"executor": "local"}


def _resumable(path: str, run_id: str) -> tuple[Plan, list[dict[str, Any]] | None, list[int]]:
    """The plan, recorded rows and members left to run of the sweep at ``path``."""
    from ..store.sweep import missing_batch_files
    from ..sweep import load_plan

    try:
        old = read_summary(path, f"sweep {run_id}")
    except (OSError, ValueError) as e:
        raise RunReadError(f"sweep {run_id}: cannot read summary.json ({e})") from None
    if old.get("kind") != "sweep":
        raise RunSelectionError(f"{path} is not a sweep folder")
    if old.get("status") == "running" and still_running(old):
        raise RunSelectionError(
            f"sweep {run_id} is still running (pid {old.get('pid')}); it cannot be resumed"
        )
    plan = load_plan(config_path(path))
    if not plan.is_sweep:
        raise RunSelectionError(f"{path}: config.yaml has no sweep block")
    rows = old.get("rows") or None
    if rows is not None and not (isinstance(rows, list) and all(isinstance(r, dict) for r in rows)):
        raise RunReadError(f"sweep {run_id}: summary.json rows are damaged")
    if rows is not None and len(rows) != len(plan.members):
        raise RunReadError(
            f"sweep {run_id}: summary.json has {len(rows)} rows for {len(plan.members)} members"
        )
    lost = {m for ms in missing_batch_files(path, rows or []).values() for m in ms}
    todo = [
        i
        for i in range(len(plan.members))
        if rows is None or rows[i].get("status") not in ("completed", "diverged") or i in lost
    ]
    if not todo:
        raise RunSelectionError(f"sweep {run_id} has nothing left to run: every member finished")
    return plan, rows, todo
