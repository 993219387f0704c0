"""Choosing what is drawn: ``--where KEY=VALUE`` conditions matched against runs' configs and
sweep members' axis values.

``--where KEY=VALUE`` (repeatable) keeps the runs, or the sweep members, whose values match:
KEY as a sweep selector names an axis (``alpha`` for ``algorithm.alpha`` when unambiguous,
``algorithm`` for ``algorithm.name``), VALUE typed by YAML. Several values of one key are
alternatives, different keys must all match. A number matches at the precision it is written
with (``alpha=0.0316228`` finds 0.03162277660168379, as compare prints it) unless some value
matches it exactly (``alpha=0.1`` then finds 0.1, not 0.12).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import OptrunError, PlotError
from ..store.values import json_value, parse_pairs, rounds_to, same_value, significant_digits
from .labels import flatten, value_text


@dataclass(frozen=True)
class Where:
    """One ``KEY=VALUE`` condition: ``value`` typed by YAML, ``digits`` the significant digits a
    number was written with (``None`` for anything else)."""

    key: str
    value: Any
    text: str
    digits: int | None = None


def parse_where(items: Sequence[str]) -> list[Where]:
    """``["algorithm=adam", "alpha=0.1"]`` -> :class:`Where` conditions, read as member selectors
    read theirs (:func:`optrun.store.values.parse_pairs`: YAML-typed values, the digits written)."""
    out = []
    for item in items:
        try:
            pairs = parse_pairs(str(item), "--where", "--where algorithm=adam --where alpha=0.1")
        except OptrunError as e:
            raise PlotError(e.message) from None
        for key, value, raw in pairs:
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            out.append(Where(key, value, f"{key}={raw}", significant_digits(raw) if number else None))
    return out


def value_matches(cell: Any, want: Where, exact: bool = True) -> bool:
    """Does the value ``cell`` (a member-table cell or a config value) satisfy ``want``? Numbers
    compare as member selectors compare them (:func:`optrun.store.values.same_value`), or with
    ``exact=False`` also at ``want.digits`` significant digits; a mapping matches a name
    (``objective=rosenbrock``) or a mapping of some of its keys."""
    cell, v = json_value(cell), want.value
    if isinstance(cell, dict):
        if isinstance(v, dict):
            return all(
                k in cell and value_matches(cell[k], Where(k, x, want.text), exact) for k, x in v.items()
            )
        return cell.get("name") == v
    if same_value(cell, v):
        return True
    return (
        not exact
        and want.digits is not None
        and isinstance(v, (int, float))
        and not isinstance(v, bool)
        and math.isfinite(v)
        and rounds_to(cell, v, want.digits)
    )


def _key_in(key: str, keys: Sequence[str]) -> list[str]:
    """The keys ``key`` names among ``keys``: itself, else ``key.name`` (``algorithm``), else the
    ones it ends (``alpha`` for ``algorithm.alpha``)."""
    if key in keys:
        return [key]
    if key + ".name" in keys:
        return [key + ".name"]
    return [k for k in keys if k.endswith("." + key)]


def _matching(values: Sequence[Any], want: Where) -> list[bool]:
    """Which of ``values`` match ``want``: exactly if any does, else at the written precision."""
    hits = [value_matches(v, want) for v in values]
    return hits if any(hits) else [value_matches(v, want, exact=False) for v in values]


def _shown(values: Sequence[Any]) -> str:
    distinct = list(dict.fromkeys(value_text(json_value(v)) for v in values))
    return ", ".join(distinct[:12]) + (f", ... ({len(distinct)} values)" if len(distinct) > 12 else "")


def select_members(sweeps: Sequence[Any], wheres: Sequence[Where]) -> dict[str, set[int]]:
    """Sweep id -> the members whose axis values (or base config, for a key that is not an axis)
    match every condition. :class:`PlotError` for a key a sweep does not have, or when nothing
    matches, naming the values that exist."""
    chosen: dict[str, set[int]] = {}
    for s in sweeps:
        rows = s.rows
        base = flatten({k: v for k, v in s.config.items() if k != "sweep"})
        keep = [True] * len(rows)
        by_key: dict[str, list[bool]] = {}
        for w in wheres:
            axes = _key_in(w.key, s.axes)
            if len(axes) > 1:
                raise PlotError(
                    f"--where {w.text}: '{w.key}' matches the axes {', '.join(axes)} of sweep "
                    f"{s.id}; give the full dotted key"
                )
            if axes:
                cells = [r.get(axes[0]) for r in rows]
                name = axes[0]
            else:
                found = _key_in(w.key, list(base))
                if len(found) != 1:
                    listed = ", ".join(s.axes) or "none"
                    raise PlotError(
                        f"--where {w.text}: sweep {s.id} has no axis or setting '{w.key}' "
                        f"(its axes: {listed})"
                    )
                cells = [base[found[0]]] * len(rows)
                name = found[0]
            hits = _matching(cells, w)
            if not any(hits) and len(sweeps) == 1:
                raise PlotError(
                    f"--where {w.text} matches no member of sweep {s.id}: {name} takes {_shown(cells)}"
                )
            prev = by_key.get(name)
            by_key[name] = hits if prev is None else [a or b for a, b in zip(prev, hits)]
        for hits in by_key.values():
            keep = [a and b for a, b in zip(keep, hits)]
        chosen[s.id] = {int(r["member"]) for r, k in zip(rows, keep) if k}
    if not any(chosen.values()):
        said = " ".join(f"--where {w.text}" for w in wheres)
        whom = f"sweep {sweeps[0].id}" if len(sweeps) == 1 else "these sweeps"
        raise PlotError(f"{said}: no member of {whom} matches all of these")
    return chosen


def select_runs(runs: Sequence[Any], wheres: Sequence[Where]) -> list[Any]:
    """The runs whose resolved config matches every condition (keys as for sweeps, looked up in
    the config). :class:`PlotError` for a key a run does not have or when no run matches."""
    flat = [flatten(r.config) for r in runs]
    keep = [True] * len(runs)
    by_key: dict[str, list[bool]] = {}
    for w in wheres:
        cells = []
        for r, f in zip(runs, flat):
            found = _key_in(w.key, list(f))
            if len(found) != 1:
                why = "no setting" if not found else f"several settings ({', '.join(found[:4])}) for"
                raise PlotError(f"--where {w.text}: run {r.id} has {why} '{w.key}'")
            cells.append(f[found[0]])
        hits = _matching(cells, w)
        if not any(hits):
            raise PlotError(f"--where {w.text} matches none of these runs: {w.key} takes {_shown(cells)}")
        prev = by_key.get(w.key)
        by_key[w.key] = hits if prev is None else [a or b for a, b in zip(prev, hits)]
    for hits in by_key.values():
        keep = [a and b for a, b in zip(keep, hits)]
    if not any(keep):
        said = " ".join(f"--where {w.text}" for w in wheres)
        raise PlotError(f"{said}: no run matches all of these")
    return [r for r, k in zip(runs, keep) if k]
