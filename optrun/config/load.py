"""Loading one config file: read it, apply its ``KEY=VALUE`` overrides, validate the result.

:func:`read_raw` is the reading and overriding that :func:`load_config` and
:func:`optrun.sweep.load_plan` share; :func:`load_config` adds the validation of a single run.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .checker import Checker
from .model import RunConfig
from .overrides import apply_overrides
from .validate import refuse_sweep_gates, validate
from .yamlio import config_source, read_config_file


@dataclass
class RawConfig:
    """A config file as read, its overrides applied, not yet validated."""

    source: str  # how messages name the file (``<stdin>`` for ``-``)
    data: dict[str, Any]
    lines: dict[tuple[str, ...], int]  # dotted key path -> line in the file
    overridden: dict[str, str]  # dotted key -> the override that set it ("override 'k=v'")
    given: dict[str, Any] = field(default_factory=dict)  # dotted key -> the override's value
    notes: list[str] = field(default_factory=list)  # settings an override's swap dropped

    def checker(self) -> Checker:
        """The :class:`Checker` that names this file, its lines and its overrides."""
        return Checker(self.source, self.lines, self.overridden)


def read_raw(path: str, overrides: list[str] | tuple[str, ...] = ()) -> RawConfig:
    """Read a config file (``-``: standard input) and apply the overrides, as on the command line
    of ``optrun run``: ``algorithm.name=adam`` swaps the algorithm, keeping the settings it accepts."""
    data, lines = read_config_file(path)
    data = copy.deepcopy(data)
    notes: list[str] = []
    given: dict[str, Any] = {}
    overridden = apply_overrides(data, overrides, notes, given)
    return RawConfig(config_source(path), data, lines, overridden, given, notes)


def load_config(path: str, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Read, override and validate one config file (its ``sweep:`` block, if any, is not applied:
    this is the base config). Overrides behave as on the command line of ``optrun run``:
    ``algorithm.name=adam`` swaps the algorithm, keeping the settings it accepts."""
    raw = read_raw(path, overrides)
    config = validate(raw.data, raw.source, raw.lines, raw.overridden)
    if "sweep" not in raw.data:
        refuse_sweep_gates(config, raw.checker())
    return config
