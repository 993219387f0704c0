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
from .scratch import gradient_pair

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
    info: dict[str, Any] = {**objective.info, "shift": s.tolist(), "rotated": bool(rotate)}

    if not rotate:

        def shifted(into):  # f(x - s)
            def kernel(x, g, take):
                (y,) = take(x.shape, 1)
                np.subtract(x, s, out=y)
                return into(y, g)

            return kernel

        make = shifted
        minima = objective.minima + s
    else:
        Q = haar_orthogonal(rng, d)
        QT = np.ascontiguousarray(Q.T)
        centre = pivot + s

        # z = pivot + Q (x - c - s);  f(z);  g = Q^T grad f(z). np.vecdot over a broadcast row axis:
        # each z_j = <Q_j, x - c - s> is computed by the same kernel whatever the batch size, unlike
        # a matmul whose BLAS blocking depends on it
        def rotated(into):
            def kernel(x, g, take):
                (y,) = take(x.shape, 1)
                z, gz = take(x.shape, 2, "C")
                np.subtract(x, centre, out=y)
                np.vecdot(y[..., None, :], Q, out=z)
                np.add(pivot, z, out=z)
                f = into(z, gz)
                np.vecdot(gz[..., None, :], QT, out=g)
                return f

            return kernel

        make = rotated
        minima = centre + (objective.minima - pivot) @ Q
        info["rotation"] = "haar"
    # value_and_grad allocates as before (the inner function's too); evaluate_into keeps its
    # temporaries and calls the inner evaluate_into, which keeps its own
    value_and_grad = gradient_pair(make(copied_into(objective.value_and_grad)))[0]
    evaluate_into = None
    if objective.evaluate_into is not None:
        evaluate_into = gradient_pair(make(objective.evaluate_into))[1]
    return replace(
        objective, value_and_grad=value_and_grad, evaluate_into=evaluate_into, minima=minima, info=info
    )


def copied_into(value_and_grad):
    """``evaluate_into`` made of a ``value_and_grad``: its new gradient copied into ``g``."""

    def evaluate_into(x: np.ndarray, g: np.ndarray) -> np.ndarray:
        f, g[...] = value_and_grad(x)
        return f

    return evaluate_into
