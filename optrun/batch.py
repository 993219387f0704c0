"""Running a sweep: batches of members as vectorized loops, in a process pool, into a sweep folder.

See :mod:`optrun.sweep` for how members are declared and grouped and
:mod:`optrun.store.sweepstore` for the folder layout.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .config import RunConfig
from .errors import StorageError
from .signals import EvaluationTimeout, Interrupt, Signals
from .store import FORMAT_VERSION, RunFolder
from .store.folder import (
    FolderLock,
    atomic_write_json,
    atomic_write_text,
    hostname,
    platform_text,
    process_start_ticks,
    python_version,
    utc_now,
)
from .store.sweepstore import ROW_FIELDS, BatchTraceWriter, write_points, write_summary
from .store.thinning import TARGET_COLUMNS
from .sweep import Plan, batch_params, make_batches, sweep_gate

SAVE_SECONDS = 5.0  # at most this long between summary writes while a sweep runs


class SweepReporter(Protocol):
    def sweep_start(
        self, run_id: str, path: str, plan: Plan, batches: list[list[int]], workers: int
    ) -> None: ...

    def sweep_progress(self, members_done: int, batches_done: int) -> None: ...

    def member_failed(self, member: int, assignment: dict[str, Any], error: str) -> None: ...

    def sweep_finish(self, outcome: SweepOutcome) -> None: ...


@dataclass
class SweepOutcome:
    run_id: str
    path: str
    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    exit_code: int
    failures: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------ one batch


def start_points(configs: list[RunConfig]) -> np.ndarray:
    """The ``(S, d)`` start points of a batch, row s exactly ``experiment.start_point(configs[s])``.

    For ``rng: legacy`` one ``RandomState`` is reseeded per member instead of constructing one
    (``RandomState(seed)`` and ``rs.seed(seed)`` run the same legacy seeding and give the same
    numbers; construction costs about 50 times more, which dominates a 10,000-seed sweep).
    """
    from .experiment import bounds_array, start_point

    x0 = np.empty((len(configs), configs[0].dim))
    rs = None
    boxes: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
    for s, c in enumerate(configs):
        if c.start == "random" and c.rng == "legacy":
            if rs is None:
                rs = np.random.RandomState()
            box = boxes.get(c.bounds)
            if box is None:
                bnd = bounds_array(c.bounds)
                box = boxes[c.bounds] = (bnd[:, 0], bnd[:, 1] - bnd[:, 0])
            rs.seed(c.seed)
            x0[s] = box[0] + rs.random_sample(c.dim) * box[1]
        else:
            x0[s] = start_point(c)
    return x0


def run_batch(
    folder: str,
    batch: int,
    indices: list[int],
    configs: list[RunConfig],
    progress: Any = None,
    should_stop: Any = None,
) -> list[dict[str, Any]]:
    """Run one batch of members as one loop; returns one summary row per member (in order).

    Any exception inside (a user objective raising, a full disk) marks every unfinished member
    of the batch ``failed`` with the error; nothing propagates.
    ``should_stop`` is polled between steps (between chunks of compiled steps on the numba backend's
    chunked path); without it SIGINT/SIGTERM stop the batch (in a worker).
    """
    from .backends import chunked_gradient
    from .experiment import (
        build_objective,
        build_optimizer,
        check_expect,
        final_distances,
        member_summary,
    )
    from .runner import Problem, run

    t0 = time.perf_counter()
    S = len(indices)
    writer = None
    handed = [-1]  # the last iteration handed on (an evaluation timeout names the next one)
    try:
        cfg0 = configs[0]
        objective = build_objective(cfg0)
        optimizer = build_optimizer(cfg0, batch_params(configs))
        x0 = start_points(configs)
        writer = BatchTraceWriter(
            folder,
            batch,
            indices,
            cfg0.trace.x_columns(cfg0.dim),
            cfg0.trace.every,
            cfg0.trace.log_per_decade,
            objective.f_min,
        )

        def on_chunk(c):
            handed[0] = c.first_iteration + c.n - 1
            writer.add(c.first_iteration, c.f, c.grad_norm, c.step_norm, c.x, c.rows, c.ended)
            if progress is not None:
                progress(c)

        problem = Problem(
            objective,
            optimizer,
            x0,
            cfg0.iterations,
            cfg0.stop.f_target,
            cfg0.stop.grad_norm,
            chunked_gradient(objective, optimizer, cfg0.dim),
        )
        if should_stop is None:
            with Signals() as sig:
                results = run(problem, on_chunk, should_stop=lambda: sig.received is not None)
        else:
            results = run(problem, on_chunk, should_stop=should_stop)
        writer.close()
        wall = time.perf_counter() - t0
        hits = writer.hits
        rows = []
        dists = final_distances(objective, np.stack([r.final_x for r in results]))
        for s, (cfg, r) in enumerate(zip(configs, results)):
            row = member_summary(cfg, objective, r, dists[s])
            row["wall_time_s"] = wall / S
            row["batch_wall_time_s"] = wall
            for li, col in enumerate(TARGET_COLUMNS):
                row[col] = int(hits[li, s]) if hits[li, s] >= 0 else None
            fails = check_expect(cfg, row) if row["status"] in ("completed", "diverged") else []
            row["expect_passed"] = not fails
            row["expect_failures"] = fails
            rows.append(row)
        if any("x_file" in row for row in rows):  # points too large for the summary: one file per batch
            name = write_points(
                folder,
                batch,
                indices,
                np.stack([r.final_x for r in results]),
                np.stack([r.best_x for r in results]),
            )
            for row in rows:
                row["x_file"] = name
        return rows
    except BaseException as e:  # noqa: BLE001 - user code may raise anything (SystemExit too): members failed
        if writer is not None:
            try:
                writer.close()
            except OSError:
                pass
        wall = time.perf_counter() - t0
        if isinstance(e, Interrupt):  # a second Ctrl-C aborted an evaluation: the batch is interrupted
            return [
                {
                    "status": "interrupted",
                    "stop_reason": "interrupted",
                    "iterations": None,
                    "wall_time_s": wall / S,
                }
                for _ in indices
            ]
        err = f"{type(e).__name__}: {e}" if not hasattr(e, "message") else e.message
        if isinstance(e, EvaluationTimeout):
            err = f"{err} at iteration {handed[0] + 1}"
        return [
            {
                "status": "failed",
                "stop_reason": "error",
                "error": err,
                "iterations": None,
                "wall_time_s": wall / S,
            }
            for _ in indices
        ]


_STOP: list[int] = []  # in a pool worker: the signals that asked it to stop


def _worker_init() -> None:
    """Pool workers note SIGINT/SIGTERM and stop their batch between two steps; they never raise
    KeyboardInterrupt (a terminal's Ctrl-C reaches every process of the group, and the parent
    forwards the signal too)."""

    def note(signum, frame):
        _STOP.append(signum)

    signal.signal(signal.SIGINT, note)
    signal.signal(signal.SIGTERM, note)


def _openmp_started() -> bool:
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


def _pool_context(multiprocessing: Any) -> Any:
    """Workers are forked (they start at once, with everything imported), unless this process
    already runs OpenMP threads: then they start from a fresh server process."""
    if not hasattr(os, "fork"):
        return None
    return multiprocessing.get_context("forkserver" if _openmp_started() else "fork")


def _worker(args):
    """One batch in a pool worker; ``(batch, None)`` when a signal came before it started (its
    members stay ``pending``: nothing of them ran, and no trace file is made)."""
    folder, batch, indices, configs = args
    if _STOP:
        return batch, None
    return batch, run_batch(folder, batch, indices, configs, should_stop=lambda: bool(_STOP))


# ------------------------------------------------------------------------------ a sweep


def _axis_columns(plan: Plan) -> list[str]:
    return [k for ax in plan.axes for k in ax.keys]


def _cell(v: Any) -> Any:
    if isinstance(v, (dict, list)):
        import json

        return json.dumps(v, separators=(",", ":"))
    return v


SWEEP_NOTICE = (
    "interrupted: each batch stops after its current step, and the sweep keeps every finished "
    "member (press Ctrl-C again to stop waiting for the batches)"
)
HURRY_GRACE_S = 1.0  # after a second signal, how long the workers' partial batches are still awaited


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
) -> SweepOutcome:
    """Run every member of ``plan`` (or only ``only``, resuming into ``folder_path``, whose ``lock``
    the caller holds). The folder stays locked and signals stay handled until its summary is final:
    however many Ctrl-C arrive, the sweep ends ``interrupted`` with every finished member recorded."""
    with Signals(SWEEP_NOTICE) as sig:
        if folder_path is None:
            folder = RunFolder.create(runs_dir, plan.base.name)
            lock = FolderLock.acquire(folder.path, f"sweep {folder.id}")
        try:
            return _execute_sweep(
                plan,
                reporter,
                workers,
                fail_fast,
                argv,
                folder_path or folder.path,
                folder_path is not None,
                only,
                previous_rows,
                sig,
            )
        finally:
            if lock is not None:
                lock.release()


def _execute_sweep(
    plan: Plan,
    reporter: SweepReporter | None,
    workers: int | None,
    fail_fast: bool,
    argv: list[str] | None,
    path: str,
    resuming: bool,
    only: list[int] | None,
    previous_rows: list[dict[str, Any]] | None,
    sig: Signals,
) -> SweepOutcome:
    from . import __version__
    from .configio import dump_yaml
    from .objectives.user import module_record
    from .provenance import git_commit

    members = plan.members
    todo = list(range(len(members))) if only is None else list(only)
    batches = [[todo[i] for i in b] for b in make_batches([members[i] for i in todo])]
    workers = max(1, min(workers or os.cpu_count() or 1, len(batches)))
    run_id = os.path.basename(os.path.normpath(path))
    used = [r.get("batch", -1) for r in (previous_rows or []) if isinstance(r.get("batch"), int)]
    first_batch = max(used, default=-1) + 1
    started = utc_now()
    t0 = time.perf_counter()
    axis_cols = _axis_columns(plan)
    rows: list[dict[str, Any]] = (
        [dict(r) for r in previous_rows]
        if previous_rows
        else [
            {
                "member": i,
                "batch": None,
                **{k: _cell(plan.assignments[i].get(k)) for k in axis_cols},
                "status": "pending",
            }
            for i in range(len(members))
        ]
    )
    base_summary = {
        "format_version": FORMAT_VERSION,
        "kind": "sweep",
        "id": run_id,
        "name": plan.base.name,
        "members": len(members),
        "axes": axis_cols,
        "algorithm": sorted({m.algorithm.name for m in members}),
        "variant": sorted({m.algorithm.variant for m in members}),
        "objective": sorted({m.objective.name for m in members}),
        "pid": os.getpid(),
        "pid_start": process_start_ticks(os.getpid()),
        "hostname": hostname(),
        "started_at": started,
    }
    meta = {
        "format_version": FORMAT_VERSION,
        "kind": "sweep",
        "optrun": __version__,
        "numpy": np.__version__,
        "python": python_version(),
        "platform": platform_text(),
        "command": argv if argv is not None else list(sys.argv),
        "cwd": os.getcwd(),
        "git_commit": git_commit(os.getcwd()),
        "started_at": started,
        "workers": workers,
        "batches": len(batches),
        **module_record(*plan.members),
    }
    meta_name = "meta.resume.json" if resuming else "meta.json"
    try:
        if not resuming:
            atomic_write_text(os.path.join(path, "config.yaml"), dump_yaml(plan.resolved_dict()))
        atomic_write_json(os.path.join(path, meta_name), meta)
        atomic_write_json(
            os.path.join(path, "summary.json"), {**base_summary, "status": "running", "updated_at": started}
        )
    except OSError as e:
        raise StorageError(f"cannot write the sweep folder {path}: {e.strerror or e}") from None
    if reporter:
        reporter.sweep_start(run_id, path, plan, batches, workers)

    done_members = 0
    failures: list[str] = []
    stop_all = False

    next_save = [time.monotonic() + SAVE_SECONDS]
    batches_done = [0]

    def take(bno: int, idx: list[int], res: list[dict[str, Any]] | None) -> None:
        nonlocal done_members, stop_all
        if res is None:  # stopped before it started: its members stay pending
            return
        for i, r in zip(idx, res):
            rows[i] = {
                "member": rows[i].get("member", i),
                "batch": bno,
                **{k: rows[i].get(k) for k in axis_cols},
                **r,
            }
            if r["status"] == "failed":
                msg = r.get("error", "failed")
                failures.append(f"member {i}: {msg}")
                if reporter:
                    reporter.member_failed(i, plan.assignments[i], msg)
                if fail_fast:
                    stop_all = True
        done_members += sum(r.get("status") != "interrupted" for r in res)  # finished, not stopped
        batches_done[0] += 1
        if reporter:
            reporter.sweep_progress(done_members, batches_done[0])
        if time.monotonic() >= next_save[0]:  # a killed sweep keeps its finished members
            t = time.monotonic()
            try:
                _write_summary(
                    path, {**base_summary, "status": "running", "updated_at": utc_now()}, rows, axis_cols
                )
            except OSError:
                pass  # the final write reports a full disk
            # at most every SAVE_SECONDS, and never more than ~10% of the time on saving
            next_save[0] = time.monotonic() + max(SAVE_SECONDS, 10 * (time.monotonic() - t))

    jobs = [(path, first_batch + b, idx, [members[i] for i in idx]) for b, idx in enumerate(batches)]
    if workers == 1 or len(jobs) == 1:
        _run_serial(jobs, sig, take, reporter, lambda: stop_all, lambda: done_members)
    else:
        for job in _run_pool(jobs, workers, sig, take, lambda: stop_all):
            # a second signal stopped the wait: these batches' members did not finish
            take(
                job[1],
                job[2],
                [{"status": "interrupted", "stop_reason": "interrupted", "iterations": None} for _ in job[2]],
            )
    wall = time.perf_counter() - t0
    statuses = [r.get("status") for r in rows]
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    if sig.received is not None or "interrupted" in counts or ("pending" in counts and not stop_all):
        status = "interrupted"
    elif stop_all:
        status = "failed"
    else:
        status = "completed"
    expect_misses = sum(1 for r in rows if r.get("expect_passed") is False)
    summary = {
        **base_summary,
        "status": status,
        "counts": counts,
        "batches": len(batches),
        "workers": workers,
        "wall_time_s": wall,
        "members_per_second": len(todo) / wall if wall else None,
        "expect_failed_members": expect_misses,
        "ended_at": utc_now(),
        "updated_at": utc_now(),
    }
    gate = sweep_gate(plan.base.expect, rows)  # expect.success_rate_min / f_gap_median_max
    if gate is not None:
        summary["gate"] = gate
    if sig.received is not None:
        summary["signal"] = signal.Signals(sig.received).name
    meta["ended_at"] = summary["ended_at"]
    try:
        _write_summary(path, summary, rows, axis_cols)
        atomic_write_json(os.path.join(path, meta_name), meta)
    except OSError as e:
        raise StorageError(f"cannot write the sweep summary of {path}: {e.strerror or e}") from None
    if status == "interrupted":
        code = 143 if sig.received == signal.SIGTERM else 130
    elif (
        counts.get("failed")
        or (gate is not None and not gate["passed"])
        or ((counts.get("diverged") or expect_misses) and plan.base.expect.success_rate_min is None)
    ):
        code = 1  # with success_rate_min, members that miss count against the rate, not on their own
    else:
        code = 0
    outcome = SweepOutcome(run_id, path, summary, rows, code, failures)
    if reporter:
        reporter.sweep_finish(outcome)
    return outcome


def _run_serial(
    jobs: list[tuple], sig: Signals, take: Any, reporter: SweepReporter | None, stopped: Any, done: Any
) -> None:
    """The batches one after the other in this process (a second Ctrl-C aborts a hung evaluation:
    its batch is recorded interrupted)."""
    for bi, job in enumerate(jobs):
        if sig.received is not None or stopped():
            break
        S, T, before = len(job[2]), max(job[3][0].iterations, 1), done()

        def prog(c, base=before, S=S, T=T, bi=bi):
            if reporter:
                reporter.sweep_progress(base + S * min(1.0, (c.first_iteration + c.n) / (T + 1)), bi)

        take(job[1], job[2], run_batch(*job, progress=prog, should_stop=lambda: sig.received is not None))


def _run_pool(jobs: list[tuple], workers: int, sig: Signals, take: Any, stopped: Any) -> list[tuple]:
    """The batches in a process pool; returns the jobs whose batches never came back because a
    second signal stopped the wait (their workers are killed; the first signal lets them finish
    their current step and hand back partial batches)."""
    import concurrent.futures as cf
    import multiprocessing

    ctx = _pool_context(multiprocessing)
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init)
    futs = {pool.submit(_worker, job): job for job in jobs}
    pending = set(futs)
    forwarded = 0  # signals passed on to the workers
    give_up = None  # after a second signal: when to stop waiting
    try:
        while pending:
            finished, pending = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                job = futs.pop(fut)  # and the future with its result: rows are kept once
                try:
                    bno, res = fut.result()
                except Exception as e:  # noqa: BLE001 - a worker died (BrokenProcessPool)
                    bno, res = (
                        job[1],
                        [
                            {
                                "status": "failed",
                                "stop_reason": "error",
                                "error": f"worker failed: {e}",
                                "iterations": None,
                            }
                            for _ in job[2]
                        ],
                    )
                take(bno, job[2], res)
            if (sig.received is not None or stopped()) and pending:
                for fut in pending:
                    fut.cancel()
                pending = {f for f in pending if not f.cancelled()}
                if sig.received is not None and forwarded < sig.count:
                    forwarded = sig.count
                    for p in list(getattr(pool, "_processes", {}).values()):
                        try:
                            os.kill(p.pid, sig.received)
                        except OSError:
                            pass
                if sig.hurry:
                    give_up = give_up or time.monotonic() + HURRY_GRACE_S
                    if time.monotonic() >= give_up:
                        break
    finally:
        if pending:  # hurried (or failing): the workers still running are not waited for
            for p in list(getattr(pool, "_processes", {}).values()):
                try:
                    p.kill()
                except OSError:
                    pass
            pool.shutdown(wait=False, cancel_futures=True)
        else:
            pool.shutdown(wait=True)
    return [futs[f] for f in pending]


def _write_summary(
    path: str, summary: dict[str, Any], rows: list[dict[str, Any]], axis_cols: list[str]
) -> None:
    """summary.csv and summary.json: the member number, its batch, the axis values, the fields."""
    write_summary(path, summary, ["member", "batch", *axis_cols, *ROW_FIELDS], rows)


def resume_sweep(
    path: str,
    reporter: SweepReporter | None = None,
    workers: int | None = None,
    argv: list[str] | None = None,
) -> SweepOutcome:
    """Run the members of the sweep at ``path`` that are missing, failed or interrupted, and those
    whose batch trace file is gone (their rows are rerun into a new batch file). The folder is
    locked first: a second resume of the same sweep exits 2 instead of writing beside this one."""
    run_id = os.path.basename(os.path.normpath(path))
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
    )


def _resumable(path: str, run_id: str) -> tuple[Plan, list[dict[str, Any]] | None, list[int]]:
    """The plan, recorded rows and members left to run of the sweep at ``path``."""
    import json

    from .errors import RunReadError, RunSelectionError
    from .sweep import load_plan

    try:
        with open(os.path.join(path, "summary.json"), encoding="utf-8") as f:
            old = json.load(f)
    except (OSError, ValueError) as e:
        raise RunReadError(f"sweep {run_id}: cannot read summary.json ({e})") from None
    if old.get("kind") != "sweep":
        raise RunSelectionError(f"{path} is not a sweep folder")
    pid, ticks = old.get("pid"), old.get("pid_start")
    if (
        old.get("status") == "running"
        and old.get("hostname") == hostname()
        and isinstance(pid, int)
        and ticks is not None
        and process_start_ticks(pid) == ticks
    ):
        raise RunSelectionError(f"sweep {run_id} is still running (pid {pid}); it cannot be resumed")
    plan = load_plan(os.path.join(path, "config.yaml"))
    if not plan.is_sweep:
        raise RunSelectionError(f"{path}: config.yaml has no sweep block")
    rows = old.get("rows") or None
    if rows is not None and not (isinstance(rows, list) and all(isinstance(r, dict) for r in rows)):
        raise RunReadError(f"sweep {run_id}: summary.json rows are damaged")
    if rows is not None and len(rows) != len(plan.members):
        raise RunReadError(
            f"sweep {run_id}: summary.json has {len(rows)} rows for {len(plan.members)} members"
        )
    from .store.read import missing_batch_files

    lost = {m for ms in missing_batch_files(path, rows or []).values() for m in ms}
    todo = [
        i
        for i in range(len(plan.members))
        if rows is None or rows[i].get("status") not in ("completed", "diverged") or i in lost
    ]
    if not todo:
        raise RunSelectionError(f"sweep {run_id} has nothing left to run: every member finished")
    return plan, rows, todo
