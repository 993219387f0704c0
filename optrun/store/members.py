"""Finding a sweep's members by their axis values (``alpha=0.01,seed=3``): mixed into :class:`~optrun.store.sweep.Sweep`.

Keys may be shortened to their last part when that is unambiguous; numbers match exactly (to 1e-9
relative) or at the precision written, so a label printed with 6 significant digits selects its
value. Every failure is one :class:`~optrun.errors.RunSelectionError` line saying which values exist.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from ..errors import RunSelectionError
from .values import (
    json_value,
    parse_member_spec,
    parse_pairs,
    rounds_to,
    same_value,
    selector_text,
    significant_digits,
    value_key,
    value_label,
)


class MemberSelection:
    """Selecting a sweep's members by axis values, over the attributes a
    :class:`~optrun.store.sweep.Sweep` has: ``id``, ``status``, ``problem``, ``axes`` (dotted keys)
    and ``rows`` (the member table, one dict per member in member order)."""

    id: str
    status: str
    problem: str | None
    axes: list[str]
    rows: list[dict[str, Any]]

    def axis_key(self, key: str) -> str:
        """The dotted axis key ``key`` names: itself, its last part(s) (``alpha`` for
        ``algorithm.alpha``) when unambiguous, or a section for its name (``algorithm`` for
        ``algorithm.name``). :class:`~optrun.errors.RunSelectionError` otherwise."""
        axes = self.axes
        if key in axes:
            return key
        found = [a for a in axes if a.endswith("." + key) or a == key + ".name"]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise RunSelectionError(
                f"'{key}' matches the axes {', '.join(found)} of sweep {self.id}: give the full dotted key"
            )
        listed = ", ".join(axes) if axes else "none"
        raise RunSelectionError(f"sweep {self.id} has no axis '{key}' (its axes: {listed})")

    def example_selector(self) -> str | None:
        """A selector of member 0 by its axis values (``alpha=0.001,seed=0``): one that this
        sweep's axes take, for messages; ``None`` when the sweep has no rows or axes, or a value
        is a mapping or a list (``SWEEP/0`` says it better)."""
        if not self.rows or not self.axes:
            return None
        parts = []
        for a in self.axes:
            v = json_value(self.rows[0].get(a))
            if isinstance(v, (dict, list)):
                return None
            short = a[: -len(".name")] if a.endswith(".name") else a.rsplit(".", 1)[-1]  # as compare labels
            try:
                short = short if self.axis_key(short) == a else a
            except RunSelectionError:
                short = a
            parts.append(f"{short}={value_label(v, self.axis_values(a))}")
        return ",".join(parts)

    def axis_values(self, key: str) -> list[Any]:
        """The distinct values of axis ``key`` in member order."""
        key = self.axis_key(key)
        seen: dict[str, Any] = {}
        for r in self.rows:
            seen.setdefault(value_key(r.get(key)), json_value(r.get(key)))
        return list(seen.values())

    def require_rows(self) -> None:
        """Nothing when the sweep has its member table; else why not, as
        :class:`~optrun.errors.RunSelectionError` (still running, damaged, or never finished)."""
        if self.rows:
            return
        if self.status == "running":
            why = "is still running: its member table is written when it ends"
        elif self.status == "damaged":
            why = f"is damaged ({self.problem})"
        else:
            why = f"is {self.status} and has no member table (optrun resume {self.id} finishes it)"
        raise RunSelectionError(f"sweep {self.id} {why}")

    def _labels(self, key: str, values: Sequence[Any]) -> str:
        """Values of axis ``key`` as a selector would name them, the first dozen."""
        every = self.axis_values(key)
        shown = ", ".join(value_label(x, every) for x in values[:12])
        return shown + (f", ... ({len(values)} values)" if len(values) > 12 else "")

    def _matching(self, key: str, value: Any, raw: str | None) -> tuple[list[bool], str]:
        """Which rows hold ``value`` on axis ``key``, and how ``key=value`` is said.

        Exactly (numbers to 1e-9 relative) first; failing that a number written with decimals is
        matched at its own precision, so a label printed with 6 significant digits
        (``alpha=0.0316228``) selects the value 0.03162277660168379. That must name one value of
        the axis: several raise :class:`~optrun.errors.RunSelectionError`."""
        said = f"{key}={raw if raw is not None else selector_text(value)}"
        hit = [same_value(r.get(key), value) for r in self.rows]
        digits = significant_digits(raw) if raw is not None else None
        if any(hit) or digits is None or not isinstance(value, float) or not math.isfinite(value):
            return hit, said
        hit = [rounds_to(r.get(key), value, digits) for r in self.rows]
        near = list(dict.fromkeys(value_key(r.get(key)) for r, h in zip(self.rows, hit) if h))
        if len(near) > 1:
            vals = [json_value(json.loads(v)) for v in near]
            raise RunSelectionError(
                f"{said} matches {len(near)} values of {key} in sweep {self.id} at the "
                f"{digits} digit{'s' * (digits != 1)} given ({self._labels(key, vals)}): "
                "give more digits"
            )
        return hit, said

    def select_members(self, spec: str | dict[str, Any]) -> list[int]:
        """The numbers of every member whose axis values match ``spec`` (``"alpha=0.01"``,
        ``"algorithm=adam,alpha=0.1"`` or a mapping), in member order: one member, or a whole
        configuration (all its seeds), or any subset of the sweep.

        Keys may be shortened as :meth:`axis_key` says; numbers match exactly or, failing that, at
        the precision written (see :meth:`_matching`). No match raises
        :class:`~optrun.errors.RunSelectionError` in one line saying which values exist."""
        self.require_rows()
        source = f"sweep {self.id}"
        if isinstance(spec, str):
            triples = parse_pairs(spec, source)
        else:
            triples = [(k, v, None) for k, v in spec.items()]
        if not triples:
            example = self.example_selector()
            raise RunSelectionError(
                f"{source}: give axis values, e.g. {self.id}:{example}"
                if example
                else f"{source}: give a member number, e.g. {self.id}/0"
            )
        masks, said = [], []
        for k, v, raw in triples:
            key = self.axis_key(k)
            hit, text = self._matching(key, v, raw)
            if not any(hit):
                raise RunSelectionError(
                    f"no member of sweep {self.id} has {text}; {key} takes "
                    f"{self._labels(key, self.axis_values(key))}"
                )
            masks.append((key, hit))
            said.append(text)
        rows = [r for i, r in enumerate(self.rows) if all(h[i] for _, h in masks)]
        if not rows:
            # each value exists, not together: which values the last key takes with the others
            key, _ = masks[-1]
            rest = [i for i in range(len(self.rows)) if all(h[i] for _, h in masks[:-1])]
            vals = list(
                {value_key(self.rows[i].get(key)): json_value(self.rows[i].get(key)) for i in rest}.values()
            )
            raise RunSelectionError(
                f"no member of sweep {self.id} has {','.join(said)} (each value exists, "
                f"not together); with {','.join(said[:-1])}, {key} takes "
                f"{self._labels(key, vals)}"
            )
        return [int(r["member"]) for r in rows]

    def find(self, spec: str | dict[str, Any]) -> int:
        """The number of the one member whose axis values match ``spec`` (``"alpha=0.01,seed=3"``
        or a mapping; see :meth:`select_members`). No match or several:
        :class:`~optrun.errors.RunSelectionError` saying which values exist or which axes still
        tell the matches apart."""
        found = self.select_members(spec)
        if len(found) == 1:
            return found[0]
        hits = [self.rows[m] for m in found]
        pairs = parse_member_spec(spec, f"sweep {self.id}") if isinstance(spec, str) else list(spec.items())
        wanted = [(self.axis_key(k), v) for k, v in pairs]
        said = ",".join(f"{k}={selector_text(v)}" for k, v in wanted)
        given = {k for k, _ in wanted}
        varying = [a for a in self.axes if a not in given and len({value_key(r.get(a)) for r in hits}) > 1]
        members = ", ".join(str(r["member"]) for r in hits[:8]) + (", ..." if len(hits) > 8 else "")
        more = f": add {', '.join(a + '=...' for a in varying)} to pick one" if varying else ""
        raise RunSelectionError(
            f"{len(hits)} members of sweep {self.id} have {said} (members {members}){more}"
        )
