"""One run's figures for compare (:class:`RunStats`): from its summary and, where the summary lacks
a figure (a crashed or running run), from its trace. Status, iterations, final f, best f and its
iteration, final gradient norm, distance to the nearest known minimizer, the optimality gap
f - f*, the first iteration at which f - f* <= t for each target t (every iteration counts: the
run's summary records it, whatever its trace keeps), wall time and time per iteration; an
online run's final regret, a learning run's final test loss and accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import OptrunError
from ..store.run import Run
from .metrics import TARGETS, short_label


@dataclass
class RunStats:
    """What compare needs from one run. ``None`` is 'not known' (never 'zero')."""

    id: str
    path: str
    label: str
    status: str
    algorithm: str | None
    variant: str | None
    objective: str | None
    dim: int | None
    problem: str
    iterations: int | None
    final_f: float | None
    best_f: float | None
    best_iteration: int | None
    grad_norm: float | None
    distance: float | None
    f_min: float | None
    f_gap: float | None
    hits: dict[float, int | None]  # target -> first iteration with f - f* <= target (summary, else trace)
    wall_time: float | None
    time_per_iteration: float | None
    trace_every: int = 1
    final_regret: float | None = None  # online runs: R_T (summary, else the trace's last row)
    final_avg_regret: float | None = None  # R_T / T
    online: bool = False  # the run records regret (an online objective)
    final_test_loss: float | None = None  # learning runs with test data (summary, else the trace)
    final_test_accuracy: float | None = None  # classification only
    tested: bool = False  # the run records a test loss (a learning objective with test data)
    config: dict[str, Any] = field(default_factory=dict, repr=False)
    meta: dict[str, Any] = field(default_factory=dict, repr=False)

    def metric(self, key: str, target: float) -> float | None:
        """The value of metric ``key``; for ``iterations_to_target`` a never-reached target is inf."""
        if key == "iterations_to_target":
            if self.f_min is None:
                return None
            hit = self.hits.get(target)
            return math.inf if hit is None else float(hit)
        return {
            "final_f": self.final_f,
            "best_f": self.best_f,
            "f_gap": self.f_gap,
            "distance": self.distance,
            "grad_norm": self.grad_norm,
            "wall_time": self.wall_time,
            "time_per_iteration": self.time_per_iteration,
            "final_regret": self.final_regret,
            "final_avg_regret": self.final_avg_regret,
            "final_test_loss": self.final_test_loss,
            "test_error": None if self.final_test_accuracy is None else 1.0 - self.final_test_accuracy,
        }[key]


def first_below(iterations: np.ndarray, gap: np.ndarray, targets: Sequence[float]) -> dict[float, int | None]:
    """For each target t, the first ``iterations[i]`` with ``gap[i] <= t`` (``None`` if never).

    ``<=``, as the sweep tables' ``hit_`` columns and COCO's target hits count.

    NaN gaps never count as below. One pass: the running minimum of the gap is non-increasing,
    so the first crossing of each target is a binary search in it.
    """
    g = np.where(np.isnan(gap), np.inf, np.asarray(gap, dtype=np.float64))
    if g.size == 0:
        return dict.fromkeys(targets)
    run_min = np.minimum.accumulate(g)
    # run_min is non-increasing; -run_min is non-decreasing: first i with run_min[i] <= t
    idx = np.searchsorted(-run_min, -np.asarray(targets, dtype=np.float64), side="left")
    return {t: (int(iterations[i]) if i < g.size else None) for t, i in zip(targets, idx.tolist())}


def summary_hits(summary: dict[str, Any], targets: Sequence[float]) -> dict[float, int | None]:
    """The first crossings a summary records for ``targets``: a run's ``hits`` mapping
    (``{"1e-6": 812, ...}``) or a sweep member's ``hit_1e-6`` columns. Targets it does not
    record are left out (a folder written before runs recorded them has none)."""
    recorded: dict[float, Any] = {}
    given = summary.get("hits")
    if isinstance(given, dict):
        items = list(given.items())
    else:
        items = [(k[len("hit_") :], v) for k, v in summary.items() if k.startswith("hit_")]
    for label, v in items:
        try:
            recorded[float(label)] = v
        except ValueError:
            continue
    out: dict[float, int | None] = {}
    for t in targets:
        for level, v in recorded.items():
            whole = isinstance(v, int) and not isinstance(v, bool)
            if math.isclose(level, t, rel_tol=1e-9) and (v is None or whole):
                out[t] = v
    return out


def _finite_or_none(v: Any) -> float | None:
    if v is None:
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v


def _objective(run: Run):
    """The run's objective rebuilt from its config, or ``None`` (for runs that died early)."""
    from ..problem import recorded_objective

    try:
        return recorded_objective(run.config, run.path)
    except (OptrunError, KeyError, ValueError, TypeError):
        return None


