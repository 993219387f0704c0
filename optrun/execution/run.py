"""A single run: open its folder (first files, locked until its summary is final), drive it
(:mod:`optrun.execution.drive`), and resume one that stopped from its last checkpoint."""

from __future__ import annotations

import os
import sys

import numpy as np

from ..config import RunConfig
from ..errors import RunReadError, RunSelectionError, StorageError
from ..objectives import Objective
from ..objectives.rounds import trace_columns
from ..optimizers import Optimizer
from ..problem import build_single, build_started
from ..runner import Checkpoint
from ..store import FORMAT_VERSION, RunFolder, TraceWriter
from ..store.checkpoint import checkpoint_path
from ..store.folder import FolderLock, utc_now
from ..store.records import check_format, config_path, read_meta, read_summary
from ..store.resumetrace import recorded_hits
from ..store.space import reserve_space
from .checkpoints import load_checkpoint
from .drive import OpenRun, Reporter, drive
from .learning import check_expect, check_unchanged
from .provenance import meta_record, process_record, still_running
from .results import RunOutcome
from .signals import Signals

RUN_NOTICE = (
    "interrupted: the run stops after the current evaluation and keeps its record "
    "(press Ctrl-C again to abort the evaluation)"
)
# the summary fields a resumed run keeps from the run it continues
KEPT_ON_RESUME = (
    "format_version",
    "id",
    "name",
    "algorithm",
    "variant",
    "objective",
    "dim",
    "constraint",
    "iterations_planned",
    "started_at",
)


def execute(
    config: RunConfig,
    runs_dir: str,
    reporter: Reporter | None = None,
    argv: list[str] | None = None,
    verbose: bool = False,
) -> RunOutcome:
    """Run one config into a new run folder under ``runs_dir``, locked (:class:`FolderLock`) until
    its summary is final. Signals are handled from the start: a Ctrl-C while the problem is built
    stops at once (nothing to record yet), later ones as :mod:`optrun.execution.signals` describes."""
    with Signals(RUN_NOTICE) as sig:
        with sig.eagerly():
            *built, start_values = build_started(config)
            if "data" in built[0].info:  # learning: expect rules on f - f* need the data's f*
                check_expect(config, built[0].info["data"])
        folder = RunFolder.create(runs_dir, config.name)
        with FolderLock.acquire(folder.path, f"run {folder.id}"):
            live = _open(folder, config, *built, argv)
            live.start_values = start_values  # the start check's f and gradient: row 0's
            del built, start_values  # live holds them: drive lets them go after the loop
            return drive(live, reporter, verbose, sig)


def _open(
    folder: RunFolder,
    config: RunConfig,
    objective: Objective,
    optimizer: Optimizer,
    x0: np.ndarray,
    argv: list[str] | None,
) -> OpenRun:
    """Write a new run folder's first files (nothing half-written is left when one fails)."""
    started = utc_now()
    base = {
        "format_version": FORMAT_VERSION,
        "id": folder.id,
        "name": config.name,
        "algorithm": config.algorithm.name,
        "variant": config.algorithm.variant,
        "objective": config.objective.name,
        "dim": config.dim,
        "constraint": config.constraint,
        "iterations_planned": config.iterations,
        **process_record(),
        "started_at": started,
    }
    meta = {
        **meta_record([config], argv, started),
        "ended_at": None,
        "gradient": objective.info.get("gradient", "analytic"),
        "evaluations_per_gradient": objective.info.get("evaluations_per_gradient", 0),
        **({"data": objective.info["data"]} if "data" in objective.info else {}),  # learning: f*, split
    }
    try:
        reserve_space(folder)
        folder.write_config(config.to_yaml())
        folder.write_meta(meta)
        folder.write_summary({**base, "status": "running", "updated_at": started})
        writer = TraceWriter(
            folder.path,
            config.trace.x_columns(config.dim),
            config.trace.every,
            log_per_decade=config.trace.log_per_decade,
            f_min=objective.f_min,
            formats=config.trace.formats,
            extra=trace_columns(objective),
        )
    except OSError as e:
        folder.remove()  # nothing half-written is left behind
        raise StorageError(f"cannot write the run folder {folder.path}: {e.strerror or e}") from None
    return OpenRun(folder, config, objective, optimizer, x0, base, meta, writer)


