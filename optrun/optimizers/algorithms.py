"""The named optimizers, each a short composition of :mod:`optrun.optimizers.transforms`.

Every update rule is written in the docstring of its builder and in ``Variant.rule`` (printed by
``optrun algorithms NAME``). ``t`` is the 1-based step number.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..params import Param
from . import transforms as T
from .base import Algorithm, Optimizer, Variant

# ---------------------------------------------------------------- shared hyperparameters

ALPHA = Param("alpha", 0.01, "learning rate (torch: lr, optax: learning_rate)", low=0.0, low_open=True)


def _eps(default: float) -> Param:
    return Param("eps", default, "added to the denominator for numerical stability", low=0.0)


def _beta(name: str, default: float, doc: str) -> Param:
    return Param(name, default, doc, low=0.0, high=1.0, high_open=True)


# ---------------------------------------------------------------- gradient descent


class StepState(NamedTuple):
    step: np.ndarray  # (..., d) the step buffer returned by update


def gradient_descent(alpha) -> Optimizer:
    """Plain gradient descent: ``x(t) = x(t-1) - alpha * g(t)``."""

    def init(x: np.ndarray) -> StepState:
        return StepState(step=np.empty_like(x))

    def update(g, state, x, t):
        np.multiply(g, alpha, out=state.step)
        T.negate(state.step)
        return state.step, state

    return Optimizer(init, update)


GD = Algorithm(
    name="gd",
    summary="plain gradient descent with a fixed step size",
    reference="Cauchy 1847; any optimization text, e.g. Kochenderfer & Wheeler, Algorithms for Optimization (2019), ch. 5",
    variants=(
        Variant("standard", (ALPHA,), gradient_descent, rule="x = x - alpha * g",
                notes="torch.optim.SGD (momentum=0) and optax.sgd compute the same step.",
                aliases=("torch", "optax", "tutorial")),
    ),
    default_variant="standard",
    aliases=("sgd", "gradient_descent"),
)

# ---------------------------------------------------------------- AdaGrad


class AdagradState(NamedTuple):
    sum_sq: np.ndarray  # (..., d) running sum of squared gradients, s
    step: np.ndarray  # (..., d) step buffer
    tmp: np.ndarray  # (..., d) scratch


def adagrad_tutorial(alpha, eps) -> Optimizer:
    """AdaGrad as the AdaGrad tutorial writes it (Duchi et al. 2011)::

        s(t) = s(t-1) + g(t)**2
        x(t) = x(t-1) - alpha / (eps + sqrt(s(t))) * g(t)

    The accumulator starts at 0 and epsilon sits outside the root (torch's placement; optax puts
    it inside and starts the accumulator at 0.1).
    """

    def init(x):
        return AdagradState(np.zeros_like(x), np.empty_like(x), np.empty_like(x))

    def update(g, s, x, t):
        T.accumulate_square(s.sum_sq, g, s.tmp)
        T.eps_plus_root(s.step, s.sum_sq, eps)
        np.divide(alpha, s.step, out=s.step)  # per-coordinate step size
        np.multiply(s.step, g, out=s.step)
        T.negate(s.step)
        return s.step, s

    return Optimizer(init, update)


ADAGRAD = Algorithm(
    name="adagrad",
    summary="per-coordinate step sizes from the running sum of squared gradients",
    reference="Duchi, Hazan & Singer, Adaptive Subgradient Methods for Online Learning and Stochastic Optimization, JMLR 2011",
    variants=(
        Variant("tutorial", (Param("alpha", 0.1, "initial step size (the tutorial's step_size)",
                                   low=0.0, low_open=True), _eps(1e-8)),
                adagrad_tutorial,
                rule="s = s + g**2\nx = x - alpha / (eps + sqrt(s)) * g",
                notes="Accumulator starts at 0; eps outside the root."),
    ),
    default_variant="tutorial",
)

# ---------------------------------------------------------------- AMSGrad

BETA1_SCHEDULES = {
    "power": lambda beta1, t: beta1**t,  # the tutorial's beta1(t) = beta1**t
    "inverse": lambda beta1, t: beta1 / t,  # beta1(t) = beta1 / t, also named by the tutorial
    "constant": lambda beta1, t: beta1,  # the textbook rule (Reddi et al. 2018)
}


class AmsgradState(NamedTuple):
    mu: np.ndarray  # (..., d) first moment m
    nu: np.ndarray  # (..., d) second moment v
    nu_max: np.ndarray  # (..., d) running maximum vhat
    step: np.ndarray  # (..., d) step buffer
    tmp: np.ndarray  # (..., d) scratch


def amsgrad_tutorial(alpha, beta1, beta2, eps, beta1_schedule) -> Optimizer:
    """AMSGrad as the AMSGrad tutorial writes it (Reddi, Kale & Kumar 2018), no bias correction::

        b1(t)   = beta1**t | beta1 / t | beta1          (beta1_schedule: power | inverse | constant)
        m(t)    = b1(t) * m(t-1) + (1 - b1(t)) * g(t)
        v(t)    = beta2 * v(t-1) + (1 - beta2) * g(t)**2
        vhat(t) = max(vhat(t-1), v(t))
        x(t)    = x(t-1) - alpha * m(t) / (sqrt(vhat(t)) + eps)
    """
    b1_of = BETA1_SCHEDULES[beta1_schedule]

    def init(x):
        return AmsgradState(*(np.zeros_like(x) for _ in range(3)), np.empty_like(x), np.empty_like(x))

    def update(g, s, x, t):
        T.ema(s.mu, g, b1_of(beta1, t), s.tmp)
        T.ema_square(s.nu, g, beta2, s.tmp)
        T.running_max(s.nu_max, s.nu)
        T.root_plus_eps(s.tmp, s.nu_max, eps)
        np.multiply(s.mu, alpha, out=s.step)  # (alpha * m) / (...): the tutorial's order
        np.divide(s.step, s.tmp, out=s.step)
        T.negate(s.step)
        return s.step, s

    return Optimizer(init, update)


AMSGRAD = Algorithm(
    name="amsgrad",
    summary="Adam with a running maximum of the second moment, so step sizes never grow",
    reference="Reddi, Kale & Kumar, On the Convergence of Adam and Beyond, ICLR 2018",
    variants=(
        Variant("tutorial",
                (Param("alpha", 0.001, "step size", low=0.0, low_open=True),
                 _beta("beta1", 0.9, "decay of the first moment"),
                 _beta("beta2", 0.999, "decay of the second moment"),
                 _eps(1e-8),
                 Param("beta1_schedule", "power", "how beta1 changes with t", kind=str,
                       choices=tuple(BETA1_SCHEDULES))),
                amsgrad_tutorial,
                rule=("b1 = beta1**t | beta1/t | beta1   (beta1_schedule power | inverse | constant)\n"
                      "m = b1 * m + (1 - b1) * g\n"
                      "v = beta2 * v + (1 - beta2) * g**2\n"
                      "vhat = max(vhat, v)\n"
                      "x = x - alpha * m / (sqrt(vhat) + eps)"),
                notes="No bias correction; the max is over the raw second moment."),
    ),
    default_variant="tutorial",
)
