"""The Adam family: Adam, AdamW, AdaMax, NAdam and AMSGrad.

Two kernels carry the family, one per library, each with switches (AMSGrad's maximum, decoupled
weight decay, Nesterov's look-ahead); the AMSGrad tutorial kernel, AdaMax and the AMSGrad paper's
Algorithms 1 and 2 (Adam and AMSGrad without bias correction) are separate rules.
What differs between the libraries, and is reproduced here:

- torch updates the first moment with ``lerp_`` and the second with ``mul_(b2).addcmul_``, divides
  ``sqrt(v) / sqrt(1 - beta2**t)`` before adding eps, and folds ``alpha / (1 - beta1**t)`` into
  the numerator; optax bias-corrects both moments first and adds ``eps_root`` inside the root.
- AMSGrad: torch takes the maximum over the raw second moment ``v``; optax over the
  bias-corrected ``v / (1 - beta2**t)``.
- AdamW: torch multiplies ``x`` by ``1 - alpha * weight_decay`` before the Adam step; optax adds
  ``weight_decay * x`` to the Adam direction and scales the sum by the learning rate (the same
  maths; torch's default weight decay is 1e-2, optax's 1e-4).
- NAdam: torch follows Dozat (2016) with the momentum schedule
  ``mu(t) = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay))`` and a running product of the mu's;
  optax's nadam is Adam with ``m_hat = beta1 * m / (1 - beta1**(t+1)) + (1 - beta1) * g / (1 - beta1**t)``.

Library versions whose source was read: torch 2.13.0 (``torch/optim/adam.py``, ``nadam.py``,
``adamax.py``, single-tensor paths, which torch uses on CPU) and optax 0.2.8 (``transform.py``).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from . import transforms as T
from .base import Optimizer


class AdamState(NamedTuple):
    mu: np.ndarray  # (..., d) first moment m (torch: exp_avg)
    nu: np.ndarray  # (..., d) second moment v (torch: exp_avg_sq); AdaMax: the infinity norm u
    nu_max: np.ndarray  # (..., d) running maximum (AMSGrad only)
    geff: np.ndarray  # (..., d) gradient after coupled weight decay
    step: np.ndarray  # (..., d)
    tmp: np.ndarray  # (..., d)

    SCRATCH = ("geff", "tmp")  # written before read in every step (see blocked())


def adam_state(x: np.ndarray) -> AdamState:
    """The Adam family's state for ``x``: zero moments, scratch buffers."""
    z, e = T.zeros, np.empty_like
    return AdamState(z(x), z(x), z(x), e(x), e(x), e(x))


def decoupled_step(step: np.ndarray, x: np.ndarray, factor, tmp: np.ndarray) -> None:
    """Turn the step of ``x' = x * factor + step`` into ``x' - x`` so that the runner's
    ``x + step`` lands on torch's ``x.mul_(factor).add_(...)`` (exactly whenever ``x'`` and ``x``
    are within a factor of 2, by Sterbenz's lemma; to an ulp of the step otherwise)."""
    np.multiply(x, factor, out=tmp)
    np.add(tmp, step, out=tmp)
    np.subtract(tmp, x, out=step)


# ---------------------------------------------------------------- torch: Adam, AdamW, AMSGrad


def adam_torch_coefficients(t, alpha, beta1, beta2) -> tuple:
    """torch Adam's per-step scalars (both backends): ``-alpha / (1 - beta1**t)`` and
    ``sqrt(1 - beta2**t)``; ``t`` an int or an int array (elementwise, the same bits)."""
    return -(alpha / T.bias_correction(beta1, t)), T.power(T.bias_correction(beta2, t), 0.5)