def resume_run(
    path: str, reporter: Reporter | None = None, argv: list[str] | None = None, verbose: bool = False
) -> RunOutcome:
    """Continue an interrupted, crashed or failed run (a full disk, say, once the cause is gone)
    from its last checkpoint, in its own folder, which it locks first: a second resume of the same
    run exits 2 instead of interleaving the trace."""
    run_id = os.path.basename(os.path.normpath(path))
    check_format(path, f"run {run_id}")  # a newer format is refused before its folder is locked
    with Signals(RUN_NOTICE) as sig, FolderLock.acquire(path, f"run {run_id}"):
        with sig.eagerly():
            live, ck, prior_wall = _prepare_resume(path, run_id, argv)
        # marked running only once a Ctrl-C is recorded, not raised: the run then ends interrupted
        live.folder.write_meta(live.meta)
        resumed = live.meta["resumes"][-1]["at"]
        live.folder.write_summary({**live.base, "status": "running", "updated_at": resumed})
        return drive(live, reporter, verbose, sig, resume=ck, prior_wall=prior_wall)


def _resumable(path: str, run_id: str) -> tuple[dict, dict, str]:
    """The summary, meta record and checkpoint path of a run that can be resumed."""
    try:
        old = read_summary(path, f"run {run_id}")
        meta = read_meta(path)
    except (OSError, ValueError) as e:
        raise RunReadError(f"run {run_id}: cannot read summary.json/meta.json ({e})") from None
    status = old.get("status")
    if status == "running":
        if still_running(old):
            raise RunSelectionError(
                f"run {run_id} is still running (pid {old.get('pid')}); it cannot be resumed"
            )
    elif status not in ("interrupted", "crashed", "failed"):
        raise RunSelectionError(
            f"run {run_id} is {status}; only interrupted, crashed or failed runs are resumed"
        )
    ck_path = checkpoint_path(path)
    if ck_path is None:
        raise RunSelectionError(
            f"run {run_id} has no checkpoint (it stopped before the first one); "
            f"rerun it with: optrun run {config_path(path)}"
        )
    return old, meta, ck_path


def _prepare_resume(path: str, run_id: str, argv: list[str] | None) -> tuple[OpenRun, Checkpoint, float]:
    """Check that the run at ``path`` can be resumed, rebuild its problem from its config and cut
    its trace back to the checkpoint (the caller holds its lock, and marks it running again)."""
    from ..config import load_config

    old, meta, ck_path = _resumable(path, run_id)
    config = load_config(config_path(path))
    objective, optimizer, x0 = build_single(config)
    if "data" in objective.info:  # learning: the data must be the run's
        check_unchanged(meta.get("data"), [objective.info["data"]], f"run {run_id}")
    ck, last_forced, hits = load_checkpoint(ck_path, optimizer.init(x0.copy()))
    folder = RunFolder(path, run_id)
    writer = _resumed_trace(
        folder, config, objective, ck.iteration - 1 if last_forced else ck.iteration, hits
    )
    resumed = utc_now()
    base = {k: old[k] for k in KEPT_ON_RESUME if k in old}
    base.update({**process_record(), "resumed_from": ck.iteration})
    meta.setdefault("resumes", []).append(
        {
            "at": resumed,
            "from_iteration": ck.iteration,
            "command": argv if argv is not None else list(sys.argv),
        }
    )
    live = OpenRun(folder, config, objective, optimizer, x0, base, meta, writer)
    return live, ck, float(old.get("wall_time_s") or 0.0)


def _resumed_trace(
    folder: RunFolder, config: RunConfig, objective: Objective, keep_upto: int, hits: np.ndarray | None
) -> TraceWriter:
    """The trace files cut back to ``keep_upto`` and a writer appending to them, holding the
    target hits up to there (from the checkpoint, or found on the trace's rows)."""
    try:
        counts = folder.truncate_traces(config.trace.formats, keep_upto)
        writer = TraceWriter(
            folder.path,
            config.trace.x_columns(config.dim),
            config.trace.every,
            append=True,
            rows_already=next((n for n in counts if n is not None), 0),
            log_per_decade=config.trace.log_per_decade,
            f_min=objective.f_min,
            formats=config.trace.formats,
            extra=trace_columns(objective),
        )
        writer.last_iteration = keep_upto
        if objective.f_min is not None:  # the targets reached up to the checkpoint, found on every row
            writer.hits[:] = (
                hits if hits is not None else recorded_hits(folder.path, objective.f_min, keep_upto)
            )
    except (OSError, ValueError, RunReadError) as e:
        raise RunReadError(f"run {folder.id}: cannot prepare the trace for resuming ({e})") from None
    return writer
