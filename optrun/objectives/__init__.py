"""Objective registry: built-in test functions by name."""

from __future__ import annotations

from .base import Objective, ObjectiveSpec
from .library import SPECS

OBJECTIVES: dict[str, ObjectiveSpec] = {s.name: s for s in SPECS}


def get_objective(name: str) -> ObjectiveSpec:
    """The built-in objective called ``name`` (or an alias); ``KeyError`` when unknown."""
    if name in OBJECTIVES:
        return OBJECTIVES[name]
    for s in OBJECTIVES.values():
        if name in s.aliases:
            return s
    raise KeyError(name)


def objective_names() -> list[str]:
    names = list(OBJECTIVES)
    for s in OBJECTIVES.values():
        names.extend(s.aliases)
    return names


__all__ = ["OBJECTIVES", "Objective", "ObjectiveSpec", "get_objective", "objective_names"]
