"""Pictures of runs: a contour of their search paths (2-D), or their convergence curves.

From loaded runs (:func:`optrun.store.select.load_run` objects) to the data the drawing code takes:
the objective rebuilt from the run's config, the box that holds every run, the paths and curves
from the traces, the labels that tell the runs apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import OptrunError, PlotError
from .contour import plot_contour
from .convergence import plot_convergence
from .data import (
    DEFAULT_DPI,
    KINDS,
    CurveSeries,
    LegendEntry,
    Panel,
    PathSeries,
    objective_panels,
    run_bounds,
    run_dim,
)
from .draw import looks
from .labels import algorithm_text, default_title, flatten, run_labels
from .learning import LEARNING_LAYOUT, has_test, learning_layout, learning_series, test_column
from .outputs import check_dpi, default_output, output_format, shared_output
from .regret import (
    REGRET_COLUMN,
    REGRET_LAYOUT,
    first_optimum,
    has_regret,
    played,
    regret_layout,
    regret_series,
    rounds,
)
from .thin import THIN_BUDGET
from .where import parse_where, select_runs


def _objective_key(config: dict[str, Any]) -> str:
    return repr(sorted(flatten({"objective": config.get("objective")}).items()))


def _objective_of(run):
    from ..problem import recorded_objective

    return recorded_objective(run.config, run.path)


def _trace(run) -> dict[str, np.ndarray]:
    t = run.trace()
    if "f" not in t or len(t["f"]) == 0:
        raise PlotError(f"run {run.id} has no trace rows to plot yet")
    return t


def _is_online(run) -> bool:
    """Whether the run's trace has the regret columns (a trace that cannot be read is not: the
    picture's own read of it then says what is wrong)."""
    try:
        return has_regret(run.trace())
    except OptrunError:
        return False


def _is_tested(run) -> bool:
    """Whether the run's trace has the test columns (a learning run with test data)."""
    try:
        return has_test(run.trace())
    except OptrunError:
        return False


def _learning_kind(runs: Sequence[Any], kind: str) -> str | None:
    """``learning`` when every run's trace has test columns and ``kind`` is ``auto`` or
    ``learning``; :class:`PlotError` for ``learning`` on a run without them; else ``None``."""
    if kind not in ("auto", "learning"):
        return None
    tested = [_is_tested(r) for r in runs]
    if kind == "learning" and not all(tested):
        r = runs[tested.index(False)]
        raise PlotError(
            f"run {r.id} has no test columns in its trace (not a learning objective with test data: "
            "objective.test), so --kind learning cannot draw it; use --kind convergence"
        )
    return "learning" if all(tested) else None


def resolve_kind(runs: Sequence[Any], kind: str = "auto") -> str:
    """For ``auto``: ``regret`` for online runs (their traces have ``avg_regret``), ``learning``
    for learning runs with test data (their traces have ``test_loss``), else ``contour`` for 2-D
    runs, ``convergence`` otherwise. :class:`PlotError` for a kind the runs cannot take
    (``regret`` for a run without regret columns, ``learning`` for one without test columns;
    ``auto`` for online runs mixed with others)."""
    if kind not in KINDS:
        raise PlotError(f"unknown kind '{kind}'; choose one of {', '.join(KINDS)}")
    if kind in ("auto", "regret"):
        online = [_is_online(r) for r in runs]
        if kind == "regret" and not all(online):
            r = runs[online.index(False)]
            raise PlotError(
                f"run {r.id} has no regret columns in its trace (its objective is not online), "
                "so --kind regret cannot draw it; use --kind convergence"
            )
        if all(online):
            return "regret"
        if any(online):
            raise PlotError(
                f"run {runs[online.index(True)].id} is online (its trace has regret columns) and "
                f"run {runs[online.index(False)].id} is not: plot them apart, or all with --kind convergence"
            )
    learning = _learning_kind(runs, kind)
    if learning:
        return learning
    two_d = all(run_dim(r) == 2 for r in runs)
    if kind == "auto":
        return "contour" if two_d else "convergence"
    if kind in ("contour", "surface") and not two_d:
        dims = sorted({run_dim(r) for r in runs})
        raise PlotError(
            f"a {kind} plot needs 2-D objectives, but these runs have d = "
            f"{', '.join(map(str, dims))}; use --kind convergence"
        )
    return kind


