"""Comparing runs: loaded runs in, rows out. No console and no files; the CLI lays the rows out.

For each run (:class:`RunStats`, from the summary and, where the summary lacks a figure, the
trace): status, iterations, final f, best f and the iteration it was reached, final gradient norm,
distance to the nearest known minimizer, the optimality gap f - f*, the first iteration at which
f - f* <= t (every iteration counts: the run's summary records it, whatever its trace keeps) for
each t of a ladder of targets (1e-1 ... 1e-8, the "target precision" convergence measure of
performance profiles: Dolan and Moré 2002, Math. Program. 91; Moré and Wild 2009, SIAM J. Optim.
20), wall time and time per iteration.

:func:`compare_runs` puts runs side by side (:class:`Comparison`): one :class:`Row` per figure
with a value per run, the best run of each row marked (every figure here is better lower), the
config keys whose values differ, and notes saying what cannot be compared (runs on different
problems are shown but not ranked on f; f - f* needs a known f*). :func:`gate` is the CI check:
is a candidate worse than the baseline on the chosen metric beyond a relative tolerance, in the
spirit of asv's ``compare --factor`` (airspeed-velocity, ``asv/commands/compare.py``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import OptrunError
from .store.read import Run, json_value, parse_member_spec, parse_pairs, value_key

TARGETS: tuple[float, ...] = tuple(10.0**-k for k in range(1, 9))
COMPLETE = "completed"


class CompareError(OptrunError):
    """These runs cannot be compared the way the options ask (exit 2)."""


@dataclass(frozen=True)
class Metric:
    """A figure that decides 'best' (lower is better); ``problem``: only meaningful within one problem."""

    key: str
    label: str
    problem: bool = True


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("final_f", "final f"),
        Metric("best_f", "best f"),
        Metric("f_gap", "f - f*"),
        Metric("distance", "distance to optimum"),
        Metric("grad_norm", "final grad norm"),
        Metric("iterations_to_target", "iterations to target"),
        Metric("wall_time", "wall time", problem=False),
        Metric("time_per_iteration", "time per iteration", problem=False),
    )
}


def metric_key(name: str) -> str:
    """Normalise a metric name (``iterations-to-target`` -> ``iterations_to_target``)."""
    key = name.strip().lower().replace("-", "_")
    aliases = {
        "f": "final_f",
        "gap": "f_gap",
        "distance_to_optimum": "distance",
        "time": "wall_time",
        "wall_time_s": "wall_time",
        "final_grad_norm": "grad_norm",
        "target": "iterations_to_target",
    }
    key = aliases.get(key, key)
    if key not in METRICS:
        raise CompareError(f"unknown metric '{name}'; choose one of {', '.join(METRICS)}")
    return key


# ------------------------------------------------------------------------------------ one run


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
    from .config import validate
    from .experiment import build_objective

    try:
        return build_objective(validate(dict(run.config), source=os.path.join(run.path, "config.yaml")))
    except (OptrunError, KeyError, ValueError, TypeError):
        return None


def short_label(run_id: str) -> str:
    """``20250101-120000.000-name-abc123`` -> ``name-abc123`` (the time is in the listing)."""
    head, _, rest = run_id.partition("-")
    if head.isdigit() and len(head) == 8 and rest:
        _, _, rest2 = rest.partition("-")
        return rest2 or run_id
    return run_id


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
    if "final_f" in s and isinstance(s.get("iterations"), int):
        iterations = s["iterations"]
    else:  # no final summary: the trace is ahead of the last heartbeat
        iterations = (
            int(its[-1]) if n else (s["iterations"] if isinstance(s.get("iterations"), int) else None)
        )
    best_f, best_it = _finite_or_none(s.get("best_f")), s.get("best_iteration")
    finite = np.isfinite(f)
    if (best_f is None or "best_f" not in s) and finite.any():
        i = int(np.argmin(np.where(finite, f, np.inf)))
        best_f, best_it = float(f[i]), int(its[i])
    distance = _finite_or_none(s.get("distance_to_optimum"))
    if distance is None and objective is not None and n and objective.minima.size:
        x_cols = [f"x{i}" for i in range(objective.dim)]
        if all(c in tr for c in x_cols):
            d = objective.distance_to_optimum(np.array([tr[c][-1] for c in x_cols]))
            distance = float(d) if d is not None else None
    f_gap = None
    if f_min is not None and final_f is not None:
        f_gap = final_f - f_min
    hits = dict.fromkeys(targets)
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
    wall = _finite_or_none(s.get("wall_time_s"))
    tpi = _finite_or_none(s.get("time_per_iteration_s"))
    if tpi is None and wall is not None and iterations:
        tpi = wall / iterations
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
        distance=distance,
        f_min=f_min,
        f_gap=f_gap,
        hits=hits,
        wall_time=wall,
        time_per_iteration=tpi,
        trace_every=int(every) if isinstance(every, int) else 1,
        config=run.config,
        meta=run.meta,
    )


# ------------------------------------------------------------------------------------ rows


@dataclass
class Row:
    """One figure across the runs: raw ``values`` (``None`` unknown) and their ``text``.

    ``best`` holds the column indices marked best (empty when the row is not ranked); ``note``
    says why a row is not ranked or what a value means.
    """

    key: str
    label: str
    values: list[Any]
    text: list[str]
    best: list[int] = field(default_factory=list)
    section: str = "results"
    note: str | None = None


@dataclass
class Comparison:
    """Runs as columns (``runs``, in display order; ``given``: the order they were given in, whose
    first is the baseline of :func:`gate`), result rows, config rows and notes."""

    runs: list[RunStats]
    rows: list[Row]
    config_rows: list[Row]
    notes: list[str]
    metric: str
    target: float
    best: list[int]
    comparable: bool
    given: list[RunStats] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: runs, rows (values keyed by run id), best run by the metric."""
        ids = [r.id for r in self.runs]

        def row(r: Row) -> dict[str, Any]:
            return {
                "key": r.key,
                "label": r.label,
                "values": dict(zip(ids, r.values)),
                "best": [ids[i] for i in r.best],
                **({"note": r.note} if r.note else {}),
            }

        from .store.folder import jsonable

        return jsonable(
            {
                "runs": [
                    {
                        "id": r.id,
                        "path": r.path,
                        "label": r.label,
                        "status": r.status,
                        "algorithm": r.algorithm,
                        "variant": r.variant,
                        "objective": r.objective,
                        "dim": r.dim,
                        "f_min": r.f_min,
                    }
                    for r in self.runs
                ],
                "metric": self.metric,
                "target": self.target if self.metric == "iterations_to_target" else None,
                "best": [ids[i] for i in self.best],
                "comparable": self.comparable,
                "rows": [row(r) for r in self.rows],
                "config": [row(r) for r in self.config_rows],
                "notes": self.notes,
            }
        )  # non-finite -> null: a target never reached, a diverged f


