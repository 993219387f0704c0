"""What compare ranks on and how its figures print: the metrics (lower is better; a learning
run's test accuracy is ranked as its test error, 1 - accuracy), the targets ladder of f - f*,
the number formats of rows and verdict lines, the 'best' marker of a row, and :class:`Row`, one
figure across the runs.

The ladder 1e-1 ... 1e-8 is the "target precision" convergence measure of performance profiles
(Dolan and Moré 2002, Math. Program. 91; Moré and Wild 2009, SIAM J. Optim. 20).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import CompareError

TARGETS: tuple[float, ...] = tuple(10.0**-k for k in range(1, 9))
COMPLETE = "completed"


@dataclass(frozen=True)
class Metric:
    """A figure that decides 'best' (lower is better); ``problem``: only meaningful within one problem."""

    key: str
    label: str
    problem: bool = True


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("final_f", "final f"),
        Metric("best_f", "best f"),
        Metric("f_gap", "f - f*"),
        Metric("distance", "distance to optimum"),
        Metric("grad_norm", "final grad norm"),
        Metric("iterations_to_target", "iterations to target"),
        Metric("final_avg_regret", "final average regret"),
        Metric("final_regret", "final regret"),
        Metric("final_test_loss", "final test loss"),
        Metric("test_error", "test error (1 - test accuracy)"),
        Metric("wall_time", "wall time", problem=False),
        Metric("time_per_iteration", "time per iteration", problem=False),
    )
}


def metric_key(name: str) -> str:
    """Normalise a metric name (``iterations-to-target`` -> ``iterations_to_target``)."""
    key = name.strip().lower().replace("-", "_")
    aliases = {
        "f": "final_f",
        "gap": "f_gap",
        "distance_to_optimum": "distance",
        "time": "wall_time",
        "wall_time_s": "wall_time",
        "final_grad_norm": "grad_norm",
        "target": "iterations_to_target",
        "avg_regret": "final_avg_regret",
        "average_regret": "final_avg_regret",
        "regret": "final_regret",
        "test_loss": "final_test_loss",
        # accuracy is ranked as its complement, so that every metric is lower-is-better
        "final_test_error": "test_error",
        "test_accuracy": "test_error",
        "final_test_accuracy": "test_error",
        "accuracy": "test_error",
    }
    key = aliases.get(key, key)
    if key not in METRICS:
        raise CompareError(f"unknown metric '{name}'; choose one of {', '.join(METRICS)}")
    return key


def ranked_metric(given: str | None, records: Iterable[Mapping[str, Any]], default: str) -> str:
    """What compare ranks on: the metric ``given`` (``--metric``); else final average regret
    (``R_T / T``, lower is better) when every record (a run's summary, a sweep member's row) has
    ``final_avg_regret``, as online runs do (regret, not f, is what an online method is judged
    by: f_t changes with t); else ``default`` (final f for runs, f - f* for sweeps)."""
    if given is not None:
        return metric_key(given)
    records = list(records)
    if records and all("final_avg_regret" in r for r in records):
        return "final_avg_regret"
    return default


def short_label(run_id: str) -> str:
    """``20250101-120000.000-name-abc123`` -> ``name-abc123`` (the time is in the listing)."""
    head, _, rest = run_id.partition("-")
    if head.isdigit() and len(head) == 8 and rest:
        _, _, rest2 = rest.partition("-")
        return rest2 or run_id
    return run_id


def fmt_number(v: float | None) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.6g}"


def fmt_percent(v: float | None) -> str:
    """A share (an accuracy) as a percentage: ``0.975`` -> ``97.5%``."""
    if v is None:
        return "-"
    return fmt_number(v) if not math.isfinite(v) else f"{100.0 * v:.4g}%"


def fmt_seconds(v: float | None) -> str:
    if v is None:
        return "-"
    if v >= 1.0:
        return f"{v:.3g} s"
    if v >= 1e-3:
        return f"{v * 1e3:.3g} ms"
    if v >= 1e-6:
        return f"{v * 1e6:.3g} us"
    return f"{v * 1e9:.3g} ns"


def fmt_int(v: int | None) -> str:
    return "-" if v is None else f"{v:,}"


def fmt_target(t: float) -> str:
    return f"{t:.0e}".replace("e-0", "e-")


def rank(values: Sequence[float | None]) -> list[int]:
    """Indices of the lowest value (ties all marked); none when fewer than two values differ."""
    nums = [(i, v) for i, v in enumerate(values) if v is not None and not math.isnan(v)]
    distinct = {v for _, v in nums}
    if len(distinct) < 2 and len(nums) == len(values):
        return []
    if not nums:
        return []
    low = min(v for _, v in nums)
    if math.isinf(low) and low > 0:
        return []
    return [i for i, v in nums if v == low]


@dataclass
class Row:
    """One figure across the runs: raw ``values`` (``None`` unknown) and their ``text``.

    ``best`` holds the column indices marked best (empty when the row is not ranked); ``note``
    says why a row is not ranked or what a value means.
    """

    key: str
    label: str
    values: list[Any]
    text: list[str]
    best: list[int] = field(default_factory=list)
    section: str = "results"
    note: str | None = None
    higher: bool = False  # higher is better (test accuracy): ``best`` marks the highest value
