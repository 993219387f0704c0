"""Small in-place building blocks shared by the named optimizers.

Each function updates its first argument in place with ufuncs (``out=``) and returns nothing, so
an optimizer's ``update`` is a short composition of these and allocates no arrays per step.
Hyperparameters may be Python floats or arrays broadcastable against the state (``(S, 1)``).

The order of floating-point operations inside each block is part of its contract: the
tutorial, torch and optax variants differ in where epsilon sits and in what is multiplied first,
and reproducing a library to the last bit means reproducing its order.
"""

from __future__ import annotations

import numpy as np


def ema(avg: np.ndarray, value: np.ndarray, decay, tmp: np.ndarray) -> None:
    """``avg = decay * avg + (1 - decay) * value`` (tutorial and optax order)."""
    np.multiply(avg, decay, out=avg)
    np.multiply(value, 1.0 - decay, out=tmp)
    np.add(avg, tmp, out=avg)


def ema_square(avg: np.ndarray, value: np.ndarray, decay, tmp: np.ndarray) -> None:
    """``avg = decay * avg + (1 - decay) * value**2``."""
    np.multiply(value, value, out=tmp)
    np.multiply(tmp, 1.0 - decay, out=tmp)
    np.multiply(avg, decay, out=avg)
    np.add(avg, tmp, out=avg)


def accumulate_square(acc: np.ndarray, value: np.ndarray, tmp: np.ndarray) -> None:
    """``acc = acc + value**2`` (AdaGrad's running sum of squared gradients)."""
    np.multiply(value, value, out=tmp)
    np.add(acc, tmp, out=acc)


def running_max(acc: np.ndarray, value: np.ndarray) -> None:
    """``acc = max(acc, value)`` elementwise (AMSGrad's maximum of second moments)."""
    np.maximum(acc, value, out=acc)


def root_plus_eps(out: np.ndarray, value: np.ndarray, eps) -> None:
    """``out = sqrt(value) + eps`` (epsilon outside the root, as torch and the tutorials)."""
    np.sqrt(value, out=out)
    np.add(out, eps, out=out)


def eps_plus_root(out: np.ndarray, value: np.ndarray, eps) -> None:
    """``out = eps + sqrt(value)`` (the AdaGrad tutorial's operand order; same value)."""
    np.sqrt(value, out=out)
    np.add(eps, out, out=out)


def root_of_plus_eps(out: np.ndarray, value: np.ndarray, eps) -> None:
    """``out = sqrt(value + eps)`` (epsilon inside the root, as optax's AdaGrad)."""
    np.add(value, eps, out=out)
    np.sqrt(out, out=out)


def scale(out: np.ndarray, factor) -> None:
    """``out = factor * out`` (a learning-rate scale; pass ``-lr`` for descent).

    Descent signs are folded into such scales rather than applied as a separate negation pass:
    IEEE-754 negation is exact and round-to-nearest is symmetric, so ``(-a) * g``, ``(-a) / d``
    and ``m * (-a)`` are ``-(a * g)``, ``-(a / d)`` and ``-(m * a)`` bit for bit.
    """
    np.multiply(out, factor, out=out)


# ------------------------------------------------------------------ blocks in torch's order
#
# torch.optim's single-tensor kernels use fused ATen ops whose operand order differs from the
# textbook: ``lerp_`` for first moments, ``mul_(b).addcmul_(g, g, value=1 - b)`` for second
# moments (``(value * g) * g``), ``addcdiv_(a, b, value=c)`` as ``(c * a) / b``. The blocks
# below reproduce those orders (ATen ``Lerp.h`` and ``PointwiseOpsKernel.cpp``).


def lerp(avg: np.ndarray, value: np.ndarray, weight, tmp: np.ndarray) -> None:
    """``avg = avg + weight * (value - avg)`` as torch's ``Tensor.lerp_`` computes it.

    ATen evaluates ``self + w * (end - self)`` when ``|w| < 0.5`` and
    ``end - (end - self) * (1 - w)`` otherwise (more accurate near ``w = 1``); ``weight`` may be
    an array (a batch of betas), in which case each member takes its own branch. For an array,
    ``end - d * (1 - w)`` is computed as ``end + d * (w - 1)``, which is the same number
    (``w - 1 == -(1 - w)`` exactly).
    """
    np.subtract(value, avg, out=tmp)
    if not isinstance(weight, np.ndarray):
        if abs(weight) < 0.5:
            np.multiply(tmp, weight, out=tmp)
            np.add(avg, tmp, out=avg)
        else:
            np.multiply(tmp, 1.0 - weight, out=tmp)
            np.subtract(value, tmp, out=avg)
        return
    small = np.abs(weight) < 0.5
    np.multiply(tmp, np.where(small, weight, weight - 1.0), out=tmp)
    np.add(avg, tmp, out=avg, where=small)
    np.add(value, tmp, out=avg, where=~small)


