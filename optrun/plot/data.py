"""What a picture draws, computed without matplotlib: the series, panels and legend rows handed
to the drawing code, the objective evaluated on a grid with its contour levels, and the values
of a curve made drawable (median and quartiles of a sweep's members, clipped to what a log axis
can show). Everything here is numpy; :mod:`optrun.plot.draw` and the modules beside it draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import PlotError
from .thin import thin_curve, thin_path

KINDS = ("auto", "contour", "surface", "convergence", "regret", "learning")
FORMATS = ("png", "svg", "pdf")
GRID_POINTS = 240  # contour grid resolution per axis
CONTOUR_LEVELS = 50  # as the tutorials
DEFAULT_DPI = 100
VALUE_CEILING = 1e200  # curves are drawn no higher: matplotlib's log ticks overflow past ~1e250
BAND_LINES = 6  # interquartile bands are shaded in a panel of at most this many lines (more is mud)


# ---------------------------------------------------------------------------- data in


@dataclass(frozen=True)
class PathSeries:
    """One run's search path on a 2-D objective: ``xy`` is ``(n, 2)``, ``f`` is ``(n,)``."""

    label: str
    xy: np.ndarray
    f: np.ndarray


@dataclass(frozen=True)
class CurveSeries:
    """One line of a convergence plot.

    ``iterations`` is ``(n,)``; ``values`` is ``(n,)`` for one run or ``(m, n)`` for m members
    of a sweep sharing the iterations (NaN where a member has no row), drawn as the median with
    the interquartile band. ``panel`` is the subplot it is drawn in (an index into the figure's
    panels, one per objective); ``colour`` and ``linestyle`` its look
    (:func:`~optrun.plot.draw.looks` when ``colour`` is ``None``).
    """

    label: str
    iterations: np.ndarray
    values: np.ndarray
    panel: int = 0
    colour: str | None = None
    linestyle: Any = "-"


@dataclass(frozen=True)
class Panel:
    """One subplot of a convergence figure: its title (the objective), y label and scale.

    ``signed`` marks values that may be negative or zero (an average regret): the scale is then
    chosen from what is drawn (:func:`signed_scale`) and ``log`` is not used. ``hline`` is a
    reference value drawn as a dotted line (a known optimum x*); ``note`` a text shown in the
    middle of a panel that has no line (what was not recorded).
    """

    title: str
    ylabel: str = "f(x) − f*"
    log: bool = True
    signed: bool = False
    hline: float | None = None
    note: str | None = None


@dataclass(frozen=True)
class LegendEntry:
    """A legend row: ``line`` (colour and style), ``band`` (a shaded patch) or ``header`` (a
    bold caption above the rows that follow, as seaborn titles its hue and style sections)."""

    label: str
    kind: str = "line"
    colour: str = "0.25"
    linestyle: Any = "-"


