"""One run's loop driven into its open folder: rows streamed to the trace, progress and a
heartbeat, checkpoints, and whatever ends it (the budget, a stop rule, a signal, user code that
raises, a full disk) recorded in its final summary with the exit status it earns."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..config import RunConfig
from ..errors import OptrunError, StorageError
from ..objectives import Objective
from ..optimizers import Optimizer
from ..optimizers.user import is_user_name
from ..problem import build_rounds, projection
from ..runner import Checkpoint, Chunk, MemberResult, Problem, run
from ..signals import EvaluationTimeout, Interrupt
from ..store import RunFolder, TraceWriter
from ..store.checkpoint import drop_checkpoint
from ..store.folder import utc_now
from ..store.space import release_space
from .checkpoints import save_checkpoint
from .results import RunOutcome, expect_failures, member_summary
from .signals import Signals, exit_code, signal_name

HEARTBEAT_SECONDS = 2.0
CHUNK_SECONDS = 1.0  # a single run hands its rows on at least this often (see optrun.runner.run)


class Reporter(Protocol):
    """What a run tells its audience. Every method is optional to act on."""

    def start(self, run_id: str, path: str, config: RunConfig) -> None: ...

    def progress(self, iteration: int, total: int, f: float, best_f: float) -> None: ...

    def iterations(self, lines: list[str]) -> None: ...

    def finish(self, outcome: RunOutcome) -> None: ...


@dataclass
class OpenRun:
    """A run whose folder holds its first files: what it runs, and the records it keeps."""

    folder: RunFolder
    config: RunConfig
    objective: Objective
    optimizer: Optimizer | None  # None once the loop is over: its state is not needed to record the run
    x0: np.ndarray
    base: dict[str, Any]  # the summary fields fixed for the run's life
    meta: dict[str, Any]
    writer: TraceWriter
    #: ``(f, g)`` at ``x0`` computed already (the start check), for the first row; None: not known
    start_values: tuple[np.ndarray, np.ndarray] | None = None


@dataclass
class _Sink:
    """Takes the loop's chunks: trace rows, the reporter's figures, the running summary's heartbeat."""

    live: OpenRun
    reporter: Reporter | None
    verbose: bool
    best: float = np.inf
    handed: int = -1  # the last iteration handed on
    seen: dict[str, Any] = field(
        default_factory=dict
    )  # the last f and best f, for a summary without a result
    last_beat: float = field(default_factory=time.monotonic)

    def chunk(self, c: Chunk) -> None:
        m = int(c.rows[0])
        self.handed = c.first_iteration + c.n - 1
        if m:
            self._rows(c, m)
        now = time.monotonic()
        if now - self.last_beat >= HEARTBEAT_SECONDS:
            self.last_beat = now
            self.live.folder.write_summary(
                {
                    **self.live.base,
                    "status": "running",
                    "updated_at": utc_now(),
                    "iterations": c.first_iteration + max(m, 1) - 1,
                },
            )

    def _rows(self, c: Chunk, m: int) -> None:
        f = c.f[:m, 0]
        self.live.writer.add(
            c.first_iteration,
            f,
            c.grad_norm[:m, 0],
            c.step_norm[:m, 0],
            c.x[:m, 0],
            last=bool(c.ended[0]),
            extra=tuple(col[:m, 0] for col in c.extra.values()),
        )
        fin = f[np.isfinite(f)]
        if fin.size:
            self.best = min(self.best, float(fin.min()))
        # the chunk's last f (a minibatch run's rows between its recorded ones have none: the last
        # one it has)
        last_f = float(fin[-1]) if fin.size and not np.isfinite(c.f[m - 1, 0]) else float(c.f[m - 1, 0])
        self.seen.update(final_f=last_f, best_f=self.best if np.isfinite(self.best) else None)
        if self.verbose and self.reporter:
            its = range(c.first_iteration, c.first_iteration + m)
            self.reporter.iterations(
                [
                    ">%d f(%s) = %.5f" % (i - 1, c.x[j, 0], c.f[j, 0])  # noqa: UP031 - the tutorials' format
                    for j, i in enumerate(its)
                    if i > 0
                ]
            )
        if self.reporter:
            self.reporter.progress(c.first_iteration + m - 1, self.live.config.iterations, last_f, self.best)

    def checkpoint(self, ck: Checkpoint) -> None:
        writer = self.live.writer
        writer.flush()  # the trace holds every row up to the checkpoint before the checkpoint exists
        save_checkpoint(
            self.live.folder, ck, trace_last_forced=writer.forced_last == ck.iteration, hits=writer.hits
        )


