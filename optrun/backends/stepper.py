"""How a run moves ``x``: one :class:`Stepper`, chosen once per run by :func:`stepper_for`.

An optimizer is ``(init, update)`` (:class:`optrun.optimizers.base.Optimizer`). The numba
backend's builders return a :class:`Fused` optimizer, which carries two faster forms of the same
step besides: ``apply`` (``x += step`` in the pass that computes it, with the squared step norms)
and ``steps`` (a whole chunk of steps in one compiled call, with the objective's compiled
gradient). The runner does not look at these fields: it asks for a stepper once and then only
calls :meth:`Stepper.advance`, which takes one step (or a chunk of them), applies the projection
when the problem has one, and writes each new point and squared step norm into the rows it is
given. The rows' ``f`` and gradient are then computed by the runner, in one place.

This module imports no numba: it is read by the runner whatever the backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

#: ``project(x)`` puts each row of ``x`` (shape ``(S, d)``) back into the feasible set in place
Projection = Callable[[np.ndarray], None]


class Fused(NamedTuple):
    """A numba-backend optimizer: ``init`` and ``update`` as every optimizer, plus

    ``apply(g, state, x, t, step_sq) -> state``: the step ``update`` would return added to ``x``
    in place (the same bits as ``x + step``), each member's squared step norm written into
    ``step_sq`` (shape ``(S,)``; summed in another order than ``vecdot``, so the last bits may
    differ), without a d-sized step written and read back;

    ``steps(code, p, g, state, x, t0, X, D) -> state``: steps ``t0 .. t0 + n - 1`` (``n = len(X)``,
    ``t0 >= 2``) with the objective's compiled gradient ``(code, p)``
    (:mod:`optrun.backends.compiled`): after each step ``x`` goes into ``X[k]``, the squared step
    norms into ``D[k]`` and the new gradient into ``g``, all in place. None when the kernel keeps
    per-step state in Python (NAdam's torch variant).
    """

    init: Callable[[np.ndarray], Any]
    update: Callable[[np.ndarray, Any, np.ndarray, int], tuple[np.ndarray, Any]]
    apply: Callable[[np.ndarray, Any, np.ndarray, int, np.ndarray], Any]
    steps: Callable[..., Any] | None = None


class Stepper:
    """``update``, then ``x += step`` and the squared step norm (any optimizer)."""

    def __init__(self, optimizer: Any, project: Projection | None = None):
        self.update = optimizer[1]
        self.project = project

    def step(self, g: np.ndarray, state: Any, x: np.ndarray, t: int, sq: np.ndarray) -> Any:
        """Step ``t`` from ``x`` (in place); the squared step norms into ``sq``; the new state."""
        step, state = self.update(g, state, x, t)
        np.add(x, step, out=x)
        np.vecdot(step, step, out=sq)
        return state

    def advance(
        self, g: np.ndarray, state: Any, x: np.ndarray, t: int, X: np.ndarray, D: np.ndarray
    ) -> tuple[int, Any]:
        """Steps ``t + 1 ..`` from ``x``: the points into ``X[k]``, squared step norms into
        ``D[k]`` (at most ``len(X)`` steps); returns how many were taken and the new state.
        ``g`` is the gradient at ``x``."""
        state = self.step(g, state, x, t + 1, D[0])
        if self.project is not None:
            self.project(x)
        X[0] = x
        return 1, state


class FusedStepper(Stepper):
    """The numba backend's fused ``apply``: ``x`` and the state cross memory once per step."""

    def __init__(self, optimizer: Fused, project: Projection | None = None):
        super().__init__(optimizer, project)
        self.step = optimizer.apply


class ChunkStepper(FusedStepper):
    """Whole chunks of steps in one compiled call (``Fused.steps``) with the objective's compiled
    gradient, which the stepper keeps in its own buffer between chunks; the first step of a run
    (``t = 0``: some kernels start their state there) is taken alone. Never with a projection."""

    def __init__(self, optimizer: Fused, compiled: tuple[int, np.ndarray]):
        super().__init__(optimizer)
        self.steps = optimizer.steps
        self.compiled = compiled
        self.g: np.ndarray | None = None  # the gradient at x, updated in place by the chunks

    def advance(self, g, state, x, t, X, D):
        if t < 1:
            return super().advance(g, state, x, t, X, D)
        if self.g is None:
            self.g = np.array(g, dtype=np.float64, order="C")
        code, params = self.compiled
        return len(X), self.steps(code, params, self.g, state, x, t + 1, X, D)


def stepper_for(
    optimizer: Any, compiled: tuple[int, np.ndarray] | None = None, project: Projection | None = None
) -> Stepper:
    """The stepper a run uses: chunks when ``compiled`` is given (see
    :func:`optrun.backends.chunked_gradient`) and the optimizer can step in chunks and there is no
    projection; else the fused step when the optimizer has one; else ``update``."""
    if compiled is not None and project is None and getattr(optimizer, "steps", None) is not None:
        return ChunkStepper(optimizer, compiled)
    if getattr(optimizer, "apply", None) is not None:
        return FusedStepper(optimizer, project)
    return Stepper(optimizer, project)
