"""Objective registry: built-in test functions by name, and the builder for any objective config.

Built-ins live in :mod:`.library` (online ones, ``f_t`` per round, in :mod:`.online`); shift/rotation in :mod:`.transform`; user functions and
expressions in :mod:`.user` and :mod:`.expression`; finite differences in :mod:`.numdiff`.
"""

from __future__ import annotations

from ..registry import all_names, lookup
from .base import Objective, ObjectiveSpec
from .library import SPECS
from .online import SPECS as ONLINE_SPECS

OBJECTIVES: dict[str, ObjectiveSpec] = {s.name: s for s in SPECS + ONLINE_SPECS}
TRANSFORM_KEYS = ("shift", "rotate", "transform_seed")


def get_objective(name: str) -> ObjectiveSpec:
    """The built-in objective called ``name`` (or an alias); ``KeyError`` when unknown."""
    return lookup(name, OBJECTIVES)


def objective_names() -> list[str]:
    return all_names(OBJECTIVES)


def config_keys(name: str) -> tuple[str, ...]:
    """Every key ``objective:`` accepts for the built-in ``name`` (``KeyError`` when unknown)."""
    return ("name", "dim") + tuple(p.name for p in get_objective(name).params) + TRANSFORM_KEYS


__all__ = [
    "OBJECTIVES",
    "TRANSFORM_KEYS",
    "Objective",
    "ObjectiveSpec",
    "config_keys",
    "get_objective",
    "objective_names",
]