def decay_add_square(avg: np.ndarray, value: np.ndarray, decay, tmp: np.ndarray) -> None:
    """``avg = avg * decay + ((1 - decay) * value) * value``: torch's
    ``avg.mul_(decay).addcmul_(value, value, value=1 - decay)`` (Adam, RMSprop, Adadelta)."""
    np.multiply(avg, decay, out=avg)
    np.multiply(value, 1.0 - decay, out=tmp)
    np.multiply(tmp, value, out=tmp)
    np.add(avg, tmp, out=avg)


# ------------------------------------------------------------------ shared pieces


def zeros(x: np.ndarray) -> np.ndarray:
    """Zeros shaped like ``x`` for a kernel's state, as fresh zero pages (``np.zeros``, calloc):
    no pass fills them at ``init``, and a field a step never writes (Adam's maximum outside
    AMSGrad) never takes memory. Subclasses and non-C-contiguous ``x`` get ``np.zeros_like``."""
    if type(x) is np.ndarray and x.flags.c_contiguous:
        return np.zeros(x.shape, dtype=x.dtype)
    return np.zeros_like(x)


def nonzero(v) -> bool:
    """Whether an optional term (weight decay, momentum) must be computed: any nonzero member."""
    return bool(np.any(v != 0)) if isinstance(v, np.ndarray) else v != 0


def add_scaled(out: np.ndarray, base: np.ndarray, value: np.ndarray, factor) -> None:
    """``out = base + factor * value``: torch's ``base.add(value, alpha=factor)`` (coupled L2
    weight decay ``g + wd * x``, Nesterov's ``g + mu * buf``) and optax's ``g + s * p`` and
    ``trace = g + decay * trace``. ``out`` may be ``value`` (updated in place) but not ``base``."""
    if out is base:
        raise ValueError("add_scaled: out must not be base")
    np.multiply(value, factor, out=out)
    np.add(base, out, out=out)


def abs_plus_eps(out: np.ndarray, value: np.ndarray, eps) -> None:
    """``out = |value| + eps`` (AdaMax's infinity-norm candidate, torch and optax alike)."""
    np.abs(value, out=out)
    np.add(out, eps, out=out)


def power(base, exponent):
    """``base ** exponent`` with C ``pow`` (Python's float power), elementwise for arrays.

    torch computes bias corrections such as ``1 - beta1 ** step`` on Python floats; numpy's
    vectorised ``np.power`` may use a different (SIMD) approximation, so a batch of betas goes
    through Python's power member by member to stay bit-identical with a single run.
    """
    if isinstance(exponent, np.ndarray):
        b, e = np.broadcast_arrays(np.asarray(base, dtype=np.float64), exponent.astype(np.float64))
        return np.array([bi**ei for bi, ei in zip(b.ravel().tolist(), e.ravel().tolist())]).reshape(b.shape)
    if isinstance(base, np.ndarray):
        e = float(exponent)
        return np.array([bi**e for bi in base.ravel().tolist()]).reshape(base.shape)
    return float(base) ** float(exponent)


def bias_correction(beta, t):
    """``1 - beta ** t``, the factor Adam divides its moments by (Kingma & Ba 2015, alg. 1).

    C ``pow`` serves both libraries: torch evaluates it on Python floats, and optax's jitted
    ``1 - decay ** count`` lowers to XLA's float64 ``power``, which agrees with C ``pow``.
    """
    return 1.0 - power(beta, t)


def select(out: np.ndarray, mask, if_true: np.ndarray, if_false: np.ndarray) -> None:
    """``out = if_true where mask else if_false``; ``mask`` is a bool or a broadcastable array."""
    if not isinstance(mask, np.ndarray):
        np.copyto(out, if_true if mask else if_false)
        return
    np.copyto(out, if_false, where=~mask)
    np.copyto(out, if_true, where=mask)