def fmt_number(v: float | None) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.6g}"


def fmt_seconds(v: float | None) -> str:
    if v is None:
        return "-"
    if v >= 1.0:
        return f"{v:.3g} s"
    if v >= 1e-3:
        return f"{v * 1e3:.3g} ms"
    if v >= 1e-6:
        return f"{v * 1e6:.3g} us"
    return f"{v * 1e9:.3g} ns"


def fmt_int(v: int | None) -> str:
    return "-" if v is None else f"{v:,}"


def fmt_target(t: float) -> str:
    return f"{t:.0e}".replace("e-0", "e-")


def rank(values: Sequence[float | None]) -> list[int]:
    """Indices of the lowest value (ties all marked); none when fewer than two values differ."""
    nums = [(i, v) for i, v in enumerate(values) if v is not None and not math.isnan(v)]
    distinct = {v for _, v in nums}
    if len(distinct) < 2 and len(nums) == len(values):
        return []
    if not nums:
        return []
    low = min(v for _, v in nums)
    if math.isinf(low) and low > 0:
        return []
    return [i for i, v in nums if v == low]


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict) or (not d and prefix):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


MISSING = object()


def config_rows(stats: Sequence[RunStats], all_keys: bool = False) -> list[Row]:
    """Config keys (dotted) side by side: only those that differ, or all with ``all_keys``.

    Provenance that can explain a difference (optrun, numpy and Python versions, git commit) joins
    as ``meta.*`` rows when it differs."""
    flats = [_flatten(s.config) for s in stats]
    keys: list[str] = []
    for fl in flats:
        keys += [k for k in fl if k not in keys]
    rows = []
    for k in keys:
        vals = [fl.get(k, MISSING) for fl in flats]
        differ = len({repr(v) for v in vals}) > 1
        if differ or all_keys:
            rows.append(
                Row(
                    f"config.{k}",
                    k,
                    [None if v is MISSING else v for v in vals],
                    ["(absent)" if v is MISSING else _show(v) for v in vals],
                    section="config",
                )
            )
    for k in ("optrun", "numpy", "python", "git_commit"):
        vals = [s.meta.get(k) for s in stats]
        if len({repr(v) for v in vals}) > 1 or (all_keys and any(v is not None for v in vals)):
            rows.append(Row(f"meta.{k}", f"meta.{k}", vals, [_show(v) for v in vals], section="config"))
    return rows


