"""Gradient descent and its momentum forms: heavy ball (Polyak) and Nesterov.

torch.optim.SGD and optax.sgd agree on these once torch's extras are at their defaults
(``dampening = 0``, ``weight_decay = 0``): torch keeps ``buf = mu * buf + g`` and steps by
``-lr * buf``; optax keeps ``trace = g + mu * trace`` and scales by ``-learning_rate`` afterwards.
Both start the buffer at the first gradient (optax: at zero, so its first trace is ``g``).
One kernel, :func:`heavy_ball`, serves both variants.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from ..params import Param
from . import hyper as H
from . import transforms as T
from .base import Algorithm, Optimizer, Variant

# ---------------------------------------------------------------- gradient descent


class StepState(NamedTuple):
    step: np.ndarray  # (..., d) the step buffer returned by update


def gradient_descent(alpha) -> Optimizer:
    """Plain gradient descent: ``x(t) = x(t-1) - alpha * g(t)``.

    The step is computed as ``g * (-alpha)``: IEEE-754 negation is exact and rounding is
    symmetric, so this is ``-(g * alpha)`` bit for bit, in one pass instead of two.
    """
    neg_alpha = -alpha

    def init(x: np.ndarray) -> StepState:
        return StepState(step=np.empty_like(x))

    def update(g, state, x, t):
        np.multiply(g, neg_alpha, out=state.step)  # == -(g * alpha) exactly
        return state.step, state

    return Optimizer(init, update)


GD = Algorithm(
    name="gd",
    summary="plain gradient descent with a fixed step size",
    reference="Cauchy 1847; any optimization text, e.g. Kochenderfer & Wheeler, Algorithms for Optimization (2019), ch. 5",
    variants=(
        Variant(
            "standard",
            (H.alpha(1e-3, "learning rate (torch: lr, default 1e-3; optax: learning_rate)"),),
            gradient_descent,
            rule="x = x - alpha * g",
            notes="torch.optim.SGD (momentum=0, weight_decay=0) and optax.sgd compute the same "
            "step, -alpha * g, bit for bit.",
            aliases=("torch", "optax", "tutorial"),
        ),
    ),
    default_variant="standard",
    aliases=("sgd", "gradient_descent"),
)

# ---------------------------------------------------------------- momentum and Nesterov


class MomentumState(NamedTuple):
    buf: np.ndarray  # (..., d) momentum buffer b (torch: momentum_buffer, optax: trace)
    geff: np.ndarray  # (..., d) gradient after coupled weight decay
    step: np.ndarray  # (..., d) step buffer

    SCRATCH = ("geff",)  # written before read in every step (see blocked())


def heavy_ball(alpha, momentum, dampening=0.0, weight_decay=0.0, nesterov=False) -> Optimizer:
    """SGD with momentum as torch.optim.SGD computes it (and optax.sgd when its extras are off)::

        g    = g + weight_decay * x                     (skipped when weight_decay == 0)
        b(1) = g(1);  b(t) = momentum * b(t-1) + (1 - dampening) * g(t)
        d    = g + momentum * b    (nesterov)   |   d = b    (heavy ball)
        x    = x - alpha * d

    The heavy-ball form is Polyak's (1964) ``x(t+1) = x(t) - alpha g(t) + mu (x(t) - x(t-1))``
    written with a velocity; the Nesterov form is Sutskever et al. (2013), eq. 3-4, rewritten
    for the gradient at the current point (torch's and optax's convention).
    """
    has_wd = isinstance(weight_decay, np.ndarray) or weight_decay != 0
    damped = T.nonzero(dampening)  # else g * (1 - 0) == g bit for bit: that pass is skipped
    neg_alpha = -alpha  # the sign folded into the scale: -(b * alpha) == b * (-alpha) exactly

    def init(x):
        return MomentumState(T.zeros(x), np.empty_like(x), np.empty_like(x))

    def update(g, s, x, t):
        if has_wd:
            T.add_scaled(s.geff, g, x, weight_decay)
            g = s.geff
        if t == 1:
            np.copyto(s.buf, g)  # torch: buf = grad.clone() on the first step
        else:
            np.multiply(s.buf, momentum, out=s.buf)
            if damped:
                np.multiply(g, 1.0 - dampening, out=s.step)
                np.add(s.buf, s.step, out=s.buf)
            else:
                np.add(s.buf, g, out=s.buf)
        if nesterov:
            T.add_scaled(s.step, g, s.buf, momentum)
            np.multiply(s.step, neg_alpha, out=s.step)
        else:
            np.multiply(s.buf, neg_alpha, out=s.step)
        return s.step, s

    return Optimizer(init, update)


#: :func:`heavy_ball` with ``nesterov=True`` (torch requires dampening = 0 there)
nesterov_momentum = partial(heavy_ball, dampening=0.0, nesterov=True)

_TORCH_LR = "torch.optim.SGD's default lr"
_OPTAX_NOTE = (
    "optax.sgd has no default learning rate; optrun uses torch's (1e-3). optax has no "
    "dampening or weight decay here. Same numbers as the torch variant with those at 0."
)

MOMENTUM = Algorithm(
    name="momentum",
    summary="gradient descent with a heavy-ball velocity (Polyak momentum)",
    reference="Polyak, Some methods of speeding up the convergence of iteration methods, USSR "
    "Comput. Math. Math. Phys. 4(5), 1964; Sutskever, Martens, Dahl & Hinton, ICML 2013",
    variants=(
        Variant(
            "torch",
            (
                H.alpha(1e-3, f"learning rate (torch: lr; {_TORCH_LR})"),
                H.momentum(0.9, "momentum factor mu (torch's default is 0, plain SGD; optrun uses 0.9)"),
                Param("dampening", 0.0, "dampening of the gradient in the buffer", low=0.0, high=1.0),
                H.weight_decay(),
            ),
            heavy_ball,
            rule=(
                "g = g + weight_decay * x\n"
                "b = g (t = 1);  b = momentum * b + (1 - dampening) * g (t > 1)\n"
                "x = x - alpha * b"
            ),
            notes="torch.optim.SGD(momentum>0, nesterov=False). The first step copies the "
            "gradient into the buffer, so dampening does not apply at t = 1.",
        ),
        Variant(
            "optax",
            (
                H.alpha(1e-3, "learning rate (optax: learning_rate; no default there, torch's used)"),
                H.momentum(0.9, "momentum factor (optax: momentum)"),
            ),
            heavy_ball,
            rule="b = g + momentum * b   (b starts at 0)\nx = x - alpha * b",
            notes=_OPTAX_NOTE,
        ),
    ),
    default_variant="torch",
    aliases=("heavy_ball", "sgd_momentum"),
)

NESTEROV = Algorithm(
    name="nesterov",
    summary="Nesterov accelerated gradient: momentum with a look-ahead correction",
    reference="Nesterov, A method for solving the convex programming problem with convergence rate "
    "O(1/k^2), Soviet Math. Dokl. 27, 1983; Sutskever, Martens, Dahl & Hinton, ICML 2013",
    variants=(
        Variant(
            "torch",
            (
                H.alpha(1e-3, f"learning rate (torch: lr; {_TORCH_LR})"),
                H.momentum(0.9, "momentum factor mu (required > 0 by torch for nesterov)"),
                H.weight_decay(),
            ),
            nesterov_momentum,
            rule=(
                "g = g + weight_decay * x\n"
                "b = g (t = 1);  b = momentum * b + g (t > 1)\n"
                "x = x - alpha * (g + momentum * b)"
            ),
            notes="torch.optim.SGD(momentum, nesterov=True); torch forbids dampening here.",
        ),
        Variant(
            "optax",
            (
                H.alpha(1e-3, "learning rate (optax: learning_rate; no default there, torch's used)"),
                H.momentum(0.9, "momentum factor (optax: momentum)"),
            ),
            nesterov_momentum,
            rule="b = g + momentum * b   (b starts at 0)\nx = x - alpha * (g + momentum * b)",
            notes="optax.sgd(momentum, nesterov=True). " + _OPTAX_NOTE,
        ),
    ),
    default_variant="torch",
    aliases=("nag", "nesterov_momentum"),
)
