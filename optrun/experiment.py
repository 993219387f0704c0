"""Running a resolved config end to end: build the problem, create the run folder, stream the
trace, write the summary, check the ``expect:`` block. No console code: progress goes to a
:class:`Reporter` supplied by the caller (the CLI supplies a rich bar or plain lines).
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from . import __version__
from .config import RunConfig
from .errors import ConfigError, OptrunError, RunReadError, RunSelectionError, StorageError
from .objectives import Objective
from .optimizers import Optimizer, get_algorithm
from .provenance import git_commit
from .runner import Checkpoint, Chunk, MemberResult, Problem, run
from .signals import EvaluationTimeout, Interrupt, Signals
from .store import FORMAT_VERSION, RunFolder, TraceWriter
from .store.folder import (
    FolderLock,
    atomic_write_text,
    hostname,
    machine_name,
    platform_text,
    process_start_ticks,
    python_version,
    release_space,
    reserve_space,
    utc_now,
)

HEARTBEAT_SECONDS = 2.0
CHUNK_SECONDS = 1.0  # a single run hands its rows on at least this often (see optrun.runner.run)
SUMMARY_X_MAX = 1000  # coordinates of final_x/best_x kept in summary.json; larger points go to x.npz
EXIT_INTERRUPTED = {signal.SIGINT: 130, signal.SIGTERM: 143}
RUN_NOTICE = (
    "interrupted: the run stops after the current evaluation and keeps its record "
    "(press Ctrl-C again to abort the evaluation)"
)


class Reporter(Protocol):
    """What a run tells its audience. Every method is optional to act on."""

    def start(self, run_id: str, path: str, config: RunConfig) -> None: ...

    def progress(self, iteration: int, total: int, f: float, best_f: float) -> None: ...

    def iterations(self, lines: list[str]) -> None: ...

    def finish(self, outcome: RunOutcome) -> None: ...


@dataclass
class RunOutcome:
    run_id: str
    path: str
    summary: dict[str, Any]
    exit_code: int
    expect_failures: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- building blocks


def build_objective(config: RunConfig) -> Objective:
    """The config's objective: a built-in (shifted/rotated as configured) or a user's function or
    expression, which is imported/compiled here and checked at the start point (raises
    :class:`~optrun.errors.UserCodeError` naming the function, before any run folder exists)."""
    from .objectives.resolve import build

    return build(
        config.objective.name,
        config.objective.dim,
        config.objective.params,
        bounds_array(config.bounds),
        start_point(config),
        config.source,
    )


def build_optimizer(config: RunConfig, params: dict[str, Any] | None = None) -> Optimizer:
    """The config's optimizer. ``params`` replaces ``config.algorithm.params`` when given: a batch
    passes its numeric hyperparameters as ``(S, 1)`` arrays (see :func:`optrun.sweep.batch_params`)."""
    from .optimizers.schedules import scheduled
    from .optimizers.user import build_user_optimizer, is_user_name

    given = config.algorithm.params
    params = dict(given if params is None else params)
    schedule = params.pop("schedule", None)
    if is_user_name(config.algorithm.name):
        # a batch's numeric values arrive as (S, 1) arrays; equal ones go back to the config's
        # scalar so user code sees plain numbers unless a sweep really varies them
        for k, v in params.items():
            if isinstance(v, np.ndarray) and k in given and np.all(v == given[k]):
                params[k] = given[k]
        opt = build_user_optimizer(config.algorithm.name, params, config.dim, config.source)
        alpha = params.get("alpha", 1.0)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.ndarray)):
            alpha = 1.0
        return scheduled(opt, schedule, alpha, in_place=False)
    from .backends import build_variant

    variant = get_algorithm(config.algorithm.name).variant(config.algorithm.variant)
    return build_variant(variant, params, config.backend, config.dim, schedule)


def bounds_array(bounds: tuple[tuple[float, float], ...]) -> np.ndarray:
    """A config's bounds as a ``(d, 2)`` float64 array (built from one pair when all dimensions
    share it: converting a million pairs one by one takes most of a second)."""
    from .config import uniform_bounds

    if len(bounds) > 1 and uniform_bounds(bounds):
        return np.tile(np.array(bounds[0], dtype=np.float64), (len(bounds), 1))
    return np.asarray(bounds, dtype=np.float64).reshape(len(bounds), 2)


def start_point(config: RunConfig, seed: int | None = None) -> np.ndarray:
    """The ``(d,)`` start point: explicit, or uniform inside the bounds.

    ``rng: legacy`` draws ``RandomState(seed).random_sample(d)``, the same numbers as the
    tutorials' ``seed(seed); rand(d)`` on numpy's global legacy generator (without touching the
    global state); ``rng: generator`` draws ``default_rng(seed).random(d)``. Either way
    ``x0 = low + r * (high - low)``, the tutorials' expression.
    """
    if not isinstance(config.start, str):
        return np.array(config.start, dtype=np.float64)
    seed = config.seed if seed is None else seed
    b = bounds_array(config.bounds)
    d = len(b)
    if config.rng == "legacy":
        r = np.random.RandomState(seed).random_sample(d)
    else:
        r = np.random.default_rng(seed).random(d)
    return b[:, 0] + r * (b[:, 1] - b[:, 0])


def check_expect(config: RunConfig, summary: dict[str, Any]) -> list[str]:
    """The ``expect:`` rules this run misses, as short sentences (empty when all hold)."""
    e = config.expect
    out = []
    if e.status is not None and summary["status"] != e.status:
        out.append(f"status is {summary['status']}, expected {e.status}")
    checks = (
        ("f_final_max", "final_f", "final f"),
        ("f_best_max", "best_f", "best f"),
        ("f_gap_max", "f_gap", "f - f*"),
        ("grad_norm_max", "final_grad_norm", "final gradient norm"),
        ("distance_max", "distance_to_optimum", "distance to the optimum"),
    )
    for key, field_, label in checks:
        limit = getattr(e, key)
        if limit is None:
            continue
        value = summary.get(field_)
        if value is None or not np.isfinite(value):
            out.append(f"{label} is {value}, expected at most {limit:g} ({key})")
        elif value > limit:
            out.append(f"{label} {value:.6g} > {limit:g} ({key})")
    return out


TRACE_NOTE_BYTES = 300e6  # warn before a run or sweep whose trace files would pass this
# bytes per recorded number, about: its text and separator (JSON Lines: its key and quotes too);
# measured on 2-D and 10-D Rosenbrock traces of 100,000 rows (18.4-18.7 and 25.3-27.1)
TRACE_BYTES_PER_VALUE = {"csv": 19, "jsonl": 26}
TRACE_NOTE_TARGET = 100e6  # the size the note's trace.every suggestion aims at


def trace_rows(config: RunConfig) -> int:
    """How many trace rows a run that uses its whole budget records, about."""
    t = config.trace
    if t.log_per_decade:
        return int(t.log_per_decade * np.log10(max(config.iterations, 1))) + 10
    return config.iterations // t.every + 1


def trace_notes(configs: list[RunConfig], sweep: bool = False) -> list[str]:
    """``note:`` texts about the trace before a run or sweep starts: its size (see
    :func:`trace_size_note`), and for a sweep asked for JSON Lines only, that sweeps write CSV."""
    notes = [n for n in [trace_size_note(configs, sweep)] if n]
    if sweep and any("csv" not in c.trace.formats for c in configs):
        notes.append(
            "a sweep writes its traces as CSV batch files (traces/batch-NNNN.csv); "
            "trace.formats applies to single runs"
        )
    return notes


def trace_size_note(configs: list[RunConfig], sweep: bool = False) -> str | None:
    """A ``note:`` text when the trace files of these runs (a sweep's members) would take more
    than :data:`TRACE_NOTE_BYTES` (rows x columns x bytes per number, per file), with the settings
    that would shrink it (only those that are not already in force)."""
    rows = total = 0
    for c in configs:
        formats = ("csv",) if sweep else c.trace.formats  # a sweep writes CSV batch files
        n = trace_rows(c)
        rows += n
        total += n * (4 + sweep + c.trace.x_columns(c.dim)) * sum(TRACE_BYTES_PER_VALUE[f] for f in formats)
    if total <= TRACE_NOTE_BYTES:
        return None
    c = configs[0]
    files = "CSV batch files" if sweep else " and ".join(f"trace.{f}" for f in c.trace.formats)
    fix = []
    if not c.trace.log_per_decade:
        every = c.trace.every * max(2, math.ceil(total / TRACE_NOTE_TARGET))
        per_run = 10 * len(str(max(c.iterations, 1))) + 10
        fix += [
            f"trace.log_per_decade: 10 keeps about {per_run:,} rows per run and every target crossing",
            f"trace.every: {every:,} keeps one row in {every:,} (about {total * c.trace.every / every / 1e6:,.0f} MB)",
        ]
    if c.trace.x_columns(c.dim):
        fix.append("trace.x: none leaves out the x columns")
    if not sweep and len(c.trace.formats) > 1:
        fix.append("trace.formats: [csv] writes one file")
    return f"the trace will take about {total / 1e6:,.0f} MB ({rows:,} rows, {files})" + (
        f"; {'; '.join(fix)}" if fix else ""
    )


_UNSET: Any = object()


def member_summary(
    config: RunConfig, objective: Objective, r: MemberResult, dist: float | None = _UNSET
) -> dict[str, Any]:
    """The summary fields of one finished member (status, final, best, optimum distances).

    ``dist`` is the distance of ``r.final_x`` to the optimum (None: no known optimum) when the
    caller has it (a batch computes its members' at once); otherwise it is computed here."""
    if dist is _UNSET:
        dist = final_distances(objective, r.final_x[None, :])[0]
    f_gap = (r.final_f - objective.f_min) if objective.f_min is not None else None
    big = r.final_x.size > SUMMARY_X_MAX
    return {
        "status": r.status,
        "stop_reason": r.stop_reason,
        "iterations": r.iterations,
        "final_f": r.final_f,
        # above SUMMARY_X_MAX coordinates the points go to x.npz (final_x, best_x), not into the JSON
        "final_x": None if big else r.final_x.tolist(),
        "final_grad_norm": r.final_grad_norm,
        "best_f": r.best_f,
        "best_x": None if big else r.best_x.tolist(),
        **({"x_file": "x.npz"} if big else {}),
        "best_iteration": r.best_iteration,
        "f_min": objective.f_min,
        "f_gap": f_gap,
        "distance_to_optimum": dist,
    }


def final_distances(objective: Objective, final_x: np.ndarray) -> list[float | None]:
    """Each row's distance to the nearest known minimizer (None when none is known), computed
    for blocks of rows whose temporaries (rows x minima x d) stay near 2**20 numbers."""
    S = final_x.shape[0]
    if objective.minima.size == 0:
        return [None] * S
    step = max(1, (1 << 20) // max(1, objective.minima.size))
    out: list[float | None] = []
    with np.errstate(all="ignore"):  # a diverged x (1e200, inf) has an infinite distance, no warning
        for a in range(0, S, step):
            out += objective.distance_to_optimum(final_x[a : a + step]).tolist()
    return out


# ---------------------------------------------------------------------------- one run


@contextlib.contextmanager
def located(config: RunConfig, key: str):
    """User code fails when it is built, after validation: name the config file and key too."""
    try:
        yield
    except ConfigError as e:
        if e.source:
            raise
        raise ConfigError(e.detail, source=config.source, path=e.path or key) from None
    except OptrunError as e:
        raise ConfigError(e.message, source=config.source, path=key) from None


def _build(config: RunConfig) -> tuple[Objective, Optimizer, np.ndarray]:
    """A single run's objective, optimizer and ``(1, d)`` start point. Its numeric hyperparameters
    are ``(1, 1)`` arrays: the same numpy operations as a member of a batched sweep."""
    from .sweep import batch_params

    with located(config, "objective"):
        objective = build_objective(config)
    with located(config, "algorithm"):
        optimizer = build_optimizer(config, batch_params([config]))
    return objective, optimizer, start_point(config)[None, :]


def execute(
    config: RunConfig,
    runs_dir: str,
    reporter: Reporter | None = None,
    argv: list[str] | None = None,
    verbose: bool = False,
) -> RunOutcome:
    """Run one config into a new run folder under ``runs_dir``, locked (:class:`FolderLock`) until
    its summary is final. Signals are handled from the start: a Ctrl-C while the problem is built
    stops at once (nothing to record yet), later ones as :mod:`optrun.signals` describes."""
    with Signals(RUN_NOTICE) as sig:
        with sig.eagerly():
            objective, optimizer, x0 = _build(config)
        folder = RunFolder.create(runs_dir, config.name)
        with FolderLock.acquire(folder.path, f"run {folder.id}"):
            return _start(folder, config, objective, optimizer, x0, sig, reporter, argv, verbose)


def _start(
    folder: RunFolder,
    config: RunConfig,
    objective: Objective,
    optimizer: Optimizer,
    x0: np.ndarray,
    sig: Signals,
    reporter: Reporter | None,
    argv: list[str] | None,
    verbose: bool,
) -> RunOutcome:
    """Write a new run folder's first files, then drive the run."""
    from .objectives.user import module_record

    started = utc_now()
    base = {
        "format_version": FORMAT_VERSION,
        "id": folder.id,
        "name": config.name,
        "algorithm": config.algorithm.name,
        "variant": config.algorithm.variant,
        "objective": config.objective.name,
        "dim": config.dim,
        "iterations_planned": config.iterations,
        "pid": os.getpid(),
        "pid_start": process_start_ticks(os.getpid()),
        "hostname": hostname(),
        "started_at": started,
    }
    meta = {
        "format_version": FORMAT_VERSION,
        "optrun": __version__,
        "numpy": np.__version__,
        "python": python_version(),
        "platform": platform_text(),
        "machine": machine_name(),
        "command": argv if argv is not None else list(sys.argv),
        "cwd": os.getcwd(),
        **module_record(config),
        "git_commit": git_commit(os.getcwd()),
        "started_at": started,
        "ended_at": None,
        "gradient": objective.info.get("gradient", "analytic"),
        "evaluations_per_gradient": objective.info.get("evaluations_per_gradient", 0),
    }
    try:
        reserve_space(folder)
        folder.write_text("config.yaml", config.to_yaml())
        folder.write_json("meta.json", meta)
        folder.write_json("summary.json", {**base, "status": "running", "updated_at": started})
        writer = TraceWriter(
            folder.path,
            config.trace.x_columns(config.dim),
            config.trace.every,
            log_per_decade=config.trace.log_per_decade,
            f_min=objective.f_min,
            formats=config.trace.formats,
        )
    except OSError as e:
        import shutil

        shutil.rmtree(folder.path, ignore_errors=True)  # nothing half-written is left behind
        raise StorageError(f"cannot write the run folder {folder.path}: {e.strerror or e}") from None
    return _drive(folder, config, objective, optimizer, x0, base, meta, writer, reporter, verbose, sig)


# ---------------------------------------------------------------------------- checkpoints

CHECKPOINT = "checkpoint.npz"
_CK_FIELDS = ("x", "status", "last_row", "final_f", "final_g", "final_x", "best_f", "best_it", "best_x")


def save_checkpoint(
    folder: RunFolder, ck: Checkpoint, trace_last_forced: bool = False, hits: np.ndarray | None = None
) -> bool:
    """Write ``checkpoint.npz`` atomically; False when the optimizer state is not arrays by name.

    ``hits`` (the trace writer's first iteration at each target, -1: not yet) covers the rows up
    to the checkpoint: a resumed run keeps them rather than guessing them from its best f."""
    state = ck.opt_state
    if not (
        isinstance(state, tuple)
        and hasattr(state, "_fields")
        and all(isinstance(v, np.ndarray) for v in state)
    ):
        return False
    arrays = {k: getattr(ck, k) for k in _CK_FIELDS}
    arrays["iteration"] = np.array(ck.iteration)
    arrays["reason"] = np.array(ck.reason)
    # an interrupted thinned trace ends with a row kept only because it was last: resuming drops it
    arrays["trace_last_forced"] = np.array(trace_last_forced)
    if hits is not None:
        arrays["hits"] = np.array(hits, dtype=np.int64)
    arrays.update({f"state.{k}": v for k, v in zip(state._fields, state)})
    path = folder.file(CHECKPOINT)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path)
    return True


def load_checkpoint(path: str, template_state: Any) -> tuple[Checkpoint, bool, np.ndarray | None]:
    """Read ``checkpoint.npz`` into a :class:`Checkpoint`, filling a fresh ``init(x)`` state; the
    flag says whether the trace's last row was kept only because it was last (see save); then the
    target hits saved with it (``None`` in a checkpoint written before they were)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise RunReadError(f"{path}: unreadable checkpoint ({e})") from None
    fields = getattr(template_state, "_fields", None)
    if fields is None or any(f"state.{k}" not in data for k in fields):
        raise RunReadError(f"{path}: the checkpoint does not match this optimizer's state")
    state = type(template_state)(*(data[f"state.{k}"] for k in fields))
    forced = "trace_last_forced" in data and bool(data["trace_last_forced"])
    hits = data["hits"].astype(np.int64) if "hits" in data else None
    return (
        Checkpoint(
            int(data["iteration"]),
            data["x"],
            state,
            data["status"],
            [str(r) for r in data["reason"]],
            data["last_row"],
            data["final_f"],
            data["final_g"],
            data["final_x"],
            data["best_f"],
            data["best_it"],
            data["best_x"],
        ),
        forced,
        hits,
    )


def _truncate_trace(path: str, last_iteration: int, json_lines: bool) -> int | None:
    """Keep the header and the complete rows up to ``last_iteration``; returns the rows kept
    (``None`` when the run does not write this file: ``trace.formats``)."""
    import json

    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] != "":
        lines = lines[:-1]  # a partial last line from a crash
    lines = [ln for ln in lines if ln]
    head = [] if json_lines else lines[:1]
    body = lines if json_lines else lines[1:]
    kept = []
    for ln in body:
        it = json.loads(ln)["iteration"] if json_lines else int(ln.split(",", 1)[0])
        if it > last_iteration:
            break
        kept.append(ln)
    atomic_write_text(path, "".join(x + "\n" for x in head + kept))
    return len(kept)


def _recorded_hits(path: str, f_min: float, upto: int) -> np.ndarray:
    """First recorded iteration at each target, for a checkpoint written before checkpoints held
    their hits: exact when every row up to it was recorded (or ``log_per_decade``, which keeps
    first crossings); with ``trace.every`` the first recorded row at or after the crossing."""
    from .store.read import read_trace
    from .store.thinning import TARGETS

    tr = read_trace(path)
    keep = tr["iteration"] <= upto
    its, gap = tr["iteration"][keep], tr["f"][keep] - f_min
    out = np.full((len(TARGETS), 1), -1, dtype=np.int64)
    for li, level in enumerate(TARGETS):
        below = np.flatnonzero(gap <= level)
        if below.size:
            out[li, 0] = its[below[0]]
    return out


def resume_run(
    path: str, reporter: Reporter | None = None, argv: list[str] | None = None, verbose: bool = False
) -> RunOutcome:
    """Continue an interrupted, crashed or failed run (a full disk, say, once the cause is gone)
    from its last checkpoint, in its own folder, which it locks first: a second resume of the same
    run exits 2 instead of interleaving the trace."""
    run_id = os.path.basename(os.path.normpath(path))
    with Signals(RUN_NOTICE) as sig, FolderLock.acquire(path, f"run {run_id}"):
        with sig.eagerly():
            *prepared, prior_wall, ck = _prepare_resume(path, run_id, argv)
        return _drive(*prepared, reporter, verbose, sig, resume=ck, prior_wall=prior_wall)


def _prepare_resume(path: str, run_id: str, argv: list[str] | None) -> tuple:
    """Check that the run at ``path`` can be resumed, rebuild its problem from its config, cut
    its trace back to the checkpoint and mark it running again (the caller holds its lock)."""
    import json

    from .config import load_config

    try:
        with open(os.path.join(path, "summary.json"), encoding="utf-8") as f:
            old = json.load(f)
        with open(os.path.join(path, "meta.json"), encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        raise RunReadError(f"run {run_id}: cannot read summary.json/meta.json ({e})") from None
    status = old.get("status")
    if status == "running":
        pid, ticks = old.get("pid"), old.get("pid_start")
        if (
            old.get("hostname") == hostname()
            and isinstance(pid, int)
            and process_start_ticks(pid) is not None
            and process_start_ticks(pid) == ticks
        ):
            raise RunSelectionError(f"run {run_id} is still running (pid {pid}); it cannot be resumed")
    elif status not in ("interrupted", "crashed", "failed"):
        raise RunSelectionError(
            f"run {run_id} is {status}; only interrupted, crashed or failed runs are resumed"
        )
    ck_path = os.path.join(path, CHECKPOINT)
    if not os.path.exists(ck_path):
        raise RunSelectionError(
            f"run {run_id} has no checkpoint (it stopped before the first one); "
            f"rerun it with: optrun run {os.path.join(path, 'config.yaml')}"
        )
    config = load_config(os.path.join(path, "config.yaml"))
    objective, optimizer, x0 = _build(config)
    ck, last_forced, hits = load_checkpoint(ck_path, optimizer.init(x0.copy()))
    keep_upto = ck.iteration - 1 if last_forced else ck.iteration
    folder = RunFolder(path, run_id)
    try:
        counts = [
            _truncate_trace(folder.file(f"trace.{fmt}"), keep_upto, fmt == "jsonl")
            for fmt in config.trace.formats
        ]
        writer = TraceWriter(
            folder.path,
            config.trace.x_columns(config.dim),
            config.trace.every,
            append=True,
            rows_already=next((n for n in counts if n is not None), 0),
            log_per_decade=config.trace.log_per_decade,
            f_min=objective.f_min,
            formats=config.trace.formats,
        )
        writer.last_iteration = keep_upto
        if objective.f_min is not None:  # the targets reached up to the checkpoint, found on every row
            writer.hits[:] = hits if hits is not None else _recorded_hits(path, objective.f_min, keep_upto)
    except (OSError, ValueError, RunReadError) as e:
        raise RunReadError(f"run {run_id}: cannot prepare the trace for resuming ({e})") from None
    resumed = utc_now()
    base = {
        k: old[k]
        for k in (
            "format_version",
            "id",
            "name",
            "algorithm",
            "variant",
            "objective",
            "dim",
            "iterations_planned",
            "started_at",
        )
        if k in old
    }
    base.update(
        {
            "pid": os.getpid(),
            "pid_start": process_start_ticks(os.getpid()),
            "hostname": hostname(),
            "resumed_from": ck.iteration,
        }
    )
    meta.setdefault("resumes", []).append(
        {
            "at": resumed,
            "from_iteration": ck.iteration,
            "command": argv if argv is not None else list(sys.argv),
        }
    )
    folder.write_json("meta.json", meta)
    folder.write_json("summary.json", {**base, "status": "running", "updated_at": resumed})
    return (
        folder,
        config,
        objective,
        optimizer,
        x0,
        base,
        meta,
        writer,
        float(old.get("wall_time_s") or 0.0),
        ck,
    )


# ---------------------------------------------------------------------------- the loop, driven


def _drive(
    folder: RunFolder,
    config: RunConfig,
    objective: Objective,
    optimizer: Optimizer,
    x0: np.ndarray,
    base: dict[str, Any],
    meta: dict[str, Any],
    writer: TraceWriter,
    reporter: Reporter | None,
    verbose: bool,
    sig: Signals,
    resume: Checkpoint | None = None,
    prior_wall: float = 0.0,
) -> RunOutcome:
    """Run the loop into ``folder`` and record how it ended, whatever happens: a signal, a second
    Ctrl-C in user code, any exception from user code (BaseException subclasses too), a full disk."""
    t0 = time.perf_counter()
    if reporter:
        reporter.start(folder.id, folder.path, config)
    last_beat = [time.monotonic()]
    best = [float(resume.best_f[0]) if resume is not None else np.inf]
    seen: dict[str, Any] = {}  # the last f and best f reported, for a summary without a result
    handed = [resume.iteration if resume is not None else -1]  # the last iteration handed on

    def on_chunk(c: Chunk) -> None:
        m = int(c.rows[0])
        handed[0] = c.first_iteration + c.n - 1
        if m:
            writer.add(
                c.first_iteration,
                c.f[:m, 0],
                c.grad_norm[:m, 0],
                c.step_norm[:m, 0],
                c.x[:m, 0],
                last=bool(c.ended[0]),
            )
            fin = c.f[:m, 0][np.isfinite(c.f[:m, 0])]
            if fin.size:
                best[0] = min(best[0], float(fin.min()))
            seen.update(final_f=float(c.f[m - 1, 0]), best_f=best[0] if np.isfinite(best[0]) else None)
            if verbose and reporter:
                its = range(c.first_iteration, c.first_iteration + m)
                reporter.iterations(
                    [
                        ">%d f(%s) = %.5f" % (i - 1, c.x[j, 0], c.f[j, 0])  # noqa: UP031 - the tutorials' format
                        for j, i in enumerate(its)
                        if i > 0
                    ]
                )
            if reporter:
                reporter.progress(c.first_iteration + m - 1, config.iterations, float(c.f[m - 1, 0]), best[0])
        now = time.monotonic()
        if now - last_beat[0] >= HEARTBEAT_SECONDS:
            last_beat[0] = now
            folder.write_json(
                "summary.json",
                {
                    **base,
                    "status": "running",
                    "updated_at": utc_now(),
                    "iterations": c.first_iteration + max(m, 1) - 1,
                },
            )

    def on_checkpoint(ck: Checkpoint) -> None:
        writer.flush()  # the trace holds every row up to the checkpoint before the checkpoint exists
        save_checkpoint(folder, ck, trace_last_forced=writer.forced_last == ck.iteration, hits=writer.hits)

    from .backends import chunked_gradient

    problem = Problem(
        objective,
        optimizer,
        x0,
        config.iterations,
        config.stop.f_target,
        config.stop.grad_norm,
        chunked_gradient(objective, optimizer, config.dim),
    )
    error: str | None = None
    result: MemberResult | None = None
    try:
        (result,) = run(
            problem,
            on_chunk,
            should_stop=lambda: sig.received is not None,
            resume=resume,
            on_checkpoint=on_checkpoint if config.trace.checkpoint_s else None,
            checkpoint_every_s=config.trace.checkpoint_s,
            flush_every_s=CHUNK_SECONDS,
        )
    except EvaluationTimeout as e:
        error = f"{e.message} at iteration {handed[0] + 1}"
    except OptrunError as e:
        error = e.message
    except OSError as e:
        error = f"writing the trace failed: {e.strerror or e}"
    except Interrupt:  # a second Ctrl-C aborted the evaluation: the rows before it are kept
        error = None
    except Exception as e:  # noqa: BLE001 - a user objective or optimizer raised: record it, keep the run
        error = f"{type(e).__name__}: {e}"
    except BaseException as e:  # noqa: BLE001 - SystemExit, a KeyboardInterrupt raised by user code itself...
        error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    finally:
        try:
            writer.close()
        except OSError as e:
            error = error or f"writing the trace failed: {e.strerror or e}"

    return _record(
        folder,
        config,
        objective,
        base,
        meta,
        writer,
        reporter,
        sig,
        result,
        error,
        time.perf_counter() - t0 + prior_wall,
        seen,
    )


def _record(
    folder: RunFolder,
    config: RunConfig,
    objective: Objective,
    base: dict[str, Any],
    meta: dict[str, Any],
    writer: TraceWriter,
    reporter: Reporter | None,
    sig: Signals,
    result: MemberResult | None,
    error: str | None,
    wall: float,
    seen: dict[str, Any],
) -> RunOutcome:
    """Write how the run ended (summary.json, meta.json, x.npz) and tell the reporter; ``seen``
    (the last f and best f handed on) fills a summary that has no result."""
    if result is not None:
        summary = {**base, **member_summary(config, objective, result)}
        if "x_file" in summary:
            try:
                with open(folder.file("x.npz.tmp"), "wb") as fx:
                    np.savez(fx, final_x=result.final_x, best_x=result.best_x)
                os.replace(folder.file("x.npz.tmp"), folder.file("x.npz"))
            except OSError as e:
                error = error or f"writing x.npz failed: {e.strerror or e}"
    else:
        summary = {
            **base,
            "status": "interrupted" if error is None else "failed",
            "stop_reason": "interrupted" if error is None else "error",
            "iterations": writer.last_iteration,
            **seen,
        }
    if error is not None:
        summary["status"], summary["stop_reason"], summary["error"] = "failed", "error", error
    if sig.received is not None and summary["status"] == "interrupted":
        summary["signal"] = signal.Signals(sig.received).name
    if objective.f_min is not None:  # first crossings over every iteration, whatever the trace keeps
        from .store.thinning import hits_record

        summary["hits"] = hits_record(writer.hits[:, 0])
    summary["wall_time_s"] = wall
    summary["time_per_iteration_s"] = wall / summary["iterations"] if summary.get("iterations") else None
    summary["updated_at"] = summary["ended_at"] = utc_now()
    failures = check_expect(config, summary) if summary["status"] in ("completed", "diverged") else []
    summary["expect"] = {"checked": config.expect.active(), "failures": failures, "passed": not failures}
    meta["ended_at"] = summary["ended_at"]
    release_space(folder)
    try:
        folder.write_json("summary.json", summary)
        folder.write_json("meta.json", meta)
        if summary["status"] in ("completed", "diverged") and os.path.exists(folder.file(CHECKPOINT)):
            os.unlink(folder.file(CHECKPOINT))  # a finished run needs no checkpoint
    except OSError as e:
        raise StorageError(f"cannot write the summary of {folder.path}: {e.strerror or e}") from None

    status = summary["status"]
    if status == "interrupted":
        code = EXIT_INTERRUPTED.get(sig.received or signal.SIGINT, 130)
    elif status == "completed" and not failures:
        code = 0
    else:
        code = 1
    outcome = RunOutcome(folder.id, folder.path, summary, code, failures)
    if reporter:
        reporter.finish(outcome)
    return outcome
