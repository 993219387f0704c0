"""Built-in test functions. Each is vectorized over ``(..., d)``, reduces on the last axis only,
and returns its analytic gradient with the value (one pass over ``x``)."""

from __future__ import annotations

import numpy as np

from .base import ObjectiveSpec, box, origin, zero


def _sphere(d: int):
    def value_and_grad(x: np.ndarray):
        # sum of squares; for d = 2 this is x0*x0 + x1*x1, the tutorials' x**2.0 + y**2.0
        return np.vecdot(x, x), np.multiply(x, 2.0)

    return value_and_grad


SPHERE = ObjectiveSpec(
    name="sphere",
    summary="sum of squares, the tutorials' bowl",
    formula="f(x) = sum_i x_i^2",
    reference="De Jong 1975; the AdaGrad and AMSGrad tutorials' test problem",
    make=_sphere,
    bounds=box(-1.0, 1.0),
    minima=origin,
    f_min=zero,
)

SPECS = (SPHERE,)
