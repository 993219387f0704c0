"""Runs side by side (:func:`compare_runs`, :class:`Comparison`): one :class:`Row` per figure of
:class:`RunStats` with a value per run, the best run of each row marked (every figure here is
better lower but a learning run's test accuracy), the config keys whose values differ, and notes saying what cannot be compared
(runs on different problems are shown but not ranked on f; f - f* needs a known f*)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import CompareError
from ..store.run import Run
from .configdiff import config_rows
from .metrics import (
    METRICS,
    TARGETS,
    Row,
    fmt_int,
    fmt_number,
    fmt_percent,
    fmt_seconds,
    fmt_target,
    metric_key,
    rank,
    ranked_metric,
)
from .runstats import RunStats, run_stats


@dataclass
class Comparison:
    """Runs as columns (``runs``, in display order; ``given``: the order they were given in, whose
    first is the baseline of :func:`gate`), result rows, config rows and notes."""

    runs: list[RunStats]
    rows: list[Row]
    config_rows: list[Row]
    notes: list[str]
    metric: str
    target: float
    best: list[int]
    comparable: bool
    given: list[RunStats] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: runs, rows (values keyed by run id), best run by the metric."""
        ids = [r.id for r in self.runs]

        def row(r: Row) -> dict[str, Any]:
            return {
                "key": r.key,
                "label": r.label,
                "values": dict(zip(ids, r.values)),
                "best": [ids[i] for i in r.best],
                **({"note": r.note} if r.note else {}),
                **({"higher_is_better": True} if r.higher else {}),
            }

        from ..store.folder import jsonable

        return jsonable(
            {
                "runs": [
                    {
                        "id": r.id,
                        "path": r.path,
                        "label": r.label,
                        "status": r.status,
                        "algorithm": r.algorithm,
                        "variant": r.variant,
                        "objective": r.objective,
                        "dim": r.dim,
                        "f_min": r.f_min,
                    }
                    for r in self.runs
                ],
                "metric": self.metric,
                "target": self.target if self.metric == "iterations_to_target" else None,
                "best": [ids[i] for i in self.best],
                "comparable": self.comparable,
                "rows": [row(r) for r in self.rows],
                "config": [row(r) for r in self.config_rows],
                "notes": self.notes,
            }
        )  # non-finite -> null: a target never reached, a diverged f


class _Rows:
    """The result rows being built: a problem-dependent figure is ranked only when every run
    solves the same problem (else it carries a note saying why it is not)."""

    def __init__(self, comparable: bool) -> None:
        self.comparable = comparable
        self.rows: list[Row] = []

    def add(
        self,
        key: str,
        label: str,
        values: list[Any],
        text: list[str],
        ranked: bool | None,
        note: str | None = None,
        higher: bool = False,
    ) -> None:
        if ranked is None:  # a problem-dependent figure
            ranked = self.comparable
            note = note or (None if self.comparable else "not ranked: the runs solve different problems")
        order = [None if v is None else -v for v in values] if higher else values
        self.rows.append(
            Row(key, label, values, text, rank(order) if ranked else [], note=note, higher=higher)
        )


def _check_thinning(metric: str, target: float, stats: Sequence[RunStats]) -> None:
    """Refuse to rank on an iteration at a target that a thinned trace would decide."""
    thinned = [s.label for s in stats if s.trace_every > 1]
    if metric == "iterations_to_target" and thinned:  # the figure ranked on would depend on the thinning
        raise CompareError(
            f"the iteration at f - f* <= {target:g} of {', '.join(thinned)} would come from a "
            "thinned trace (trace.every or trace.log_per_decade) and depend on the thinning; runs "
            "record their first crossings of "
            f"{', '.join(fmt_target(t) for t in TARGETS)} on every iteration: choose one of those"
        )


def _sorted(stats: list[RunStats], key: str, target: float) -> list[RunStats]:
    """Runs by metric ``key``, best first; runs without a value last."""

    def order(s: RunStats) -> tuple[int, float]:
        v = s.metric(key, target)
        return (1, 0.0) if v is None or math.isnan(v) else (0, v)

    return sorted(stats, key=order)


def _figure_rows(rows: _Rows, stats: Sequence[RunStats]) -> None:
    """Status, setup, iterations, final f, best f, gradient norm, distance and f - f*."""
    add = rows.add
    add("status", "status", [s.status for s in stats], [s.status for s in stats], False)
    setups = [
        f"{s.algorithm}{'/' + s.variant if s.variant and s.variant != 'default' else ''} on {s.problem}"
        for s in stats
    ]
    add("setup", "algorithm on problem", setups, setups, False)
    add(
        "iterations",
        "iterations",
        [s.iterations for s in stats],
        [fmt_int(s.iterations) for s in stats],
        False,
    )
    add("final_f", "final f", [s.final_f for s in stats], [fmt_number(s.final_f) for s in stats], None)
    add(
        "best_f",
        "best f (iteration)",
        [s.best_f for s in stats],
        [
            fmt_number(s.best_f) + ("" if s.best_iteration is None else f" @ {s.best_iteration:,}")
            for s in stats
        ],
        None,
    )
    add(
        "grad_norm",
        "final grad norm",
        [s.grad_norm for s in stats],
        [fmt_number(s.grad_norm) for s in stats],
        None,
    )
    add(
        "distance",
        "distance to optimum",
        [s.distance for s in stats],
        [fmt_number(s.distance) if s.distance is not None else "unknown" for s in stats],
        None,
    )
    add(
        "f_gap",
        "f - f*",
        [s.f_gap for s in stats],
        [fmt_number(s.f_gap) if s.f_min is not None else "f* unknown" for s in stats],
        None,
    )