def adam_torch(alpha, beta1, beta2, eps, weight_decay=0.0, amsgrad=False, decoupled=False) -> Optimizer:
    """torch.optim.Adam / AdamW (``_single_tensor_adam``, torch 2.13)::

        g     = g + weight_decay * x                  (Adam: coupled L2)
        x     = x * (1 - alpha * weight_decay)        (AdamW: decoupled, before the step)
        m     = lerp(m, g, 1 - beta1)
        v     = beta2 * v + (1 - beta2) * g**2
        vmax  = max(vmax, v)                          (amsgrad; v below is then vmax)
        den   = sqrt(v) / sqrt(1 - beta2**t) + eps
        x     = x - (alpha / (1 - beta1**t)) * m / den

    Kingma & Ba, Adam: A Method for Stochastic Optimization, ICLR 2015, algorithm 1 with the
    "efficient" ordering of section 2; AMSGrad: Reddi, Kale & Kumar, ICLR 2018; AdamW: Loshchilov
    & Hutter, Decoupled Weight Decay Regularization, ICLR 2019.
    """
    has_wd = T.nonzero(weight_decay)
    w1 = 1.0 - beta1

    def update(g, s, x, t):
        neg_step_size, bc2_sqrt = adam_torch_coefficients(t, alpha, beta1, beta2)
        if has_wd and not decoupled:
            T.add_scaled(s.geff, g, x, weight_decay)
            g = s.geff
        T.lerp(s.mu, g, w1, s.tmp)
        T.decay_add_square(s.nu, g, beta2, s.tmp)
        if amsgrad:
            T.running_max(s.nu_max, s.nu)
        np.sqrt(s.nu_max if amsgrad else s.nu, out=s.tmp)
        np.divide(s.tmp, bc2_sqrt, out=s.tmp)
        np.add(s.tmp, eps, out=s.tmp)
        np.multiply(s.mu, neg_step_size, out=s.step)
        np.divide(s.step, s.tmp, out=s.step)
        if has_wd and decoupled:
            decoupled_step(s.step, x, 1.0 - alpha * weight_decay, s.tmp)
        return s.step, s

    return Optimizer(adam_state, update)


#: torch.optim.AdamW: :func:`adam_torch` with decoupled weight decay
adamw_torch = partial(adam_torch, decoupled=True)

#: torch.optim.Adam(amsgrad=True): :func:`adam_torch` with the maximum of the raw ``v``
amsgrad_torch = partial(adam_torch, amsgrad=True)

# ---------------------------------------------------------------- optax: Adam, AdamW, NAdam, AMSGrad


def adam_optax_coefficients(t, beta1, beta2, nesterov=False) -> tuple:
    """optax Adam's per-step scalars (both backends): ``1 / (1 - beta1**t)``, the same at
    ``t + 1`` (Nesterov; else the first again) and ``1 / (1 - beta2**t)``. XLA turns optax's
    division by the broadcast scalar into a product with its reciprocal: reproduced."""
    inv_bc1 = 1.0 / T.bias_correction(beta1, t)
    inv_bc1n = 1.0 / T.bias_correction(beta1, t + 1) if nesterov else inv_bc1
    return inv_bc1, inv_bc1n, 1.0 / T.bias_correction(beta2, t)


def adam_optax(
    alpha, beta1, beta2, eps, eps_root=0.0, weight_decay=0.0, nesterov=False, amsgrad=False
) -> Optimizer:
    """optax.adam / adamw / nadam / amsgrad (``scale_by_adam``, ``scale_by_amsgrad``, optax 0.2.8)::

        m     = (1 - beta1) * g + beta1 * m
        v     = (1 - beta2) * g**2 + beta2 * v
        m_hat = m / (1 - beta1**t)
              | beta1 * m / (1 - beta1**(t+1)) + (1 - beta1) * g / (1 - beta1**t)   (nesterov)
        v_hat = v / (1 - beta2**t);  v_hat = vmax = max(vmax, v_hat)             (amsgrad)
        u     = m_hat / (sqrt(v_hat + eps_root) + eps) + weight_decay * x       (adamw)
        x     = x - alpha * u

    XLA's algebraic simplifier rewrites ``m / (1 - beta1**t)`` (a division by a broadcast
    scalar) as ``m * (1 / (1 - beta1**t))``; that order is reproduced here. Nesterov form: Dozat, Incorporating Nesterov Momentum
    into Adam, ICLR workshop 2016, as optax writes it.
    """
    has_wd = T.nonzero(weight_decay)
    # v and so v_hat are never -0.0 (sums and products of +0.0, squares and positive factors),
    # and v_hat + 0.0 == v_hat for every other value, NaN included: the pass is skipped at 0
    has_eps_root = T.nonzero(eps_root)

    def update(g, s, x, t):
        T.ema(s.mu, g, beta1, s.tmp)
        T.ema_square(s.nu, g, beta2, s.tmp)
        inv_bc1, inv_bc1n, inv_bc2 = adam_optax_coefficients(t, beta1, beta2, nesterov)
        if nesterov:
            np.multiply(s.mu, inv_bc1n, out=s.step)
            np.multiply(s.step, beta1, out=s.step)
            np.multiply(g, inv_bc1, out=s.tmp)
            np.multiply(s.tmp, 1.0 - beta1, out=s.tmp)
            np.add(s.step, s.tmp, out=s.step)
        else:
            np.multiply(s.mu, inv_bc1, out=s.step)
        np.multiply(s.nu, inv_bc2, out=s.tmp)
        v_hat = s.tmp
        if amsgrad:
            T.running_max(s.nu_max, s.tmp)
            v_hat = s.nu_max
        if has_eps_root:
            np.add(v_hat, eps_root, out=s.tmp)
            v_hat = s.tmp
        T.root_plus_eps(s.tmp, v_hat, eps)
        np.divide(s.step, s.tmp, out=s.step)
        if has_wd:
            np.multiply(x, weight_decay, out=s.tmp)
            np.add(s.step, s.tmp, out=s.step)
        np.multiply(s.step, -alpha, out=s.step)
        return s.step, s

    return Optimizer(adam_state, update)


