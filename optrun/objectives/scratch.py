"""One implementation per built-in, two ways to call it: into a caller's buffer, or allocating.

A built-in's gradient is written by a *kernel* ``kernel(x, g, take) -> f``: it computes the value
of each row of ``x`` (``(..., d)``), writes the gradient into ``g`` (``x``'s shape, float64) and gets
every ``d``-sized temporary it needs from ``take(shape, n)`` (``n`` arrays of ``shape``; ``take(shape,
n, "C")`` for C order whatever ``x``'s layout, as a gufunc's result is laid out), so that
its ufuncs run with ``out=`` in the order the formula states them. :func:`gradient_pair` turns it
into the objective's two entry points:

- ``evaluate_into(x, g)``: temporaries from a :class:`Scratch` that keeps them from one call to the
  next (per thread and per shape), so a step allocates nothing of size ``d`` after the first;
- ``value_and_grad(x)``: a new ``g`` and new temporaries every call, as before.

Both run the same ufuncs on the same values in the same order, so they give the same bits. A
kernel may work through the columns in blocks of about :data:`BLOCK` elements (:func:`column_blocks`)
so that its temporaries stay in cache: elementwise results do not depend on the blocks, and its
last-axis sums are taken over whole rows.

The temporaries (and a new ``g``) are laid out as numpy lays out a ufunc's result for ``x``: C
order, or Fortran order for a Fortran-ordered ``x``, which matters to the bits of a last-axis sum.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

BLOCK = 1 << 16  # elements of a temporary that a kernel working in blocks of columns keeps in cache
Take = Callable[..., list[np.ndarray]]  # (shape, n, own order=None) -> n arrays
Kernel = Callable[[np.ndarray, np.ndarray, Take], np.ndarray]


def layout(x: np.ndarray) -> str:
    """The order numpy gives a ufunc's result for ``x``: ``"F"`` for a Fortran-only array, else ``"C"``."""
    return "F" if x.flags.f_contiguous and not x.flags.c_contiguous else "C"


def fresh(order: str) -> Take:
    """New temporaries at every call, laid out in ``order`` unless the request names its own."""

    def take(shape: tuple[int, ...], n: int, own: str | None = None) -> list[np.ndarray]:
        return [np.empty(shape, order=own or order) for _ in range(n)]

    return take


class Scratch:
    """Temporaries kept between calls: per thread (a sweep may evaluate in threads) and per shape of
    ``x``, for the last ``keep`` shapes (a run uses one or two: its ``(S, d)`` batch, its chunk
    rows). Only for a C-contiguous ``x``: every temporary is in C order."""

    def __init__(self, keep: int = 3) -> None:
        self.keep = keep
        self.local = threading.local()

    def taker(self, key: tuple[int, ...]) -> Take:
        """``take`` for one call on an ``x`` of shape ``key``: its ``i``-th request gets the arrays
        the ``i``-th request of the previous call of that shape got."""
        cache: dict | None = getattr(self.local, "cache", None)
        if cache is None:
            cache = self.local.cache = {}
        slots = cache.get(key)
        if slots is None:
            while len(cache) >= self.keep:
                del cache[next(iter(cache))]  # the oldest shape
            slots = cache[key] = []
        count = [0]

        def take(shape: tuple[int, ...], n: int, own: str | None = None) -> list[np.ndarray]:
            i = count[0]
            count[0] = i + 1
            if i < len(slots) and len(slots[i]) == n and slots[i][0].shape == shape:
                return slots[i]
            bufs = [np.empty(shape) for _ in range(n)]
            slots[i:] = [bufs]
            return bufs

        return take


def gradient_pair(kernel: Kernel):
    """``(value_and_grad, evaluate_into)`` for ``kernel`` (module docstring)."""
    scratch = Scratch()

    def evaluate_into(x: np.ndarray, g: np.ndarray) -> np.ndarray:
        if x.flags.c_contiguous:
            return kernel(x, g, scratch.taker(x.shape))
        return kernel(x, g, fresh(layout(x)))

    def value_and_grad(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x)
        order = layout(x)
        g = np.empty(x.shape, order=order)
        return kernel(x, g, fresh(order)), g

    return value_and_grad, evaluate_into


def short(x: np.ndarray) -> tuple[int, ...]:
    """The shape of ``x[..., :-1]``."""
    return x.shape[:-1] + (x.shape[-1] - 1,)


def column_blocks(x: np.ndarray, m: int) -> tuple[tuple[int, ...], range]:
    """Blocks of the first ``m`` columns of ``x`` of about :data:`BLOCK` elements over all rows:
    the shape of a block's temporaries and the first column of each block (a block ends at the next
    one's or at ``m``). Elementwise results do not depend on the blocks; sums are taken over whole
    rows, after the loop."""
    width = max(1, min(m, BLOCK // max(1, x.size // max(1, x.shape[-1]))))
    return x.shape[:-1] + (width,), range(0, m, width)
