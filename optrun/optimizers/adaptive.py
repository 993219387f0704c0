"""Per-coordinate step sizes from squared-gradient statistics: AdaGrad and RMSProp.

(Adadelta, the third of the family, is in :mod:`.adadelta`.)

Each kernel names the library whose floating-point order it follows (see
:mod:`optrun.optimizers.transforms`). The main differences between the libraries:

- AdaGrad: torch starts the accumulator at 0 and puts eps (1e-10) outside the root, with an
  optional ``lr_decay``; optax starts it at 0.1 and puts eps (1e-7) inside the root.
- RMSProp: torch's default decay is 0.99 with eps outside the root; optax's is 0.9 with eps inside
  (``eps_in_sqrt``); optax applies momentum after the learning rate, torch before it.
- Adadelta: the same rule; torch multiplies ``((1 - rho) * g) * g``, optax ``(1 - rho) * (g * g)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..params import Param
from . import hyper as H
from . import transforms as T
from .base import Algorithm, Optimizer, Variant

# ---------------------------------------------------------------- AdaGrad


class AdagradState(NamedTuple):
    sum_sq: np.ndarray  # (..., d) running sum of squared gradients, s
    step: np.ndarray  # (..., d) step buffer
    tmp: np.ndarray  # (..., d) scratch

    SCRATCH = ("tmp",)  # written before read in every step (see blocked())


def adagrad_tutorial(alpha, eps) -> Optimizer:
    """AdaGrad as the AdaGrad tutorial writes it (Duchi et al. 2011)::

        s(t) = s(t-1) + g(t)**2
        x(t) = x(t-1) - alpha / (eps + sqrt(s(t))) * g(t)

    The accumulator starts at 0 and epsilon sits outside the root (torch's placement; optax puts
    it inside and starts the accumulator at 0.1). The sign is folded into the numerator,
    ``(-alpha) / den``, which equals ``-(alpha / den)`` bit for bit (IEEE negation is exact).
    """
    neg_alpha = -alpha

    def init(x):
        return AdagradState(T.zeros(x), np.empty_like(x), np.empty_like(x))

    def update(g, s, x, t):
        T.accumulate_square(s.sum_sq, g, s.tmp)
        T.eps_plus_root(s.step, s.sum_sq, eps)
        np.divide(neg_alpha, s.step, out=s.step)  # minus the per-coordinate step size
        np.multiply(s.step, g, out=s.step)
        return s.step, s

    return Optimizer(init, update)


class AdagradTorchState(NamedTuple):
    sum_sq: np.ndarray  # (..., d) state_sum, starts at initial_accumulator_value
    geff: np.ndarray  # (..., d) gradient after weight decay
    step: np.ndarray  # (..., d)
    tmp: np.ndarray  # (..., d)

    SCRATCH = ("geff", "tmp")  # written before read in every step (see blocked())


def adagrad_torch_coefficients(t, alpha, lr_decay) -> tuple:
    """torch AdaGrad's per-step scalar (both backends): ``-clr = -(alpha / (1 + (t - 1) * lr_decay))``."""
    return (-(alpha / (1.0 + (t - 1) * lr_decay)),)


def adagrad_torch(alpha, lr_decay, weight_decay, initial_accumulator_value, eps) -> Optimizer:
    """torch.optim.Adagrad (``_single_tensor_adagrad``, torch 2.13)::

    g   = g + weight_decay * x
    clr = alpha / (1 + (t - 1) * lr_decay)
    s   = s + g * g                       (s starts at initial_accumulator_value)
    x   = x + (-clr * g) / (sqrt(s) + eps)
    """
    has_wd = T.nonzero(weight_decay)

    def init(x):
        s = np.empty_like(x)
        s[...] = initial_accumulator_value
        return AdagradTorchState(s, np.empty_like(x), np.empty_like(x), np.empty_like(x))

    def update(g, s, x, t):
        if has_wd:
            T.add_scaled(s.geff, g, x, weight_decay)
            g = s.geff
        (neg_clr,) = adagrad_torch_coefficients(t, alpha, lr_decay)
        T.accumulate_square(s.sum_sq, g, s.tmp)
        T.root_plus_eps(s.tmp, s.sum_sq, eps)
        np.multiply(g, neg_clr, out=s.step)
        np.divide(s.step, s.tmp, out=s.step)
        return s.step, s

    return Optimizer(init, update)