def _problem_key(run: Run) -> str:
    obj = run.config.get("objective")
    if isinstance(obj, dict):
        # transform keys at their "off" values say nothing: show only what changes the problem
        off = {"shift": False, "rotate": False}
        shown = {
            k: v
            for k, v in obj.items()
            if k not in ("name", "dim") and v is not None and off.get(k, object()) != v
        }
        if not shown.get("shift") and not shown.get("rotate"):
            shown.pop("transform_seed", None)
        params = ", ".join(f"{k}={v}" for k, v in shown.items())
        name = obj.get("name") or run.objective
    else:
        params, name = "", obj or run.objective
    return f"{name} d={run.dim}" + (f" ({params})" if params else "")


def _iterations(s: dict[str, Any], its: np.ndarray, n: int) -> int | None:
    """The summary's count when it is final; else the trace's last row (ahead of the last heartbeat)."""
    if "final_f" in s and isinstance(s.get("iterations"), int):
        return s["iterations"]
    return int(its[-1]) if n else (s["iterations"] if isinstance(s.get("iterations"), int) else None)


def _best(s: dict[str, Any], f: np.ndarray, its: np.ndarray) -> tuple[float | None, Any]:
    """Best f and its iteration: the summary's, else the lowest finite f of the trace."""
    best_f, best_it = _finite_or_none(s.get("best_f")), s.get("best_iteration")
    finite = np.isfinite(f)
    if (best_f is None or "best_f" not in s) and finite.any():
        i = int(np.argmin(np.where(finite, f, np.inf)))
        best_f, best_it = float(f[i]), int(its[i])
    return best_f, best_it


def _distance(s: dict[str, Any], objective: Any, tr: dict[str, np.ndarray], n: int) -> float | None:
    """The summary's distance to the nearest known minimizer, else the trace's last x's."""
    distance = _finite_or_none(s.get("distance_to_optimum"))
    if distance is None and objective is not None and n and objective.minima.size:
        x_cols = [f"x{i}" for i in range(objective.dim)]
        if all(c in tr for c in x_cols):
            d = objective.distance_to_optimum(np.array([tr[c][-1] for c in x_cols]))
            distance = float(d) if d is not None else None
    return distance


def _hits(
    run: Run, its: np.ndarray, f: np.ndarray, f_min: float | None, targets: Sequence[float]
) -> tuple[dict[float, int | None], Any]:
    """First crossing of each target, and the trace thinning the figures depend on (1: none)."""
    s = run.summary
    hits: dict[float, int | None] = dict.fromkeys(targets)
    trace_cfg = run.config.get("trace") if isinstance(run.config.get("trace"), dict) else {}
    every = trace_cfg.get("every", 1)
    if trace_cfg.get(
        "log_per_decade"
    ):  # log-spaced rows: as thinned as trace.every for a target off its ladder
        every = max(2, every if isinstance(every, int) else 2)
    if f_min is not None:
        # the summary's first crossings were found on every iteration; the trace (thinned or not)
        # only for targets off its ladder and for folders written before summaries held them
        hits = summary_hits(s, targets)
        rest = [t for t in targets if t not in hits]
        hits.update(first_below(its, f - f_min, rest) if rest else {})
        hits = {t: hits[t] for t in targets}
        if not rest:
            every = 1  # no figure here depends on the thinning
    return hits, every


