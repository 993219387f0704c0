"""The optimization loop, in pure numpy: no files, no console.

The loop runs a batch of S members at once (``x`` of shape ``(S, d)``; a single run is S = 1).
Each step's figures are copied into preallocated chunk buffers; when a chunk is full the
stopping rules are applied to it in one vectorized pass and the chunk is handed to ``on_chunk``
(the trace writer, the progress display). Applying a stop at the first row of a chunk that meets
it is exactly equivalent to stopping at that iteration, because later iterations never change
earlier rows; a member that stops is frozen (its rows end there) while the others go on.

Per member the loop records ``f``, ``grad_norm`` (Euclidean norm of the gradient at the point),
``step_norm`` (norm of the step that led to the point; 0 at iteration 0) and ``x``. Row ``t`` is
the point after ``t`` steps; row 0 is the start point.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

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
    #: the objective's compiled gradient ``(code, params)`` when the optimizer's ``steps`` may run
    #: whole chunks with it (:func:`optrun.backends.chunked_gradient`), else None
    compiled: tuple[int, np.ndarray] | None = None


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


def run(
    problem: Problem,
    on_chunk: Callable[[Chunk], Any] | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    resume: Checkpoint | None = None,
    on_checkpoint: Callable[[Checkpoint], Any] | None = None,
    checkpoint_every_s: float | None = None,
    flush_every_s: float | None = None,
) -> list[MemberResult]:
    """Run the loop to the budget, a stop rule, or ``should_stop()``; one result per member.

    With ``on_checkpoint``, a :class:`Checkpoint` is handed over at a chunk boundary every
    ``checkpoint_every_s`` seconds and when the run is interrupted (after its rows were handed to
    ``on_chunk``). ``resume`` continues from such a checkpoint; the rows it produces are those an
    uninterrupted run would have produced after ``resume.iteration``.

    With ``flush_every_s``, a chunk is also handed on when it is not full but that many seconds
    have passed since the last one: with a slow objective the trace, the progress, the heartbeat
    and the checkpoints stay on time. The rows are the same either way; only a batch's trace file
    (rows grouped by member within each chunk) would see the difference, so sweeps leave it unset.
    """
    x = np.array(problem.x0, dtype=np.float64, copy=True)
    if x.ndim != 2:
        raise ValueError("x0 must have shape (S, d)")
    S, d = x.shape
    vg = problem.objective.value_and_grad
    init, update = problem.optimizer[0], problem.optimizer[1]
    apply = getattr(problem.optimizer, "apply", None)  # fused x += step with its squared norm
    steps = getattr(problem.optimizer, "steps", None) if problem.compiled is not None else None
    gbuf = None  # the gradient a chunk of compiled steps updates in place
    T = problem.iterations
    K = chunk_rows(S, d)
    F = np.empty((K, S))
    G = np.empty((K, S))
    D = np.empty((K, S))
    X = np.empty((K, S, d))

    status = np.full(S, RUNNING, dtype=np.int8)
    reason = ["iterations"] * S
    last_row = np.zeros(S, dtype=np.int64)  # iteration of each member's last kept row
    final_f = np.full(S, np.nan)
    final_g = np.full(S, np.nan)
    final_x = np.full((S, d), np.nan)
    best_f = np.full(S, np.inf)
    best_it = np.zeros(S, dtype=np.int64)
    best_x = np.full((S, d), np.nan)
    target, gtol = problem.f_target, problem.grad_norm_tol
    interrupted = False

    def flush(first: int, n: int, at_end: bool) -> None:
        """Apply stop rules to rows [0, n) of the chunk, update results, hand it on."""
        f, gn, sn, xs = F[:n], G[:n], D[:n], X[:n]
        np.sqrt(gn, out=gn)  # the loop records squared norms; one call per chunk, the same bits
        np.sqrt(sn, out=sn)
        alive = status == RUNNING
        bad = ~(np.isfinite(f) & np.isfinite(gn) & np.isfinite(sn))
        hit = np.zeros_like(bad)
        if target is not None:
            hit |= f <= target
        if gtol is not None:
            hit |= gn <= gtol
        event = (bad | hit) & alive
        rows = np.where(alive, n, 0)
        ended = np.zeros(S, dtype=bool)
        if event.any():
            for s in np.flatnonzero(event.any(axis=0)):
                r = int(np.argmax(event[:, s]))
                rows[s] = r + 1
                ended[s] = True
                if bad[r, s]:
                    status[s], reason[s] = DIVERGED, "nonfinite"
                else:
                    status[s] = COMPLETED
                    reason[s] = "f_target" if target is not None and f[r, s] <= target else "grad_norm"
        if at_end:
            ended |= status == RUNNING
        for s in np.flatnonzero(rows):
            m = int(rows[s])
            fs = f[:m, s]
            ok = np.isfinite(fs)
            if ok.any():
                i = int(np.argmin(np.where(ok, fs, np.inf)))
                if fs[i] < best_f[s]:
                    best_f[s], best_it[s] = fs[i], first + i
                    best_x[s] = xs[i, s]
            last_row[s] = first + m - 1
            final_f[s], final_g[s] = f[m - 1, s], gn[m - 1, s]
            final_x[s] = xs[m - 1, s]
        if on_chunk is not None:
            on_chunk(Chunk(first, n, f, gn, sn, xs, rows, ended))

    def snapshot(it: int) -> Checkpoint:
        return Checkpoint(
            it,
            x.copy(),
            copy_state(state),
            status.copy(),
            list(reason),
            last_row.copy(),
            final_f.copy(),
            final_g.copy(),
            final_x.copy(),
            best_f.copy(),
            best_it.copy(),
            best_x.copy(),
        )

    next_checkpoint = time.monotonic() + (checkpoint_every_s or 0.0)
    next_flush = time.monotonic() + (flush_every_s or 0.0)
    with np.errstate(all="ignore"):
        if resume is None:
            state = init(x)
            f, g = vg(x)
            F[0] = f
            np.vecdot(g, g, out=G[0])
            D[0] = 0.0
            X[0] = x
            k, first, t = 1, 0, 0
        else:
            x[...] = resume.x
            state = resume.opt_state
            status[:], reason[:], last_row[:] = resume.status, resume.reason, resume.last_row
            final_f[:], final_g[:], final_x[:] = resume.final_f, resume.final_g, resume.final_x
            best_f[:], best_it[:], best_x[:] = resume.best_f, resume.best_it, resume.best_x
            f, g = vg(x)
            t = resume.iteration
            k, first = 0, t + 1
        in_flush = False
        try:
            while t < T:
                if should_stop is not None and should_stop():
                    interrupted = True
                    break
                if k == K or (flush_every_s is not None and k and time.monotonic() >= next_flush):
                    in_flush = True
                    flush(first, k, False)
                    first += k
                    k = 0
                    in_flush = False  # only now: rows handed on are never flushed again
                    if flush_every_s is not None:
                        next_flush = time.monotonic() + flush_every_s
                    if not (status == RUNNING).any():
                        break
                    if (
                        on_checkpoint is not None
                        and checkpoint_every_s
                        and time.monotonic() >= next_checkpoint
                    ):
                        on_checkpoint(snapshot(t))
                        next_checkpoint = time.monotonic() + checkpoint_every_s
                if steps is not None and t >= 1:  # a chunk of steps in one compiled call
                    n = min(K - k, T - t)
                    if g is not gbuf:
                        gbuf = np.array(g, dtype=np.float64, order="C")
                    code, params = problem.compiled
                    state = steps(code, params, gbuf, state, x, t + 1, X[k : k + n], D[k : k + n])
                    g = gbuf
                    # f and |g| of the chunk's rows by the objective's own numpy code, all at once
                    fs, gs = vg(X[k : k + n].reshape(n * S, d))
                    F[k : k + n] = np.reshape(fs, (n, S))
                    np.vecdot(gs, gs, out=G[k : k + n].reshape(n * S))
                    t += n
                    k += n
                    continue
                t += 1
                if apply is not None:
                    state = apply(g, state, x, t, D[k])
                else:
                    step, state = update(g, state, x, t)
                    np.add(x, step, out=x)
                    np.vecdot(step, step, out=D[k])
                f, g = vg(x)
                F[k] = f
                np.vecdot(g, g, out=G[k])
                X[k] = x
                k += 1
        except BaseException:
            # keep every row recorded before the failure (a user objective raising, a full disk)
            if k and not in_flush:
                flush(first, k, True)
            raise
        if k:
            flush(first, k, True)
        if interrupted and on_checkpoint is not None:
            on_checkpoint(snapshot(t))

    results = []
    for s in range(S):
        if status[s] == RUNNING:
            st, why = ("interrupted", "interrupted") if interrupted else ("completed", "iterations")
        else:
            st, why = ("diverged" if status[s] == DIVERGED else "completed"), reason[s]
        results.append(
            MemberResult(
                status=st,
                stop_reason=why,
                iterations=int(last_row[s]),
                final_f=float(final_f[s]),
                final_x=final_x[s].copy(),
                final_grad_norm=float(final_g[s]),
                best_f=float(best_f[s]) if np.isfinite(best_f[s]) else float("nan"),
                best_x=best_x[s].copy(),
                best_iteration=int(best_it[s]),
            )
        )
    return results
