"""The backend table: how the numba backend runs each numpy kernel, one :class:`Rule` per kernel.

A rule names the element kernel of :mod:`optrun.backends.kernels`, the state fields it reads and
writes (fields of the numpy kernel's state NamedTuple, so checkpoints work across backends), the
hyperparameter rows it reads (computed once per batch size with the numpy kernel's expressions),
its boolean switches and its per-step coefficients: the numpy kernel's own ``*_coefficients``
function, evaluated for a block of steps at once. :mod:`optrun.backends.fused` builds every
fused optimizer from this table; an alias (a ``functools.partial`` of a numpy builder) finds the
rule of the builder it wraps. The rule functions take the builder's full keyword arguments as
the namespace ``h`` (defaults filled in).

Adding a variant: its numpy kernel (with ``coefficients`` if it has per-step scalars), its numba
kernel, its ``Variant`` declaration and one entry in :data:`RULES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..optimizers import adadelta as ADD
from ..optimizers import adam as A
from ..optimizers import adaptive as AD
from ..optimizers import sgd as SG
from ..optimizers import transforms as T


def rows(h: Any, S: int) -> np.ndarray:
    """A hyperparameter (float or ``(S, 1)`` array) as a contiguous ``(S,)`` float64 array."""
    if type(h) is np.ndarray and h.dtype == np.float64 and h.size == S and h.flags.c_contiguous:
        return h.reshape(S)  # the runner's (S, 1) arrays: a view, no copy
    a = np.asarray(h, dtype=np.float64)
    return np.ascontiguousarray(np.broadcast_to(a.reshape(-1) if a.ndim else a, (S,)))


def lerp_coef(weight: Any, S: int) -> tuple[np.ndarray, np.ndarray]:
    """torch's ``lerp_`` branch per member: ``(c, small)`` with ``c = w`` or ``w - 1`` (see
    :func:`optrun.optimizers.transforms.lerp`)."""
    w = rows(weight, S)
    small = np.abs(w) < 0.5
    return np.where(small, w, w - 1.0), small


def _no_flags(h: Any) -> tuple:
    return ()


@dataclass(frozen=True)
class Rule:
    """How one numpy kernel runs on the numba backend (see the module doc).

    ``rows(S, h)`` the ``(S,)`` hyperparameter rows; ``flags(h)`` the switches;
    ``coefficients(t, h)`` the per-step scalars for an int array ``t`` (elementwise);
    ``per_state(state, coefs, h, S)``, when given, turns them into the kernel's ``(c, S)``
    coefficients with state kept in Python (NAdam's running product): such a kernel has no
    chunks of compiled steps.
    """

    kernel: str
    state: tuple[str, ...]
    rows: Callable[[int, Any], tuple]
    flags: Callable[[Any], tuple] = _no_flags
    coefficients: Callable[[np.ndarray, Any], tuple] | None = None
    per_state: Callable[..., np.ndarray] | None = None


def _torch_adam_rows(S: int, h: Any) -> tuple:
    """The rows torch's Adam family (Adam, AdamW, AMSGrad, NAdam) kernels read."""
    lc, ls = lerp_coef(1.0 - h.beta1, S)
    return (lc, ls, rows(h.beta2, S), rows(1.0 - h.beta2, S), rows(h.eps, S), rows(h.weight_decay, S)) + (
        rows(1.0 - h.alpha * h.weight_decay, S),
    )


def _amsgrad_b1(t: np.ndarray, h: Any) -> tuple:
    """beta1(t) and 1 - beta1(t) for a block of steps, with the bits the numpy kernel's
    ``b1_of(beta1, t)`` gives step by step (``t`` a Python int). A float beta1: C ``pow`` per
    element, as Python's ``beta1 ** t``. The runner's ``(S, 1)`` beta1: numpy's power by the
    array of t, which equals its power by each t except where numpy's array-by-scalar power
    takes a shortcut (``square`` for t = 2, a copy for t = 1); the first steps are therefore
    evaluated one by one (tested with beta1 = 0.8, where t = 2 differs)."""
    b1_of, beta1 = A.BETA1_SCHEDULES[h.beta1_schedule], h.beta1
    if np.ndim(beta1) == 0 and h.beta1_schedule == "power":
        b1 = T.power(beta1, t)
    else:
        shape = np.broadcast_shapes(np.shape(beta1), t.shape)
        b1 = np.array(np.broadcast_to(b1_of(beta1, t), shape), dtype=np.float64)
        ts = t.reshape(-1)
        for i in np.flatnonzero(ts <= 4):
            b1[i] = b1_of(beta1, int(ts[i]))
    return b1, 1.0 - b1


def _paper_rows(S: int, h: Any) -> tuple:
    """The rows of the ``adam_paper`` kernel (the paper variants and the AMSGrad tutorial)."""
    return rows(h.beta2, S), rows(1.0 - h.beta2, S), rows(h.alpha, S), rows(h.eps, S)


def _constant_b1(t: np.ndarray, h: Any) -> tuple:
    """The paper variants' beta1 and 1 - beta1, the same for every step of the block: the
    values the numpy kernel's ``ema`` computes (``1.0 - beta1``, float or ``(S, 1)``)."""
    b1 = np.broadcast_to(
        np.asarray(h.beta1, dtype=np.float64), np.broadcast_shapes(np.shape(h.beta1), t.shape)
    )
    return b1, 1.0 - b1


def _nadam_per_state(s: Any, coefs: np.ndarray, h: Any, S: int) -> np.ndarray:
    """``(1 - beta2**t, c1, c2)`` from the block's ``(1 - beta2**t, mu(t), mu(t+1))`` and the
    running product kept in the state, by :func:`optrun.optimizers.adam.nadam_step_sizes`."""
    bc2, mu, mu_next = coefs
    shape = s.mu_product.shape  # (..., 1)
    c1, c2 = A.nadam_step_sizes(s.mu_product, mu.reshape(shape), mu_next.reshape(shape), h.alpha)
    out = np.empty((3, S))  # filled row by row: np.stack costs as much as a small step
    out[0] = bc2
    out[1] = np.reshape(c1, -1)
    out[2] = np.reshape(c2, -1)
    return out


def _adam_torch_flags(h: Any) -> tuple:
    wd = T.nonzero(h.weight_decay)
    return wd and not h.decoupled, wd and bool(h.decoupled), bool(h.amsgrad)


#: numpy builder -> its rule (aliases are partials of these builders)
RULES: dict[Callable, Rule] = {
    SG.gradient_descent: Rule("gd", (), lambda S, h: (rows(h.alpha, S),)),
    SG.heavy_ball: Rule(
        "heavy_ball",
        ("buf",),
        lambda S, h: (
            rows(h.alpha, S),
            rows(h.momentum, S),
            rows(1.0 - np.asarray(h.dampening), S),
            rows(h.weight_decay, S),
        ),
        lambda h: (isinstance(h.weight_decay, np.ndarray) or h.weight_decay != 0, bool(h.nesterov)),
        lambda t, h: ((t == 1) * 1.0,),  # the first step starts the buffer
    ),
    AD.adagrad_tutorial: Rule(
        "adagrad_tutorial", ("sum_sq",), lambda S, h: (rows(h.alpha, S), rows(h.eps, S))
    ),
    AD.adagrad_torch: Rule(
        "adagrad_torch",
        ("sum_sq",),
        lambda S, h: (rows(h.weight_decay, S), rows(h.eps, S)),
        lambda h: (T.nonzero(h.weight_decay),),
        lambda t, h: AD.adagrad_torch_coefficients(t, h.alpha, h.lr_decay),
    ),
    AD.adagrad_optax: Rule("adagrad_optax", ("sum_sq",), lambda S, h: (rows(-h.alpha, S), rows(h.eps, S))),
    AD.rmsprop_torch: Rule(
        "rmsprop_torch",
        ("nu", "mu", "buf"),
        lambda S, h: (
            (rows(-h.alpha, S), rows(h.decay, S), rows(1.0 - h.decay, S), *lerp_coef(1.0 - h.decay, S))
            + (rows(h.eps, S), rows(h.weight_decay, S), rows(h.momentum, S))
        ),
        # any member with momentum updates the buffer: see the numpy kernel
        lambda h: (T.nonzero(h.weight_decay), bool(h.centered), bool(np.any(np.asarray(h.momentum) > 0))),
    ),
    AD.rmsprop_optax: Rule(
        "rmsprop_optax",
        ("nu", "mu", "buf"),
        lambda S, h: (
            (rows(-h.alpha, S), rows(h.decay, S), rows(1.0 - h.decay, S), rows(h.eps, S))
            + (rows(0.0 if h.momentum is None else h.momentum, S),)
        ),
        lambda h: (bool(h.centered), bool(h.eps_in_sqrt), h.momentum is not None, bool(h.nesterov)),
    ),
    ADD.adadelta: Rule(
        "adadelta",
        ("e_g", "e_x"),
        lambda S, h: (
            (rows(h.rho, S), rows(1.0 - h.rho, S), rows(h.eps, S), rows(-h.alpha, S))
            + (rows(h.weight_decay, S),)
        ),
        lambda h: (T.nonzero(h.weight_decay), bool(h.torch_order)),
    ),
    A.adam_torch: Rule(
        "adam_torch",
        ("mu", "nu", "nu_max"),
        _torch_adam_rows,
        _adam_torch_flags,
        lambda t, h: A.adam_torch_coefficients(t, h.alpha, h.beta1, h.beta2),
    ),
    A.adam_optax: Rule(
        "adam_optax",
        ("mu", "nu", "nu_max"),
        lambda S, h: (
            (rows(h.beta1, S), rows(1.0 - h.beta1, S), rows(h.beta2, S), rows(1.0 - h.beta2, S))
            + (rows(h.eps_root, S), rows(h.eps, S), rows(h.weight_decay, S), rows(-h.alpha, S))
        ),
        lambda h: (T.nonzero(h.weight_decay), bool(h.nesterov), bool(h.amsgrad)),
        lambda t, h: A.adam_optax_coefficients(t, h.beta1, h.beta2, h.nesterov),
    ),
    A.nadam_torch: Rule(
        "nadam_torch",
        ("mu", "nu"),
        _torch_adam_rows,
        lambda h: (
            T.nonzero(h.weight_decay) and not h.decoupled_weight_decay,
            T.nonzero(h.weight_decay) and bool(h.decoupled_weight_decay),
        ),
        lambda t, h: A.nadam_torch_coefficients(t, h.beta1, h.beta2, h.momentum_decay),
        _nadam_per_state,
    ),
    A.adamax: Rule(
        "adamax",
        ("mu", "u"),
        lambda S, h: (
            (*lerp_coef(1.0 - h.beta1, S), rows(h.beta1, S), rows(1.0 - h.beta1, S), rows(h.beta2, S))
            + (rows(h.eps, S), rows(h.weight_decay, S), rows(-h.alpha, S))
        ),
        lambda h: (T.nonzero(h.weight_decay), bool(h.torch_order)),
        lambda t, h: A.adamax_coefficients(t, h.alpha, h.beta1, h.torch_order),
    ),
    # Reddi et al.'s Algorithm 2 with the tutorial's beta1(t): always the maximum, never the guard
    A.amsgrad_tutorial: Rule(
        "adam_paper", ("mu", "nu", "nu_max"), _paper_rows, lambda h: (True, False), _amsgrad_b1
    ),
    A.adam_paper: Rule(
        "adam_paper",
        ("mu", "nu", "nu_max"),
        _paper_rows,
        lambda h: (bool(h.amsgrad), A.zero_denominator_possible(h.eps)),
        _constant_b1,
    ),
}
