"""Optimizer registry: every built-in algorithm by name, and loading of user optimizers."""

from __future__ import annotations

from ..registry import all_names, lookup
from .algorithms import ALL
from .base import Algorithm, Optimizer, Variant

ALGORITHMS: dict[str, Algorithm] = {a.name: a for a in ALL}


def get_algorithm(name: str) -> Algorithm:
    """The algorithm called ``name`` (or one of its aliases); ``KeyError`` when unknown."""
    return lookup(name, ALGORITHMS)


def algorithm_names() -> list[str]:
    return all_names(ALGORITHMS)


__all__ = ["ALGORITHMS", "Algorithm", "Optimizer", "Variant", "algorithm_names", "get_algorithm"]
