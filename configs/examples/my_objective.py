"""An example user objective for optrun: configs/examples/user-objective.yaml runs it.

The calling convention: ``f(x)`` gets a float64 array of shape (n, d), one point per row, and
returns n values (shape (n,)); ``gradient(x)`` returns shape (n, d). Reduce over the last axis
only (``axis=-1``) so that every row is evaluated on its own. A function written for a single
point (shape (d,) in, a number out) also works: optrun detects it and calls it once per point,
which is much slower.

This one is a "tilted" Rosenbrock valley: the 2-D Rosenbrock function plus a linear tilt,
f(x, y) = 100 (y - x^2)^2 + (1 - x)^2 + 0.1 (x + y).
"""

import numpy as np


def tilted_rosenbrock(x):
    a, b = x[..., 0], x[..., 1]
    return 100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2 + 0.1 * (a + b)


def tilted_rosenbrock_gradient(x):
    a, b = x[..., 0], x[..., 1]
    t = b - a * a
    ga = -400.0 * a * t - 2.0 * (1.0 - a) + 0.1
    gb = 200.0 * t + 0.1
    return np.stack([ga, gb], axis=-1)


def tilted_rosenbrock_one_point(p):
    """The same function written for one point (d,) -> float: works, but is called per point."""
    a, b = p
    return 100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2 + 0.1 * (a + b)
