"""Declarative hyperparameters: name, type, default, range and documentation.

Used by the optimizer and objective registries so that config validation, ``optrun algorithms``
and the README tables all come from one declaration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


def yaml_repr(value: Any) -> str:
    """A value as the user wrote it in YAML (null, true, 'text', [1, 2]), for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_repr(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {yaml_repr(v)}" for k, v in value.items()) + "}"
    return repr(value)


@dataclass(frozen=True)
class Param:
    """One hyperparameter.

    ``kind`` is ``float``, ``int``, ``bool`` or ``str``. Numeric ranges are ``low``/``high`` with
    ``low_open``/``high_open`` saying whether the end itself is excluded. ``choices`` restricts
    strings. ``nullable`` admits ``null`` (meaning "off").
    """

    name: str
    default: Any
    doc: str = ""
    kind: type = float
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] | None = None
    nullable: bool = False

    def range_text(self) -> str:
        if self.choices:
            return " | ".join(self.choices)
        if self.kind is bool:
            return "true | false"
        lo = "(" if self.low_open or self.low is None else "["
        hi = ")" if self.high_open or self.high is None else "]"
        a = "-inf" if self.low is None else f"{self.low:g}"
        b = "inf" if self.high is None else f"{self.high:g}"
        if self.low is None and self.high is None:
            return "any " + self.kind.__name__
        return f"{lo}{a}, {b}{hi}"

    def validate(self, value: Any) -> Any:
        """Return the value coerced to ``kind`` or raise ``ValueError`` with a short reason."""
        if value is None:
            if self.nullable:
                return None
            raise ValueError(f"must be {self._want()}, not null")
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            raise ValueError(f"must be true or false, not {yaml_repr(value)}")
        if self.kind is str:
            if not isinstance(value, str):
                raise ValueError(
                    f"must be one of {', '.join(self.choices or ())}, not {yaml_repr(value)}"
                    if self.choices
                    else f"must be a string, not {yaml_repr(value)}"
                )
            if self.choices and value not in self.choices:
                raise ValueError(f"must be one of {', '.join(self.choices)}, not {yaml_repr(value)}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"must be {self._want()}, not {yaml_repr(value)}")  # noqa: TRY004 - a config value error
        if self.kind is int:
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError(f"must be a whole number, not {yaml_repr(value)}")
                value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"must be a finite number, not {yaml_repr(value)}")
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            raise ValueError(f"must be in {self.range_text()}, not {yaml_repr(value)}")
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            raise ValueError(f"must be in {self.range_text()}, not {yaml_repr(value)}")
        return value

    def _want(self) -> str:
        return {float: "a number", int: "a whole number", bool: "true or false", str: "a string"}[self.kind]