#: optax.adamw: :func:`adam_optax` plus ``weight_decay * x`` before the learning rate
adamw_optax = partial(adam_optax)

#: optax.nadam = adam(nesterov=True)
nadam_optax = partial(adam_optax, nesterov=True)

#: optax.amsgrad: maximum over the bias-corrected second moment
amsgrad_optax = partial(adam_optax, amsgrad=True)

# ---------------------------------------------------------------- NAdam (torch)


class NadamState(NamedTuple):
    mu: np.ndarray  # (..., d) first moment (exp_avg)
    nu: np.ndarray  # (..., d) second moment (exp_avg_sq)
    mu_product: np.ndarray  # (..., 1) running product of mu(t), float32 as torch keeps it
    geff: np.ndarray  # (..., d)
    step: np.ndarray  # (..., d)
    tmp: np.ndarray  # (..., d)
    den: np.ndarray  # (..., d)

    SCRATCH = ("geff", "tmp", "den")  # written before read in every step (see blocked())


def nadam_torch_coefficients(t, beta1, beta2, momentum_decay) -> tuple:
    """torch NAdam's per-step scalars (both backends): ``1 - beta2**t``, ``mu(t)``, ``mu(t+1)``."""
    return (
        T.bias_correction(beta2, t),
        beta1 * (1.0 - 0.5 * T.power(0.96, t * momentum_decay)),
        beta1 * (1.0 - 0.5 * T.power(0.96, (t + 1) * momentum_decay)),
    )


def nadam_step_sizes(mu_product: np.ndarray, mu, mu_next, alpha) -> tuple:
    """``P = P * mu(t)`` in place (in ``P``'s dtype, float32 as torch's), then the step sizes
    ``-alpha * (1 - mu(t)) / (1 - P)`` and ``-alpha * mu(t+1) / (1 - P * mu(t+1))`` (both backends)."""
    np.multiply(mu_product, np.asarray(mu, dtype=mu_product.dtype), out=mu_product)
    prod = mu_product.astype(np.float64)
    prod_next = prod * mu_next
    return (-alpha * (1.0 - mu)) / (1.0 - prod), (-alpha * mu_next) / (1.0 - prod_next)


def nadam_torch(
    alpha, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, mu_product_float32=True
) -> Optimizer:
    """torch.optim.NAdam (``_single_tensor_nadam``, torch 2.13; Dozat 2016)::

        g      = g + weight_decay * x           | x = x * (1 - alpha * weight_decay)  (decoupled)
        mu(t)  = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay))
        P(t)   = P(t-1) * mu(t)                 (P(0) = 1; kept in float32, see below)
        m      = lerp(m, g, 1 - beta1)
        v      = beta2 * v + (1 - beta2) * g**2
        den    = sqrt(v / (1 - beta2**t)) + eps
        x      = x + (-alpha * (1 - mu(t)) / (1 - P(t))) * g / den
        x      = x + (-alpha * mu(t+1) / (1 - P(t) * mu(t+1))) * m / den

    Precision: torch stores the product ``P`` (``state['mu_product']``) as a 0-d tensor of
    ``_get_scalar_dtype()``, which is float32 unless ``torch.set_default_dtype(torch.float64)``
    was called, even when the parameters are float64. Each ``P *= mu`` therefore rounds to
    float32, and ``1 - P`` in the step sizes carries float32 error (relative ~1e-7 in the step).
    ``mu_product_float32=True`` (the default) reproduces that; ``False`` matches torch with a
    float64 default dtype.
    """
    has_wd = T.nonzero(weight_decay)
    w1 = 1.0 - beta1
    pdtype = np.float32 if mu_product_float32 else np.float64

    def init(x):
        z, e = T.zeros, np.empty_like
        return NadamState(z(x), z(x), np.ones(x.shape[:-1] + (1,), dtype=pdtype), e(x), e(x), e(x), e(x))

    def update(g, s, x, t):
        if has_wd and not decoupled_weight_decay:
            T.add_scaled(s.geff, g, x, weight_decay)
            g = s.geff
        bc2, mu, mu_next = nadam_torch_coefficients(t, beta1, beta2, momentum_decay)
        c1, c2 = nadam_step_sizes(s.mu_product, mu, mu_next, alpha)
        T.lerp(s.mu, g, w1, s.tmp)
        T.decay_add_square(s.nu, g, beta2, s.tmp)
        np.divide(s.nu, bc2, out=s.den)
        T.root_plus_eps(s.den, s.den, eps)
        # y = x (* decay) + c1 * g / den + c2 * m / den, two roundings as torch's two addcdiv_
        np.multiply(g, c1, out=s.tmp)
        np.divide(s.tmp, s.den, out=s.tmp)
        if has_wd and decoupled_weight_decay:
            np.multiply(x, 1.0 - alpha * weight_decay, out=s.step)
            np.add(s.step, s.tmp, out=s.step)
        else:  # x + tmp straight into the step buffer: the same sum as copying x there first
            np.add(x, s.tmp, out=s.step)
        np.multiply(s.mu, c2, out=s.tmp)
        np.divide(s.tmp, s.den, out=s.tmp)
        np.add(s.step, s.tmp, out=s.step)
        np.subtract(s.step, x, out=s.step)  # x + (y - x) == y (Sterbenz), see decoupled_step
        return s.step, s

    return Optimizer(init, update)


