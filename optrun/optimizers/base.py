"""The kernel interface every optimizer implements, built-in or user-supplied.

An optimizer is a pair of functions (after optax's ``GradientTransformation``)::

    state = init(x)                     # x: array of shape (..., d)
    step, state = update(g, state, x, t)  # g: gradient at x, same shape; t = 1, 2, ... (step number)
    x_next = x + step

``step`` already carries the sign and the learning rate. Every leading axis of ``x`` is a batch
axis: a sweep of S members runs as one ``(S, d)`` array, and hyperparameters may be floats or
arrays of shape ``(S, 1)`` that broadcast against it. Reductions, where an algorithm needs any,
are on the last axis only.

Built-in kernels keep their state as a NamedTuple of preallocated arrays and update it in place
with ufuncs (``out=``), so a step allocates no temporaries; the returned ``step`` is a buffer
owned by the state and is overwritten by the next call. User kernels may instead return fresh
arrays: the runner only reads ``step`` before calling ``update`` again.

User optimizers
---------------
A config names one as ``algorithm: {name: "package.module:factory", key: value, ...}``. optrun
imports ``package.module`` (the current directory first on ``sys.path``, then the installed
environment) and calls ``factory(key=value, ...)`` with every algorithm key except ``name`` and
``schedule``; values are YAML scalars or lists of them. The factory returns an
:class:`Optimizer` (or any object with ``init`` and ``update``, or an ``(init, update)`` pair)
obeying the contract above: ``x`` and ``g`` are float64 arrays of shape ``(S, d)``, ``t``
counts from 1, ``update`` returns ``(step, state)`` with ``step`` of the shape of ``x``. A
hyperparameter that a sweep varies arrives as an ``(S, 1)`` array, one row per member; one
that is equal across the batch arrives as the config's number. Before a run starts optrun
calls the factory once more and tries ``init`` and one ``update`` on a probe point; an import
error, a missing attribute, a factory or update that raises or a step of the wrong shape
stops the command with one line naming the function (exit status 2). An exception during the
run marks the run ``failed`` with that line. See :mod:`optrun.optimizers.user` and
``configs/examples/my_optimizer.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from ..params import Param

Hyper = Any  # a float, or an array of shape (S, 1) in a batched sweep


class Optimizer(NamedTuple):
    """``init(x) -> state`` and ``update(g, state, x, t) -> (step, state)``; see the module doc.

    How a run applies the step (in numpy, or fused by the numba backend, see
    :mod:`optrun.backends.stepper`) is the backend's business, not the optimizer's.
    """

    init: Callable[[np.ndarray], Any]
    update: Callable[[np.ndarray, Any, np.ndarray, int], tuple[np.ndarray, Any]]


@dataclass(frozen=True)
class Variant:
    """One convention of an algorithm (``tutorial``, ``torch``, ``optax``...).

    ``build(**hyper)`` returns an :class:`Optimizer`. ``rule`` is the update rule as printed by
    ``optrun algorithms NAME``; ``notes`` says how it differs from the other variants.
    """

    name: str
    params: tuple[Param, ...]
    build: Callable[..., Optimizer]
    rule: str
    notes: str = ""
    aliases: tuple[str, ...] = ()

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None


@dataclass(frozen=True)
class Algorithm:
    """A named optimizer with its variants; ``default_variant`` is used when none is given."""

    name: str
    summary: str
    reference: str
    variants: tuple[Variant, ...]
    default_variant: str
    aliases: tuple[str, ...] = field(default=())

    def variant(self, name: str | None) -> Variant:
        name = name or self.default_variant
        for v in self.variants:
            if v.name == name or name in v.aliases:
                return v
        raise KeyError(name)

    def variant_names(self) -> list[str]:
        return [v.name for v in self.variants]
