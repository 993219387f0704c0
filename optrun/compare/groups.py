"""Configurations of sweeps, aggregated across seeds, tested and ranked.

A sweep's members differ by their axis values; those that differ only by ``seed`` are replicates
of one configuration. Aggregating across seeds gives, per configuration (:class:`GroupStats`),
the median and interquartile range of the metric (robust summaries of a distribution that is
often heavy-tailed across seeds) and, per target of the ladder, the success rate (the share of
members that reached it) with the median iterations among those that did: the "fixed-target"
view of benchmarking (Hansen et al. 2021, "COCO: a platform for comparing continuous optimizers
in a black-box setting", Optim. Methods Softw. 36(1)). Two configurations are compared with the
Mann-Whitney U test across seeds (:mod:`optrun.compare.stats`, :class:`TestResult`), or, when
their members share their seeds, the Wilcoxon signed-rank test of the pairs
(:mod:`optrun.compare.paired`), so "A beats B" comes with a p-value; algorithms on several
objectives get a mean rank (:class:`Ranking`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import CompareError
from ..store.values import json_value
from .metrics import COMPLETE, METRICS, fmt_number, fmt_target, metric_key
from .stats import mann_whitney_u, quantile, rankdata

SWEEP_METRIC_COLUMNS: dict[str, str] = {
    "f_gap": "f_gap",
    "final_f": "final_f",
    "best_f": "best_f",
    "distance": "distance_to_optimum",
    "grad_norm": "final_grad_norm",
    "wall_time": "wall_time_s",
    "final_avg_regret": "final_avg_regret",
    "final_regret": "final_regret",
    "final_test_loss": "final_test_loss",
    "test_error": "final_test_accuracy",  # ranked as 1 - accuracy (lower is better)
}
TEST_METRICS = ("final_test_loss", "test_error")  # recorded by learning runs with test data only
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
        if metric == "test_error" and v is not None:
            v = 1.0 - v
    return math.inf if v is None or math.isnan(v) else v


def check_recorded(metric: str, live: Sequence[Sequence[dict[str, Any]]]) -> None:
    """Refuse a test metric no member records (no ``test:`` data, or test error of least squares)."""
    if metric not in TEST_METRICS:
        return
    column = SWEEP_METRIC_COLUMNS[metric]
    if any(_num(r.get(column)) is not None for rows in live for r in rows):
        return
    if metric == "test_error" and any(
        _num(r.get("final_test_loss")) is not None for rows in live for r in rows
    ):
        raise CompareError(
            "no member records a test accuracy (least-squares has none): use --metric test_loss"
        )
    raise CompareError(
        f"no member records a {METRICS[metric].label.split(' (')[0]}: the objective has no test data "
        "(a learning objective's objective.test, e.g. test: 0.2)"
    )


def check_options(
    metric: str, target: float, alpha: float, targets: Sequence[float]
) -> tuple[str, float, list[float]]:
    """A sweep comparison's metric key, the target as the ladder writes it, and the ladder
    (largest first); a metric sweeps are not compared on or a bad option is a CompareError."""
    metric = metric_key(metric)
    if metric not in SWEEP_METRIC_COLUMNS and metric != "iterations_to_target":
        raise CompareError(
            f"sweeps are not compared on {METRICS[metric].label}; use one of "
            f"{', '.join(list(SWEEP_METRIC_COLUMNS) + ['iterations_to_target'])}"
        )
    if not (isinstance(alpha, float) and 0 < alpha < 1):
        raise CompareError(f"--significance must be a number between 0 and 1, not {alpha}")
    targets = sorted(targets, reverse=True)
    if metric == "iterations_to_target" and not any(math.isclose(target, t) for t in targets):
        raise CompareError(
            f"sweeps record the targets {', '.join(fmt_target(t) for t in targets)}; "
            f"--target {target:g} is not one of them"
        )
    return metric, next((t for t in targets if math.isclose(target, t)), target), targets


def metric_label(
    metric: str, target: float, live: Sequence[Sequence[dict[str, Any]]], notes: list[str]
) -> tuple[str, str]:
    """A sweep comparison's metric (final f where some member's f* is unknown) and its label in
    tables and lines."""
    if metric == "f_gap":
        unknown = sum(
            1
            for rows in live
            for r in rows
            if r.get("f_min") is None and r.get("status") == COMPLETE and r.get("f_gap") is None
        )
        if unknown:
            metric = "final_f"
            notes.append("f* is unknown for some members: configurations are compared on final f")
    label = {"f_gap": "final f - f*", "iterations_to_target": f"iterations to {fmt_target(target)}"}.get(
        metric, METRICS[metric].label
    )
    return metric, label


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
    seeds: list[Any] | None = None  # each member's seed (the sweep's seed axis), None without one

    @property
    def n(self) -> int:
        return len(self.members)


@dataclass
class TestResult:
    """A two-sided test of side ``a`` against side ``b`` across seeds: ``test`` is
    ``mann-whitney`` (independent samples) or ``wilcoxon`` (signed-rank, the members paired by
    seed: ``n_pairs`` pairs, :mod:`optrun.compare.paired`).

    Mann-Whitney: ``u`` is U of ``a`` (pairs where a's value is larger, ties 1/2), ``u_min`` the
    smaller of the two U statistics (the textbook U, what the verdict line prints);
    ``prob_a_better`` estimates P(a < b) + P(a = b) / 2 (lower is better). Wilcoxon: ``u`` is
    ``None``, ``w_plus``/``w_minus`` the rank sums of the pairs where a is larger / smaller, and
    ``prob_a_better`` the share of seeds on which a's value is lower (ties 1/2). ``better`` is the
    label of the significantly better side at level ``alpha`` or ``None``; ``line`` the one-line
    verdict.
    """

    a: str
    b: str
    key: dict[str, Any]
    n_a: int
    n_b: int
    median_a: float
    median_b: float
    u: float | None
    p_value: float
    method: str
    prob_a_better: float
    alpha: float
    better: str | None
    line: str
    test: str = "mann-whitney"
    n_pairs: int | None = None
    w_plus: float | None = None
    w_minus: float | None = None

    @property
    def u_min(self) -> float | None:
        return None if self.u is None else min(self.u, self.n_a * self.n_b - self.u)

    @property
    def statistic(self) -> float:
        """What the tables print: min(U_A, U_B), or min(W+, W-) of a signed-rank test."""
        u = self.u_min
        return u if u is not None else min(self.w_plus or 0.0, self.w_minus or 0.0)

    def to_dict(self) -> dict[str, Any]:
        """Plain data: a Mann-Whitney test's fields (and ``test``), a Wilcoxon test's with its pairs."""
        out = {k: v for k, v in self.__dict__.items() if k not in ("n_pairs", "w_plus", "w_minus")}
        out["u_min"] = self.u_min
        if self.test == "wilcoxon":
            out.update(n_pairs=self.n_pairs, w_plus=self.w_plus, w_minus=self.w_minus, w_min=self.statistic)
        return out


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
    seeds = [r["seed"] for r in rows] if rows and all("seed" in r for r in rows) else None
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
        seeds=seeds,
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
    line = verdict_line(a, b, first, second, better, metric_label, res.p_value, alpha, figures)
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


def verdict_line(
    a, b, first, second, better, metric_label: str, p: float, alpha: float, figures: str, tag: str = ""
) -> str:
    """A two-sided test's one-line verdict: which side beats the other on ``metric_label`` (or
    that neither does), the p-value against ``alpha`` (``tag`` before it: ``"paired, "``), then
    the ``figures``."""
    if better is None:
        return (
            f"no significant difference in {metric_label} between {a.label} and {b.label} "
            f"({tag}p = {p:.3g} >= {alpha:g}): {figures}"
        )
    return f"{first.label} beats {second.label} on {metric_label} ({tag}p = {p:.3g} < {alpha:g}): {figures}"


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