def _regret(s: dict[str, Any], tr: dict[str, np.ndarray], n: int) -> tuple[bool, float | None, float | None]:
    """Whether the run records regret, and its final R_T and R_T / T: the summary's, else the
    trace's last row (a crashed or running online run)."""
    online = "final_avg_regret" in s or "avg_regret" in tr
    out = []
    for key, column in (("final_regret", "regret"), ("final_avg_regret", "avg_regret")):
        if key in s:
            out.append(_finite_or_none(s.get(key)))
        else:
            out.append(float(tr[column][-1]) if n and column in tr else None)
    return online, out[0], out[1]


def _tested(s: dict[str, Any], tr: dict[str, np.ndarray]) -> tuple[bool, float | None, float | None]:
    """Whether the run records test figures, and its final test loss and accuracy: the summary's,
    else the last trace row that has them (a crashed or running learning run; rows between a
    minibatch run's recorded ones are NaN)."""
    tested = "final_test_loss" in s or "test_loss" in tr
    out = []
    for key, column in (("final_test_loss", "test_loss"), ("final_test_accuracy", "test_accuracy")):
        if key in s:
            out.append(_finite_or_none(s.get(key)))
            continue
        col = tr.get(column)
        kept = col[~np.isnan(col)] if col is not None else col
        out.append(float(kept[-1]) if kept is not None and kept.size else None)
    return tested, out[0], out[1]


def run_stats(run: Run, targets: Sequence[float] = TARGETS) -> RunStats:
    """Figures of one run: the summary's where it has them, the trace's otherwise (a crashed or
    running run has no final summary; its trace holds every recorded iteration)."""
    s = run.summary
    tr = run.trace()
    its, f = tr["iteration"], tr["f"]
    n = len(f)

    f_min = _finite_or_none(s.get("f_min")) if "f_min" in s else None
    objective = None
    if "f_min" not in s or (s.get("distance_to_optimum") is None and s.get("final_x") is None):
        objective = _objective(run)
        if objective is not None and "f_min" not in s:
            f_min = objective.f_min

    final_f = _finite_or_none(s.get("final_f")) if "final_f" in s else (float(f[-1]) if n else None)
    grad = (
        _finite_or_none(s.get("final_grad_norm"))
        if "final_grad_norm" in s
        else (float(tr["grad_norm"][-1]) if n else None)
    )
    iterations = _iterations(s, its, n)
    best_f, best_it = _best(s, f, its)
    hits, every = _hits(run, its, f, f_min, targets)
    wall = _finite_or_none(s.get("wall_time_s"))
    tpi = _finite_or_none(s.get("time_per_iteration_s"))
    if tpi is None and wall is not None and iterations:
        tpi = wall / iterations
    online, regret, avg_regret = _regret(s, tr, n)
    tested, test_loss, test_accuracy = _tested(s, tr)
    return RunStats(
        id=run.id,
        path=run.path,
        label=short_label(run.id),
        status=run.status,
        algorithm=run.algorithm,
        variant=run.variant,
        objective=run.objective,
        dim=run.dim,
        problem=_problem_key(run),
        iterations=iterations,
        final_f=final_f,
        best_f=best_f,
        best_iteration=best_it,
        grad_norm=grad,
        distance=_distance(s, objective, tr, n),
        f_min=f_min,
        f_gap=None if f_min is None or final_f is None else final_f - f_min,
        hits=hits,
        wall_time=wall,
        time_per_iteration=tpi,
        trace_every=int(every) if isinstance(every, int) else 1,
        final_regret=regret,
        final_avg_regret=avg_regret,
        online=online,
        final_test_loss=test_loss,
        final_test_accuracy=test_accuracy,
        tested=tested,
        config=run.config,
        meta=run.meta,
    )
