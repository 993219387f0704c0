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

    ``apply(g, state, x, t, step_sq, out=None) -> state``: the step ``update`` would return added
    to ``x`` in place (the same bits as ``x + step``), or written as ``x + step`` into ``out``
    (``x`` unchanged) when ``out`` is given, each member's squared step norm written into
    ``step_sq`` (shape ``(S,)``; summed in another order than ``vecdot``, so the last bits may
    differ), without a d-sized step written and read back;

    ``apply`` is None for a scheduled optimizer (the step is scaled after the kernel wrote it),
    which carries ``given`` only;

    ``steps(code, p, g, state, x, t0, X, D) -> state``: steps ``t0 .. t0 + n - 1`` (``n = len(X)``,
    ``t0 >= 2``) with the objective's compiled gradient ``(code, p)``
    (:mod:`optrun.backends.compiled`): after each step ``x`` goes into ``X[k]``, the squared step
    norms into ``D[k]`` and the new gradient into ``g``, all in place. None when the kernel keeps
    per-step state in Python (NAdam's torch variant);

    ``given(g, state, x, t0, G, box, X, D) -> state``: the same chunk with gradients known before
    the steps (:func:`optrun.backends.fused.given_steps`): ``g`` for step ``t0``, then ``G[k]`` after step ``t0 + k``
    (``G`` of shape ``(n, S, d)``), ``x`` clipped onto ``box = (lo, hi)`` after every step when
    ``box`` is given. None when :func:`optrun.backends.build_variant` does not attach it.
    """

    init: Callable[[np.ndarray], Any]
    update: Callable[[np.ndarray, Any, np.ndarray, int], tuple[np.ndarray, Any]]
    apply: Callable[[np.ndarray, Any, np.ndarray, int, np.ndarray], Any] | None
    steps: Callable[..., Any] | None = None
    given: Callable[..., Any] | None = None


class Stepper:
    """``update``, then ``x += step`` and the squared step norm (any optimizer).

    ``advance(g, state, x, t, X, D, k, T, out=None) -> (n, state)`` takes steps ``t + 1 ..``
    from ``x`` (``g`` the gradient there), at most to the end of the chunk buffers ``X``, ``D``
    and to step ``T``: the points into ``X[k], X[k + 1] ..`` (``X`` None: the points are not
    recorded), the squared step norms into ``D[k] ..``; it returns how many steps were taken and
    the new state. ``x`` is moved in place, or, with ``out`` (one step), the new point is written
    into ``out`` and ``x`` is left as it was (the same bits: ``x + step`` either way): the runner
    keeps the best point so, without copying it. Here one step per call, a closure: it is the
    runner's hot path, kept to the calls it needs. The squared step norm is the optimizer's
    step's, taken before a projection moves ``x`` back into the feasible set (the distance moved
    may then be shorter).
    """

    def __init__(self, optimizer: Any, project: Projection | None = None):
        self.update = optimizer[1]
        self.project = project
        self.advance = self._one_step(self.update, project)

    @staticmethod
    def _one_step(update: Callable, project: Projection | None) -> Callable[..., tuple[int, Any]]:
        add, vecdot = np.add, np.vecdot

        def advance(g, state, x, t, X, D, k, T, out=None):
            step, state = update(g, state, x, t + 1)
            if out is None:
                out = x
            add(x, step, out=out)
            vecdot(step, step, out=D[k])
            if project is not None:
                project(out)
            if X is not None:
                X[k] = out
            return 1, state

        return advance


class FusedStepper(Stepper):
    """The numba backend's fused ``apply``: ``x`` and the state cross memory once per step."""

    def __init__(self, optimizer: Fused, project: Projection | None = None):
        self.update, self.project, self.apply = optimizer.update, project, optimizer.apply
        apply = optimizer.apply

        def advance(g, state, x, t, X, D, k, T, out=None):
            if out is None:
                state = apply(g, state, x, t + 1, D[k])
                out = x
            else:
                state = apply(g, state, x, t + 1, D[k], out)
            if project is not None:
                project(out)
            if X is not None:
                X[k] = out
            return 1, state

        self.advance = advance


class ChunkStepper(FusedStepper):
    """Whole chunks of steps in one compiled call (``Fused.steps``) with the objective's compiled
    gradient, which the stepper keeps in its own buffer between chunks; the first step of a run
    (``t = 0``: some kernels start their state there) is taken alone. Never with a projection."""

    def __init__(self, optimizer: Fused, compiled: tuple[int, np.ndarray]):
        super().__init__(optimizer)
        self.one = self.advance
        self.advance = self.chunk
        self.steps = optimizer.steps
        self.compiled = compiled
        self.g: np.ndarray | None = None  # the gradient at x, updated in place by the chunks

    def chunk(self, g, state, x, t, X, D, k, T, out=None):
        """As ``advance``: a chunk of steps (the first step of a run alone); ``x`` in place, and
        ``X`` given (the runner passes ``out`` only to a step whose point it does not record)."""
        if t < 1:
            return self.one(g, state, x, t, X, D, k, T, out)
        if self.g is None:
            self.g = np.array(g, dtype=np.float64, order="C")
        code, params = self.compiled
        n = min(len(X) - k, T - t)
        return n, self.steps(code, params, self.g, state, x, t + 1, X[k : k + n], D[k : k + n])


