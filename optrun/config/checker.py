"""Where a config error points: :class:`Checker` turns a dotted key path into a
:class:`~optrun.errors.ConfigError` naming the file (or the override or sweep axis that set the
key) and the line, and checks the value shapes every section shares (mappings, numbers, whole
numbers, declared parameters).
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import ConfigError
from ..params import Param, yaml_repr
from ..registry import suggest
from ..text import article as _a
from ..text import type_name as _tname


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters so that an error stays one readable line."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f" ({len(value)} characters)" if isinstance(value, str) else ""
    return f"{text[: limit - 4]}...{text[-1]}{size}"


class Checker:
    """Raises ConfigError with source, key path and line for a given dotted path.

    ``lines`` maps key paths to the lines of the config file; ``overridden`` maps the dotted keys
    that an override or a sweep axis set to that source, which errors at or inside them name."""

    def __init__(self, source: str, lines: dict[tuple[str, ...], int], overridden: dict[str, str]):
        self.source, self.lines, self.overridden = source, lines, overridden

    def fail(self, path: str, message: str) -> ConfigError:
        for key, src in self.overridden.items():
            if path == key or path.startswith(key + "."):
                return ConfigError(message, source=src, path=path)
        for key, src in self.overridden.items():  # an override set something inside this path
            if path and key.startswith(path + "."):
                return ConfigError(message, source=f"{self.source} with {src}", path=path)
        line = None
        parts = tuple(path.split(".")) if path else ()
        while parts and line is None:
            line = self.lines.get(parts)
            parts = parts[:-1]
        return ConfigError(message, source=self.source, path=path or None, line=line)

    def mapping(self, path: str, value: Any, valid: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"must be a mapping, not {_a(_tname(value))}")
        for k in value:
            if not isinstance(k, str):
                raise self.fail(f"{path}.{k}" if path else str(k), f"key {k!r} is not a string")
            if k not in valid:
                where = f"{path}.{k}" if path else k
                raise self.fail(where, f"unknown key '{k}'{suggest(k, valid)}")
        return value

    def param(self, path: str, p: Param, value: Any) -> Any:
        try:
            return p.validate(value)
        except ValueError as e:
            raise self.fail(path, str(e)) from None

    def number(
        self,
        path: str,
        value: Any,
        *,
        nullable: bool = True,
        positive: bool = False,
        low: float | None = None,
    ) -> float | None:
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(
                path, f"must be a finite number{' or null' if nullable else ''}, not {yaml_repr(value)}"
            )
        if positive and value <= 0:
            raise self.fail(path, f"must be greater than 0, not {yaml_repr(value)}")
        if low is not None and value < low:
            raise self.fail(path, f"must be at least {low:g}, not {yaml_repr(value)}")
        return float(value)

    def integer(self, path: str, value: Any, low: int, high: int | None = None) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"must be a whole number, not {yaml_repr(value)}")
        if value < low or (high is not None and value > high):
            rng = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise self.fail(path, f"must be {rng}, not {value}")
        return value
