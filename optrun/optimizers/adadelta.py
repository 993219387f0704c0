"""Adadelta (Zeiler 2012): torch's and optax's orders of the same rule, and its declaration."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from ..params import Param
from . import hyper as H
from . import transforms as T
from .base import Algorithm, Optimizer, Variant


class AdadeltaState(NamedTuple):
    e_g: np.ndarray  # (..., d) average of squared gradients (torch: square_avg)
    e_x: np.ndarray  # (..., d) average of squared updates (torch: acc_delta)
    geff: np.ndarray  # (..., d)
    delta: np.ndarray  # (..., d) the unscaled update
    step: np.ndarray  # (..., d)
    tmp: np.ndarray  # (..., d)

    SCRATCH = ("geff", "delta", "tmp")  # written before read in every step (see blocked())


def adadelta(alpha, rho, eps, weight_decay=0.0, torch_order=True) -> Optimizer:
    """Adadelta (Zeiler, arXiv:1212.5701, 2012, algorithm 1) with a learning rate::

        g = g + weight_decay * x
        E[g2] = rho * E[g2] + (1 - rho) * g**2
        delta = sqrt(E[dx2] + eps) / sqrt(E[g2] + eps) * g
        E[dx2] = rho * E[dx2] + (1 - rho) * delta**2
        x = x - alpha * delta

    ``torch_order``: torch.optim.Adadelta's ``mul_(rho).addcmul_(g, g, value=1 - rho)`` and
    ``(sqrt(E[dx2] + eps) / sqrt(E[g2] + eps)) * g``; otherwise optax.adadelta's
    ``(1 - rho) * g**2 + rho * E`` (same maths, different rounding).
    """
    has_wd = T.nonzero(weight_decay)
    avg_sq = T.decay_add_square if torch_order else T.ema_square

    def init(x):
        z, e = T.zeros, np.empty_like
        return AdadeltaState(z(x), z(x), e(x), e(x), e(x), e(x))

    def update(g, s, x, t):
        if has_wd:
            T.add_scaled(s.geff, g, x, weight_decay)
            g = s.geff
        avg_sq(s.e_g, g, rho, s.tmp)
        T.root_of_plus_eps(s.tmp, s.e_g, eps)
        T.root_of_plus_eps(s.delta, s.e_x, eps)
        np.divide(s.delta, s.tmp, out=s.delta)
        np.multiply(s.delta, g, out=s.delta)
        avg_sq(s.e_x, s.delta, rho, s.tmp)
        np.multiply(s.delta, -alpha, out=s.step)
        return s.step, s

    return Optimizer(init, update)


#: optax.adadelta: :func:`adadelta` in optax's order
adadelta_optax = partial(adadelta, torch_order=False)

_ADADELTA_RULE = (
    "g = g + weight_decay * x\n"
    "Eg = rho * Eg + (1 - rho) * g**2\n"
    "delta = sqrt(Ex + eps) / sqrt(Eg + eps) * g\n"
    "Ex = rho * Ex + (1 - rho) * delta**2\n"
    "x = x - alpha * delta"
)

ADADELTA = Algorithm(
    name="adadelta",
    summary="RMSProp whose step is rescaled by a moving RMS of past updates (unit-consistent)",
    reference="Zeiler, ADADELTA: An Adaptive Learning Rate Method, arXiv:1212.5701, 2012",
    variants=(
        Variant(
            "torch",
            (
                H.alpha(1.0, "learning rate (torch: lr)"),
                Param("rho", 0.9, "decay of both running averages", low=0.0, high=1.0),
                H.eps(1e-6, "added inside both roots"),
                H.weight_decay(),
            ),
            adadelta,
            rule=_ADADELTA_RULE,
            notes="torch.optim.Adadelta: lr 1.0, rho 0.9, eps 1e-6. Same rule as optax; "
            "only the order of the products in the averages differs.",
        ),
        Variant(
            "optax",
            (
                H.alpha(
                    1.0,
                    "learning rate (optax: learning_rate; its default None means no "
                    "scaling at all, not even the sign flip, so optrun uses 1.0)",
                ),
                Param("rho", 0.9, "decay of both running averages", low=0.0, high=1.0),
                H.eps(1e-6, "added inside both roots"),
                H.weight_decay(doc="added to the gradient first: g = g + weight_decay * x"),
            ),
            adadelta_optax,
            rule=_ADADELTA_RULE,
            notes="optax.adadelta(learning_rate=alpha): rho 0.9, eps 1e-6.",
        ),
    ),
    default_variant="torch",
)