def plot_runs(
    runs: Sequence[Any],
    out: str | None = None,
    *,
    kind: str = "auto",
    title: str | None = None,
    cmap: str = "viridis",
    dpi: float = DEFAULT_DPI,
    budget: int = THIN_BUDGET,
    where: Sequence[str] = (),
) -> str:
    """Draw loaded runs (:func:`optrun.store.select.load_run` objects) and return the file written.

    ``kind`` is ``auto`` (regret for online runs, contour for 2-D runs, convergence otherwise),
    ``contour``, ``surface``, ``convergence`` or ``regret`` (:func:`regret_of_runs`). ``where``
    (``["algorithm=adam", "alpha=0.1"]``, :func:`parse_where`) keeps the runs whose config
    matches. ``out`` defaults to ``<run folder>/<kind>.png`` for one run
    and to ``<kind>.png`` in the working folder for several. A run given twice is drawn once.
    """
    if not runs:
        raise PlotError("give at least one run to plot")
    if where:
        runs = select_runs(runs, parse_where(where))
    given: dict[str, list[Any]] = {}
    for r in runs:
        given.setdefault(str(r.id), []).append(r)
    runs = [rs[0] for rs in given.values()]
    kind = resolve_kind(runs, kind)
    out = out or (default_output(runs[0], kind) if len(runs) == 1 else shared_output(kind))
    output_format(out)
    check_dpi(dpi)
    title = title or default_title(runs)
    if len(runs) == 1 and runs[0].status != "completed":
        title = f"{title} [{runs[0].status}]"
    labels = [
        label + (f" (given {len(given[str(r.id)])} times)" if len(given[str(r.id)]) > 1 else "")
        for r, label in zip(runs, run_labels(runs))
    ]
    if kind == "convergence":
        return _plot_runs_convergence(runs, labels, out, title, dpi, budget)
    if kind in ("regret", "learning"):
        of_runs, layout = (
            (regret_of_runs, REGRET_LAYOUT) if kind == "regret" else (learning_of_runs, LEARNING_LAYOUT)
        )
        series, panels, legend = of_runs(runs, labels)
        return plot_convergence(
            series, out, title=title, dpi=dpi, budget=budget, panels=panels, legend=legend, **layout
        )

    keys = {_objective_key(r.config) for r in runs}
    if len(keys) > 1:
        raise PlotError(
            "these runs are on different objectives, so one contour cannot show them; "
            "plot them one at a time or use --kind convergence"
        )
    objective = _objective_of(runs[0])
    bounds = run_bounds(runs[0], objective)
    for r in runs[1:]:
        b = run_bounds(r, objective)
        bounds[:, 0] = np.minimum(bounds[:, 0], b[:, 0])
        bounds[:, 1] = np.maximum(bounds[:, 1], b[:, 1])
    paths = []
    for r, label in zip(runs, labels):
        t = _trace(r)
        if "x0" not in t or "x1" not in t:
            raise PlotError(
                f"run {r.id} recorded no x coordinates (trace.x: none), so its path cannot "
                "be drawn; use --kind convergence"
            )
        paths.append(PathSeries(label, np.column_stack([t["x0"], t["x1"]]), t["f"]))
    surface = kind == "surface"
    return plot_contour(
        objective, bounds, paths, out, title=title, cmap=cmap, dpi=dpi, surface=surface, budget=budget
    )


def _f_stars(runs: Sequence[Any]) -> list[float | None]:
    """Each run's f*: its summary's, else its objective's (a run that died before its summary)."""
    f_stars = []
    for r in runs:
        fs = r.f_min
        if fs is None and "f_min" not in r.summary:
            try:
                fs = _objective_of(r).f_min
            except OptrunError:
                fs = None
        f_stars.append(fs)
    return f_stars


def _plot_runs_convergence(runs, labels, out, title, dpi, budget) -> str:
    """One panel per objective (f - f* on its own scale), a line style per algorithm, a colour per
    run."""
    f_stars = _f_stars(runs)
    keys = [f"{r.objective or '?'} (d={run_dim(r)})" for r in runs]
    order = list(dict.fromkeys(keys))
    gaps = {k: all(fs is not None for fs, kk in zip(f_stars, keys) if kk == k) for k in order}
    styled = looks([algorithm_text(r) for r in runs], list(range(len(runs))))
    series = []
    for r, fs, label, key, (colour, ls) in zip(runs, f_stars, labels, keys, styled):
        t = _trace(r)
        series.append(
            CurveSeries(
                label, t["iteration"], t["f"] - fs if gaps[key] else t["f"], order.index(key), colour, ls
            )
        )
    panels = objective_panels(keys, series, gaps)
    return plot_convergence(series, out, title=title, dpi=dpi, budget=budget, panels=panels)


