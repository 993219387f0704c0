"""Seeded shift and rotation of a built-in objective, so that an optimizer cannot win by starting
at the origin or by exploiting separability.

With ``c`` the function's first listed minimizer (the pivot), ``s`` the shift and ``Q`` an
orthogonal matrix, the transformed function is

    f_T(x) = f(c + Q (x - c - s)),      grad f_T(x) = Q^T grad f(c + Q (x - c - s)).

Its minimizers are ``x_k = c + s + Q^T (m_k - c)`` for every minimizer ``m_k`` of ``f``, and
``f_T* = f*``: the primary minimizer moves by ``s`` and the others turn about it. Without
rotation this is ``f(x - s)``. Shifted and rotated test functions follow the CEC 2005 and BBOB
convention ``f(M (x - o))`` (Suganthan et al. 2005, "Problem definitions and evaluation criteria
for the CEC 2005 special session"; Hansen et al. 2009, BBOB), pivoting on the known minimizer so
that it stays inside the default box.

``shift: true`` draws the new primary minimizer uniformly from the middle 80% of the default box
in each coordinate; ``rotate: true`` draws ``Q`` from the Haar measure on O(d) (QR of a Gaussian
matrix with the signs of R's diagonal moved into Q, Mezzadri 2007, Notices AMS 54(5):592-604).
Both come from ``numpy.random.default_rng(transform_seed)``: shift first, then rotation.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from .base import Objective

MAX_ROTATE_DIM = 2000  # Q is d x d and each evaluation costs O(d^2)


def haar_orthogonal(rng: np.random.Generator, d: int) -> np.ndarray:
    """A ``(d, d)`` orthogonal matrix distributed by the Haar measure (Mezzadri 2007)."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.where(np.diagonal(r) < 0.0, -1.0, 1.0)


def transform(
    objective: Objective,
    shift: bool | list[float] | tuple[float, ...] = False,
    rotate: bool = False,
    seed: int = 0,
) -> Objective:
    """The objective shifted and/or rotated as described in the module docstring."""
    if shift is False and not rotate:
        return objective
    d = objective.dim
    rng = np.random.default_rng(seed)
    b = objective.bounds
    pivot = objective.minima[0] if objective.minima.size else b.mean(axis=1)
    if shift is True:
        w = b[:, 1] - b[:, 0]
        s = (b[:, 0] + 0.1 * w + 0.8 * w * rng.random(d)) - pivot
    elif shift is False:
        s = np.zeros(d)
    else:
        s = np.asarray(shift, dtype=float).reshape(d)
    vg = objective.value_and_grad
    info: dict[str, Any] = {**objective.info, "shift": s.tolist(), "rotated": bool(rotate)}

    if not rotate:

        def value_and_grad(x: np.ndarray):
            return vg(x - s)

        minima = objective.minima + s
    else:
        Q = haar_orthogonal(rng, d)
        QT = np.ascontiguousarray(Q.T)
        centre = pivot + s

        # np.vecdot over a broadcast row axis: each z_j = <Q_j, x - c - s> is computed by the same
        # kernel whatever the batch size, unlike a matmul whose BLAS blocking depends on it
        def value_and_grad(x: np.ndarray):
            z = pivot + np.vecdot((x - centre)[..., None, :], Q)
            f, g = vg(z)
            return f, np.vecdot(g[..., None, :], QT)

        minima = centre + (objective.minima - pivot) @ Q
        info["rotation"] = "haar"
    return replace(objective, value_and_grad=value_and_grad, minima=minima, info=info)
