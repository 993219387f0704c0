"""Pictures of sweeps: per configuration the median of ``f - f*`` across its seeds with the
interquartile band, one panel per objective, a line style per algorithm and a colour per setting;
what the lines share is said once in the title, what tells them apart in the legend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import PlotError
from ..store.pictures import default_picture
from ..store.values import json_value
from .convergence import plot_convergence
from .data import BAND_LINES, DEFAULT_DPI, CurveSeries, LegendEntry, Panel, objective_panels
from .draw import LINE_STYLES, looks
from .labels import short_names, value_label
from .learning import LEARNING_LAYOUT, learning_of_lines, untested_lines
from .outputs import check_dpi, output_format, shared_output, subset_name
from .regret import REGRET_LAYOUT
from .sweeplines import (
    SweepLine,
    has_f_star,
    line_traces,
    member_curves,
    online_lines,
    regret_of_lines,
    sweep_lines,
)
from .thin import THIN_BUDGET


def plot_sweeps(
    sweeps: Sequence[Any],
    out: str | None = None,
    *,
    kind: str = "auto",
    group_by: str | None = None,
    title: str | None = None,
    dpi: float = DEFAULT_DPI,
    budget: int = THIN_BUDGET,
    where: Sequence[str] = (),
    only: dict[str, set[int]] | None = None,
    selectors: Sequence[str] = (),
) -> str:
    """Convergence (or regret) of sweeps (:func:`optrun.store.select.load_sweep` objects); returns
    the file written.

    Per configuration (:func:`~optrun.plot.sweeplines.sweep_lines`) the median of f - f* across
    its members, with the interquartile band; one panel per objective (own y scale, f - f* on a
    log scale where f* is known), a line style per algorithm and a colour per setting (the other
    axes), the legend outside the panels. ``kind`` ``regret`` (what ``auto`` picks for online
    sweeps, whose traces have ``avg_regret``) draws instead two panels per objective, x_t and
    R_t / t against t, each the median and band across seeds (:func:`sweep_picture`).
    ``where`` (``["algorithm=adam", "alpha=0.1"]``) chooses
    the members drawn, and ``only`` (sweep id -> member numbers: the groups ``SWEEP:KEY=VALUE``
    selectors name) too. ``out`` defaults to ``<sweep folder>/<kind>.png`` for one sweep,
    ``<kind>.png`` in the working folder for several; a part of them (``where``, ``only``) is
    written beside it as ``<kind>-<what>.png`` (:func:`~optrun.plot.outputs.subset_name` of
    ``selectors``, the selectors' text after ``SWEEP:``, and ``where``), so it never replaces the
    picture of the whole sweep. The title states the settings that every line drawn shares
    (``alpha = 0.01``), the legend those that differ.
    """
    if not sweeps:
        raise PlotError("give at least one sweep to plot")
    sweeps = list({s.id: s for s in sweeps}.values())
    if out is not None:
        output_format(out)
    check_dpi(dpi)
    kind, series, panels, legend, said = sweep_picture(sweeps, kind, group_by, where, only)
    if out is None:
        name = kind + (f"-{subset_name(selectors, where, only)}" if where or only else "")
        out = default_picture(sweeps[0].path, name) if len(sweeps) == 1 else shared_output(name)
        output_format(out)
    layout = {"regret": REGRET_LAYOUT, "learning": LEARNING_LAYOUT}.get(kind, {})
    return plot_convergence(
        series, out, title=title or said, dpi=dpi, budget=budget, panels=panels, legend=legend, **layout
    )


def sweep_picture(
    sweeps: Sequence[Any],
    kind: str = "auto",
    group_by: str | None = None,
    where: Sequence[str] = (),
    only: dict[str, set[int]] | None = None,
) -> tuple[str, list[CurveSeries], list[Panel], list[LegendEntry] | None, str]:
    """What :func:`plot_sweeps` draws, without drawing: the kind (``auto`` resolved), the series,
    panels, legend rows and title. :class:`PlotError` for a kind a sweep cannot take."""
    if kind not in ("auto", "convergence", "regret", "learning"):
        raise PlotError(
            f"a sweep is drawn as convergence curves (or regret panels, online; learning panels, "
            f"with test data), not --kind {kind}; "
            "plot one member (SWEEP/7) for its path"
        )
    lines = sweep_lines(sweeps, group_by, where, only=only)
    if not lines:
        raise PlotError("no member of the sweep is left to draw")
    read = line_traces(lines)
    kind = _sweep_kind(lines, read, kind)
    keys = [line.objective for line in lines]
    order = list(dict.fromkeys(keys))
    enc = _encode(lines)
    if kind == "regret":
        series, panels = regret_of_lines(lines, read, enc.labels, enc.styled)
    elif kind == "learning":
        series, panels = learning_of_lines(lines, read, enc.labels, enc.styled)
    else:
        gaps = {k: all(has_f_star(line) for line in lines if line.objective == k) for k in order}
        curves = member_curves(lines, [gaps[k] for k in keys], read)
        series = [
            CurveSeries(label, grid, values, order.index(key), colour, ls)
            for label, (grid, values), key, (colour, ls) in zip(enc.labels, curves, keys, enc.styled)
        ]
        panels = objective_panels(keys, series, gaps)
    if not any(np.size(s.values) for s in series):
        raise PlotError(f"sweep {sweeps[0].id} has no trace rows to plot")
    per_panel = [sum(1 for line in lines if line.objective == k) for k in order]
    counts = sorted({len(line.members) for line in lines})
    banded = max(counts) > 1 and min(per_panel) <= BAND_LINES
    legend = _legend(enc, len(lines), banded)
    return kind, series, panels, legend, _title(sweeps, lines, enc, order, counts, per_panel, banded)


def _sweep_kind(lines: Sequence[SweepLine], read: dict[str, Any], kind: str) -> str:
    """``learning`` for ``auto`` when every line's members have test columns (a learning
    objective with test data; :class:`PlotError` for ``learning`` on a member without them);
    ``regret`` for ``auto`` when every line is online (its traces have the regret columns),
    ``convergence`` when none is; :class:`PlotError` for ``regret`` on a member that is not
    online, and for ``auto`` on online lines mixed with others."""
    if kind == "convergence":
        return kind
    if kind in ("auto", "learning"):
        untested = [(line, m) for line, m in zip(lines, untested_lines(lines, read)) if m is not None]
        if kind == "learning" and untested:
            line, m = untested[0]
            raise PlotError(
                f"member {m} of sweep {line.sweep.id} has no test columns in its trace (not a learning "
                "objective with test data: objective.test), so --kind learning cannot draw it; "
                "use --kind convergence"
            )
        if not untested:
            return "learning"
    bad = online_lines(lines, read)
    offline = [(line, m) for line, m in zip(lines, bad) if m is not None]
    if kind == "regret" and offline:
        line, m = offline[0]
        raise PlotError(
            f"member {m} of sweep {line.sweep.id} has no regret columns in its trace (its objective is "
            "not online), so --kind regret cannot draw it; use --kind convergence"
        )
    if kind == "auto" and offline and len(offline) < len(lines):
        online = next(line for line, m in zip(lines, bad) if m is None)
        raise PlotError(
            f"'{online.label}' is online (its traces have regret columns) and '{offline[0][0].label}' "
            "is not: plot them apart (--where), or all with --kind convergence"
        )
    return "convergence" if offline else "regret"


@dataclass(frozen=True)
class Encoding:
    """How the lines are told apart: ``algorithms`` (a line style each) and ``settings`` (the
    values of ``setting_keys``, written with their ``short`` names: a colour each), ``styled``
    the ``(colour, linestyle)`` per line, ``labels`` its legend label; ``shared`` the settings
    every line has alike (said in the title)."""

    short: dict[str, str]
    setting_keys: list[str]
    shared: dict[str, Any]
    settings: list[str]
    algorithms: list[str]
    styled: list[tuple[str, Any]]
    labels: list[str]

    @property
    def n_algos(self) -> int:
        return len(set(self.algorithms))

    @property
    def n_settings(self) -> int:
        return len(set(self.settings))


def _encode(lines: Sequence[SweepLine]) -> Encoding:
    setting_keys = list(dict.fromkeys(k for line in lines for k in line.setting))
    short = short_names(setting_keys)
    # a setting every line shares is said once, in the title; the legend tells the lines apart
    shared = {
        k: lines[0].setting.get(k)
        for k in setting_keys
        if len({repr(json_value(line.setting.get(k))) for line in lines}) == 1
    }
    setting_keys = [k for k in setting_keys if k not in shared]
    settings = [
        ", ".join(f"{short[k]}={value_label(line.setting.get(k))}" for k in setting_keys) for line in lines
    ]
    algorithms = [line.algorithm for line in lines]
    styled = looks(algorithms, settings)
    n_algos, n_settings = len(set(algorithms)), len(set(settings))
    labels = []
    for line, algo, setting in zip(lines, algorithms, settings):
        parts = ([algo] if n_algos > 1 else []) + ([setting] if n_settings > 1 else [])
        text = ", ".join(parts) or setting or algo
        labels.append(text + (f" (sample of {line.n:,})" if len(line.members) < line.n else ""))
    return Encoding(short, setting_keys, shared, settings, algorithms, styled, labels)


def _legend(enc: Encoding, n_lines: int, banded: bool) -> list[LegendEntry] | None:
    """The legend's rows: a section per encoding when both algorithm and setting vary (seaborn's
    way), else a row per line; ``None`` for a single line (the convergence figure's default)."""
    legend = None
    if enc.n_algos > 1 and enc.n_settings > 1 and enc.n_algos <= len(LINE_STYLES):
        # seaborn's way for two encodings: a section per variable, each row one value
        one_axis = len(enc.setting_keys) == 1
        legend = [LegendEntry("algorithm", "header")]
        legend += [
            LegendEntry(a, "line", "0.25", ls)
            for a, ls in dict.fromkeys((a, s[1]) for a, s in zip(enc.algorithms, enc.styled))
        ]
        legend += [LegendEntry(", ".join(enc.short[k] for k in enc.setting_keys) or "setting", "header")]
        shown = dict.fromkeys((s, c[0]) for s, c in zip(enc.settings, enc.styled))
        legend += [LegendEntry(s.partition("=")[2] if one_axis else s, "line", colour) for s, colour in shown]
        if banded:
            legend.append(LegendEntry("interquartile range", "band"))
    elif n_lines > 1:
        legend = list(
            dict.fromkeys(LegendEntry(label, "line", c, ls) for label, (c, ls) in zip(enc.labels, enc.styled))
        )
        if banded:
            legend.append(LegendEntry("interquartile range", "band"))
    return legend


def _title(
    sweeps: Sequence[Any],
    lines: Sequence[SweepLine],
    enc: Encoding,
    order: Sequence[str],
    counts: Sequence[int],
    per_panel: Sequence[int],
    banded: bool,
) -> str:
    """What is drawn (the objective or the sweeps' names, the algorithms, the shared settings)
    and how (the seeds per configuration, what is shaded)."""
    algos = list(dict.fromkeys(enc.algorithms))
    name = ", ".join(
        dict.fromkeys(str(s.summary.get("name") or s.config.get("name") or s.id) for s in sweeps)
    )
    head = order[0] if len(order) == 1 else name
    seeds = f"{counts[0]:,} seeds" if len(counts) == 1 else f"{counts[0]:,} to {counts[-1]:,} seeds"
    how = f"median of {seeds} per configuration" if max(counts) > 1 else "one member per configuration"
    drawn_seeds = {repr(json_value(line.sweep.rows[m].get("seed"))) for line in lines for m in line.members}
    if max(counts) == 1 and len(drawn_seeds) == 1 and all("seed" in line.sweep.axes for line in lines):
        how += f", seed = {value_label(json_value(lines[0].sweep.rows[lines[0].members[0]].get('seed')))}"
    if banded and max(per_panel) > BAND_LINES:
        how += f"; interquartile range shaded in panels of at most {BAND_LINES} lines"
    elif banded:
        how += ", shaded: interquartile range"
    what = " vs ".join(algos)
    if enc.shared:
        fixed = ", ".join(f"{enc.short[k]} = {value_label(v)}" for k, v in enc.shared.items())
        what += f", {fixed}" if len(algos) == 1 else f", each with {fixed}"
    return f"{head}: {what}\n{how}"