def drive(
    live: OpenRun,
    reporter: Reporter | None,
    verbose: bool,
    sig: Signals,
    resume: Checkpoint | None = None,
    prior_wall: float = 0.0,
) -> RunOutcome:
    """Run the loop into ``live.folder`` and record how it ended, whatever happens: a signal, a
    second Ctrl-C in user code, any exception from user code (BaseException subclasses too), a
    full disk."""
    t0 = time.perf_counter()
    if reporter:
        reporter.start(live.folder.id, live.folder.path, live.config)
    sink = _Sink(live, reporter, verbose)
    if resume is not None:
        sink.best, sink.handed = float(resume.best_f[0]), resume.iteration
    result, error = _loop(live, sink, sig, resume)
    return _record(live, reporter, sig, result, error, time.perf_counter() - t0 + prior_wall, sink.seen)


def _loop(
    live: OpenRun, sink: _Sink, sig: Signals, resume: Checkpoint | None
) -> tuple[MemberResult | None, str | None]:
    """The runner's loop; its result, or None and the error that stopped it (None: a signal)."""
    config = live.config
    problem = Problem(
        live.objective,
        live.optimizer,
        live.x0,
        config.iterations,
        config.stop.f_target,
        config.stop.grad_norm,
        chunks=True,
        own_buffers=not is_user_name(config.algorithm.name),  # a user's optimizer may keep g or x
        give_x0=True,  # the start point is built for this run alone
        start_values=live.start_values,
        project=projection(config),
        rounds=build_rounds([config], live.objective),
    )
    live.start_values = None  # the loop holds the gradient as its buffer from here
    error: str | None = None
    result: MemberResult | None = None
    try:
        (result,) = run(
            problem,
            sink.chunk,
            should_stop=lambda: sig.received is not None,
            resume=resume,
            on_checkpoint=sink.checkpoint if config.trace.checkpoint_s else None,
            checkpoint_every_s=config.trace.checkpoint_s,
            flush_every_s=CHUNK_SECONDS,
            checkpoint_views=True,  # written out before the loop goes on: no copy of the arrays
        )
    except EvaluationTimeout as e:
        error = f"{e.message} at iteration {sink.handed + 1}"
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
        live.optimizer = problem = None  # the state's arrays (d numbers each) go before the summary's work
        try:
            live.writer.close()
        except OSError as e:
            error = error or f"writing the trace failed: {e.strerror or e}"
    return result, error


def _final_summary(
    live: OpenRun, sig: Signals, result: MemberResult | None, error: str | None, seen: dict[str, Any]
) -> dict[str, Any]:
    """The summary's outcome fields (``x.npz`` written when the points are large); ``seen`` (the
    last f and best f handed on) fills a summary that has no result."""
    if result is not None:
        summary = {**live.base, **member_summary(live.config, live.objective, result)}
        if "x_file" in summary:
            try:
                live.folder.write_points(result.final_x, result.best_x)
            except OSError as e:
                error = error or f"writing x.npz failed: {e.strerror or e}"
    else:
        summary = {
            **live.base,
            "status": "interrupted" if error is None else "failed",
            "stop_reason": "interrupted" if error is None else "error",
            "iterations": live.writer.last_iteration,
            **seen,
        }
    if error is not None:
        summary["status"], summary["stop_reason"], summary["error"] = "failed", "error", error
    if sig.received is not None and summary["status"] == "interrupted":
        summary["signal"] = signal_name(sig.received)
    if live.objective.f_min is not None:  # first crossings over every iteration, whatever the trace keeps
        from ..store.thinning import hits_record

        summary["hits"] = hits_record(live.writer.hits[:, 0])
    return summary


def _record(
    live: OpenRun,
    reporter: Reporter | None,
    sig: Signals,
    result: MemberResult | None,
    error: str | None,
    wall: float,
    seen: dict[str, Any],
) -> RunOutcome:
    """Write how the run ended (summary.json, meta.json, x.npz) and tell the reporter."""
    summary = _final_summary(live, sig, result, error, seen)
    summary["wall_time_s"] = wall
    summary["time_per_iteration_s"] = wall / summary["iterations"] if summary.get("iterations") else None
    summary["updated_at"] = summary["ended_at"] = utc_now()
    failures = expect_failures(live.config, summary)
    summary["expect"] = {"checked": live.config.expect.active(), "failures": failures, "passed": not failures}
    live.meta["ended_at"] = summary["ended_at"]
    folder = live.folder
    release_space(folder)
    try:
        folder.write_summary(summary)
        folder.write_meta(live.meta)
        if summary["status"] in ("completed", "diverged"):
            drop_checkpoint(folder.path)  # a finished run needs no checkpoint
    except OSError as e:
        raise StorageError(f"cannot write the summary of {folder.path}: {e.strerror or e}") from None
    status = summary["status"]
    code = exit_code(status, sig.received, not (status == "completed" and not failures))
    outcome = RunOutcome(folder.id, folder.path, summary, code, failures)
    if reporter:
        reporter.finish(outcome)
    return outcome