# ---------------------------------------------------------------- AdaMax


class AdamaxState(NamedTuple):
    mu: np.ndarray  # (..., d) first moment m
    u: np.ndarray  # (..., d) exponentially weighted infinity norm
    geff: np.ndarray  # (..., d)
    step: np.ndarray  # (..., d)
    tmp: np.ndarray  # (..., d)

    SCRATCH = ("geff", "tmp")  # written before read in every step (see blocked())


def adamax_coefficients(t, alpha, beta1, torch_order=True) -> tuple:
    """AdaMax's per-step scalar (both backends): torch ``-(alpha / (1 - beta1**t))``, optax
    ``1 / (1 - beta1**t)``."""
    bc1 = T.bias_correction(beta1, t)
    return (-(alpha / bc1) if torch_order else 1.0 / bc1,)


def adamax(alpha, beta1, beta2, eps, weight_decay=0.0, torch_order=True) -> Optimizer:
    """AdaMax (Kingma & Ba 2015, section 7.1, algorithm 2) with eps inside the maximum::

    g = g + weight_decay * x                 (torch only)
    m = beta1 * m + (1 - beta1) * g          (torch: lerp)
    u = max(beta2 * u, |g| + eps)
    x = x - (alpha / (1 - beta1**t)) * m / u               (torch order)
    x = x + ((m / (1 - beta1**t)) / u) * (-alpha)          (optax order)
    """
    has_wd = T.nonzero(weight_decay)
    w1 = 1.0 - beta1

    def init(x):
        z, e = T.zeros, np.empty_like
        return AdamaxState(z(x), z(x), e(x), e(x), e(x))

    def update(g, s, x, t):
        if has_wd:
            T.add_scaled(s.geff, g, x, weight_decay)
            g = s.geff
        if torch_order:
            T.lerp(s.mu, g, w1, s.tmp)
        else:
            T.ema(s.mu, g, beta1, s.tmp)
        np.multiply(s.u, beta2, out=s.u)
        T.abs_plus_eps(s.tmp, g, eps)
        np.maximum(s.u, s.tmp, out=s.u)
        (coef,) = adamax_coefficients(t, alpha, beta1, torch_order)
        if torch_order:
            np.multiply(s.mu, coef, out=s.step)
            np.divide(s.step, s.u, out=s.step)
        else:  # optax: m * (1 / bc), as XLA rewrites m / bc
            np.multiply(s.mu, coef, out=s.step)
            np.divide(s.step, s.u, out=s.step)
            np.multiply(s.step, -alpha, out=s.step)
        return s.step, s

    return Optimizer(init, update)


#: optax.adamax: :func:`adamax` in optax's order, no weight decay
adamax_optax = partial(adamax, torch_order=False)

# ---------------------------------------------------------------- AMSGrad (tutorial)

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

    SCRATCH = ("tmp",)  # written before read in every step (see blocked())


