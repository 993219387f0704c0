"""Compiled gradients of built-in objectives, for the numba backend's chunked runs.

With the numba backend a small problem spends nearly all its time in Python between two kernel
calls (~20 us a step at d = 2, against ~0.1 us of arithmetic). When the objective is one of
:data:`GRADIENTS` (built in, neither shifted nor rotated) and the algorithm's fused builder can
step in chunks, the runner hands whole chunks of steps to one compiled loop (the chunk loops
of :mod:`optrun.backends.drivers`, which call :func:`gradient`): kernel, ``x`` row and gradient, step
after step, without returning to Python. The values ``f`` and the gradient norms of the chunk's
rows are then computed by the objective's own numpy code on all rows at once.

Each gradient below performs the numpy code's IEEE operations in its order (see
:mod:`optrun.objectives.library`; no fastmath, so no FMA contraction), so the points are
bit-identical to a step-by-step run; ``tests/backends/test_compiled.py`` checks every one against numpy.
Objectives not listed (transcendental functions, whose numpy and compiled versions differ in
the last bits, or sums inside the gradient) run step by step as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from ..objectives.base import Objective
from . import kernels as K

#: objective name -> code of its branch in :func:`gradient`
GRADIENTS = {
    "sphere": 0,
    "ellipsoid": 1,
    "rosenbrock": 2,
    "styblinski-tang": 3,
    "booth": 4,
    "matyas": 5,
    "himmelblau": 6,
    "three-hump-camel": 7,
}


@njit(**K.JIT)
def gradient(code, p, x, g):
    """``g[s] = grad f(x[s])`` for every row; ``p`` holds the objective's parameters (the
    ellipsoid's ``2 w``)."""
    d = x.shape[1]
    for s in range(x.shape[0]):
        x_, g_ = x[s], g[s]
        if code == 0:  # sphere: 2 x
            for j in range(d):
                g_[j] = x_[j] * 2.0
        elif code == 1:  # ellipsoid: (2 w) * x
            for j in range(d):
                g_[j] = p[j] * x_[j]
        elif code == 2:  # rosenbrock: zeros; g[:-1] = -400 a t - 2 u; g[1:] += 200 t
            for j in range(d):
                g_[j] = 0.0
            for j in range(d - 1):
                a = x_[j]
                t = x_[j + 1] - a * a
                g_[j] = -400.0 * a * t - 2.0 * (1.0 - a)
            for j in range(1, d):
                a = x_[j - 1]
                g_[j] = g_[j] + 200.0 * (x_[j] - a * a)
        elif code == 3:  # styblinski-tang: 2 x2 x - 16 x + 2.5
            for j in range(d):
                xj = x_[j]
                g_[j] = 2.0 * (xj * xj) * xj - 16.0 * xj + 2.5
        else:
            a, b = x_[0], x_[1]
            if code == 4:  # booth
                pp = a + 2.0 * b - 7.0
                q = 2.0 * a + b - 5.0
                g_[0] = 2.0 * pp + 4.0 * q
                g_[1] = 4.0 * pp + 2.0 * q
            elif code == 5:  # matyas
                g_[0] = 0.52 * a - 0.48 * b
                g_[1] = 0.52 * b - 0.48 * a
            elif code == 6:  # himmelblau
                pp = a * a + b - 11.0
                q = a + b * b - 7.0
                g_[0] = 4.0 * a * pp + 2.0 * q
                g_[1] = 2.0 * pp + 4.0 * b * q
            else:  # three-hump camel
                a2 = a * a
                a4 = a2 * a2
                g_[0] = 4.0 * a - 4.2 * a2 * a + a4 * a + b
                g_[1] = a + 2.0 * b


def compiled_gradient(objective: Objective) -> tuple[int, np.ndarray] | None:
    """``(code, params)`` for :func:`gradient`, or None when ``objective`` has no compiled
    gradient (not listed, user-defined, shifted or rotated)."""
    code = GRADIENTS.get(objective.name)
    info: dict[str, Any] = objective.info
    params = info.get("params", {})
    if (
        code is None
        or info.get("gradient", "analytic") != "analytic"
        or params.get("shift")
        or params.get("rotate")
    ):
        return None
    p = np.zeros(1)
    if objective.name == "ellipsoid":  # its weights as the objective computes them
        from ..objectives import get_objective
        from ..objectives.library import ellipsoid_weights

        spec = get_objective("ellipsoid")
        condition = params.get("condition", next(q.default for q in spec.params if q.name == "condition"))
        p = 2.0 * ellipsoid_weights(objective.dim, float(condition))
    return code, np.ascontiguousarray(p, dtype=np.float64)