def _regret_rows(rows: _Rows, stats: Sequence[RunStats]) -> None:
    """Online runs: the final regret R_T and final average regret R_T / T."""
    if not any(s.online for s in stats):
        return
    for key, label in (("final_regret", "final regret"), ("final_avg_regret", "final average regret")):
        values = [getattr(s, key) for s in stats]
        text = [fmt_number(v) if s.online else "not online" for s, v in zip(stats, values)]
        rows.add(key, label, values, text, None)


def _test_rows(rows: _Rows, stats: Sequence[RunStats]) -> None:
    """Learning runs with test data: the final test loss and, for classifiers, the final test
    accuracy (higher is better: its best is the highest)."""
    if not any(s.tested for s in stats):
        return
    losses = [s.final_test_loss for s in stats]
    text = [fmt_number(v) if s.tested else "no test data" for s, v in zip(stats, losses)]
    rows.add("final_test_loss", "final test loss", losses, text, None)
    accuracy = [s.final_test_accuracy for s in stats]
    if any(v is not None for v in accuracy):
        text = [
            fmt_percent(v) if v is not None else ("no test data" if not s.tested else "-")
            for s, v in zip(stats, accuracy)
        ]
        rows.add("final_test_accuracy", "final test accuracy", accuracy, text, None, higher=True)


def _target_rows(
    rows: _Rows, stats: Sequence[RunStats], ladder: Sequence[float], problems: Sequence[str], notes: list[str]
) -> None:
    """The first iteration at f - f* <= t for each target of the ladder, or why there is none."""
    known = [s.f_min is not None for s in stats]
    if any(known):
        for t in ladder:
            vals = [
                None if not k else (math.inf if s.hits[t] is None else s.hits[t])
                for s, k in zip(stats, known)
            ]
            text = [
                "f* unknown" if not k else ("-" if s.hits[t] is None else f"{s.hits[t]:,}")
                for s, k in zip(stats, known)
            ]
            rows.add(f"target_{fmt_target(t)}", f"f - f* <= {fmt_target(t)} at", vals, text, None)
        thinned = [s.label for s in stats if s.trace_every > 1]
        if thinned:
            notes.append(
                f"{', '.join(thinned)} record a thinned trace (trace.every or trace.log_per_decade): "
                "their iterations at a target off the recorded ladder are the first recorded row at or "
                "after the crossing"
            )
    else:
        notes.append(
            "f* is unknown for "
            + ("these objectives" if len(problems) > 1 else "this objective")
            + ": f - f* and the targets ladder cannot be computed; compare final f and best f"
        )
    if not all(known) and any(known):
        notes.append(
            "f* is unknown for "
            + ", ".join(s.label for s, k in zip(stats, known) if not k)
            + ": no f - f* or targets for them"
        )


def compare_runs(
    runs: Sequence[Run],
    *,
    metric: str | None = None,
    target: float = 1e-6,
    sort: str | None = None,
    all_config: bool = False,
    targets: Sequence[float] = TARGETS,
) -> Comparison:
    """Side-by-side rows for two or more runs (see the module docstring).

    ``metric`` decides the overall best run (default: final average regret when every run is
    an online run, final f otherwise: :func:`~optrun.compare.metrics.ranked_metric`); ``sort``
    orders the columns by a metric, best first (runs without a value last), otherwise they stay
    in the given order. ``target`` is the f - f* target of the ``iterations_to_target`` metric.
    """
    if len(runs) < 2:
        raise CompareError("give at least two runs to compare")
    chosen = None if metric is None else metric_key(metric)
    if not (isinstance(target, float) and target > 0 and math.isfinite(target)):
        raise CompareError(f"--target must be a positive number, not {target}")
    ladder = sorted(set(targets) | ({target} if chosen == "iterations_to_target" else set()), reverse=True)
    stats = given = [run_stats(r, ladder) for r in runs]
    online = [{"final_avg_regret": s.final_avg_regret} if s.online else {} for s in stats]
    metric = ranked_metric(metric, online, "final_f")
    _check_thinning(metric, target, stats)
    if sort is not None:
        stats = _sorted(stats, metric_key(sort), target)

    problems = list(dict.fromkeys(s.problem for s in stats))
    comparable = len(problems) == 1
    notes: list[str] = []
    if not comparable:
        notes.append(
            "the runs solve different problems (" + "; ".join(problems) + "): f, gradient and "
            "distance rows are shown side by side but not ranked; times are ranked"
        )
    rows = _Rows(comparable)
    _figure_rows(rows, stats)
    _regret_rows(rows, stats)
    _test_rows(rows, stats)
    _target_rows(rows, stats, ladder, problems, notes)
    rows.add(
        "wall_time",
        "wall time",
        [s.wall_time for s in stats],
        [fmt_seconds(s.wall_time) for s in stats],
        True,
    )
    tpi = [s.time_per_iteration for s in stats]
    rows.add("time_per_iteration", "time per iteration", tpi, [fmt_seconds(v) for v in tpi], True)

    values = [s.metric(metric, target) for s in stats]
    m = METRICS[metric]
    best = rank(values) if (comparable or not m.problem) else []
    if metric == "iterations_to_target" and not any(s.f_min is not None for s in stats):
        notes.append("iterations to target needs a known f*")
    first = values[0] if values else None
    if len(stats) > 1 and first is not None and first > 0 and math.isfinite(first):
        ratios = [None if v is None or not math.isfinite(v) else v / first for v in values]
        text = ["-" if r is None else f"{r:.3g}x" for r in ratios]
        rows.add(f"{metric}_ratio", f"{m.label} / first column", ratios, text, False)
    return Comparison(
        stats, rows.rows, config_rows(stats, all_config), notes, metric, target, best, comparable, list(given)
    )
