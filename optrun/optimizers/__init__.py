"""Optimizer registry: every built-in algorithm by name, and loading of user optimizers."""

from __future__ import annotations

from .algorithms import ALL
from .base import Algorithm, Optimizer, Variant

ALGORITHMS: dict[str, Algorithm] = {a.name: a for a in ALL}


def get_algorithm(name: str) -> Algorithm:
    """The algorithm called ``name`` (or one of its aliases); ``KeyError`` when unknown."""
    if name in ALGORITHMS:
        return ALGORITHMS[name]
    for a in ALGORITHMS.values():
        if name in a.aliases:
            return a
    raise KeyError(name)


def algorithm_names() -> list[str]:
    names = list(ALGORITHMS)
    for a in ALGORITHMS.values():
        names.extend(a.aliases)
    return names


__all__ = ["ALGORITHMS", "Algorithm", "Optimizer", "Variant", "algorithm_names", "get_algorithm"]