def _show(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    return str(v)


def compare_runs(
    runs: Sequence[Run],
    *,
    metric: str = "final_f",
    target: float = 1e-6,
    sort: str | None = None,
    all_config: bool = False,
    targets: Sequence[float] = TARGETS,
) -> Comparison:
    """Side-by-side rows for two or more runs (see the module docstring).

    ``metric`` decides the overall best run; ``sort`` orders the columns by a metric, best first
    (runs without a value last), otherwise they stay in the given order. ``target`` is the
    f - f* target of the ``iterations_to_target`` metric.
    """
    if len(runs) < 2:
        raise CompareError("give at least two runs to compare")
    metric = metric_key(metric)
    if not (isinstance(target, float) and target > 0 and math.isfinite(target)):
        raise CompareError(f"--target must be a positive number, not {target}")
    ladder = sorted(set(targets) | ({target} if metric == "iterations_to_target" else set()), reverse=True)
    stats = given = [run_stats(r, ladder) for r in runs]
    thinned = [s.label for s in stats if s.trace_every > 1]
    if metric == "iterations_to_target" and thinned:  # the figure ranked on would depend on the thinning
        raise CompareError(
            f"the iteration at f - f* <= {target:g} of {', '.join(thinned)} would come from a "
            "thinned trace (trace.every or trace.log_per_decade) and depend on the thinning; runs "
            "record their first crossings of "
            f"{', '.join(fmt_target(t) for t in TARGETS)} on every iteration: choose one of those"
        )
    if sort is not None:
        sk = metric_key(sort)

        def order(s: RunStats) -> tuple[int, float]:
            v = s.metric(sk, target)
            return (1, 0.0) if v is None or math.isnan(v) else (0, v)

        stats = sorted(stats, key=order)

    problems = list(dict.fromkeys(s.problem for s in stats))
    comparable = len(problems) == 1
    notes: list[str] = []
    not_ranked = None
    if not comparable:
        not_ranked = "not ranked: the runs solve different problems"
        notes.append(
            "the runs solve different problems (" + "; ".join(problems) + "): f, gradient and "
            "distance rows are shown side by side but not ranked; times are ranked"
        )
    rows: list[Row] = []

    def add(
        key: str, label: str, values: list[Any], text: list[str], ranked: bool | None, note: str | None = None
    ) -> None:
        if ranked is None:  # a problem-dependent figure
            ranked = comparable
            note = note or (None if comparable else not_ranked)
        rows.append(Row(key, label, values, text, rank(values) if ranked else [], note=note))

    add("status", "status", [s.status for s in stats], [s.status for s in stats], False)
    setups = [
        f"{s.algorithm}{'/' + s.variant if s.variant and s.variant != 'default' else ''} on {s.problem}"
        for s in stats
    ]
    add("setup", "algorithm on problem", setups, setups, False)
    add(
        "iterations",
        "iterations",
        [s.iterations for s in stats],
        [fmt_int(s.iterations) for s in stats],
        False,
    )
    add("final_f", "final f", [s.final_f for s in stats], [fmt_number(s.final_f) for s in stats], None)
    add(
        "best_f",
        "best f (iteration)",
        [s.best_f for s in stats],
        [
            fmt_number(s.best_f) + ("" if s.best_iteration is None else f" @ {s.best_iteration:,}")
            for s in stats
        ],
        None,
    )
    add(
        "grad_norm",
        "final grad norm",
        [s.grad_norm for s in stats],
        [fmt_number(s.grad_norm) for s in stats],
        None,
    )
    known = [s.f_min is not None for s in stats]
    add(
        "distance",
        "distance to optimum",
        [s.distance for s in stats],
        [fmt_number(s.distance) if s.distance is not None else "unknown" for s in stats],
        None,
    )
    add(
        "f_gap",
        "f - f*",
        [s.f_gap for s in stats],
        [fmt_number(s.f_gap) if k else "f* unknown" for s, k in zip(stats, known)],
        None,
    )
    if any(known):
        for t in ladder:
            vals = [
                None if not k else (math.inf if s.hits[t] is None else s.hits[t])
                for s, k in zip(stats, known)
            ]
            text = [
                "f* unknown" if not k else ("-" if s.hits[t] is None else f"{s.hits[t]:,}")
                for s, k in zip(stats, known)
            ]
            add(f"target_{fmt_target(t)}", f"f - f* <= {fmt_target(t)} at", vals, text, None)
        thinned = [s.label for s in stats if s.trace_every > 1]
        if thinned:
            notes.append(
                f"{', '.join(thinned)} record a thinned trace (trace.every or trace.log_per_decade): "
                "their iterations at a target off the recorded ladder are the first recorded row at or "
                "after the crossing"
            )
    else:
        notes.append(
            "f* is unknown for "
            + ("these objectives" if len(problems) > 1 else "this objective")
            + ": f - f* and the targets ladder cannot be computed; compare final f and best f"
        )
    if not all(known) and any(known):
        notes.append(
            "f* is unknown for "
            + ", ".join(s.label for s, k in zip(stats, known) if not k)
            + ": no f - f* or targets for them"
        )
    add(
        "wall_time",
        "wall time",
        [s.wall_time for s in stats],
        [fmt_seconds(s.wall_time) for s in stats],
        True,
    )
    add(
        "time_per_iteration",
        "time per iteration",
        [s.time_per_iteration for s in stats],
        [fmt_seconds(s.time_per_iteration) for s in stats],
        True,
    )

    values = [s.metric(metric, target) for s in stats]
    m = METRICS[metric]
    best = rank(values) if (comparable or not m.problem) else []
    if metric == "iterations_to_target" and not any(known):
        notes.append("iterations to target needs a known f*")
    first = values[0] if values else None
    if len(stats) > 1 and first is not None and first > 0 and math.isfinite(first):
        ratios = [None if v is None or not math.isfinite(v) else v / first for v in values]
        add(
            f"{metric}_ratio",
            f"{m.label} / first column",
            ratios,
            ["-" if r is None else f"{r:.3g}x" for r in ratios],
            False,
        )
    return Comparison(
        stats, rows, config_rows(stats, all_config), notes, metric, target, best, comparable, list(given)
    )


# ------------------------------------------------------------------------------------ CI gate


@dataclass
class GateResult:
    """``worse``: labels of the candidates worse than the baseline; ``line``: the one-line verdict."""

    worse: list[str]
    line: str

    @property
    def exit_code(self) -> int:
        return 1 if self.worse else 0


def is_worse(candidate: float | None, baseline: float | None, rtol: float) -> bool:
    """Lower is better: worse when above ``baseline + rtol * |baseline|``; an unknown or NaN
    candidate is worse than a known baseline; nothing is worse than an unknown baseline."""
    if baseline is None or math.isnan(baseline):
        return False
    if candidate is None or math.isnan(candidate):
        return True
    if math.isinf(baseline):
        return candidate > baseline
    return candidate > baseline + rtol * abs(baseline)


def gate(comparison: Comparison, rtol: float = 0.0) -> GateResult:
    """BASELINE is the first run, each later run a CANDIDATE; see :func:`is_worse`.

    A candidate that did not complete while the baseline did counts as worse whatever its metric.
    Problem-dependent metrics need every run on the same problem (else :class:`CompareError`).
    """
    if not (rtol >= 0 and math.isfinite(rtol)):
        raise CompareError(f"--rtol must be a number >= 0, not {rtol}")
    stats = comparison.given or comparison.runs
    if len(stats) < 2:
        raise CompareError("--fail-if-worse needs a BASELINE and at least one CANDIDATE run")
    m = METRICS[comparison.metric]
    if m.problem and not comparison.comparable:
        raise CompareError(
            f"cannot gate on {m.label}: the runs solve different problems "
            f"({stats[0].problem} vs {', '.join(s.problem for s in stats[1:])}); "
            "use --metric wall_time or compare runs of one problem"
        )
    t = comparison.target
    base = stats[0]
    b = base.metric(m.key, t)
    label = m.label + (f" {fmt_target(t)}" if m.key == "iterations_to_target" else "")
    if b is None and all(s.metric(m.key, t) is None for s in stats[1:]):
        raise CompareError(f"cannot gate on {label}: it is unknown for every run")
    show = fmt_seconds if m.key in ("wall_time", "time_per_iteration") else fmt_number
    values = [b] + [s.metric(m.key, t) for s in stats[1:]]
    if show is fmt_number and len({fmt_number(v) for v in values if v is not None}) < len(
        {v for v in values if v is not None}
    ):
        show = _fmt_distinct  # enough digits that different values never print the same
    worse, parts = [], []
    for s in stats[1:]:
        c = s.metric(m.key, t)
        bad = is_worse(c, b, rtol)
        part = f"{s.label} {show(c)}"
        if base.status == COMPLETE and s.status != COMPLETE:
            bad, part = True, f"{s.label} {s.status} ({show(c)})"
        if bad:
            worse.append(s.label)
        parts.append(part)
    figures = f"baseline {base.label} {show(b)}, candidate{'s' * (len(parts) > 1)} {'; '.join(parts)}"
    n = len(stats) - 1
    if worse:
        who = f"{worse[0]} is" if n == 1 else f"{len(worse)} of {n} candidates ({', '.join(worse)}) are"
        verdict = "worse"
    else:
        who = f"{stats[1].label} is not" if n == 1 else f"none of {n} candidates is"
        verdict = "ok"
    line = f"{verdict}: {who} worse than the baseline on {label}: {figures} (rtol {rtol:g})"
    return GateResult(worse, line)


# ------------------------------------------------------------------------------------ sweeps
#
# A sweep's members differ by their axis values; those that differ only by ``seed`` are
# replicates of one configuration. Aggregating across seeds gives, per configuration, the median
# and interquartile range of the metric (robust summaries of a distribution that is often heavy-
# tailed across seeds) and, per target of the ladder, the success rate (the share of members that
# reached it) with the median iterations among those that did: the "fixed-target" view of
# benchmarking (Hansen et al. 2021, "COCO: a platform for comparing continuous optimizers in a
# black-box setting", Optim. Methods Softw. 36(1)). Two sweeps or groups are compared with the
# Mann-Whitney U test across seeds (:mod:`optrun.stats`), so "A beats B" comes with a p-value.


SWEEP_METRIC_COLUMNS: dict[str, str] = {
    "f_gap": "f_gap",
    "final_f": "final_f",
    "best_f": "best_f",
    "distance": "distance_to_optimum",
    "grad_norm": "final_grad_norm",
    "wall_time": "wall_time_s",
}
NOT_RUN = ("pending",)  # members that never ran are left out of every statistic
MIN_TEST_MEMBERS = 5  # the CI gate asks the test for significance only from this many per side


def hit_column(t: float) -> str:
    """The member-table column of target ``t``: ``hit_1e-6`` (first iteration with f - f* <= t)."""
    return f"hit_{fmt_target(t)}"


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _fmt_distinct(v: float | None) -> str:
    return "-" if v is None else repr(float(v))


def member_value(row: dict[str, Any], metric: str, target: float) -> float:
    """Member ``row``'s value of ``metric`` (lower is better). A member without one (diverged to
    NaN/inf, failed, or a target never reached) counts as ``inf``: worse than any that has one."""
    if metric == "iterations_to_target":
        v = _num(row.get(hit_column(target)))
    else:
        if row.get("status") in ("diverged", "failed"):
            return math.inf  # its last f may still be finite (1e267): it is not a result
        v = _num(row.get(SWEEP_METRIC_COLUMNS[metric]))
    return math.inf if v is None or math.isnan(v) else v


@dataclass
class GroupStats:
    """One configuration of a sweep (the members that differ only by seed), aggregated.

    ``side`` is the sweep or group it belongs to, ``key`` its axis values (seed excluded),
    ``values`` the metric per member (``inf`` for members without one, counted in ``missing``),
    ``median``/``q1``/``q3`` their quartiles, ``success[t]`` the share of members whose trace reached
    f - f* <= t and ``hit_median[t]`` the median first iteration among those (``None`` if none did).
    """

    label: str
    side: str
    sweep: str
    key: dict[str, Any]
    members: list[int]
    counts: dict[str, int]
    values: np.ndarray
    median: float
    q1: float
    q3: float
    missing: int
    success: dict[float, float]
    hit_median: dict[float, float | None]
    problem: str = ""

    @property
    def n(self) -> int:
        return len(self.members)


@dataclass
class TestResult:
    """A two-sided Mann-Whitney U test of side ``a`` against side ``b`` across seeds.

    ``u`` is U of ``a`` (pairs where a's value is larger, ties 1/2), ``u_min`` the smaller of the two
    U statistics (the textbook U, what the verdict line prints); ``prob_a_better`` estimates
    P(a < b) + P(a = b) / 2 (lower is better); ``better`` is the label of the significantly better
    side at level ``alpha`` or ``None``; ``line`` is the one-line verdict.
    """

    a: str
    b: str
    key: dict[str, Any]
    n_a: int
    n_b: int
    median_a: float
    median_b: float
    u: float
    p_value: float
    method: str
    prob_a_better: float
    alpha: float
    better: str | None
    line: str

    @property
    def u_min(self) -> float:
        return min(self.u, self.n_a * self.n_b - self.u)


@dataclass
class Ranking:
    """Mean rank of each entrant (an algorithm) across objectives, by the median metric on each
    objective (its best configuration there); rank 1 is best, ties share the average rank."""

    entrants: list[str]  # best mean rank first
    objectives: list[str]
    medians: dict[str, dict[str, float]]  # entrant -> objective -> median
    ranks: dict[str, dict[str, float]]
    mean_rank: dict[str, float]


@dataclass
class SweepComparison:
    """Sweeps (or groups of one sweep) aggregated per configuration, with tests and a ranking."""

    sides: list[str]
    groups: list[GroupStats]
    metric: str
    metric_label: str
    target: float
    targets: list[float]
    best: list[int]
    tests: list[TestResult]
    ranking: Ranking | None
    alpha: float
    notes: list[str]
    axes: list[str]
    constant: dict[str, Any] = field(default_factory=dict)  # short axis name -> its one value
    legend: dict[str, str] = field(default_factory=dict)  # side name (A, B ...) -> the sweep it stands for

    def to_dict(self) -> dict[str, Any]:
        from .store.folder import jsonable

        def group(g: GroupStats) -> dict[str, Any]:
            return {
                "label": g.label,
                "side": g.side,
                "sweep": g.sweep,
                "problem": g.problem,
                "key": g.key,
                "n": g.n,
                "members": g.members,
                "counts": g.counts,
                "median": g.median,
                "q1": g.q1,
                "q3": g.q3,
                "missing": g.missing,
                "success": {fmt_target(t): g.success[t] for t in self.targets},
                "median_iterations": {fmt_target(t): g.hit_median[t] for t in self.targets},
            }

        return jsonable(
            {
                "kind": "sweep-comparison",
                "metric": self.metric,
                "metric_label": self.metric_label,
                "target": self.target if self.metric == "iterations_to_target" else None,
                "sides": self.sides,
                "legend": self.legend,
                "axes": self.axes,
                "constant": self.constant,
                "groups": [group(g) for g in self.groups],
                "problems": list(dict.fromkeys(g.problem for g in self.groups)),
                "best": [self.groups[i].label for i in self.best],
                "tests": [{**t.__dict__, "u_min": t.u_min} for t in self.tests],
                "ranking": None
                if self.ranking is None
                else {
                    "entrants": self.ranking.entrants,
                    "objectives": self.ranking.objectives,
                    "medians": self.ranking.medians,
                    "ranks": self.ranking.ranks,
                    "mean_rank": self.ranking.mean_rank,
                },
                "alpha": self.alpha,
                "notes": self.notes,
            }
        )  # non-finite -> null


def side_name(i: int) -> str:
    """The short name of the ``i``-th sweep of a comparison: A, B, ..., Z, then S27, S28 ..."""
    return chr(ord("A") + i) if i < 26 else f"S{i + 1}"


def _short_keys(axes: Sequence[str]) -> dict[str, str]:
    """Display names of axes: ``algorithm.alpha`` -> ``alpha``, ``algorithm.name`` -> ``algorithm``,
    the full key where the short one would be ambiguous."""
    short = {a: (a[: -len(".name")] if a.endswith(".name") else a.rsplit(".", 1)[-1]) for a in axes}
    clash = {s for s in short.values() if list(short.values()).count(s) > 1}
    return {a: (a if s in clash else s) for a, s in short.items()}


def _value_text(v: Any, values: Sequence[Any] = ()) -> str:
    """An axis value in a label: what a selector takes back (``alpha=0.0316228``; the full
    ``repr`` when another of the axis's ``values`` would print the same)."""
    from .store.read import value_label

    if isinstance(v, float):
        return value_label(v, values)
    if isinstance(v, dict):
        name = v.get("name", "?")
        rest = ", ".join(f"{k}={_value_text(x)}" for k, x in v.items() if k != "name")
        return f"{name}({rest})" if rest else str(name)
    return _show(v)


def _key_of(row: dict[str, Any], axes: Sequence[str]) -> tuple[str, ...]:
    from .store.read import value_key

    return tuple(value_key(row.get(a)) for a in axes)


def aggregate(
    label: str,
    side: str,
    sweep_id: str,
    key: dict[str, Any],
    rows: Sequence[dict[str, Any]],
    metric: str,
    target: float,
    targets: Sequence[float],
) -> GroupStats:
    """Statistics of one configuration's members (see :class:`GroupStats`)."""
    from .stats import quantile

    values = np.array([member_value(r, metric, target) for r in rows], dtype=np.float64)
    counts: dict[str, int] = {}
    for r in rows:
        counts[str(r.get("status"))] = counts.get(str(r.get("status")), 0) + 1
    success: dict[float, float] = {}
    hit_median: dict[float, float | None] = {}
    for t in targets:
        hits = [h for h in (_num(r.get(hit_column(t))) for r in rows) if h is not None]
        success[t] = len(hits) / len(rows) if rows else 0.0
        hit_median[t] = quantile(hits, 0.5) if hits else None
    return GroupStats(
        label,
        side,
        sweep_id,
        key,
        [int(r["member"]) for r in rows],
        dict(sorted(counts.items())),
        values,
        quantile(values, 0.5),
        quantile(values, 0.25),
        quantile(values, 0.75),
        int(np.isinf(values).sum()),
        success,
        hit_median,
    )


def _order_key(g: GroupStats) -> tuple[float, float, float]:
    return (
        g.median if not math.isnan(g.median) else math.inf,
        g.q3 if not math.isnan(g.q3) else math.inf,
        -g.n,
    )


def mann_whitney_verdict(a: GroupStats, b: GroupStats, alpha: float, metric_label: str) -> TestResult:
    """The Mann-Whitney U test of ``a``'s values against ``b``'s, and its one-line verdict."""
    from .stats import mann_whitney_u

    res = mann_whitney_u(a.values, b.values)
    pa = res.prob_x_better
    better = None
    if res.p_value < alpha and pa != 0.5:
        better = a.label if pa > 0.5 else b.label
    first, second, p_first = (b, a, 1.0 - pa) if better == b.label else (a, b, pa)
    figures = (
        f"median {fmt_number(first.median)} vs {fmt_number(second.median)}, n = {first.n} vs {second.n}, "
        f"P({first.label} better) = {p_first:.2f}; Mann-Whitney min(U_A, U_B) = {min(res.u1, res.u2):g} ({res.method})"
    )
    if better is None:
        line = (
            f"no significant difference in {metric_label} between {a.label} and {b.label} "
            f"(p = {res.p_value:.3g} >= {alpha:g}): {figures}"
        )
    else:
        line = f"{first.label} beats {second.label} on {metric_label} (p = {res.p_value:.3g} < {alpha:g}): {figures}"
    return TestResult(
        a.label,
        b.label,
        dict(a.key),
        a.n,
        b.n,
        a.median,
        b.median,
        res.u1,
        res.p_value,
        res.method,
        pa,
        alpha,
        better,
        line,
    )


def _entity(sweep: Any, row: dict[str, Any], section: str) -> str | None:
    """The algorithm or objective name of a member: its axis value, else the sweep's base config."""
    for key in (f"{section}.name", section):
        if key in sweep.axes:
            from .store.read import json_value

            v = json_value(row.get(key))
            if isinstance(v, dict):
                name = str(v.get("name", "?"))
                return name + (f" d={v['dim']}" if "dim" in v else "")
            return None if v is None else str(v)
    base = sweep.config.get(section)
    if isinstance(base, dict):
        return None if base.get("name") is None else str(base.get("name"))
    return None if base is None else str(base)


def _problem_of(sweep: Any, row: dict[str, Any]) -> str:
    """The objective a member solves, for telling problems apart (name, and dimension when the
    objective is not an axis)."""
    name = _entity(sweep, row, "objective") or "?"
    if "d=" not in name and not any(a.startswith("objective") for a in sweep.axes) and sweep.dim is not None:
        name += f" d={sweep.dim}"
    return name


def rank_matrix(cells: dict[str, dict[str, float]]) -> Ranking | None:
    """Ranks within each objective (lower median is better; ties averaged) and each entrant's
    mean rank over the objectives it ran on. ``cells``: entrant -> objective -> median."""
    from .stats import rankdata

    entrants = list(cells)
    objectives = list(dict.fromkeys(o for e in entrants for o in cells[e]))
    if len(entrants) < 2 or len(objectives) < 2:
        return None
    ranks: dict[str, dict[str, float]] = {e: {} for e in entrants}
    for o in objectives:
        here = [e for e in entrants if o in cells[e] and not math.isnan(cells[e][o])]
        if not here:
            continue
        r, _ = rankdata([cells[e][o] for e in here])
        for e, v in zip(here, r.tolist()):
            ranks[e][o] = v
    mean = {e: (sum(ranks[e].values()) / len(ranks[e]) if ranks[e] else math.nan) for e in entrants}
    order = sorted(entrants, key=lambda e: (math.isnan(mean[e]), mean[e]))
    return Ranking(order, objectives, cells, ranks, mean)


def compare_sweeps(
    sweeps: Sequence[Any],
    *,
    group_by: str | None = None,
    metric: str | None = None,
    target: float = 1e-6,
    alpha: float = 0.05,
    targets: Sequence[float] = TARGETS,
) -> SweepComparison:
    """Aggregate sweeps across seeds and compare them (see the section comment above).

    Each sweep, or with ``group_by`` each value of that axis in each sweep, is a *side*; within a
    side every combination of the remaining axes (seed excluded) is a configuration,
    aggregated by :func:`aggregate`. ``metric`` (default ``f_gap``: final f - f*, or final f when
    f* is unknown) decides the best configuration (lowest median). With two or more sides each
    later side is tested against the first with the Mann-Whitney U test across seeds, matching
    configurations by their axis values when the sides have the same ones, otherwise the best
    configuration of each. With two or more algorithms and objectives, a ranking by mean rank.
    """
    if not sweeps:
        raise CompareError("give at least one sweep to compare")
    metric = "f_gap" if metric is None else metric_key(metric)
    if metric not in SWEEP_METRIC_COLUMNS and metric != "iterations_to_target":
        raise CompareError(
            f"sweeps are not compared on {METRICS[metric].label}; use one of "
            f"{', '.join(list(SWEEP_METRIC_COLUMNS) + ['iterations_to_target'])}"
        )
    if not (isinstance(alpha, float) and 0 < alpha < 1):
        raise CompareError(f"--significance must be a number between 0 and 1, not {alpha}")
    targets = sorted(targets, reverse=True)
    if metric == "iterations_to_target" and not any(math.isclose(target, t) for t in targets):
        raise CompareError(
            f"sweeps record the targets {', '.join(fmt_target(t) for t in targets)}; "
            f"--target {target:g} is not one of them"
        )
    target = next((t for t in targets if math.isclose(target, t)), target)
    notes: list[str] = []
    specs = [getattr(s, "spec", None) for s in sweeps]  # a MemberGroup: some members of one sweep
    chosen = [s.rows if spec is not None else None for s, spec in zip(sweeps, specs)]
    sweeps = [s.sweep if spec is not None else s for s, spec in zip(sweeps, specs)]
    for s in sweeps:
        s._require_rows()
    live = [
        [r for r in (s.rows if rows is None else rows) if r.get("status") not in NOT_RUN]
        for s, rows in zip(sweeps, chosen)
    ]
    if metric == "f_gap":
        unknown = sum(
            1
            for rows in live
            for r in rows
            if r.get("f_min") is None and r.get("status") == COMPLETE and r.get("f_gap") is None
        )
        if unknown:
            metric = "final_f"
            notes.append("f* is unknown for some members: configurations are compared on final f")
    label = {"f_gap": "final f - f*", "iterations_to_target": f"iterations to {fmt_target(target)}"}.get(
        metric, METRICS[metric].label
    )
    one_sweep = len({s.id for s in sweeps}) == 1
    legend: dict[str, str] = {}
    if len(sweeps) > 1 and not (one_sweep and all(specs)):
        # a sweep's id in every label would take half the terminal: each sweep is a letter, said once
        sweep_labels = [side_name(i) for i in range(len(sweeps))]
        legend = {
            lab: s.id + (f":{spec}" if spec else "") for lab, s, spec in zip(sweep_labels, sweeps, specs)
        }
    else:
        sweep_labels = [
            spec if (spec and one_sweep) else short_label(s.id) + (f":{spec}" if spec else "")
            for s, spec in zip(sweeps, specs)
        ]
        sweep_labels = [
            lab if sweep_labels.count(lab) == 1 else f"{lab} #{i + 1}" for i, lab in enumerate(sweep_labels)
        ]

    sides: list[str] = []
    groups: list[GroupStats] = []
    side_groups: dict[str, list[int]] = {}
    all_axes: list[str] = []
    pending: list[tuple[str, Any, dict[str, Any], list[dict[str, Any]], dict[str, str], set[str]]] = []
    defining: dict[str, set[str]] = {}  # side -> the axes that make the side (its selector's, --group-by's)
    side_specs: dict[str, tuple[Any, str]] = {}  # side -> its sweep and selector, when the selector names it
    for s, rows, slabel, spec in zip(sweeps, live, sweep_labels, specs):
        gkey = s.axis_key(group_by) if group_by else None
        rest = [a for a in s.axes if a not in ("seed", gkey)]
        all_axes += [a for a in rest if a not in all_axes]
        short = _short_keys(s.axes)
        named = {s.axis_key(k) for k, _ in parse_member_spec(spec)} if spec else set()  # in the side label
        split: dict[str, tuple[Any, list[dict[str, Any]]]] = {}
        if gkey:
            for r in rows:
                split.setdefault(value_key(r.get(gkey)), (json_value(r.get(gkey)), []))[1].append(r)
        else:
            split[""] = (None, rows)
        for gval, grows in split.values():
            if gkey:
                side = f"{short[gkey]}={_value_text(gval, s.axis_values(gkey))}"
                side = side if len(sweeps) == 1 else f"{slabel}: {side}"
            else:
                side = slabel
            sides.append(side)
            defining[side] = named | ({gkey} if gkey else set())
            if spec and one_sweep and not gkey and not legend:
                side_specs[side] = (s, spec)
            configs: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for r in grows:
                configs.setdefault(_key_of(r, rest), []).append(r)
            side_groups[side] = []
            for crows in configs.values():
                key = {a: json_value(crows[0].get(a)) for a in rest}
                side_groups[side].append(len(pending))
                pending.append((side, s, key, crows, short, named))
    # axes with one value in every configuration are said once (constant), not in every label; a
    # sweep that does not sweep the key has the value of its config (two sweeps that set it alike,
    # one by an axis of one value and one in its config, share it too)
    constant: dict[str, Any] = {}
    for a in all_axes:
        seen: dict[str, Any] = {}
        for _, s, key, _, _, _ in pending:
            v = (
                key[a]
                if a in key
                else _flatten({k: x for k, x in s.config.items() if k != "sweep"}).get(a, MISSING)
            )
            seen[value_key(v) if v is not MISSING else ""] = v
        if len(seen) == 1 and "" not in seen:
            constant[a] = next(iter(seen.values()))
    # a side named by its selector (S:alpha=0.1) drops the keys every configuration has, as labels do
    shown: dict[str, str] = {}
    for side, (s, spec) in side_specs.items():
        kept = [f"{k}={raw}" for k, _, raw in parse_pairs(spec, "selector") if s.axis_key(k) not in constant]
        shown[side] = ", ".join(kept) or side
    if len(set(shown.values())) < len(shown):
        shown = {}
    sides = [shown.get(x, x) for x in sides]
    side_groups = {shown.get(x, x): v for x, v in side_groups.items()}
    defining = {shown.get(x, x): v for x, v in defining.items()}
    for side, s, key, crows, short, named in pending:
        side = shown.get(side, side)
        text = ", ".join(
            f"{short[a]}={_value_text(v, s.axis_values(a))}"
            for a, v in key.items()
            if a not in constant and a not in named
        )
        glabel = ", ".join(x for x in ((side if (len(sweeps) > 1 or group_by) else ""), text) if x) or side
        g = aggregate(glabel, side, s.id, key, crows, metric, target, targets)
        g.problem = _problem_of(s, crows[0])
        groups.append(g)
    if not groups:
        raise CompareError("no member of these sweeps has run yet")
    if group_by and len(sides) == len(sweeps):
        notes.append(f"--group-by {group_by}: the axis has one value, so there is nothing to compare")
    problems = list(dict.fromkeys(g.problem for g in groups))
    best: list[int] = []
    for prob in problems:  # f on one objective says nothing about f on another: best per problem
        members = [i for i, g in enumerate(groups) if g.problem == prob]
        if len(members) < 2:
            continue
        top = min(_order_key(groups[i])[:2] for i in members)
        best += [i for i in members if _order_key(groups[i])[:2] == top]
    if len(problems) > 1:
        notes.append(
            f"{len(problems)} problems ({', '.join(problems)}): the best configuration is marked on each"
        )
    missing = sum(g.missing for g in groups)
    if missing:
        notes.append(
            f"{missing} member{'s' * (missing != 1)} without a value of {label} (diverged, failed"
            + (", or never reached the target" if metric == "iterations_to_target" else "")
            + ") count as worst (inf)"
        )

    tests: list[TestResult] = []
    if len(sides) >= 2:
        base = sides[0]
        for other in sides[1:]:
            ga, gb = side_groups[base], side_groups[other]
            # matched by the axes the sides share, not by those that make the sides differ
            # (S:alpha=0.01 against S:alpha=0.1 is one configuration against one)
            own = defining[base] | defining[other]
            keys_a = {
                repr(sorted((k, repr(v)) for k, v in groups[i].key.items() if k not in own)): i for i in ga
            }
            keys_b = {
                repr(sorted((k, repr(v)) for k, v in groups[i].key.items() if k not in own)): i for i in gb
            }
            if set(keys_a) == set(keys_b) and len(keys_a) == len(ga) and len(keys_b) == len(gb):
                pairs = [(keys_a[k], keys_b[k]) for k in keys_a]
            elif len(ga) == 1 and len(gb) == 1:  # one configuration each: nothing was selected
                pairs = [(ga[0], gb[0])]
            else:
                pairs = [
                    (
                        min(ga, key=lambda i: _order_key(groups[i])),
                        min(gb, key=lambda i: _order_key(groups[i])),
                    )
                ]
                notes.append(
                    f"{base} and {other} have different configurations: their best ones (by median) "
                    "are tested, which favours both equally but is a selection"
                )
            for i, j in pairs:
                tests.append(mann_whitney_verdict(groups[i], groups[j], alpha, label))
        if len(tests) > 1:
            notes.append(
                f"{len(tests)} tests at significance level {alpha:g} each: expect about {alpha * len(tests):.2g} "
                "false positives by chance (Bonferroni: compare p with the significance level / number of tests)"
            )

    cells: dict[str, dict[str, float]] = {}  # entrant -> objective -> its best configuration's median
    by_id = {s.id: s for s in sweeps}
    for g in groups:
        s = by_id[g.sweep]
        row = s.rows[g.members[0]]
        alg = _entity(s, row, "algorithm") or "?"
        obj = _entity(s, row, "objective") or "?"
        entrant = alg if len(sides) == 1 else (g.side if alg in g.side else f"{g.side}: {alg}")
        cell = cells.setdefault(entrant, {})
        if not math.isnan(g.median):
            cell[obj] = min(cell.get(obj, math.inf), g.median)
    ranking = rank_matrix(cells)
    return SweepComparison(
        sides,
        groups,
        metric,
        label,
        target,
        list(targets),
        best,
        tests,
        ranking,
        alpha,
        notes,
        all_axes,
        {_short_keys(all_axes)[a]: v for a, v in constant.items()},
        legend,
    )


def gate_sweeps(comparison: SweepComparison, rtol: float = 0.0) -> GateResult:
    """CI gate between sweeps: the first side is the BASELINE, the others CANDIDATES. A candidate
    configuration is worse when its median is worse than the baseline's beyond ``rtol``
    (:func:`is_worse`) AND, when both have at least :data:`MIN_TEST_MEMBERS` members, the
    Mann-Whitney test says the difference is significant (p < alpha)."""
    if not (rtol >= 0 and math.isfinite(rtol)):
        raise CompareError(f"--rtol must be a number >= 0, not {rtol}")
    if not comparison.tests:
        raise CompareError(
            "--fail-if-worse needs a BASELINE and a CANDIDATE: two sweeps, or --group-by "
            "an axis with two values"
        )
    worse: list[str] = []
    parts: list[str] = []
    for t in comparison.tests:
        bad = is_worse(t.median_b, t.median_a, rtol)
        tested = t.n_a >= MIN_TEST_MEMBERS and t.n_b >= MIN_TEST_MEMBERS
        if bad and tested:
            bad = t.p_value < t.alpha
        why = f"p = {t.p_value:.3g}" + (
            f" {'<' if t.p_value < t.alpha else '>='} {t.alpha:g}"
            if tested
            else f", not tested: fewer than {MIN_TEST_MEMBERS} members"
        )
        parts.append(f"{t.b} median {fmt_number(t.median_b)} vs {fmt_number(t.median_a)} ({why})")
        if bad:
            worse.append(t.b)
    verdict = "worse" if worse else "ok"
    who = (
        f"{len(worse)} of {len(comparison.tests)} candidate configurations ({', '.join(worse)}) are"
        if worse
        else "no candidate configuration is"
    )
    line = (
        f"{verdict}: {who} worse than the baseline {comparison.sides[0]} on "
        f"{comparison.metric_label}: {'; '.join(parts)} (rtol {rtol:g})"
    )
    if comparison.legend:  # the line stands alone in a CI log: say what A and B are
        line += "; " + ", ".join(f"{k} = {v}" for k, v in comparison.legend.items())
    return GateResult(worse, line)
