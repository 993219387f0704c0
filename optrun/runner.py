"""The optimization loop, in pure numpy: no files, no console.

The loop runs a batch of S members at once (``x`` of shape ``(S, d)``; a single run is S = 1).
Each step's figures are copied into preallocated chunk buffers; when a chunk is full the
stopping rules are applied to it in one vectorized pass and the chunk is handed to ``on_chunk``
(the trace writer, the progress display). Applying a stop at the first row of a chunk that meets
it is exactly equivalent to stopping at that iteration, because later iterations never change
earlier rows; a member that stops is frozen (its rows end there) while the others go on.

How ``x`` moves is the business of one :class:`optrun.backends.stepper.Stepper`, chosen once per
run (numpy ``update``, numba's fused step, or compiled chunks of steps); the objective is called
in one place, ``Loop.observe``, for the rows the stepper wrote; per-member bookkeeping (stop
rules, best and final points, checkpoints, results) is :class:`Members`'.

A large run (a chunk of one row) copies no point per step: the chunk's row is the current point,
viewed, and :class:`optrun.backends.points.Points` keeps the best and final points; with
``Problem.own_buffers`` the gradient goes into one buffer (``Objective.evaluate_into``).

Per member the loop records ``f``, ``grad_norm`` (Euclidean norm of the gradient at the point),
``step_norm`` (norm of the step that led to the point; 0 at iteration 0) and ``x``. Row ``t`` is
the point after ``t`` steps; row 0 is the start point.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .backends.points import Points
from .backends.stepper import Projection, Stepper, stepper_for
from .objectives import Objective
from .optimizers import Optimizer

CHUNK_ELEMENTS = 1 << 18  # floats held per chunk buffer set: bounded memory at any d and S
MAX_CHUNK_ROWS = 1024

# member status codes while running
RUNNING, COMPLETED, DIVERGED = 0, 1, 2


@dataclass
class Problem:
    objective: Objective
    optimizer: Optimizer
    x0: np.ndarray  # (S, d) start points
    iterations: int
    f_target: float | None = None
    grad_norm_tol: float | None = None
    #: may whole chunks of steps run in one compiled call with the objective's compiled gradient
    #: (when the optimizer and the objective have them: :func:`optrun.backends.stepper.stepper_for`)?
    #: Inside a chunk the gradient is computed by compiled code, not by ``Loop.observe``: an
    #: objective that depends on the step index or on a random stream must not allow chunks
    chunks: bool = False
    #: ``project(x)``, applied in place after every step (a box constraint...); None: no-op
    project: Projection | None = None
    #: the optimizer keeps no reference to the ``g`` and ``x`` it is given (every built-in): the
    #: runner may reuse one gradient buffer (``evaluate_into``) and alternate ``x`` between two
    own_buffers: bool = False
    #: the caller gives ``x0`` away: the run steps it in place instead of copying it
    give_x0: bool = False
    #: ``(f, g)``, the objective at ``x0`` computed already (the start check): ``(S,)`` and a
    #: C-contiguous ``(S, d)`` float64 gradient. Row 0 takes them instead of calling the objective
    #: again and ``g`` becomes the gradient buffer (used with ``own_buffers`` and ``evaluate_into``,
    #: when not resuming; else ignored)
    start_values: tuple[np.ndarray, np.ndarray] | None = None
    #: an online objective or gradient noise (:class:`optrun.objectives.rounds.Rounds`): the one
    #: place the objective is called asks it for each row's values and the gradient the optimizer
    #: sees, and the chunks carry its extra columns (``regret``, ``avg_regret``); one step at a time,
    #: or whole chunks of compiled steps when its gradients do not depend on x (``Rounds.chunks``)
    rounds: Any = None


@dataclass
class Chunk:
    """Rows ``first_iteration .. first_iteration + n - 1`` of every member.

    ``f``, ``grad_norm``, ``step_norm`` are ``(n, S)``, ``x`` is ``(n, S, d)`` (views into
    reused buffers: copy what you keep). ``rows[s]`` is how many of the n rows belong to member
    s (fewer when it stopped inside this chunk; 0 when it had stopped before).
    """

    first_iteration: int
    n: int
    f: np.ndarray
    grad_norm: np.ndarray
    step_norm: np.ndarray
    x: np.ndarray
    rows: np.ndarray
    ended: np.ndarray  # (S,) bool: the member's last row is in this chunk
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (n, S): regret columns


@dataclass
class MemberResult:
    status: str  # completed | diverged | interrupted
    stop_reason: str  # iterations | f_target | grad_norm | nonfinite | interrupted
    iterations: int
    final_f: float
    final_x: np.ndarray
    final_grad_norm: float
    best_f: float
    best_x: np.ndarray
    best_iteration: int
    extra: dict[str, float] = field(default_factory=dict)  # each extra column at the last row


@dataclass
class Checkpoint:
    """Everything the loop needs to continue after row ``iteration`` exactly as if never stopped.

    The gradient at ``x`` is not stored: it is recomputed, bit for bit, from ``x``.
    """

    iteration: int
    x: np.ndarray  # (S, d)
    opt_state: Any
    status: np.ndarray  # (S,) int8
    reason: list[str]
    last_row: np.ndarray
    final_f: np.ndarray
    final_g: np.ndarray
    final_x: np.ndarray
    best_f: np.ndarray
    best_it: np.ndarray
    best_x: np.ndarray
    #: the extra columns' last values (``final.NAME``) and the rounds' state (``rounds.NAME``)
    extra: dict[str, np.ndarray] = field(default_factory=dict)


def copy_state(state: Any) -> Any:
    """A deep copy of an optimizer state made of arrays (NamedTuple, tuple, list or dict)."""
    if isinstance(state, np.ndarray):
        return state.copy()
    if isinstance(state, tuple) and hasattr(state, "_fields"):
        return type(state)(*(copy_state(v) for v in state))
    if isinstance(state, (tuple, list)):
        return type(state)(copy_state(v) for v in state)
    if isinstance(state, dict):
        return {k: copy_state(v) for k, v in state.items()}
    return state


def chunk_rows(S: int, d: int) -> int:
    return int(max(1, min(MAX_CHUNK_ROWS, CHUNK_ELEMENTS // (S * (d + 3)))))


class Members:
    """Per-member bookkeeping between chunks: status, stop reason, last kept row, final and best
    point. :meth:`close` applies the stop rules to a chunk of rows and updates the rest, for all
    members at once: a few numpy calls per chunk whatever the number of members, no loop over them.
    """

    def __init__(
        self, S: int, d: int, f_target: float | None, grad_norm_tol: float | None, extra: tuple[str, ...] = ()
    ):
        self.S, self.target, self.gtol = S, f_target, grad_norm_tol
        self.final_extra = {name: np.full(S, np.nan) for name in extra}
        self.status = np.full(S, RUNNING, dtype=np.int8)
        self.reason = np.full(S, "iterations", dtype=object)  # str per member (set by index arrays)
        self.last_row = np.zeros(S, dtype=np.int64)  # iteration of each member's last kept row
        self.final_f = np.full(S, np.nan)
        self.final_g = np.full(S, np.nan)
        self.final_x = np.full((S, d), np.nan)
        self.best_f = np.full(S, np.inf)
        self.best_it = np.zeros(S, dtype=np.int64)
        self.best_x = np.full((S, d), np.nan)

    def running(self) -> bool:
        return bool((self.status == RUNNING).any())

    def close(
        self, first: int, f, gn, sn, xs, at_end: bool, extra: dict | None = None, evaluated=None
    ) -> Chunk:
        """Apply stop rules to rows ``first ..`` (``f``, squared norms ``gn``, ``sn``, points
        ``xs``, ``extra`` columns; the norms are rooted in place), update the results, and return
        the chunk. ``evaluated`` (``(n,)`` bool; None: all) marks the rows with ``f`` and a gradient
        norm (a minibatch run's recorded rows): elsewhere they are NaN, which is not divergence."""
        n = len(f)
        np.sqrt(gn, out=gn)  # the loop records squared norms; one call per chunk, the same bits
        np.sqrt(sn, out=sn)
        rows, ended = self._stops(f, gn, sn, n, evaluated)
        if at_end:
            ended |= self.status == RUNNING
        self._track(first, rows, f, gn, xs)
        if extra:
            live = np.flatnonzero(rows)
            for name, col in extra.items():
                self.final_extra[name][live] = col[rows[live] - 1, live]
        return Chunk(first, n, f, gn, sn, xs, rows, ended, extra or {})

    def _stops(self, f, gn, sn, n: int, evaluated=None) -> tuple[np.ndarray, np.ndarray]:
        """Rows kept per member and which members ended, from the first row meeting a rule."""
        alive = self.status == RUNNING
        lost = ~(np.isfinite(f) & np.isfinite(gn))  # (a row without f: only its step can diverge)
        bad = ~np.isfinite(sn) | (lost if evaluated is None else lost & evaluated[:, None])
        hit = np.zeros_like(bad)
        if self.target is not None:
            hit |= f <= self.target
        if self.gtol is not None:
            hit |= gn <= self.gtol
        event = (bad | hit) & alive
        rows = np.where(alive, n, 0)
        ended = event.any(axis=0)
        stopped = np.flatnonzero(ended)
        if stopped.size:
            r = np.argmax(event[:, stopped], axis=0)  # each one's first row meeting a rule
            rows[stopped] = r + 1
            diverged = bad[r, stopped]
            self.status[stopped] = np.where(diverged, DIVERGED, COMPLETED)
            on_target = f[r, stopped] <= self.target if self.target is not None else False
            self.reason[stopped] = np.where(
                diverged, "nonfinite", np.where(on_target, "f_target", "grad_norm")
            ).astype(object)
        return rows, ended

    def _track(self, first: int, rows: np.ndarray, f, gn, xs) -> None:
        """Best and final point of each member after its ``rows`` rows of this chunk."""
        live = np.flatnonzero(rows)
        if not live.size:
            return
        last = rows[live] - 1  # each member's last row in the chunk
        mine = np.arange(len(f))[:, None] <= last  # (n, L): the member's own rows
        fl = f[:, live]
        fm = np.where(mine & np.isfinite(fl), fl, np.inf)
        i = np.argmin(fm, axis=0)  # the first row of the smallest finite f (inf: none finite)
        fi = fm[i, np.arange(live.size)]
        better = fi < self.best_f[live]  # an inf (no finite f) never is
        if better.any():
            b = live[better]
            self.best_f[b], self.best_it[b] = fi[better], first + i[better]
            _copy_points(self.best_x, b, xs, i[better])
        self.last_row[live] = first + last
        self.final_f[live], self.final_g[live] = f[last, live], gn[last, live]
        _copy_points(self.final_x, live, xs, last)

    def snapshot(self, it: int, x: np.ndarray, state: Any) -> Checkpoint:
        return Checkpoint(
            it,
            x.copy(),
            copy_state(state),
            self.status.copy(),
            list(self.reason),
            self.last_row.copy(),
            self.final_f.copy(),
            self.final_g.copy(),
            self.final_x.copy(),
            self.best_f.copy(),
            self.best_it.copy(),
            self.best_x.copy(),
            {f"final.{k}": v.copy() for k, v in self.final_extra.items()},
        )

    def restore(self, cp: Checkpoint) -> None:
        for k, v in self.final_extra.items():
            v[:] = cp.extra[f"final.{k}"]
        self.status[:], self.reason[:], self.last_row[:] = cp.status, cp.reason, cp.last_row
        self.final_f[:], self.final_g[:], self.final_x[:] = cp.final_f, cp.final_g, cp.final_x
        self.best_f[:], self.best_it[:], self.best_x[:] = cp.best_f, cp.best_it, cp.best_x

    def results(self, interrupted: bool) -> list[MemberResult]:
        """One result per member, its fields taken from the arrays by column (no per-member
        arithmetic: the loop over members only packs the columns)."""
        running, diverged = self.status == RUNNING, self.status == DIVERGED
        status = np.where(diverged, "diverged", "completed").astype(object)
        reason = self.reason.copy()
        if running.any():
            status[running] = "interrupted" if interrupted else "completed"
            reason[running] = "interrupted" if interrupted else "iterations"
        best = np.where(np.isfinite(self.best_f), self.best_f, np.nan)
        final_x, best_x = self.final_x.copy(), self.best_x.copy()
        columns = (
            status.tolist(),
            reason.tolist(),
            self.last_row.tolist(),
            self.final_f.tolist(),
            list(final_x),
            self.final_g.tolist(),
            best.tolist(),
            list(best_x),
            self.best_it.tolist(),
        )
        out = [MemberResult(*fields) for fields in zip(*columns)]
        for name, values in self.final_extra.items():
            for r, v in zip(out, values.tolist()):
                r.extra[name] = v
        return out


def _copy_points(dst: np.ndarray, members: np.ndarray, xs: np.ndarray, rows: np.ndarray) -> None:
    """``dst[members[j]] = xs[rows[j], members[j]]``; when every member takes the same row, one
    copy from the chunk's buffer (no ``(S, d)`` temporary: the large-``d`` run)."""
    if members.size == dst.shape[0] and (rows == rows[0]).all():
        dst[...] = xs[rows[0]]
    else:
        dst[members] = xs[rows, members]


class Loop:
    """The chunk buffers of one run and the one place the objective is called (``observe``)."""

    def __init__(self, problem: Problem, x: np.ndarray):
        S, d = x.shape
        K = chunk_rows(S, d)
        self.S, self.d, self.K = S, d, K
        self.value_and_grad = problem.objective.value_and_grad
        self.rounds = problem.rounds
        into = getattr(problem.objective, "evaluate_into", None) if problem.own_buffers else None
        self.evaluate_into = into = into if self.rounds is None else None
        given = problem.start_values if into is not None else None
        if given is not None and not (given[1].shape == (S, d) and given[1].flags.c_contiguous):
            given = None
        self.given = given  # row 0's f and gradient, until start() takes them
        self.g = (np.empty((S, d)) if given is None else given[1]) if into is not None else None
        self.F, self.G, self.D = np.empty((K, S)), np.empty((K, S)), np.empty((K, S))
        self.E = {name: np.empty((K, S)) for name in (self.rounds.columns if self.rounds else ())}
        #: a chunk of one row is the current point itself: no buffer of points (see the module doc)
        self.points = Points(x, problem.own_buffers) if K == 1 else None
        self.X = np.empty((K, S, d)) if self.points is None else None
        #: the buffer the next step writes into (out of place while x is the best point), or None
        self.target = self.points.target if self.points is not None else lambda: None
        self.observe = self._observer()

    def stepper(self, problem: Problem) -> Stepper:
        # chunks of one row gain nothing; rounds (online, noise) are chunked only when they can
        # give their gradients before the steps (an x-free gradient), else one step at a time
        chunks = problem.chunks and self.points is None
        if self.rounds is not None:  # (a Python loop of steps is given rows of one array: own_buffers)
            given = self.rounds.gradients if chunks and self.rounds.chunks else None
            return stepper_for(problem.optimizer, self.d, None, problem.project, given, problem.own_buffers)
        return stepper_for(problem.optimizer, self.d, problem.objective if chunks else None, problem.project)

    def members(self, p: Problem) -> Members:  # no coordinates when Points keeps them
        return Members(
            self.S, self.d if self.points is None else 0, p.f_target, p.grad_norm_tol, tuple(self.E)
        )

    def close(self, members: Members, first: int, n: int, at_end: bool) -> Chunk:
        """:meth:`Members.close` on rows ``first ..``; a large run's chunk is x, viewed."""
        F, G, D, points = self.F[:n], self.G[:n], self.D[:n], self.points
        extra = {name: col[:n] for name, col in self.E.items()}
        evaluated = self.rounds.evaluated(first, n) if hasattr(self.rounds, "evaluated") else None
        if points is None:
            return members.close(first, F, G, D, self.X[:n], at_end, extra, evaluated)
        chunk = members.close(first, F, G, D, points.x[None, :, :0], at_end, extra, evaluated)
        chunk.x = points.x[None]
        points.closed(members.best_f, chunk.ended)
        return chunk

    def snapshot(self, members: Members, t: int, x: np.ndarray, state: Any, views: bool) -> Checkpoint:
        """:meth:`Members.snapshot`; with ``views``, a large run's points and optimizer state are
        the loop's own arrays, not copies (d numbers each: eight arrays for AMSGrad)."""
        if self.points is None:
            return self._with_rounds(members.snapshot(t, x, state))
        if views:
            cp = members.snapshot(t, x[:, :0], None)
            cp.x, cp.opt_state = x, state
        else:
            cp = members.snapshot(t, x, state)
        best, final = self.points.best_rows(), self.points.final_rows(members.status == RUNNING)
        cp.best_x, cp.final_x = (best, final) if views else (best.copy(), final.copy())
        return self._with_rounds(cp)

    def _with_rounds(self, cp: Checkpoint) -> Checkpoint:
        if self.rounds is not None:
            cp.extra.update({f"rounds.{k}": v for k, v in self.rounds.state().items()})
        return cp

    def settle(self, k: int, x: np.ndarray, t: int) -> None:
        """An interrupted run's last row (``k - 1``, ``t``, at ``x``) gets a minibatch run's full values."""
        settle = getattr(self.rounds, "settle", None)
        if settle is not None and k:
            settle(x, t, self.F[k - 1], self.G[k - 1], [e[k - 1] for e in self.E.values()])

    def results(self, members: Members, interrupted: bool) -> list[MemberResult]:
        out = members.results(interrupted)
        if self.points is not None:
            best, final = self.points.best_rows(), self.points.final_rows(members.status == RUNNING)
            for s, r in enumerate(out):
                r.best_x, r.final_x = best[s], final[s]
        return out

    def _observer(self) -> Callable[[int, int, np.ndarray, int], np.ndarray]:
        """``observe(k, n, x, row)``: ``f`` and the squared gradient norm of rows ``k .. k + n - 1``
        (points in ``X``; ``x`` is the last, the run's row ``row``), all members of all rows in one
        call of the objective; returns the gradient of the last row. The one place the objective is
        called: with rounds (an online objective, gradient noise) they compute the row, one step
        at a time. A closure over the buffers: it runs once per step."""
        vg, F, G, X, S, d, vecdot = self.value_and_grad, self.F, self.G, self.X, self.S, self.d, np.vecdot
        into, gb = self.evaluate_into, self.g
        if self.rounds is not None:
            at, at_rows, E = self.rounds.observe, self.rounds.observe_rows, tuple(self.E.values())

            def observe_round(k: int, n: int, x: np.ndarray, row: int) -> np.ndarray:
                if n == 1:
                    return at(x, row, F[k], G[k], [e[k] for e in E])
                j = k + n  # a chunk of rounds whose gradients were given before the steps
                return at_rows(X[k:j], row - n + 1, F[k:j], G[k:j], [e[k:j] for e in E])

            return observe_round

        def observe(k: int, n: int, x: np.ndarray, row: int) -> np.ndarray:
            if n == 1:  # the hot path of a step-by-step run: the point is x (as X[k]), no reshapes
                if into is None:
                    f, g = vg(x)
                else:
                    f, g = into(x, gb), gb
                F[k] = f
                vecdot(g, g, out=G[k])
                return g
            fs, gs = vg(X[k : k + n].reshape(n * S, d))
            F[k : k + n] = np.reshape(fs, (n, S))
            vecdot(gs, gs, out=G[k : k + n].reshape(n * S))
            return gs[(n - 1) * S :]

        return observe

    def start(self, problem: Problem, x: np.ndarray, members: Members, resume: Checkpoint | None) -> tuple:
        """``(state, g, t, first, k)`` at the start (row 0 is the start point) or after
        ``resume`` (``x`` and the bookkeeping restored; the gradient recomputed from ``x``)."""
        if resume is None:
            state = problem.optimizer[0](x)
            t, first, k = 0, 0, 1
        else:
            x[...] = resume.x
            state = resume.opt_state
            t = resume.iteration
            first, k = t + 1, 0  # the point's row was recorded before: row 0 is overwritten
            if self.rounds is not None:
                kept = {key[7:]: v for key, v in resume.extra.items() if key.startswith("rounds.")}
                self.rounds.restore(kept, t)
            if self.points is None:
                members.restore(resume)
            else:
                none = np.empty((self.S, 0))
                members.restore(replace(resume, best_x=none, final_x=none))
                self.points.restore(resume.best_f, resume.best_x, resume.final_x, resume.status == RUNNING)
        if self.X is not None:
            self.X[0] = x
        if self.given is not None and resume is None:  # what observe(0, 1, x) would compute
            f, g = self.given
            self.F[0] = f
            np.vecdot(g, g, out=self.G[0])
        else:
            g = self.observe(0, 1, x, t)
        self.given = None
        self.D[0] = 0.0
        return state, g, t, first, k


class Every:
    """A deadline repeating every ``seconds`` on the monotonic clock; never due when None."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.next = time.monotonic() + (seconds or 0.0)

    def due(self) -> bool:
        return self.seconds is not None and time.monotonic() >= self.next

    def reset(self) -> None:
        if self.seconds is not None:
            self.next = time.monotonic() + self.seconds


def run(
    problem: Problem,
    on_chunk: Callable[[Chunk], Any] | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    resume: Checkpoint | None = None,
    on_checkpoint: Callable[[Checkpoint], Any] | None = None,
    checkpoint_every_s: float | None = None,
    flush_every_s: float | None = None,
    checkpoint_views: bool = False,
) -> list[MemberResult]:
    """Run the loop to the budget, a stop rule, or ``should_stop()``; one result per member.

    With ``on_checkpoint``, a :class:`Checkpoint` is handed over at a chunk boundary every
    ``checkpoint_every_s`` seconds and when the run is interrupted (after its rows were handed to
    ``on_chunk``). ``resume`` continues from such a checkpoint; the rows it produces are those an
    uninterrupted run would have produced after ``resume.iteration``. With ``checkpoint_views``
    a large run's checkpoint holds the loop's own arrays, valid until ``on_checkpoint`` returns
    (which writes them out); else it is a copy.

    With ``flush_every_s``, a chunk is also handed on when it is not full but that many seconds
    have passed since the last one: with a slow objective the trace, the progress, the heartbeat
    and the checkpoints stay on time. The rows are the same either way; only a batch's trace file
    (rows grouped by member within each chunk) would see the difference, so sweeps leave it unset.
    """
    x = np.array(problem.x0, dtype=np.float64, copy=None if problem.give_x0 else True, order="C")
    if x.ndim != 2:
        raise ValueError("x0 must have shape (S, d)")
    loop = Loop(problem, x)
    members, points, target = loop.members(problem), loop.points, loop.target
    T, K, X, D = problem.iterations, loop.K, loop.X, loop.D
    advance, observe = loop.stepper(problem).advance, loop.observe  # the loop's two calls per step
    interrupted = False

    def flush(first: int, n: int, at_end: bool) -> None:
        chunk = loop.close(members, first, n, at_end)
        if on_chunk is not None:
            on_chunk(chunk)

    flush_timer, checkpoint_timer = Every(flush_every_s), Every(checkpoint_every_s or None)
    with np.errstate(all="ignore"):
        state, g, t, first, k = loop.start(problem, x, members, resume)
        in_flush = False
        try:
            while t < T:
                if should_stop is not None and should_stop():
                    interrupted = True
                    break
                if k == K or (k and flush_timer.due()):
                    in_flush = True
                    flush(first, k, False)
                    first += k
                    k = 0
                    in_flush = False  # only now: rows handed on are never flushed again
                    flush_timer.reset()
                    if not members.running():
                        break
                    if on_checkpoint is not None and checkpoint_timer.due():
                        on_checkpoint(loop.snapshot(members, t, x, state, checkpoint_views))
                        checkpoint_timer.reset()
                out = target()
                n, state = advance(g, state, x, t, X, D, k, T, out)
                if out is not None:
                    x = points.stepped(out)
                g = observe(k, n, x, t + n)
                t += n
                k += n
        except BaseException:
            # keep every row recorded before the failure (a user objective raising, a full disk)
            if k and not in_flush:
                flush(first, k, True)
            raise
        if k:
            if interrupted:
                loop.settle(k, x, t)
            flush(first, k, True)
        if interrupted and on_checkpoint is not None:
            on_checkpoint(loop.snapshot(members, t, x, state, checkpoint_views))
    return loop.results(members, interrupted)
