"""Sweeps compared across seeds (:func:`compare_sweeps`, :class:`SweepComparison`): each sweep, or
each value of a ``--group-by`` axis, is a side; within a side every combination of the other axes
(seed excluded) is a configuration aggregated by :func:`optrun.compare.groups.aggregate`; later
sides are tested against the first, and algorithms on several objectives ranked. Axes with one
value in every configuration are said once (``constant``), and labels name axis values as a
selector takes them back (:func:`value_text`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import CompareError
from ..store.values import json_value, parse_member_spec, parse_pairs, value_key, value_label
from .configdiff import MISSING, config_text, flatten
from .groups import (
    NOT_RUN,
    GroupStats,
    Ranking,
    TestResult,
    aggregate,
    check_options,
    check_recorded,
    member_entity,
    member_problem,
    metric_label,
    order_key,
    rank_matrix,
)
from .metrics import TARGETS, fmt_target, ranked_metric, short_label
from .paired import verdict


@dataclass
class SweepComparison:
    """Sweeps (or groups of one sweep) aggregated per configuration, with tests and a ranking."""

    sides: list[str]
    groups: list[GroupStats]
    metric: str
    metric_label: str
    target: float
    targets: list[float]
    best: list[int]
    tests: list[TestResult]
    ranking: Ranking | None
    alpha: float
    notes: list[str]
    axes: list[str]
    constant: dict[str, Any] = field(default_factory=dict)  # short axis name -> its one value
    legend: dict[str, str] = field(default_factory=dict)  # side name (A, B ...) -> the sweep it stands for

    def to_dict(self) -> dict[str, Any]:
        from ..store.folder import jsonable

        def group(g: GroupStats) -> dict[str, Any]:
            return {
                "label": g.label,
                "side": g.side,
                "sweep": g.sweep,
                "problem": g.problem,
                "key": g.key,
                "n": g.n,
                "members": g.members,
                "counts": g.counts,
                "median": g.median,
                "q1": g.q1,
                "q3": g.q3,
                "missing": g.missing,
                "success": {fmt_target(t): g.success[t] for t in self.targets},
                "median_iterations": {fmt_target(t): g.hit_median[t] for t in self.targets},
            }

        return jsonable(
            {
                "kind": "sweep-comparison",
                "metric": self.metric,
                "metric_label": self.metric_label,
                "target": self.target if self.metric == "iterations_to_target" else None,
                "sides": self.sides,
                "legend": self.legend,
                "axes": self.axes,
                "constant": self.constant,
                "groups": [group(g) for g in self.groups],
                "problems": list(dict.fromkeys(g.problem for g in self.groups)),
                "best": [self.groups[i].label for i in self.best],
                "tests": [t.to_dict() for t in self.tests],
                "ranking": None
                if self.ranking is None
                else {
                    "entrants": self.ranking.entrants,
                    "objectives": self.ranking.objectives,
                    "medians": self.ranking.medians,
                    "ranks": self.ranking.ranks,
                    "mean_rank": self.ranking.mean_rank,
                },
                "alpha": self.alpha,
                "notes": self.notes,
            }
        )  # non-finite -> null


def side_name(i: int) -> str:
    """The short name of the ``i``-th sweep of a comparison: A, B, ..., Z, then S27, S28 ..."""
    return chr(ord("A") + i) if i < 26 else f"S{i + 1}"


def _short_keys(axes: Sequence[str]) -> dict[str, str]:
    """Display names of axes: ``algorithm.alpha`` -> ``alpha``, ``algorithm.name`` -> ``algorithm``,
    the full key where the short one would be ambiguous."""
    short = {a: (a[: -len(".name")] if a.endswith(".name") else a.rsplit(".", 1)[-1]) for a in axes}
    clash = {s for s in short.values() if list(short.values()).count(s) > 1}
    return {a: (a if s in clash else s) for a, s in short.items()}


def value_text(v: Any, values: Sequence[Any] = ()) -> str:
    """An axis value in a label: what a selector takes back (``alpha=0.0316228``; the full
    ``repr`` when another of the axis's ``values`` would print the same)."""
    if isinstance(v, float):
        return value_label(v, values)
    if isinstance(v, dict):
        name = v.get("name", "?")
        rest = ", ".join(f"{k}={value_text(x)}" for k, x in v.items() if k != "name")
        return f"{name}({rest})" if rest else str(name)
    return config_text(v)


def _key_of(row: dict[str, Any], axes: Sequence[str]) -> tuple[str, ...]:
    return tuple(value_key(row.get(a)) for a in axes)


@dataclass
class _Config:
    """One configuration of a side before it is aggregated: its member rows and how to label it."""

    side: str
    sweep: Any
    key: dict[str, Any]  # axis -> value (seed and the --group-by axis excluded)
    rows: list[dict[str, Any]]
    short: dict[str, str]  # axis -> its display name
    named: set[str]  # the axes the side's selector names (in the side label already)


@dataclass
class _Sides:
    """The sides of a comparison, in order, and their configurations (indices into ``configs``)."""

    sides: list[str] = field(default_factory=list)
    side_groups: dict[str, list[int]] = field(default_factory=dict)
    all_axes: list[str] = field(default_factory=list)
    configs: list[_Config] = field(default_factory=list)
    defining: dict[str, set[str]] = field(default_factory=dict)  # side -> the axes that make it
    side_specs: dict[str, tuple[Any, str]] = field(default_factory=dict)  # side -> sweep, selector naming it


def _sweep_labels(sweeps: Sequence[Any], specs: Sequence[str | None]) -> tuple[list[str], dict[str, str]]:
    """Each sweep's label in the sides' names, and the legend of short names (A = SWEEP_ID)."""
    one_sweep = len({s.id for s in sweeps}) == 1
    if len(sweeps) > 1 and not (one_sweep and all(specs)):
        # a sweep's id in every label would take half the terminal: each sweep is a letter, said once
        labels = [side_name(i) for i in range(len(sweeps))]
        legend = {lab: s.id + (f":{spec}" if spec else "") for lab, s, spec in zip(labels, sweeps, specs)}
        return labels, legend
    labels = [
        spec if (spec and one_sweep) else short_label(s.id) + (f":{spec}" if spec else "")
        for s, spec in zip(sweeps, specs)
    ]
    return [lab if labels.count(lab) == 1 else f"{lab} #{i + 1}" for i, lab in enumerate(labels)], {}


def _split(
    sweeps: Sequence[Any],
    live: Sequence[list[dict[str, Any]]],
    sweep_labels: Sequence[str],
    specs: Sequence[str | None],
    group_by: str | None,
    legend: dict[str, str],
) -> _Sides:
    """Each sweep (or each value of ``group_by`` in it) as a side, split into configurations."""
    plan = _Sides()
    one_sweep = len({s.id for s in sweeps}) == 1
    for s, rows, slabel, spec in zip(sweeps, live, sweep_labels, specs):
        gkey = s.axis_key(group_by) if group_by else None
        rest = [a for a in s.axes if a not in ("seed", gkey)]
        plan.all_axes += [a for a in rest if a not in plan.all_axes]
        short = _short_keys(s.axes)
        named = {s.axis_key(k) for k, _ in parse_member_spec(spec)} if spec else set()  # in the side label
        split: dict[str, tuple[Any, list[dict[str, Any]]]] = {}
        if gkey:
            for r in rows:
                split.setdefault(value_key(r.get(gkey)), (json_value(r.get(gkey)), []))[1].append(r)
        else:
            split[""] = (None, rows)
        for gval, grows in split.values():
            if gkey:
                side = f"{short[gkey]}={value_text(gval, s.axis_values(gkey))}"
                side = side if len(sweeps) == 1 else f"{slabel}: {side}"
            else:
                side = slabel
            plan.sides.append(side)
            plan.defining[side] = named | ({gkey} if gkey else set())
            if spec and one_sweep and not gkey and not legend:
                plan.side_specs[side] = (s, spec)
            configs: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for r in grows:
                configs.setdefault(_key_of(r, rest), []).append(r)
            plan.side_groups[side] = []
            for crows in configs.values():
                key = {a: json_value(crows[0].get(a)) for a in rest}
                plan.side_groups[side].append(len(plan.configs))
                plan.configs.append(_Config(side, s, key, crows, short, named))
    return plan


def _constant_axes(plan: _Sides) -> dict[str, Any]:
    """Axes with one value in every configuration: said once (constant), not in every label. A
    sweep that does not sweep the key has the value of its config (two sweeps that set it alike,
    one by an axis of one value and one in its config, share it too)."""
    constant: dict[str, Any] = {}
    for a in plan.all_axes:
        seen: dict[str, Any] = {}
        for c in plan.configs:
            v = (
                c.key[a]
                if a in c.key
                else flatten({k: x for k, x in c.sweep.config.items() if k != "sweep"}).get(a, MISSING)
            )
            seen[value_key(v) if v is not MISSING else ""] = v
        if len(seen) == 1 and "" not in seen:
            constant[a] = next(iter(seen.values()))
    return constant


def _rename_sides(plan: _Sides, constant: dict[str, Any]) -> None:
    """A side named by its selector (S:alpha=0.1) drops the keys every configuration has, as labels do."""
    shown: dict[str, str] = {}
    for side, (s, spec) in plan.side_specs.items():
        kept = [f"{k}={raw}" for k, _, raw in parse_pairs(spec, "selector") if s.axis_key(k) not in constant]
        shown[side] = ", ".join(kept) or side
    if len(set(shown.values())) < len(shown):
        shown = {}
    plan.sides = [shown.get(x, x) for x in plan.sides]
    plan.side_groups = {shown.get(x, x): v for x, v in plan.side_groups.items()}
    plan.defining = {shown.get(x, x): v for x, v in plan.defining.items()}
    for c in plan.configs:
        c.side = shown.get(c.side, c.side)


def _aggregate_all(
    plan: _Sides,
    constant: dict[str, Any],
    with_side: bool,
    metric: str,
    target: float,
    targets: Sequence[float],
) -> list[GroupStats]:
    """Every configuration aggregated, labelled by its side (``with_side``) and the axis values
    that are neither constant nor named by the side."""
    groups = []
    for c in plan.configs:
        text = ", ".join(
            f"{c.short[a]}={value_text(v, c.sweep.axis_values(a))}"
            for a, v in c.key.items()
            if a not in constant and a not in c.named
        )
        glabel = ", ".join(x for x in ((c.side if with_side else ""), text) if x) or c.side
        g = aggregate(glabel, c.side, c.sweep.id, c.key, c.rows, metric, target, targets)
        g.problem = member_problem(c.sweep, c.rows[0])
        groups.append(g)
    return groups


def _best(groups: Sequence[GroupStats], notes: list[str]) -> list[int]:
    """The best configurations (lowest median, then upper quartile) of each problem."""
    problems = list(dict.fromkeys(g.problem for g in groups))
    best: list[int] = []
    for prob in problems:  # f on one objective says nothing about f on another: best per problem
        members = [i for i, g in enumerate(groups) if g.problem == prob]
        if len(members) < 2:
            continue
        top = min(order_key(groups[i])[:2] for i in members)
        best += [i for i in members if order_key(groups[i])[:2] == top]
    if len(problems) > 1:
        notes.append(
            f"{len(problems)} problems ({', '.join(problems)}): the best configuration is marked on each"
        )
    return best


def _pairs(plan: _Sides, groups: Sequence[GroupStats], base: str, other: str, notes: list[str]):
    """The configurations of two sides to test against each other: matched by the axes the sides
    share, not by those that make the sides differ (S:alpha=0.01 against S:alpha=0.1 is one
    configuration against one); else the best configuration of each."""
    ga, gb = plan.side_groups[base], plan.side_groups[other]
    own = plan.defining[base] | plan.defining[other]
    keys_a = {repr(sorted((k, repr(v)) for k, v in groups[i].key.items() if k not in own)): i for i in ga}
    keys_b = {repr(sorted((k, repr(v)) for k, v in groups[i].key.items() if k not in own)): i for i in gb}
    if set(keys_a) == set(keys_b) and len(keys_a) == len(ga) and len(keys_b) == len(gb):
        return [(keys_a[k], keys_b[k]) for k in keys_a]
    if len(ga) == 1 and len(gb) == 1:  # one configuration each: nothing was selected
        return [(ga[0], gb[0])]
    notes.append(
        f"{base} and {other} have different configurations: their best ones (by median) "
        "are tested, which favours both equally but is a selection"
    )
    return [(min(ga, key=lambda i: order_key(groups[i])), min(gb, key=lambda i: order_key(groups[i])))]


def _tests(
    plan: _Sides, groups: Sequence[GroupStats], alpha: float, label: str, notes: list[str]
) -> list[TestResult]:
    """Each later side against the first, across seeds: paired by seed or not (:func:`verdict`)."""
    tests: list[TestResult] = []
    if len(plan.sides) < 2:
        return tests
    base = plan.sides[0]
    for other in plan.sides[1:]:
        for i, j in _pairs(plan, groups, base, other, notes):
            tests.append(verdict(groups[i], groups[j], alpha, label, notes))
    if len(tests) > 1:
        notes.append(
            f"{len(tests)} tests at significance level {alpha:g} each: expect about {alpha * len(tests):.2g} "
            "false positives by chance (Bonferroni: compare p with the significance level / number of tests)"
        )
    return tests


def _ranking(sweeps: Sequence[Any], groups: Sequence[GroupStats], n_sides: int) -> Ranking | None:
    """Each algorithm's mean rank over the objectives, by its best configuration's median on each."""
    cells: dict[str, dict[str, float]] = {}  # entrant -> objective -> its best configuration's median
    by_id = {s.id: s for s in sweeps}
    for g in groups:
        s = by_id[g.sweep]
        row = s.rows[g.members[0]]
        alg = member_entity(s, row, "algorithm") or "?"
        obj = member_entity(s, row, "objective") or "?"
        entrant = alg if n_sides == 1 else (g.side if alg in g.side else f"{g.side}: {alg}")
        cell = cells.setdefault(entrant, {})
        if not math.isnan(g.median):
            cell[obj] = min(cell.get(obj, math.inf), g.median)
    return rank_matrix(cells)


def compare_sweeps(
    sweeps: Sequence[Any],
    *,
    group_by: str | None = None,
    metric: str | None = None,
    target: float = 1e-6,
    alpha: float = 0.05,
    targets: Sequence[float] = TARGETS,
) -> SweepComparison:
    """Aggregate sweeps across seeds and compare them (see :mod:`optrun.compare.groups`).

    Each sweep, or with ``group_by`` each value of that axis in each sweep, is a *side*; within a
    side every combination of the remaining axes (seed excluded) is a configuration,
    aggregated by :func:`aggregate`. ``metric`` (default ``f_gap``: final f - f*, or final f when
    f* is unknown) decides the best configuration (lowest median). With two or more sides each
    later side is tested against the first with the Mann-Whitney U test across seeds, matching
    configurations by their axis values when the sides have the same ones, otherwise the best
    configuration of each. With two or more algorithms and objectives, a ranking by mean rank.
    """
    if not sweeps:
        raise CompareError("give at least one sweep to compare")
    given = metric
    metric, target, targets = check_options(metric or "f_gap", target, alpha, targets)
    notes: list[str] = []
    specs = [getattr(s, "spec", None) for s in sweeps]  # a MemberGroup: some members of one sweep
    chosen = [s.rows if spec is not None else None for s, spec in zip(sweeps, specs)]
    sweeps = [s.sweep if spec is not None else s for s, spec in zip(sweeps, specs)]
    for s in sweeps:
        s.require_rows()
    live = [
        [r for r in (s.rows if rows is None else rows) if r.get("status") not in NOT_RUN]
        for s, rows in zip(sweeps, chosen)
    ]
    # a failed member has no figure at all (it counts inf): the members with results decide
    online = [r for rows in live for r in rows if r.get("status") != "failed"]
    metric = ranked_metric(given, online, metric)
    check_recorded(metric, live)
    metric, label = metric_label(metric, target, live, notes)
    sweep_labels, legend = _sweep_labels(sweeps, specs)
    plan = _split(sweeps, live, sweep_labels, specs, group_by, legend)
    constant = _constant_axes(plan)
    _rename_sides(plan, constant)
    groups = _aggregate_all(plan, constant, len(sweeps) > 1 or bool(group_by), metric, target, targets)
    if not groups:
        raise CompareError("no member of these sweeps has run yet")
    if group_by and len(plan.sides) == len(sweeps):
        notes.append(f"--group-by {group_by}: the axis has one value, so there is nothing to compare")
    best = _best(groups, notes)
    missing = sum(g.missing for g in groups)
    if missing:
        notes.append(
            f"{missing} member{'s' * (missing != 1)} without a value of {label} (diverged, failed"
            + (", or never reached the target" if metric == "iterations_to_target" else "")
            + ") count as worst (inf)"
        )
    tests = _tests(plan, groups, alpha, label, notes)
    return SweepComparison(
        plan.sides,
        groups,
        metric,
        label,
        target,
        list(targets),
        best,
        tests,
        _ranking(sweeps, groups, len(plan.sides)),
        alpha,
        notes,
        plan.all_axes,
        {_short_keys(plan.all_axes)[a]: v for a, v in constant.items()},
        legend,
    )
