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
    """``out = factor * out`` (a learning-rate scale; pass ``-lr`` for descent)."""
    np.multiply(out, factor, out=out)


def negate(out: np.ndarray) -> None:
    """``out = -out``: the one place a descent direction's sign is flipped."""
    np.negative(out, out=out)
