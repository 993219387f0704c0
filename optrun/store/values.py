"""Axis values of sweep members: typed from selector text, matched against the member table, labelled.

A member selector (``SWEEP:algorithm.alpha=0.01,seed=3``) and ``optrun plot --where`` give
``KEY=VALUE`` pairs whose values are typed by YAML rules, as config overrides are
(:func:`parse_pairs`); a value matches a table cell exactly, numbers to 1e-9 relative
(:func:`same_value`), or at the precision its text was written with (:func:`rounds_to`); and
:func:`value_label` prints a value short and safe to paste back into a selector.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError, RunSelectionError
from . import hooks


def json_value(v: Any) -> Any:
    """A member-table cell as its value: dict and list axis values are stored as JSON text."""
    if isinstance(v, str) and v[:1] in ("{", "["):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def value_key(v: Any) -> str:
    """A canonical text of an axis value, for matching a plan's assignments to table rows."""
    return json.dumps(json_value(v), sort_keys=True, default=str)


def same_value(cell: Any, value: Any) -> bool:
    """Does the member-table ``cell`` hold ``value``? Numbers compare by value (3 == 3.0, and
    to 1e-9 relative so a typed 0.1 finds a stored 0.1), JSON-encoded mappings by content."""
    cell = json_value(cell)
    num = (int, float)
    if (
        isinstance(cell, num)
        and isinstance(value, num)
        and not isinstance(cell, bool)
        and not isinstance(value, bool)
    ):
        return cell == value or math.isclose(cell, value, rel_tol=1e-9, abs_tol=0.0)
    if isinstance(cell, str) and not isinstance(value, str) and value is not None:
        return cell == selector_text(value)
    return cell == value


def selector_text(v: Any) -> str:
    """A value as a selector (or YAML) writes it: ``true``, ``null``, a float's shortest round-trip
    text, mappings and lists as compact JSON."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


SPEC_SPLIT = re.compile(r",(?=\s*[A-Za-z_][A-Za-z0-9_.]*\s*=)")


def parse_member_spec(text: str, source: str = "member selector") -> list[tuple[str, Any]]:
    """``algorithm.alpha=0.01,seed=3`` -> ``[("algorithm.alpha", 0.01), ("seed", 3)]``.

    Values are typed by YAML rules (as overrides are); a value may itself hold commas
    (``objective={name: rosenbrock, dim: 10}``): the text is split only before ``KEY=``."""
    return [(k, v) for k, v, _ in parse_pairs(text, source)]


def parse_pairs(
    text: str, source: str, example: str = "SWEEP:algorithm.alpha=0.01,seed=3"
) -> list[tuple[str, Any, str]]:
    """:func:`parse_member_spec` keeping each value's text too (its digits set the precision a
    number is matched at); ``example`` shows the form in the error for a part that is not KEY=VALUE.
    Member selectors and ``optrun plot --where`` read their conditions with it."""
    pairs: list[tuple[str, Any, str]] = []
    for part in SPEC_SPLIT.split(text):
        key, sep, raw = part.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not key or not raw:
            raise RunSelectionError(f"{source}: '{part.strip()}' is not KEY=VALUE (e.g. {example})")
        try:
            value = hooks.parse_value(raw, source)
        except ConfigError as e:
            raise RunSelectionError(f"{source}: {e.detail}") from None  # its source and line once
        pairs.append((key, value, raw))
    return pairs


_DECIMAL_RE = re.compile(r"[-+]?(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE][-+]?\d+)?")


def significant_digits(text: str) -> int | None:
    """The significant digits a decimal number's text gives (``0.0316228`` -> 6, ``1e-3`` -> 1,
    ``0.10`` -> 2); ``None`` for any other text."""
    m = _DECIMAL_RE.fullmatch(text.strip())
    if m is None:
        return None
    digits = "".join(g or "" for g in m.groups()).lstrip("0")
    return max(len(digits), 1)


def rounds_to(cell: Any, value: float, digits: int) -> bool:
    """Is the number ``cell`` equal to ``value`` once rounded to ``digits`` significant digits?"""
    cell = json_value(cell)
    if not isinstance(cell, (int, float)) or isinstance(cell, bool) or not math.isfinite(cell):
        return False
    return f"{float(cell):.{digits - 1}e}" == f"{value:.{digits - 1}e}"


def value_label(value: Any, values: Sequence[Any] = ()) -> str:
    """The text to print for an axis value, short and safe to paste back into a selector.

    A float prints with 6 significant digits (``0.0316228`` for 0.03162277660168379), which a
    selector matches at its own precision; when another of ``values`` (the axis's values) prints
    the same, the shortest round-trip text (``repr``) is printed instead, so the label names one
    value. Mappings print as JSON, booleans and null as YAML does."""
    value = json_value(value)
    if isinstance(value, float) and math.isfinite(value):
        short = f"{value:g}"
        others = {
            float(json_value(v))
            for v in values
            if isinstance(json_value(v), (int, float)) and not isinstance(json_value(v), bool)
        }
        if any(f"{o:g}" == short for o in others if o != value):
            return repr(value)
        return short
    return selector_text(value)


def table_column(values: list[Any]) -> np.ndarray:
    """A member-table column: int64 when every value is a whole number, float64 (NaN for
    missing) when every value is a number or missing, otherwise an object array."""
    nums = [v for v in values if v is not None]
    if nums and all(isinstance(v, int) and not isinstance(v, bool) for v in nums):
        if len(nums) == len(values):
            return np.array(values, dtype=np.int64)
        return np.array([math.nan if v is None else float(v) for v in values])
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in nums):
        return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
