"""Gradient verification: an objective's gradient against finite differences at random points.

The reference is Richardson-extrapolated central differences (:func:`.numdiff.richardson_gradient`,
error O(h^4)). The error at a point ``x`` is

    e(x) = max_i |g_i - r_i| / max(1, max_i |g_i|, max_i |r_i|),

relative for gradients larger than 1 and absolute below (so that the rounding noise of the
differences at points where the gradient nearly vanishes is not mistaken for a wrong gradient).
A point where the gradient is not finite, or where it is finite but the reference is not, counts
as an infinite error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Objective
from .numdiff import richardson_gradient


@dataclass(frozen=True)
class GradientCheck:
    errors: np.ndarray  # (n,) error per point
    points: np.ndarray  # (n, d) where it was measured

    @property
    def worst(self) -> float:
        return float(np.max(self.errors))

    @property
    def worst_x(self) -> np.ndarray:
        return self.points[int(np.argmax(self.errors))]


def gradient_errors(objective: Objective, x: np.ndarray) -> np.ndarray:
    """``e(x)`` (module docstring) for each row of ``x`` (``(n, d)``)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        _, g = objective.value_and_grad(x)
        r = richardson_gradient(objective.value, x)
        scale = np.maximum(1.0, np.maximum(np.max(np.abs(g), axis=-1), np.max(np.abs(r), axis=-1)))
        err = np.max(np.abs(g - r), axis=-1) / scale
    bad = ~np.isfinite(g).all(axis=-1) | (~np.isfinite(r).all(axis=-1) & np.isfinite(g).all(axis=-1))
    return np.where(bad | np.isnan(err), np.inf, err)


def check_gradient(
    objective: Objective, bounds: np.ndarray, points: int = 20, seed: int = 0
) -> GradientCheck:
    """Errors at ``points`` points drawn uniformly inside ``bounds`` (``(d, 2)``) by ``default_rng(seed)``."""
    b = np.asarray(bounds, dtype=np.float64)
    x = b[:, 0] + np.random.default_rng(seed).random((points, len(b))) * (b[:, 1] - b[:, 0])
    return GradientCheck(gradient_errors(objective, x), x)
