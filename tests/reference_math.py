"""Independent numerical references shared by test files (not collected as tests)."""

from __future__ import annotations

import numpy as np


def ref_gradient(f, x):
    """Richardson-extrapolated central differences of a scalar reference, coordinate by coordinate."""
    g = []
    for i in range(len(x)):
        h = 6.06e-6 * max(1.0, abs(x[i]))

        def d(step, i=i):
            xp, xm = list(x), list(x)
            xp[i] += step
            xm[i] -= step
            return (f(xp) - f(xm)) / (xp[i] - xm[i])

        g.append((4 * d(h / 2) - d(h)) / 3)
    return np.array(g)