def amsgrad_tutorial(alpha, beta1, beta2, eps, beta1_schedule) -> Optimizer:
    """AMSGrad as the AMSGrad tutorial writes it (Reddi, Kale & Kumar 2018), no bias correction::

    b1(t)   = beta1**t | beta1 / t | beta1          (beta1_schedule: power | inverse | constant)
    m(t)    = b1(t) * m(t-1) + (1 - b1(t)) * g(t)
    v(t)    = beta2 * v(t-1) + (1 - beta2) * g(t)**2
    vhat(t) = max(vhat(t-1), v(t))
    x(t)    = x(t-1) - alpha * m(t) / (sqrt(vhat(t)) + eps)
    """
    b1_of = BETA1_SCHEDULES[beta1_schedule]
    neg_alpha = -alpha  # (m * (-alpha)) / den == -((m * alpha) / den) exactly: one pass fewer

    def init(x):
        return AmsgradState(*(T.zeros(x) for _ in range(3)), np.empty_like(x), np.empty_like(x))

    def update(g, s, x, t):
        T.ema(s.mu, g, b1_of(beta1, t), s.tmp)
        T.ema_square(s.nu, g, beta2, s.tmp)
        T.running_max(s.nu_max, s.nu)
        T.root_plus_eps(s.tmp, s.nu_max, eps)
        np.multiply(s.mu, neg_alpha, out=s.step)  # (alpha * m) / (...): the tutorial's order
        np.divide(s.step, s.tmp, out=s.step)
        return s.step, s

    return Optimizer(init, update)


# ---------------------------------------------------------------- Adam and AMSGrad (the paper)

#: the smallest positive double: ``max(sqrt(v) + eps, TINY)`` changes only a denominator of 0
TINY = 5e-324


def zero_denominator_possible(eps) -> bool:
    """Whether :func:`adam_paper` needs its ``max(den, TINY)`` pass: some member has eps = 0."""
    return not bool(np.all(np.asarray(eps) > 0))


def adam_paper(alpha, beta1, beta2, eps=0.0, amsgrad=False) -> Optimizer:
    """Reddi, Kale & Kumar, On the Convergence of Adam and Beyond, ICLR 2018: Algorithm 1 with
    Adam's moving averages (``amsgrad=False``; the paper's section 2) and Algorithm 2 (AMSGrad),
    with a constant beta1 and no bias correction::

        m(t)    = beta1 * m(t-1) + (1 - beta1) * g(t)
        v(t)    = beta2 * v(t-1) + (1 - beta2) * g(t)**2
        vhat(t) = max(vhat(t-1), v(t))                   (Algorithm 2; Algorithm 1 uses v(t))
        x(t+1)  = x(t) - alpha * m(t) / (sqrt(vhat(t)) + eps)

    with ``m(0) = v(0) = vhat(0) = 0``. The paper writes ``alpha_t``, ``beta1_t`` and
    ``alpha_t m_t / sqrt(vhat_t)``: a step-size schedule is ``algorithm.schedule`` (the paper's
    ``alpha / sqrt(t)`` is ``inverse_sqrt``), beta1 is held constant (as in the paper's
    experiments; a beta1_t schedule is the AMSGrad tutorial variant's), and ``eps`` (default 0, the
    paper's rule) is added to the root. The operations are the tutorial kernel's, in its order
    (:func:`amsgrad_tutorial` with ``beta1_schedule: constant`` gives the same bits when
    ``eps > 0``). One addition: where the denominator is 0 (eps = 0 and every gradient of that
    coordinate so far 0, so m = 0 too) the paper's 0 / 0 is taken as 0 (no step), as optax
    does for AdaGrad's zero accumulator, instead of a NaN in x; the pass
    ``max(den, TINY)`` doing it runs only when some member has eps = 0, and changes no other
    denominator.
    """
    neg_alpha = -alpha  # (m * (-alpha)) / den == -((m * alpha) / den) exactly: one pass fewer
    guard = zero_denominator_possible(eps)

    def init(x):
        return AmsgradState(*(T.zeros(x) for _ in range(3)), np.empty_like(x), np.empty_like(x))

    def update(g, s, x, t):
        T.ema(s.mu, g, beta1, s.tmp)
        T.ema_square(s.nu, g, beta2, s.tmp)
        if amsgrad:
            T.running_max(s.nu_max, s.nu)
        T.root_plus_eps(s.tmp, s.nu_max if amsgrad else s.nu, eps)
        if guard:
            np.maximum(s.tmp, TINY, out=s.tmp)
        np.multiply(s.mu, neg_alpha, out=s.step)
        np.divide(s.step, s.tmp, out=s.step)
        return s.step, s

    return Optimizer(init, update)


#: Algorithm 2: :func:`adam_paper` with the running maximum
amsgrad_paper = partial(adam_paper, amsgrad=True)