def regret_of_runs(
    runs: Sequence[Any], labels: Sequence[str]
) -> tuple[list[CurveSeries], list[Panel], list[LegendEntry]]:
    """What the regret picture of online runs draws (:mod:`~optrun.plot.regret`): per objective
    the panels ``x_t`` and ``R_t / t`` against ``t = iteration + 1``, a line per run in both; a
    colour per run and a line style per algorithm, labelled by algorithm (and variant) when that
    tells the runs apart, else by ``labels``, with the run's last ``R_t / t``. The legend has a
    row per run (none for one run: the title names it)."""
    algos = [algorithm_text(r) for r in runs]
    names = list(labels)
    if len(set(algos)) == len(algos):  # the algorithm tells them apart; one not completed says so
        names = [a + (f" [{r.status}]" if r.status != "completed" else "") for a, r in zip(algos, runs)]
    keys = [f"{r.objective or '?'} (d={run_dim(r)})" for r in runs]
    order = list(dict.fromkeys(keys))
    styled = looks(algos, list(range(len(runs))))
    series, legend = [], []
    recorded: dict[str, bool] = {}
    for r, name, key, (colour, ls) in zip(runs, names, keys, styled):
        t = _trace(r)
        x = played(t)
        recorded[key] = recorded.get(key, True) and x is not None
        last = t[REGRET_COLUMN][-1]
        label = f"{name}, last $R_t/t$ = {last:.3g}"
        series += regret_series(
            label, rounds(t["iteration"]), x, t[REGRET_COLUMN], order.index(key), colour, ls
        )
        legend.append(LegendEntry(label, "line", colour, ls))
    first = {k: runs[keys.index(k)] for k in order}
    panels = regret_layout(
        keys,
        {k: run_dim(r) for k, r in first.items()},
        {k: _optimum(r) for k, r in first.items()},
        recorded,
    )
    return series, panels, legend if len(runs) > 1 else []


def learning_of_runs(
    runs: Sequence[Any], labels: Sequence[str]
) -> tuple[list[CurveSeries], list[Panel], list[LegendEntry]]:
    """What the learning picture of runs draws (:mod:`~optrun.plot.learning`): per objective the
    training loss (f - f* where every f* of the objective is known, else f) and the test accuracy
    (test loss for least squares) against the iteration, a line per run in both; a colour per run
    and a line style per algorithm, labelled as the regret picture labels runs, with the run's
    last test figure. The legend has a row per run (none for one run: the title names it)."""
    algos = [algorithm_text(r) for r in runs]
    names = list(labels)
    if len(set(algos)) == len(algos):
        names = [a + (f" [{r.status}]" if r.status != "completed" else "") for a, r in zip(algos, runs)]
    keys = [f"{r.objective or '?'} (d={run_dim(r)})" for r in runs]
    order = list(dict.fromkeys(keys))
    traces = [_trace(r) for r in runs]
    f_stars = _f_stars(runs)
    gaps = {k: all(fs is not None for fs, kk in zip(f_stars, keys) if kk == k) for k in order}
    columns = {k: test_column([t for t, kk in zip(traces, keys) if kk == k]) for k in order}
    styled = looks(algos, list(range(len(runs))))
    series, legend = [], []
    for t, fs, name, key, (colour, ls) in zip(traces, f_stars, names, keys, styled):
        column = columns[key]
        kept = t[column][np.isfinite(t[column])]
        last = (
            "-"
            if not kept.size
            else (f"{100 * kept[-1]:.4g}%" if column == "test_accuracy" else f"{kept[-1]:.3g}")
        )
        label = f"{name}, last {column.replace('_', ' ')} {last}"
        train = t["f"] - fs if gaps[key] else t["f"]
        series += learning_series(label, t["iteration"], train, t[column], order.index(key), colour, ls)
        legend.append(LegendEntry(label, "line", colour, ls))
    panels = learning_layout(keys, series, gaps, columns)
    return series, panels, legend if len(runs) > 1 else []


def _optimum(run) -> float | None:
    """The first coordinate of the run's objective's known minimizer, when it has one."""
    try:
        return first_optimum(_objective_of(run))
    except OptrunError:
        return None


def plot_run_folder(path: str, out: str | None = None, **options: Any) -> str:
    """Load the run folder at ``path`` and draw it (``optrun run --plot``); return the file written."""
    from ..store.select import load_run

    return plot_runs([load_run(path)], out, **options)
