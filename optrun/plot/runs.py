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
    PathSeries,
    objective_panels,
    run_bounds,
    run_dim,
)
from .draw import looks
from .labels import algorithm_text, default_title, flatten, run_labels
from .outputs import check_dpi, default_output, output_format, shared_output
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


def resolve_kind(runs: Sequence[Any], kind: str = "auto") -> str:
    """``contour`` for 2-D runs whose traces hold x, ``convergence`` otherwise (for ``auto``)."""
    if kind not in KINDS:
        raise PlotError(f"unknown kind '{kind}'; choose one of {', '.join(KINDS)}")
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

    ``kind`` is ``auto`` (contour for 2-D runs, convergence otherwise), ``contour``, ``surface``
    or ``convergence``. ``where`` (``["algorithm=adam", "alpha=0.1"]``, :func:`parse_where`) keeps
    the runs whose config matches. ``out`` defaults to ``<run folder>/<kind>.png`` for one run
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
    return plot_contour(
        objective,
        bounds,
        paths,
        out,
        title=title,
        cmap=cmap,
        dpi=dpi,
        surface=kind == "surface",
        budget=budget,
    )


def _plot_runs_convergence(runs, labels, out, title, dpi, budget) -> str:
    """One panel per objective (f - f* on its own scale), a line style per algorithm, a colour per
    run."""
    f_stars = []
    for r in runs:
        fs = r.f_min
        if fs is None and "f_min" not in r.summary:  # a run that died before its summary
            try:
                fs = _objective_of(r).f_min
            except OptrunError:
                fs = None
        f_stars.append(fs)
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


def plot_run_folder(path: str, out: str | None = None, **options: Any) -> str:
    """Load the run folder at ``path`` and draw it (``optrun run --plot``); return the file written."""
    from ..store.select import load_run

    return plot_runs([load_run(path)], out, **options)