def grid_values(
    objective, region: np.ndarray, n: int = GRID_POINTS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``X, Y, Z`` on an ``n x n`` grid over ``region`` (``(2, 2)``): one vectorized call."""
    xs = np.linspace(region[0, 0], region[0, 1], n)
    ys = np.linspace(region[1, 0], region[1, 1], n)
    X, Y = np.meshgrid(xs, ys)
    try:
        Z = np.asarray(objective.value(np.stack([X, Y], axis=-1)), dtype=float)
    except Exception as e:  # noqa: BLE001 - a user objective that cannot take a grid
        raise PlotError(
            f"cannot evaluate the objective '{objective.name}' on a grid for the contour: "
            f"{type(e).__name__}: {e}"
        ) from None
    if Z.shape != X.shape:
        raise PlotError(
            f"the objective '{objective.name}' returned values of shape {Z.shape} for a "
            f"grid of shape {X.shape + (2,)}; it must be vectorized over (..., d)"
        )
    return X, Y, Z


def contour_levels(Z: np.ndarray, n: int = CONTOUR_LEVELS) -> tuple[np.ndarray, bool]:
    """``n + 1`` level boundaries for ``Z`` and whether they are logarithmic.

    Linear levels (the tutorials') unless the median of ``Z`` lies in the lowest tenth of its
    range, i.e. half the picture would share 5 of the 50 colours because a few high walls set the
    scale (Rosenbrock's valley, for instance); then the levels are ``min + geomspace`` so every
    decade above the minimum gets its share of colours.
    """
    z = Z[np.isfinite(Z)]
    if z.size == 0:
        raise PlotError("the objective is not finite anywhere on the plotted region")
    lo, hi = float(z.min()), float(z.max())
    if hi <= lo:
        return np.linspace(lo - 0.5, lo + 0.5, n + 1), False
    linear = np.linspace(lo, hi, n + 1)
    if np.median(z) - lo >= 0.1 * (hi - lo):
        return linear, False
    gap = z - lo
    floor = max(float(np.min(gap[gap > 0])), (hi - lo) * 1e-12)
    return lo + np.concatenate([[0.0], np.geomspace(floor, hi - lo, n)]), True


def region_around(bounds: np.ndarray, paths: Sequence[PathSeries]) -> np.ndarray:
    """The run's bounds, widened to show a path that leaves them (by at most one box width)."""
    region = np.array(bounds, dtype=float)
    width = region[:, 1] - region[:, 0]
    pts = [p.xy for p in paths if len(p.xy)]
    if pts:
        allp = np.concatenate(pts)
        lo = np.maximum(allp.min(axis=0), region[:, 0] - width)
        hi = np.minimum(allp.max(axis=0), region[:, 1] + width)
        if np.any(lo < region[:, 0]) or np.any(hi > region[:, 1]):
            pad = 0.03 * width
            region[:, 0] = np.minimum(region[:, 0], lo - pad)
            region[:, 1] = np.maximum(region[:, 1], hi + pad)
    return region


def cut_path(path: PathSeries, budget: int) -> tuple[PathSeries, int]:
    """The path as drawn: cut at its first non-finite point (where a run diverged), then thinned
    to about ``budget`` points (:func:`~optrun.plot.thin.thin_path`); and how many points it had
    after the cut (its steps + 1)."""
    xy, f = np.asarray(path.xy, dtype=float), np.asarray(path.f, dtype=float)
    ok = np.isfinite(xy).all(axis=1)
    cut = int(np.argmin(ok)) if not ok.all() else len(xy)
    xy, f = xy[:cut], f[:cut]
    idx = thin_path(xy, budget) if len(xy) else np.arange(0)
    return PathSeries(path.label, xy[idx], f[idx]), len(xy)


def minima_in(objective, region: np.ndarray) -> np.ndarray:
    """The objective's known minimizers (``(k, 2)``) that lie in ``region``."""
    minima = np.asarray(getattr(objective, "minima", np.zeros((0, 2))), dtype=float).reshape(-1, 2)
    return minima[np.all((minima >= region[:, 0]) & (minima <= region[:, 1]), axis=1)]


def column_quartiles(v: np.ndarray) -> np.ndarray:
    """The 25th, 50th and 75th percentiles of each column of the ``(m, n)`` matrix ``v``, NaN left
    out (NaN where a column has none), as ``np.nanpercentile(v, [25, 50, 75], axis=0)`` gives them
    (its linear interpolation between order statistics, bit for bit) but in whole-array
    operations: one sort down the columns. numpy's nanpercentile loops over the columns in Python
    (3.1-3.7 s for 20 x 10^5, 63 s for 20 x 10^6; this: 0.02 s and 0.2 s)."""
    nan = np.isnan(v)
    s = np.sort(v, axis=0)  # NaN sorts last
    count = v.shape[0] - nan.sum(axis=0)
    out = np.full((3, v.shape[1]), np.nan)
    has = count > 0
    top = np.maximum(count - 1, 0)
    for k, q in enumerate((0.25, 0.5, 0.75)):
        pos = top * q
        below = np.floor(pos).astype(np.int64)
        above = np.minimum(below + 1, top)
        t = pos - below
        a = np.take_along_axis(s, below[None, :], axis=0)[0]
        b = np.take_along_axis(s, above[None, :], axis=0)[0]
        with np.errstate(invalid="ignore"):  # inf - inf where both neighbours are infinite
            d = b - a
            lerp = np.where(t >= 0.5, b - d * (1.0 - t), a + d * t)  # numpy's _lerp, both halves
        out[k, has] = lerp[has]
    return out


def prepare_curve(s: CurveSeries, budget: int) -> dict[str, Any]:
    """A series thinned for drawing: iterations, median (or the values) and quartiles."""
    it = np.asarray(s.iterations, dtype=float)
    v = np.asarray(s.values, dtype=float)
    if v.ndim == 1:
        mid, q1, q3 = v, None, None
    elif v.ndim == 2 and v.shape[0] == 1:
        mid, q1, q3 = v[0], None, None
    elif v.ndim == 2:
        q1, mid, q3 = column_quartiles(v)
    else:
        raise PlotError(f"series '{s.label}' has values of shape {v.shape}; expected (n,) or (m, n)")
    if mid.shape != it.shape:
        raise PlotError(f"series '{s.label}': {mid.shape[0]} values for {it.shape[0]} iterations")
    idx = thin_curve(mid, budget)
    if q1 is not None:  # keep the band's own extremes too
        idx = np.union1d(idx, np.union1d(thin_curve(q1, budget // 4), thin_curve(q3, budget // 4)))
    return {
        "series": s,
        "it": it[idx],
        "mid": mid[idx],
        "lo": None if q1 is None else q1[idx],
        "hi": None if q3 is None else q3[idx],
        "members": v.shape[0] if v.ndim == 2 else 1,
    }


def fit_values(lines: list[dict[str, Any]], log: bool) -> tuple[list[str], float | None, float | None]:
    """Make one panel's values drawable, in place: beyond ``VALUE_CEILING`` drawn at it (matplotlib's
    axes fail near the float64 limit, which a diverging run reaches); on a log axis values ``<= 0``
    (a run that reached f* to the last bit) drawn one decade below the smallest positive value.
    Returns the notes for the y label, that floor and the smallest positive value."""
    capped = clipped = False
    for line in lines:
        for k in ("mid", "lo", "hi"):
            a = line[k]
            if a is not None:
                big = np.isfinite(a) & (np.abs(a) > VALUE_CEILING)
                capped |= bool(big.any())
                line[k] = np.where(big, np.sign(a) * VALUE_CEILING, a)
    floor = smallest = None
    if log:
        pos = [
            a[np.isfinite(a) & (a > 0)]
            for line in lines
            for a in (line["mid"], line["lo"], line["hi"])
            if a is not None
        ]
        pos = np.concatenate(pos) if pos else np.array([])
        smallest = float(pos.min()) if pos.size else 1e-300
        floor = smallest / 10.0 if smallest / 10.0 > 0 else smallest  # a denormal cannot go lower
        for line in lines:
            for k in ("mid", "lo", "hi"):
                a = line[k]
                if a is not None:
                    bad = np.isfinite(a) & (a <= 0)
                    clipped |= bool(bad.any())
                    line[k] = np.where(bad, floor, a)
    notes = ([f"values <= 0 drawn at {floor:.1e}"] if clipped else []) + (
        [f"beyond {VALUE_CEILING:.0e} drawn at {VALUE_CEILING:.0e}"] if capped else []
    )
    return notes, (floor if clipped else smallest), floor


def signed_scale(lines: Sequence[dict[str, Any]]) -> tuple[str, float | None]:
    """The y scale of a panel whose values may be negative or zero (an average regret), from its
    prepared lines (:func:`prepare_curve`): ``("log", None)`` when every finite drawn value is
    positive; otherwise ``("symlog", L)``, logarithmic beyond ``±L`` and linear within, ``L`` the
    power of ten at or below the smallest nonzero size a line ends at (so where the lines end
    stays readable), but at least 1e-6 of the largest size drawn; ``("linear", None)`` when
    nothing drawn is nonzero."""
    arrays = [a for line in lines for a in (line["mid"], line["lo"], line["hi"]) if a is not None]
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays]) if arrays else np.array([])
    if finite.size and np.all(finite > 0):
        return "log", None
    size = np.abs(finite)
    if not size.size or size.max() == 0:
        return "linear", None
    ends = [
        abs(float(a[np.isfinite(a)][-1])) for a in (line["mid"] for line in lines) if np.isfinite(a).any()
    ]
    ends = [e for e in ends if e > 0] or [float(size[size > 0].min())]
    low = max(min(ends), float(size.max()) * 1e-6)
    return "symlog", float(10.0 ** np.floor(np.log10(low)))


def run_bounds(run, objective) -> np.ndarray:
    """The run's ``(d, 2)`` box: a resolved config holds one pair per dimension, or one pair for
    all of them; the objective's default box when the config has none."""
    raw = run.config.get("bounds")
    if not raw:
        return np.array(objective.bounds, dtype=float)
    b = np.array(raw, dtype=float)
    if b.ndim == 1:
        d = run.dim if run.dim is not None else (objective.dim if objective is not None else 1)
        b = np.tile(b, (int(d), 1))
    return b


def run_dim(run) -> int:
    d = run.dim
    return int(d) if d is not None else len(run_bounds(run, None) if run.config.get("bounds") else [])


def y_axis(series: Sequence[CurveSeries], gap: bool) -> tuple[str, bool]:
    """The y label and scale: f - f* on a log scale when every f* is known; otherwise f, on a
    log scale only when every finite value is positive."""
    if gap:
        return "f(x) − f*  (log scale)", True
    finite = np.concatenate([np.asarray(s.values)[np.isfinite(s.values)] for s in series])
    log = bool(finite.size) and bool(np.all(finite > 0))
    return "f(x)  (f* unknown" + ("; log scale)" if log else "; linear scale)"), log


def objective_panels(
    keys: Sequence[str], series: Sequence[CurveSeries], gaps: dict[str, bool]
) -> list[Panel]:
    """One :class:`Panel` per objective, in order of first appearance (``series[i].panel`` indexes it)."""
    order = list(dict.fromkeys(keys))
    out = []
    for k in order:
        here = [s for s in series if s.panel == order.index(k)]
        ylabel, log = y_axis(here, gaps[k])
        out.append(Panel(k, ylabel, log))
    return out
