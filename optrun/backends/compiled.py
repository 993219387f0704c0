"""Compiled gradients of built-in objectives, for the numba backend's chunked runs.

With the numba backend a small problem spends nearly all its time in Python between two kernel
calls (~20 us a step at d = 2, against ~0.1 us of arithmetic). When the objective is one of
:data:`GRADIENTS` (built in, neither shifted nor rotated) and the algorithm's fused builder can
step in chunks, the runner hands whole chunks of steps to one compiled loop (the
``<kernel>_steps`` functions below): kernel, ``x`` row and gradient, step
after step, without returning to Python. The values ``f`` and the gradient norms of the chunk's
rows are then computed by the objective's own numpy code on all rows at once.

Each gradient below performs the numpy code's IEEE operations in its order (see
:mod:`optrun.objectives.library`; no fastmath, so no FMA contraction), so the points are
bit-identical to a step-by-step run; ``tests/test_compiled.py`` checks every one against numpy.
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


# ---------------------------------------------------------------- chunks of steps
#
# ``<kernel>_steps(n, code, p, X, D, tile, g, x, ...)`` runs steps ``t0 .. t0 + n - 1`` of kernel
# ``<kernel>`` of :mod:`optrun.backends.kernels`: its fused ``_apply`` (x += step, squared step
# norm into ``D[k]``), then ``X[k] = x`` and the new gradient into ``g``, as the runner's Python
# loop does step by step. Arguments after ``x`` are the ``_apply`` driver's, except that per-step
# coefficients come as ``(n, S)`` arrays (row ``k`` for step ``t0 + k``). One thread: chunks are
# used below the size at which a step is split among threads.


@njit(**K.JIT)
def gd_steps(n, code, p, X, D, tile, g, x, alpha):
    for k in range(n):
        K.gd_apply(0, x.shape[1], tile, D[k], g, x, alpha)
        X[k] = x
        gradient(code, p, x, g)


@njit(**K.JIT)
def heavy_ball_steps(n, code, p, X, D, tile, g, x, buf, alpha, mom, omd, wd, has_wd, nesterov):
    for k in range(n):  # never the first step (t = 1 initialises the buffer)
        K.heavy_ball_apply(0, x.shape[1], tile, D[k], g, x, buf, alpha, mom, omd, wd, has_wd, False, nesterov)
        X[k] = x
        gradient(code, p, x, g)


@njit(**K.JIT)
def adagrad_tutorial_steps(n, code, p, X, D, tile, g, x, sum_sq, alpha, eps):
    for k in range(n):
        K.adagrad_tutorial_apply(0, x.shape[1], tile, D[k], g, x, sum_sq, alpha, eps)
        X[k] = x
        gradient(code, p, x, g)


@njit(**K.JIT)
def adagrad_torch_steps(n, code, p, X, D, tile, g, x, sum_sq, NEG_CLR, wd, eps, has_wd):
    for k in range(n):
        K.adagrad_torch_apply(0, x.shape[1], tile, D[k], g, x, sum_sq, NEG_CLR[k], wd, eps, has_wd)
        X[k] = x
        gradient(code, p, x, g)


@njit(**K.JIT)
def adagrad_optax_steps(n, code, p, X, D, tile, g, x, sum_sq, neg_alpha, eps):
    for k in range(n):
        K.adagrad_optax_apply(0, x.shape[1], tile, D[k], g, x, sum_sq, neg_alpha, eps)
        X[k] = x
        gradient(code, p, x, g)


@njit(**K.JIT)
def rmsprop_torch_steps(
    n,
    code,
    p,
    X,
    D,
    tile,
    g,
    x,
    nu,
    mu,
    buf,
    neg_alpha,
    decay,
    omd,
    lc,
    ls,
    eps,
    wd,
    mom,
    has_wd,
    centered,
    upd_buf,
):
    for k in range(n):
        K.rmsprop_torch_apply(
            0,
            x.shape[1],
            tile,
            D[k],
            g,
            x,
            nu,
            mu,
            buf,
            neg_alpha,
            decay,
            omd,
            lc,
            ls,
            eps,
            wd,
            mom,
            has_wd,
            centered,
            upd_buf,
        )
        X[k] = x
        gradient(code, p, x, g)


@njit(**K.JIT)
def rmsprop_optax_steps(
    n,
    code,
    p,
    X,
    D,
    tile,
    g,
    x,
    nu,
    mu,
    buf,
    neg_alpha,
    decay,
    omd,
    eps,
    mom,
    centered,
    eps_in_sqrt,
    has_mom,
    nesterov,
):
    for k in range(n):
        K.rmsprop_optax_apply(
            0,
            x.shape[1],
            tile,
            D[k],
            g,
            x,
            nu,
            mu,
            buf,
            neg_alpha,
            decay,
            omd,
            eps,
            mom,
            centered,
            eps_in_sqrt,
            has_mom,
            nesterov,
        )
        X[k] = x
        gradient(code, p, x, g)


@njit(**K.JIT)
def adadelta_steps(n, code, p, X, D, tile, g, x, e_g, e_x, rho, omr, eps, neg_alpha, wd, has_wd, torch_order):
    for k in range(n):
        K.adadelta_apply(
            0, x.shape[1], tile, D[k], g, x, e_g, e_x, rho, omr, eps, neg_alpha, wd, has_wd, torch_order
        )
        X[k] = x
        gradient(code, p, x, g)


@njit(**K.JIT)
def adam_torch_steps(
    n,
    code,
    p,
    X,
    D,
    tile,
    g,
    x,
    mu,
    nu,
    nu_max,
    lc,
    ls,
    beta2,
    omb2,
    NEG_SS,
    BC2_SQRT,
    eps,
    wd,
    factor,
    coupled,
    decoupled,
    amsgrad,
):
    for k in range(n):
        K.adam_torch_apply(
            0,
            x.shape[1],
            tile,
            D[k],
            g,
            x,
            mu,
            nu,
            nu_max,
            lc,
            ls,
            beta2,
            omb2,
            NEG_SS[k],
            BC2_SQRT[k],
            eps,
            wd,
            factor,
            coupled,
            decoupled,
            amsgrad,
        )
        X[k] = x
        gradient(code, p, x, g)


@njit(**K.JIT)
def adam_optax_steps(
    n,
    code,
    p,
    X,
    D,
    tile,
    g,
    x,
    mu,
    nu,
    nu_max,
    beta1,
    omb1,
    beta2,
    omb2,
    INV_BC1,
    INV_BC1N,
    INV_BC2,
    eps_root,
    eps,
    wd,
    neg_alpha,
    has_wd,
    nesterov,
    amsgrad,
):
    for k in range(n):
        K.adam_optax_apply(
            0,
            x.shape[1],
            tile,
            D[k],
            g,
            x,
            mu,
            nu,
            nu_max,
            beta1,
            omb1,
            beta2,
            omb2,
            INV_BC1[k],
            INV_BC1N[k],
            INV_BC2[k],
            eps_root,
            eps,
            wd,
            neg_alpha,
            has_wd,
            nesterov,
            amsgrad,
        )
        X[k] = x
        gradient(code, p, x, g)


@njit(**K.JIT)
def adamax_steps(
    n,
    code,
    p,
    X,
    D,
    tile,
    g,
    x,
    mu,
    u,
    lc,
    ls,
    beta1,
    omb1,
    beta2,
    eps,
    wd,
    COEF,
    neg_alpha,
    has_wd,
    torch_order,
):
    for k in range(n):
        K.adamax_apply(
            0,
            x.shape[1],
            tile,
            D[k],
            g,
            x,
            mu,
            u,
            lc,
            ls,
            beta1,
            omb1,
            beta2,
            eps,
            wd,
            COEF[k],
            neg_alpha,
            has_wd,
            torch_order,
        )
        X[k] = x
        gradient(code, p, x, g)


@njit(**K.JIT)
def amsgrad_tutorial_steps(n, code, p, X, D, tile, g, x, mu, nu, nu_max, B1, OMB1, beta2, omb2, alpha, eps):
    for k in range(n):
        K.amsgrad_tutorial_apply(
            0, x.shape[1], tile, D[k], g, x, mu, nu, nu_max, B1[k], OMB1[k], beta2, omb2, alpha, eps
        )
        X[k] = x
        gradient(code, p, x, g)
