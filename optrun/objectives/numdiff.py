"""Central finite differences, vectorized over points and coordinates.

For ``f : (n, d) -> (n,)`` the gradient at each row ``x`` is estimated coordinate by coordinate,

    g_i = (f(x + h_i e_i) - f(x - h_i e_i)) / ((x_i + h_i) - (x_i - h_i)),
    h_i = eps^(1/3) max(1, |x_i|),

the step that balances the O(h^2) truncation error against the O(eps |f| / h) rounding error of
a central difference (Nocedal & Wright, *Numerical Optimization*, 2nd ed., 2006, sec. 8.1). The
denominator is the distance between the two points actually evaluated, so the representation
error of ``x_i +- h_i`` does not enter the estimate. Every shifted point of a block of
coordinates goes to ``f`` in one call. One gradient costs ``2 d`` evaluations of ``f``.

:func:`richardson_gradient` combines the steps ``h`` and ``h/2`` (Richardson extrapolation,
error O(h^4)); ``optrun check-gradient`` uses it as the reference.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EPS = float(np.finfo(np.float64).eps)
STEP = float(np.cbrt(EPS))  # 6.06e-6
BLOCK_ELEMENTS = 1 << 21  # floats per batch of shifted points handed to f at once

ValueFunction = Callable[[np.ndarray], np.ndarray]


def central_difference(fun: ValueFunction, x: np.ndarray, step: float = STEP) -> np.ndarray:
    """Central-difference gradient of ``fun`` (``(n, d) -> (n,)``) at the rows of ``x`` (``(n, d)``)."""
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    h = step * np.maximum(1.0, np.abs(x))
    g = np.empty((n, d))
    k = max(1, min(d, BLOCK_ELEMENTS // max(1, 2 * n * d)))  # coordinates per call
    for lo in range(0, d, k):
        idx = np.arange(lo, min(d, lo + k))
        m = len(idx)
        # (n, 2m, d): rows x + h_i e_i for i in idx, then x - h_i e_i
        pts = np.repeat(x[:, None, :], 2 * m, axis=1)
        j = np.arange(m)
        xp = x[:, idx] + h[:, idx]
        xm = x[:, idx] - h[:, idx]
        pts[:, j, idx] = xp
        pts[:, m + j, idx] = xm
        fv = np.asarray(fun(pts.reshape(n * 2 * m, d)), dtype=np.float64).reshape(n, 2 * m)
        g[:, idx] = (fv[:, :m] - fv[:, m:]) / (xp - xm)
    return g


def richardson_gradient(fun: ValueFunction, x: np.ndarray, step: float = STEP) -> np.ndarray:
    """Richardson-extrapolated central differences: ``(4 D(h/2) - D(h)) / 3``, error O(h^4)."""
    coarse = central_difference(fun, x, step)
    fine = central_difference(fun, x, step / 2.0)
    return (4.0 * fine - coarse) / 3.0
