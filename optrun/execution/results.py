"""What a finished run or sweep member amounts to: its summary fields, the ``expect:`` rules it
misses, and the outcome handed back to the caller (the CLI prints it and exits with its code)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config import RunConfig
from ..objectives import Objective
from ..runner import MemberResult
from ..store.folder import summary_points


@dataclass
class RunOutcome:
    run_id: str
    path: str
    summary: dict[str, Any]
    exit_code: int
    expect_failures: list[str] = field(default_factory=list)


@dataclass
class SweepOutcome:
    run_id: str
    path: str
    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    exit_code: int
    failures: list[str] = field(default_factory=list)


def check_expect(config: RunConfig, summary: dict[str, Any]) -> list[str]:
    """The ``expect:`` rules this run misses, as short sentences (empty when all hold)."""
    e = config.expect
    out = []
    if e.status is not None and summary["status"] != e.status:
        out.append(f"status is {summary['status']}, expected {e.status}")
    checks = (
        ("f_final_max", "final_f", "final f"),
        ("f_best_max", "best_f", "best f"),
        ("f_gap_max", "f_gap", "f - f*"),
        ("grad_norm_max", "final_grad_norm", "final gradient norm"),
        ("distance_max", "distance_to_optimum", "distance to the optimum"),
        ("avg_regret_max", "final_avg_regret", "final average regret"),
    )
    for key, field_, label in checks:
        limit = getattr(e, key)
        if limit is None:
            continue
        value = summary.get(field_)
        if value is None or not np.isfinite(value):
            out.append(f"{label} is {value}, expected at most {limit:g} ({key})")
        elif value > limit:
            out.append(f"{label} {value:.6g} > {limit:g} ({key})")
    return out


def expect_failures(config: RunConfig, summary: dict[str, Any]) -> list[str]:
    """:func:`check_expect` for a member that finished (completed or diverged); none otherwise."""
    return check_expect(config, summary) if summary["status"] in ("completed", "diverged") else []


_UNSET: Any = object()


def member_summary(
    config: RunConfig, objective: Objective, r: MemberResult, dist: float | None = _UNSET
) -> dict[str, Any]:
    """The summary fields of one finished member (status, final, best, optimum distances).

    ``dist`` is the distance of ``r.final_x`` to the optimum (None: no known optimum) when the
    caller has it (a batch computes its members' at once); otherwise it is computed here."""
    if dist is _UNSET:
        dist = final_distances(objective, r.final_x[None, :])[0]
    f_gap = (r.final_f - objective.f_min) if objective.f_min is not None else None
    points = summary_points(r.final_x, r.best_x)  # large points: None here, and x_file names their file
    return {
        "status": r.status,
        "stop_reason": r.stop_reason,
        "iterations": r.iterations,
        "final_f": r.final_f,
        "final_x": points["final_x"],
        "final_grad_norm": r.final_grad_norm,
        "best_f": r.best_f,
        "best_x": points["best_x"],
        **({"x_file": points["x_file"]} if "x_file" in points else {}),
        "best_iteration": r.best_iteration,
        "f_min": objective.f_min,
        **({"f_min_note": note} if (note := f_star_note(objective)) else {}),
        "f_gap": f_gap,
        "distance_to_optimum": dist,
        **{f"final_{k}": v for k, v in r.extra.items()},  # final_regret, final_avg_regret
    }


def f_star_note(objective: Objective) -> str | None:
    """Why a learning objective's f* is unknown (separable data without l2, a solver stopped
    short), else None."""
    data = objective.info.get("data")
    return data.get("f_star_note") if isinstance(data, dict) and objective.f_min is None else None


def final_distances(objective: Objective, final_x: np.ndarray) -> list[float | None]:
    """Each row's distance to the nearest known minimizer (None when none is known), computed
    for blocks of rows whose temporaries (rows x minima x d) stay near 2**20 numbers."""
    S = final_x.shape[0]
    if objective.minima.size == 0:
        return [None] * S
    step = max(1, (1 << 20) // max(1, objective.minima.size))
    out: list[float | None] = []
    with np.errstate(all="ignore"):  # a diverged x (1e200, inf) has an infinite distance, no warning
        for a in range(0, S, step):
            out += objective.distance_to_optimum(final_x[a : a + step]).tolist()
    return out
