"""Configurations of sweeps, aggregated across seeds, tested and ranked.

A sweep's members differ by their axis values; those that differ only by ``seed`` are replicates
of one configuration. Aggregating across seeds gives, per configuration (:class:`GroupStats`),
the median and interquartile range of the metric (robust summaries of a distribution that is
often heavy-tailed across seeds) and, per target of the ladder, the success rate (the share of
members that reached it) with the median iterations among those that did: the "fixed-target"
view of benchmarking (Hansen et al. 2021, "COCO: a platform for comparing continuous optimizers
in a black-box setting", Optim. Methods Softw. 36(1)). Two configurations are compared with the
Mann-Whitney U test across seeds (:mod:`optrun.compare.stats`, :class:`TestResult`), so "A beats
B" comes with a p-value; algorithms on several objectives get a mean rank (:class:`Ranking`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..store.values import json_value
from .metrics import fmt_number, fmt_target
from .stats import mann_whitney_u, quantile, rankdata

SWEEP_METRIC_COLUMNS: dict[str, str] = {
    "f_gap": "f_gap",
    "final_f": "final_f",
    "best_f": "best_f",
    "distance": "distance_to_optimum",
    "grad_norm": "final_grad_norm",
    "wall_time": "wall_time_s",
}
NOT_RUN = ("pending",)  # members that never ran are left out of every statistic


def hit_column(t: float) -> str:
    """The member-table column of target ``t``: ``hit_1e-6`` (first iteration with f - f* <= t)."""
    return f"hit_{fmt_target(t)}"


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def member_value(row: dict[str, Any], metric: str, target: float) -> float:
    """Member ``row``'s value of ``metric`` (lower is better). A member without one (diverged to
    NaN/inf, failed, or a target never reached) counts as ``inf``: worse than any that has one."""
    if metric == "iterations_to_target":
        v = _num(row.get(hit_column(target)))
    else:
        if row.get("status") in ("diverged", "failed"):
            return math.inf  # its last f may still be finite (1e267): it is not a result
        v = _num(row.get(SWEEP_METRIC_COLUMNS[metric]))
    return math.inf if v is None or math.isnan(v) else v


@dataclass
class GroupStats:
    """One configuration of a sweep (the members that differ only by seed), aggregated.

    ``side`` is the sweep or group it belongs to, ``key`` its axis values (seed excluded),
    ``values`` the metric per member (``inf`` for members without one, counted in ``missing``),
    ``median``/``q1``/``q3`` their quartiles, ``success[t]`` the share of members whose trace reached
    f - f* <= t and ``hit_median[t]`` the median first iteration among those (``None`` if none did).
    """

    label: str
    side: str
    sweep: str
    key: dict[str, Any]
    members: list[int]
    counts: dict[str, int]
    values: np.ndarray
    median: float
    q1: float
    q3: float
    missing: int
    success: dict[float, float]
    hit_median: dict[float, float | None]
    problem: str = ""

    @property
    def n(self) -> int:
        return len(self.members)


@dataclass
class TestResult:
    """A two-sided Mann-Whitney U test of side ``a`` against side ``b`` across seeds.

    ``u`` is U of ``a`` (pairs where a's value is larger, ties 1/2), ``u_min`` the smaller of the two
    U statistics (the textbook U, what the verdict line prints); ``prob_a_better`` estimates
    P(a < b) + P(a = b) / 2 (lower is better); ``better`` is the label of the significantly better
    side at level ``alpha`` or ``None``; ``line`` is the one-line verdict.
    """

    a: str
    b: str
    key: dict[str, Any]
    n_a: int
    n_b: int
    median_a: float
    median_b: float
    u: float
    p_value: float
    method: str
    prob_a_better: float
    alpha: float
    better: str | None
    line: str

    @property
    def u_min(self) -> float:
        return min(self.u, self.n_a * self.n_b - self.u)


@dataclass
class Ranking:
    """Mean rank of each entrant (an algorithm) across objectives, by the median metric on each
    objective (its best configuration there); rank 1 is best, ties share the average rank."""

    entrants: list[str]  # best mean rank first
    objectives: list[str]
    medians: dict[str, dict[str, float]]  # entrant -> objective -> median
    ranks: dict[str, dict[str, float]]
    mean_rank: dict[str, float]


def aggregate(
    label: str,
    side: str,
    sweep_id: str,
    key: dict[str, Any],
    rows: Sequence[dict[str, Any]],
    metric: str,
    target: float,
    targets: Sequence[float],
) -> GroupStats:
    """Statistics of one configuration's members (see :class:`GroupStats`)."""
    values = np.array([member_value(r, metric, target) for r in rows], dtype=np.float64)
    counts: dict[str, int] = {}
    for r in rows:
        counts[str(r.get("status"))] = counts.get(str(r.get("status")), 0) + 1
    success: dict[float, float] = {}
    hit_median: dict[float, float | None] = {}
    for t in targets:
        hits = [h for h in (_num(r.get(hit_column(t))) for r in rows) if h is not None]
        success[t] = len(hits) / len(rows) if rows else 0.0
        hit_median[t] = quantile(hits, 0.5) if hits else None
    return GroupStats(
        label,
        side,
        sweep_id,
        key,
        [int(r["member"]) for r in rows],
        dict(sorted(counts.items())),
        values,
        quantile(values, 0.5),
        quantile(values, 0.25),
        quantile(values, 0.75),
        int(np.isinf(values).sum()),
        success,
        hit_median,
    )


def order_key(g: GroupStats) -> tuple[float, float, float]:
    """Best first: lowest median, then lowest upper quartile, then most members (NaN last)."""
    return (
        g.median if not math.isnan(g.median) else math.inf,
        g.q3 if not math.isnan(g.q3) else math.inf,
        -g.n,
    )


def mann_whitney_verdict(a: GroupStats, b: GroupStats, alpha: float, metric_label: str) -> TestResult:
    """The Mann-Whitney U test of ``a``'s values against ``b``'s, and its one-line verdict."""
    res = mann_whitney_u(a.values, b.values)
    pa = res.prob_x_better
    better = None
    if res.p_value < alpha and pa != 0.5:
        better = a.label if pa > 0.5 else b.label
    first, second, p_first = (b, a, 1.0 - pa) if better == b.label else (a, b, pa)
    figures = (
        f"median {fmt_number(first.median)} vs {fmt_number(second.median)}, n = {first.n} vs {second.n}, "
        f"P({first.label} better) = {p_first:.2f}; Mann-Whitney min(U_A, U_B) = {min(res.u1, res.u2):g} ({res.method})"
    )
    if better is None:
        line = (
            f"no significant difference in {metric_label} between {a.label} and {b.label} "
            f"(p = {res.p_value:.3g} >= {alpha:g}): {figures}"
        )
    else:
        line = f"{first.label} beats {second.label} on {metric_label} (p = {res.p_value:.3g} < {alpha:g}): {figures}"
    return TestResult(
        a.label,
        b.label,
        dict(a.key),
        a.n,
        b.n,
        a.median,
        b.median,
        res.u1,
        res.p_value,
        res.method,
        pa,
        alpha,
        better,
        line,
    )


def member_entity(sweep: Any, row: dict[str, Any], section: str) -> str | None:
    """The algorithm or objective name of a member: its axis value, else the sweep's base config."""
    for key in (f"{section}.name", section):
        if key in sweep.axes:
            v = json_value(row.get(key))
            if isinstance(v, dict):
                name = str(v.get("name", "?"))
                return name + (f" d={v['dim']}" if "dim" in v else "")
            return None if v is None else str(v)
    base = sweep.config.get(section)
    if isinstance(base, dict):
        return None if base.get("name") is None else str(base.get("name"))
    return None if base is None else str(base)


def member_problem(sweep: Any, row: dict[str, Any]) -> str:
    """The objective a member solves, for telling problems apart (name, and dimension when the
    objective is not an axis)."""
    name = member_entity(sweep, row, "objective") or "?"
    if "d=" not in name and not any(a.startswith("objective") for a in sweep.axes) and sweep.dim is not None:
        name += f" d={sweep.dim}"
    return name


def rank_matrix(cells: dict[str, dict[str, float]]) -> Ranking | None:
    """Ranks within each objective (lower median is better; ties averaged) and each entrant's
    mean rank over the objectives it ran on. ``cells``: entrant -> objective -> median."""
    entrants = list(cells)
    objectives = list(dict.fromkeys(o for e in entrants for o in cells[e]))
    if len(entrants) < 2 or len(objectives) < 2:
        return None
    ranks: dict[str, dict[str, float]] = {e: {} for e in entrants}
    for o in objectives:
        here = [e for e in entrants if o in cells[e] and not math.isnan(cells[e][o])]
        if not here:
            continue
        r, _ = rankdata([cells[e][o] for e in here])
        for e, v in zip(here, r.tolist()):
            ranks[e][o] = v
    mean = {e: (sum(ranks[e].values()) / len(ranks[e]) if ranks[e] else math.nan) for e in entrants}
    order = sorted(entrants, key=lambda e: (math.isnan(mean[e]), mean[e]))
    return Ranking(order, objectives, cells, ranks, mean)
