"""What a picture of sweeps draws: one line per configuration (the members that differ only by
seed, as :func:`optrun.compare.compare_sweeps` groups them), and per line the matrix of its
members' ``f - f*`` on the union of their recorded iterations. No matplotlib here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..store.values import json_value
from .data import CurveSeries, Panel
from .labels import flatten
from .regret import REGRET_COLUMN, first_optimum, has_regret, regret_layout, regret_series, rounds
from .where import parse_where, select_members

SWEEP_PLOT_MEMBERS = 1000  # members drawn per configuration at most (evenly spaced by member number)


@dataclass
class SweepLine:
    """One configuration of a sweep as drawn: the members that differ only by seed (those chosen
    by ``where``), the objective it is on (its panel), its algorithm (its line style) and its
    other axis values (its colour)."""

    label: str
    sweep: Any
    members: list[int]
    n: int  # members of the configuration before sampling
    objective: str
    algorithm: str
    setting: dict[str, Any]


def _split_axes(sweep: Any, row: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """A member's objective text (``rosenbrock (d=10)``), algorithm text (``adam``, with the variant
    when it is swept) and remaining axis values (seed left out) by dotted key."""
    obj = sweep.config.get("objective")
    obj = dict(obj) if isinstance(obj, dict) else {"name": obj}
    algo = sweep.config.get("algorithm")
    algo = dict(algo) if isinstance(algo, dict) else {"name": algo}
    variant_swept = False
    setting: dict[str, Any] = {}
    for axis in sweep.axes:
        if axis == "seed":
            continue
        v = json_value(row.get(axis))
        section, _, rest = axis.partition(".")
        if section in ("objective", "algorithm") and not rest and isinstance(v, dict):
            target = obj if section == "objective" else algo
            kept = ("name", "dim") if section == "objective" else ("name", "variant")
            target.update({k: x for k, x in v.items() if k in kept})
            variant_swept |= section == "algorithm" and "variant" in v
            setting.update({f"{section}.{k}": x for k, x in v.items() if k not in kept})
        elif section in ("objective", "algorithm") and not rest:
            (obj if section == "objective" else algo)["name"] = v
        elif (section, rest) in (
            ("objective", "name"),
            ("objective", "dim"),
            ("algorithm", "name"),
            ("algorithm", "variant"),
        ):
            (obj if section == "objective" else algo)[rest] = v
            variant_swept |= rest == "variant"
        else:
            setting[axis] = v
    dim = obj.get("dim")
    objective = f"{obj.get('name') or '?'}" + (f" (d={dim})" if dim is not None else "")
    algorithm = str(algo.get("name") or "?") + (
        f" ({algo['variant']})" if variant_swept and algo.get("variant") else ""
    )
    return objective, algorithm, setting


def sweep_lines(
    sweeps: Sequence[Any],
    group_by: str | None = None,
    where: Sequence[str] = (),
    max_members: int = SWEEP_PLOT_MEMBERS,
    only: dict[str, set[int]] | None = None,
) -> list[SweepLine]:
    """The configurations of the sweeps to draw (the members that differ only by seed, as
    :func:`optrun.compare.compare_sweeps` groups them), keeping the members ``where`` chooses
    (:func:`parse_where`), only those ``only`` names for a sweep id it holds (the members of a
    ``SWEEP:KEY=VALUE`` selector), and at most ``max_members`` per configuration, evenly spaced."""
    from ..compare import compare_sweeps

    comparison = compare_sweeps(sweeps, group_by=group_by)
    by_id = {s.id: s for s in sweeps}
    chosen = select_members(sweeps, parse_where(where)) if where else None
    only = only or {}
    lines = []
    for g in comparison.groups:
        s = by_id[g.sweep]
        members = [
            m
            for m in g.members
            if (chosen is None or m in chosen[s.id]) and (s.id not in only or m in only[s.id])
        ]
        if not members:
            continue
        n = len(members)
        if n > max_members:
            members = [members[i] for i in np.linspace(0, n - 1, max_members).round().astype(int)]
        objective, algorithm, setting = _split_axes(s, s.rows[members[0]])
        label = g.label + (f", sample of {n:,}" if len(members) < n else "")
        lines.append(SweepLine(label, s, members, n, objective, algorithm, setting))
    # a setting one sweep sweeps and another holds fixed: the fixed value, from its config
    keys = list(dict.fromkeys(k for line in lines for k in line.setting))
    for line in lines:
        if len(line.setting) < len(keys):
            base = flatten({k: v for k, v in line.sweep.config.items() if k != "sweep"})
            line.setting = {k: line.setting[k] if k in line.setting else base.get(k) for k in keys}
    # lines of several sweeps that would look the same are told apart by their sweep
    seen = [(line.objective, line.algorithm, repr(line.setting)) for line in lines]
    if len(set(seen)) < len(seen):
        sides = {g.sweep: g.side for g in comparison.groups}
        for line in lines:
            line.algorithm = f"{sides[line.sweep.id]}: {line.algorithm}"
    return lines


def line_traces(lines: Sequence[SweepLine]) -> dict[str, dict[int, dict[str, np.ndarray]]]:
    """Sweep id -> member -> trace columns, for every member the lines draw; every batch file is
    read once, whatever the lines."""
    wanted: dict[str, set[int]] = {}
    for line in lines:
        wanted.setdefault(line.sweep.id, set()).update(line.members)
    by_id = {line.sweep.id: line.sweep for line in lines}
    return {sid: by_id[sid].traces(sorted(ms)) for sid, ms in wanted.items()}


def member_matrix(
    line: SweepLine, traces: dict[int, dict[str, np.ndarray]], column: str
) -> tuple[np.ndarray, np.ndarray]:
    """The union of the line's members' recorded iterations and the ``(m, n)`` matrix of their
    ``column`` on it (NaN before a member's first row and for a member without rows). A member
    that stopped early keeps its last value (it is frozen, not missing)."""
    its = [traces[m]["iteration"] for m in line.members]
    grid = np.unique(np.concatenate(its)) if its else np.empty(0, dtype=np.int64)
    values = np.full((len(line.members), grid.size), np.nan)
    for k, m in enumerate(line.members):
        t = traces[m]
        if t["iteration"].size == 0:
            continue
        idx = np.searchsorted(t["iteration"], grid, side="right") - 1
        ok = idx >= 0
        values[k, ok] = t[column][idx[ok]]
    return grid, values


def member_curves(
    lines: Sequence[SweepLine], gaps: Sequence[bool], read: dict[str, Any] | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per line, the union of its members' recorded iterations and the ``(m, n)`` matrix of their
    f - f* (f where ``gaps`` says f* is not used), as :func:`member_matrix` lays it out; ``read``
    the traces when :func:`line_traces` has read them."""
    read = line_traces(lines) if read is None else read
    out = []
    for line, gap in zip(lines, gaps):
        grid, values = member_matrix(line, read[line.sweep.id], "f")
        if gap:
            f_min = np.array([line.sweep.rows[m]["f_min"] for m in line.members], dtype=float)
            values = values - f_min[:, None]
        out.append((grid, values))
    return out


def lines_lacking(
    lines: Sequence[SweepLine], read: dict[str, Any], has: Callable[[dict[str, Any]], bool]
) -> list[int | None]:
    """Per line, ``None`` when every member of it that recorded rows has what ``has`` looks for
    in its trace, else the number of a member that has not."""
    out: list[int | None] = []
    for line in lines:
        traces = read[line.sweep.id]
        bad = [m for m in line.members if traces[m]["iteration"].size and not has(traces[m])]
        out.append(bad[0] if bad else None)
    return out


def online_lines(lines: Sequence[SweepLine], read: dict[str, Any]) -> list[int | None]:
    """:func:`lines_lacking` the regret columns (an online run's trace)."""
    return lines_lacking(lines, read, has_regret)


def regret_of_lines(
    lines: Sequence[SweepLine],
    read: dict[str, Any],
    labels: Sequence[str],
    styled: Sequence[tuple[str, Any]],
) -> tuple[list[CurveSeries], list[Panel]]:
    """What the regret picture of sweeps draws (:mod:`~optrun.plot.regret`): per objective the
    panels ``x_t`` and ``R_t / t`` against ``t = iteration + 1``; per line (configuration) the
    ``(m, n)`` matrices of its members' x0 and avg_regret (drawn as median and interquartile band),
    with its label and ``(colour, linestyle)``."""
    keys = [line.objective for line in lines]
    order = list(dict.fromkeys(keys))
    series: list[CurveSeries] = []
    recorded: dict[str, bool] = {}
    for line, key, label, (colour, ls) in zip(lines, keys, labels, styled):
        traces = read[line.sweep.id]
        x_kept = all("x0" in traces[m] for m in line.members)
        recorded[key] = recorded.get(key, True) and x_kept
        grid, avg = member_matrix(line, traces, REGRET_COLUMN)
        x = member_matrix(line, traces, "x0")[1] if x_kept else None
        series += regret_series(label, rounds(grid), x, avg, order.index(key), colour, ls)
    facts = {k: _objective_facts(lines[keys.index(k)]) for k in order}
    panels = regret_layout(
        keys, {k: f[0] for k, f in facts.items()}, {k: f[1] for k, f in facts.items()}, recorded
    )
    return series, panels


def _objective_facts(line: SweepLine) -> tuple[int | None, float | None]:
    """The dimension of the line's objective and the first coordinate of its known minimizer
    (``None`` for what its first member's config does not tell)."""
    from ..errors import OptrunError
    from ..problem import recorded_objective

    try:
        config = line.sweep.member_config(line.members[0])
    except OptrunError:
        return None, None
    objective = config.get("objective")
    dim = objective.get("dim") if isinstance(objective, dict) else None
    try:
        return dim, first_optimum(recorded_objective(config, line.sweep.path))
    except OptrunError:
        return dim, None


def has_f_star(line: SweepLine) -> bool:
    """Whether every member of the line knows its f* (so that f - f* can be drawn)."""
    return all(line.sweep.rows[m].get("f_min") is not None for m in line.members)


def sweep_curves(
    sweeps: Sequence[Any],
    group_by: str | None = None,
    max_members: int = SWEEP_PLOT_MEMBERS,
    where: Sequence[str] = (),
) -> tuple[list[CurveSeries], bool]:
    """One :class:`CurveSeries` per configuration of the sweeps (:func:`sweep_lines`), holding the
    ``(m, n)`` matrix of its members' f - f* (or f when some f* is unknown: the second value
    returned is whether it is the gap) on the union of their recorded iterations."""
    lines = sweep_lines(sweeps, group_by, where, max_members)
    gap = all(has_f_star(line) for line in lines)
    return [
        CurveSeries(line.label, grid, values)
        for line, (grid, values) in zip(lines, member_curves(lines, [gap] * len(lines)))
    ], gap
