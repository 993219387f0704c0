"""One batch of a sweep: its members run as one vectorized loop into the batch's trace file,
and one summary row per member back (failed or interrupted rows when the batch could not finish).
This is what an executor (:mod:`optrun.execution.executors`) runs, wherever it runs it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ..config import RunConfig
from ..objectives import Objective
from ..objectives.rounds import trace_columns
from ..problem import build_objective, build_optimizer, build_rounds, projection, start_points
from ..runner import MemberResult, Problem, run
from ..signals import EvaluationTimeout, Interrupt
from ..store.sweepstore import ROW_CELLS, ROW_FIELDS, BatchTraceWriter, summary_cells, write_points
from ..store.thinning import TARGET_COLUMNS
from ..sweep import batch_params
from .results import expect_failures, final_distances, member_summary


class BatchJob(NamedTuple):
    """A batch handed to an executor: the sweep folder, the batch's number, its members' indices
    in the plan and their configs (they share algorithm, objective and dimension)."""

    folder: str
    batch: int
    indices: list[int]
    configs: list[RunConfig]


def run_batch(
    folder: str,
    batch: int,
    indices: list[int],
    configs: list[RunConfig],
    progress: Callable[[Any], None] | None = None,
    *,
    should_stop: Callable[[], bool],
) -> list[dict[str, Any]]:
    """Run one batch of members as one loop; returns one summary row per member (in order).

    Any exception inside (a user objective raising, a full disk) marks every unfinished member
    of the batch ``failed`` with the error; nothing propagates.
    ``should_stop`` is polled between steps (between chunks of compiled steps on the numba backend's
    chunked path): the executor running the batch says when a signal asks it to stop.
    """
    t0 = time.perf_counter()
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
            trace_columns(objective),
        )

        def on_chunk(c):
            handed[0] = c.first_iteration + c.n - 1
            writer.add(
                c.first_iteration,
                c.f,
                c.grad_norm,
                c.step_norm,
                c.x,
                c.rows,
                c.ended,
                tuple(c.extra.values()),
            )
            if progress is not None:
                progress(c)

        problem = Problem(
            objective,
            optimizer,
            x0,
            cfg0.iterations,
            cfg0.stop.f_target,
            cfg0.stop.grad_norm,
            chunks=True,
            project=projection(cfg0),
            rounds=build_rounds(configs, objective),
        )
        results = run(problem, on_chunk, should_stop=should_stop)
        writer.close()
        wall = time.perf_counter() - t0
        return _member_rows(folder, batch, indices, configs, objective, results, writer.hits, wall)
    except BaseException as e:  # noqa: BLE001 - user code may raise anything (SystemExit too): members failed
        if writer is not None:
            try:
                writer.close()
            except OSError:
                pass
        return _unfinished_rows(e, len(indices), time.perf_counter() - t0, handed[0])


def _member_rows(
    folder: str,
    batch: int,
    indices: list[int],
    configs: list[RunConfig],
    objective: Objective,
    results: list[MemberResult],
    hits: np.ndarray,
    wall: float,
) -> list[dict[str, Any]]:
    """The summary rows of a batch that ran to its end (points too large for the rows go to one
    file per batch)."""
    S = len(indices)
    rows = []
    dists = final_distances(objective, np.stack([r.final_x for r in results]))
    # each member's first iterations within the targets, None for a target never reached
    member_hits = zip(*[[h if h >= 0 else None for h in row] for row in hits.tolist()])
    each = wall / S
    for cfg, r, dist, hit in zip(configs, results, dists, member_hits):
        row = member_summary(cfg, objective, r, dist)
        row["wall_time_s"] = each
        row["batch_wall_time_s"] = wall
        row.update(zip(TARGET_COLUMNS, hit))
        fails = expect_failures(cfg, row)
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
    for row, text in zip(rows, summary_cells(list(ROW_FIELDS), rows)):  # summary.csv text, made here
        row[ROW_CELLS] = text
    return rows


def _unfinished_rows(e: BaseException, S: int, wall: float, handed: int) -> list[dict[str, Any]]:
    """The rows of a batch that ``e`` stopped: interrupted (a second Ctrl-C aborted an evaluation)
    or failed with the error."""
    if isinstance(e, Interrupt):
        return [
            {
                "status": "interrupted",
                "stop_reason": "interrupted",
                "iterations": None,
                "wall_time_s": wall / S,
            }
            for _ in range(S)
        ]
    err = f"{type(e).__name__}: {e}" if not hasattr(e, "message") else e.message
    if isinstance(e, EvaluationTimeout):
        err = f"{err} at iteration {handed + 1}"
    return [
        {
            "status": "failed",
            "stop_reason": "error",
            "error": err,
            "iterations": None,
            "wall_time_s": wall / S,
        }
        for _ in range(S)
    ]


def interrupted_rows(job: BatchJob) -> list[dict[str, Any]]:
    """The rows of a batch whose result never came back (a second signal stopped the wait)."""
    return [{"status": "interrupted", "stop_reason": "interrupted", "iterations": None} for _ in job.indices]


def worker_failed_rows(job: BatchJob, e: BaseException) -> list[dict[str, Any]]:
    """The rows of a batch whose worker died (its process was killed, say)."""
    return [
        {"status": "failed", "stop_reason": "error", "error": f"worker failed: {e}", "iterations": None}
        for _ in job.indices
    ]