class AdagradOptaxState(NamedTuple):
    sum_sq: np.ndarray  # (..., d) sum_of_squares, starts at initial_accumulator_value
    zero: np.ndarray  # (..., d) bool: where the sum is 0 (optax scales those by 0)
    step: np.ndarray  # (..., d)
    tmp: np.ndarray  # (..., d)

    SCRATCH = ("zero", "tmp")  # written before read in every step (see blocked())


def adagrad_optax(alpha, initial_accumulator_value, eps) -> Optimizer:
    """optax.adagrad = chain(scale_by_rss, scale_by_learning_rate) (optax 0.2.8)::

        s = g * g + s                               (s starts at initial_accumulator_value)
        x = x + ((1 / sqrt(s + eps)) * g) * (-alpha)      (0 where s == 0)

    optax evaluates ``jax.lax.rsqrt``; numpy has none, so ``1 / sqrt`` stands in: the two differ
    by at most an ulp or two per step, well inside the 1e-12 agreement the tests hold.
    """

    # s only grows (g * g >= 0; NaN compares false), so from a positive start it is never 0 and
    # the mask passes would change nothing: they run only when some member starts at 0
    may_be_zero = bool(np.any(np.asarray(initial_accumulator_value) <= 0.0))

    def init(x):
        s = np.empty_like(x)
        s[...] = initial_accumulator_value
        return AdagradOptaxState(s, np.zeros(x.shape, dtype=bool), np.empty_like(x), np.empty_like(x))

    def update(g, s, x, t):
        T.accumulate_square(s.sum_sq, g, s.tmp)
        T.root_of_plus_eps(s.tmp, s.sum_sq, eps)
        np.divide(1.0, s.tmp, out=s.tmp)
        if may_be_zero:
            np.less_equal(s.sum_sq, 0.0, out=s.zero)
            np.copyto(s.tmp, 0.0, where=s.zero)
        np.multiply(s.tmp, g, out=s.step)
        np.multiply(s.step, -alpha, out=s.step)
        return s.step, s

    return Optimizer(init, update)


ADAGRAD = Algorithm(
    name="adagrad",
    summary="per-coordinate step sizes from the running sum of squared gradients",
    reference="Duchi, Hazan & Singer, Adaptive Subgradient Methods for Online Learning and Stochastic Optimization, JMLR 2011",
    variants=(
        Variant(
            "tutorial",
            (
                Param("alpha", 0.1, "initial step size (the tutorial's step_size)", low=0.0, low_open=True),
                H.eps(1e-8),
            ),
            adagrad_tutorial,
            rule="s = s + g**2\nx = x - alpha / (eps + sqrt(s)) * g",
            notes="Accumulator starts at 0; eps outside the root.",
        ),
        Variant(
            "torch",
            (
                H.alpha(0.01, "learning rate (torch: lr)"),
                Param(
                    "lr_decay", 0.0, "learning-rate decay: clr = alpha / (1 + (t - 1) * lr_decay)", low=0.0
                ),
                H.weight_decay(),
                Param("initial_accumulator_value", 0.0, "start value of s", low=0.0),
                H.eps(1e-10, "added to sqrt(s), outside the root"),
            ),
            adagrad_torch,
            rule=(
                "g = g + weight_decay * x\n"
                "clr = alpha / (1 + (t - 1) * lr_decay)\n"
                "s = s + g**2   (s starts at initial_accumulator_value = 0)\n"
                "x = x - clr * g / (sqrt(s) + eps)"
            ),
            notes="torch.optim.Adagrad: accumulator from 0, eps = 1e-10 outside the root, "
            "optional lr_decay and coupled weight decay.",
        ),
        Variant(
            "optax",
            (
                H.alpha(0.01, "learning rate (optax: learning_rate; no default there, torch's used)"),
                Param("initial_accumulator_value", 0.1, "start value of s", low=0.0),
                H.eps(1e-7, "added to s inside the root"),
            ),
            adagrad_optax,
            rule=(
                "s = s + g**2   (s starts at initial_accumulator_value = 0.1)\n"
                "x = x - alpha * g / sqrt(s + eps)   (no step where s = 0)"
            ),
            notes="optax.adagrad: accumulator from 0.1, eps = 1e-7 inside the root. With "
            "initial_accumulator_value=0 and a tiny eps it approaches torch's rule.",
        ),
    ),
    default_variant="tutorial",
)