class GivenLoop(Stepper):
    """:class:`Stepper`'s steps, a chunk of them per call, with the gradients the rounds give
    before the steps (as :class:`GivenStepper`, for an optimizer without ``Fused.given``: numpy,
    a scheduled one): the same operations step after step, in one Python loop here, and the
    rounds' rows observed once per chunk instead of once per step. Only for an optimizer that
    keeps no reference to the gradient it is given (the gradients are rows of one array)."""

    def __init__(self, optimizer: Any, gradients: Callable, project: Projection | None = None):
        super().__init__(optimizer, project)
        self.gradients = gradients
        self.advance = self.chunk

    def chunk(self, g, state, x, t, X, D, k, T, out=None):
        """As ``advance``: steps ``t + 1 ..`` to the end of the chunk buffers, ``x`` in place."""
        update, add, vecdot, project = self.update, np.add, np.vecdot, self.project
        n = min(len(X) - k, T - t)
        G = self.gradients(t + 1, n)
        for j in range(k, k + n):
            step, state = update(g, state, x, t + 1)
            add(x, step, out=x)
            vecdot(step, step, out=D[j])
            if project is not None:
                project(x)
            X[j] = x
            g = G[j - k]
            t += 1
        return n, state


class GivenStepper(Stepper):
    """Whole chunks of steps in one compiled call (``Fused.given``) with the gradients the rounds
    of an online objective give before the steps (``gradients(row, n)``,
    :meth:`optrun.objectives.rounds.Rounds.gradients`: its gradient does not depend on ``x``),
    and the projection onto a box after every step. The first step of a run is taken alone, as
    by :class:`ChunkStepper` (fused, or ``update`` for a scheduled optimizer, which has no
    ``apply``); the runner then observes the chunk's rows in one call
    (:meth:`optrun.objectives.rounds.Rounds.observe_rows`)."""

    def __init__(self, optimizer: Fused, gradients: Callable, project: Projection | None, d: int):
        super().__init__(optimizer, project)
        if optimizer.apply is not None:
            self.one = FusedStepper(optimizer, project).advance
        else:
            self.one = self.advance
        self.advance = self.chunk
        self.given, self.gradients = optimizer.given, gradients
        self.box = None
        if project is not None:
            self.box = tuple(np.array(np.broadcast_to(b, (d,)), dtype=np.float64) for b in project.box)

    def chunk(self, g, state, x, t, X, D, k, T, out=None):
        """As ``advance``: a chunk of steps (the first step of a run alone) from ``x``, in place."""
        if t < 1:
            return self.one(g, state, x, t, X, D, k, T, out)
        n = min(len(X) - k, T - t)
        G = self.gradients(t + 1, n)
        return n, self.given(g, state, x, t + 1, G, self.box, X[k : k + n], D[k : k + n])


def stepper_for(
    optimizer: Any,
    d: int,
    objective: Any = None,
    project: Projection | None = None,
    gradients: Any = None,
    loop: bool = False,
) -> Stepper:
    """The stepper a run of dimension ``d`` uses, chosen here once: chunks of compiled steps when
    an ``objective`` is given (the caller allows chunks), the optimizer can step in chunks, there
    is no projection and :func:`optrun.backends.chunked_gradient` finds a compiled gradient;
    chunks with given gradients when ``gradients(row, n)`` is given (an online objective's
    rounds, the caller allows chunks) and the optimizer has ``Fused.given`` (a projection then
    must be a box: ``project.box``), or in a Python loop (:class:`GivenLoop`) when it has no
    fused step and ``loop`` (it keeps no reference to its gradient: ``Problem.own_buffers``); else the fused step when the optimizer has one; else ``update``."""
    boxed = project is None or getattr(project, "box", None) is not None
    if gradients is not None and boxed and getattr(optimizer, "given", None) is not None:
        return GivenStepper(optimizer, gradients, project, d)
    if gradients is not None and loop and getattr(optimizer, "apply", None) is None:
        return GivenLoop(optimizer, gradients, project)
    if objective is not None and project is None and getattr(optimizer, "steps", None) is not None:
        from . import chunked_gradient  # numba is loaded already: the optimizer is a numba kernel

        compiled = chunked_gradient(objective, optimizer, d)
        if compiled is not None:
            return ChunkStepper(optimizer, compiled)
    if getattr(optimizer, "apply", None) is not None:
        return FusedStepper(optimizer, project)
    return Stepper(optimizer, project)