# ---------------------------------------------------------------- RMSProp


class RmspropState(NamedTuple):
    nu: np.ndarray  # (..., d) average of squared gradients (torch: square_avg)
    mu: np.ndarray  # (..., d) average of gradients, centered only (torch: grad_avg)
    buf: np.ndarray  # (..., d) momentum buffer (torch) / trace (optax)
    geff: np.ndarray  # (..., d) gradient after weight decay
    step: np.ndarray  # (..., d)
    tmp: np.ndarray  # (..., d)
    tmp2: np.ndarray  # (..., d)

    SCRATCH = ("geff", "tmp", "tmp2")  # written before read in every step (see blocked())


def rmsprop_torch(alpha, decay, eps, weight_decay, momentum, centered) -> Optimizer:
    """torch.optim.RMSprop (``_single_tensor_rmsprop``, torch 2.13; torch calls decay ``alpha``)::

        g   = g + weight_decay * x
        v   = decay * v + (1 - decay) * g**2
        m   = lerp(m, g, 1 - decay)                      (centered only)
        den = sqrt(v - m**2) + eps   (centered)   |   sqrt(v) + eps
        b   = momentum * b + g / den;  x = x - alpha * b      (momentum > 0)
        x   = x - alpha * g / den                             (momentum = 0)

    Tieleman & Hinton, Lecture 6.5, COURSERA: Neural Networks for Machine Learning, 2012; the
    centered form is Graves, Generating Sequences With Recurrent Neural Networks, 2013, eq. 38-40.
    In a batch, members with momentum 0 take the plain branch, as torch would for each of them.
    """
    has_wd = T.nonzero(weight_decay)
    with_momentum = momentum > 0  # a bool, or a per-member mask in a batch
    mixed = isinstance(with_momentum, np.ndarray) and not (with_momentum.all() or not with_momentum.any())
    if isinstance(with_momentum, np.ndarray) and not mixed:
        with_momentum = bool(with_momentum.all())
    w = 1.0 - decay

    def init(x):
        z = T.zeros
        return RmspropState(
            z(x), z(x), z(x), np.empty_like(x), np.empty_like(x), np.empty_like(x), np.empty_like(x)
        )

    def update(g, s, x, t):
        if has_wd:
            T.add_scaled(s.geff, g, x, weight_decay)
            g = s.geff
        T.decay_add_square(s.nu, g, decay, s.tmp)
        if centered:
            T.lerp(s.mu, g, w, s.tmp)
            np.multiply(s.mu, s.mu, out=s.tmp2)
            np.subtract(s.nu, s.tmp2, out=s.tmp2)
            T.root_plus_eps(s.tmp2, s.tmp2, eps)
        else:
            T.root_plus_eps(s.tmp2, s.nu, eps)
        den = s.tmp2
        if mixed or with_momentum:  # b = momentum * b + g / den; step = -alpha * b
            np.multiply(s.buf, momentum, out=s.buf)
            np.divide(g, den, out=s.tmp)
            np.add(s.buf, s.tmp, out=s.buf)
            np.multiply(s.buf, -alpha, out=s.step)
        if mixed:  # step = (-alpha * g) / den for the members without momentum
            np.multiply(g, -alpha, out=s.tmp)
            np.divide(s.tmp, den, out=s.tmp)
            T.select(s.step, with_momentum, s.step, s.tmp)
        elif not with_momentum:  # the same numbers, computed in the step buffer (no copy pass)
            np.multiply(g, -alpha, out=s.step)
            np.divide(s.step, den, out=s.step)
        return s.step, s

    return Optimizer(init, update)


def rmsprop_optax(alpha, decay, eps, initial_scale, eps_in_sqrt, centered, momentum, nesterov) -> Optimizer:
    """optax.rmsprop = chain(scale_by_rms | scale_by_stddev, scale_by_learning_rate, trace)::

        v = (1 - decay) * g**2 + decay * v           (v starts at initial_scale)
        m = (1 - decay) * g + decay * m              (centered only; s = v - m**2, else s = v)
        u = -alpha * g / sqrt(s + eps)   (eps_in_sqrt)   |   -alpha * g / (sqrt(s) + eps)
        b = u + momentum * b;  u = b  (or u + momentum * b with nesterov)   (momentum not null)
        x = x + u

    optax's ``rsqrt`` is computed as ``1 / sqrt`` (see :func:`adagrad_optax`).
    """

    def init(x):
        z = T.zeros
        nu = np.empty_like(x)
        nu[...] = initial_scale
        return RmspropState(
            nu, z(x), z(x), np.empty_like(x), np.empty_like(x), np.empty_like(x), np.empty_like(x)
        )

    def update(g, s, x, t):
        T.ema_square(s.nu, g, decay, s.tmp)
        if centered:
            T.ema(s.mu, g, decay, s.tmp)
            np.multiply(s.mu, s.mu, out=s.tmp2)
            np.subtract(s.nu, s.tmp2, out=s.tmp2)
            src = s.tmp2
        else:
            src = s.nu
        if eps_in_sqrt:
            T.root_of_plus_eps(s.tmp2, src, eps)
        else:
            T.root_plus_eps(s.tmp2, src, eps)
        np.divide(1.0, s.tmp2, out=s.tmp2)
        np.multiply(s.tmp2, g, out=s.step)
        np.multiply(s.step, -alpha, out=s.step)
        if momentum is not None:
            T.add_scaled(s.buf, s.step, s.buf, momentum)
            if nesterov:
                T.add_scaled(s.tmp, s.step, s.buf, momentum)
                np.copyto(s.step, s.tmp)
            else:
                np.copyto(s.step, s.buf)
        return s.step, s

    return Optimizer(init, update)


RMSPROP = Algorithm(
    name="rmsprop",
    summary="steps scaled by a moving root-mean-square of the gradients (centered: by their std)",
    reference="Tieleman & Hinton, Lecture 6.5 - RMSProp, COURSERA: Neural Networks for Machine "
    "Learning, 2012; centered: Graves, arXiv:1308.0850, 2013",
    variants=(
        Variant(
            "torch",
            (
                H.alpha(0.01, "learning rate (torch: lr)"),
                H.beta("decay", 0.99, "decay of the squared-gradient average (torch: alpha)"),
                H.eps(1e-8, "added to the root, outside it"),
                H.weight_decay(),
                H.momentum(0.0, "momentum of the scaled step (0: none)"),
                H.flag("centered", False, "divide by the estimated std (subtract the mean's square)"),
            ),
            rmsprop_torch,
            rule=(
                "g = g + weight_decay * x\n"
                "v = decay * v + (1 - decay) * g**2\n"
                "m = decay * m + (1 - decay) * g   (centered; den = sqrt(v - m**2) + eps)\n"
                "den = sqrt(v) + eps   (not centered)\n"
                "b = momentum * b + g / den; x = x - alpha * b   (momentum > 0)\n"
                "x = x - alpha * g / den   (momentum = 0)"
            ),
            notes="torch.optim.RMSprop: decay 0.99 (its 'alpha'), eps outside the root, momentum "
            "applied before the learning rate. m uses torch's lerp.",
        ),
        Variant(
            "optax",
            (
                H.alpha(0.01, "learning rate (optax: learning_rate; no default there, torch's used)"),
                H.beta("decay", 0.9, "decay of the squared-gradient average"),
                H.eps(1e-8, "added inside the root (eps_in_sqrt) or outside"),
                Param("initial_scale", 0.0, "start value of v", low=0.0),
                H.flag("eps_in_sqrt", True, "eps inside the square root"),
                H.flag("centered", False, "divide by the estimated std (subtract the mean's square)"),
                Param(
                    "momentum",
                    None,
                    "trace decay applied after the learning rate (null: none)",
                    low=0.0,
                    high=1.0,
                    high_open=True,
                    nullable=True,
                ),
                H.flag("nesterov", False, "Nesterov form of the trace"),
            ),
            rmsprop_optax,
            rule=(
                "v = decay * v + (1 - decay) * g**2   (v starts at initial_scale)\n"
                "m = decay * m + (1 - decay) * g   (centered; s = v - m**2, else s = v)\n"
                "u = -alpha * g / sqrt(s + eps)   (eps_in_sqrt; else / (sqrt(s) + eps))\n"
                "b = u + momentum * b; u = b   (momentum not null)\n"
                "x = x + u"
            ),
            notes="optax.rmsprop: decay 0.9, eps inside the root, momentum after the learning "
            "rate. bias_correction=False (optax's default) is the only form offered.",
        ),
    ),
    default_variant="torch",
)
