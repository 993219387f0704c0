"""Pictures of runs: the tutorials' contour plot with the search path, and convergence curves.

Three kinds of picture, each written as PNG, SVG or PDF (chosen by the file's extension):

* ``contour`` (2-D objectives): a filled contour plot of ``f`` over the run's bounds with each
  run's search path drawn over it as dots joined by a line, start and end marked, and the known
  minima starred. This is the picture that ends both seed tutorials (``pyplot.contourf(x, y,
  results, levels=50, cmap='jet')`` then ``pyplot.plot(xs, ys, '.-', color='w')``); optrun keeps
  their 50 levels but defaults to the perceptually uniform ``viridis`` colormap (van der Walt and
  Smith 2015, matplotlib's default since 2.0) instead of ``jet``, whose lightness is not monotone
  and shows bands that are not in the data (Borland and Taylor 2007, "Rainbow color map (still)
  considered harmful", IEEE CG&A 27(2)).
* ``surface`` (2-D objectives): the tutorials' 3-D view (``axis.plot_surface(x, y, results)``)
  with the path lifted onto the surface at height ``f``.
* ``convergence`` (any dimension): ``f - f*`` against iteration on a logarithmic axis, one line
  per run, or ``f`` itself when ``f*`` is unknown (the axis label says so). A series may carry a
  matrix of several members (a sweep): its median is drawn with the interquartile band (25th to
  75th percentile across members at each iteration).

Long traces are thinned before drawing so that a 100,000-iteration run plots in bounded time:
at most a few thousand points per series are kept (see :func:`thin_curve`, :func:`thin_path`).

matplotlib is imported only inside the functions that draw, with the headless ``Agg`` backend;
without it a :class:`PlotUnavailable` error (exit 2) says how to install it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import OptrunError

KINDS = ("auto", "contour", "surface", "convergence")
FORMATS = ("png", "svg", "pdf")
THIN_BUDGET = 2000  # points kept per path or curve (before the few always-kept extras)
GRID_POINTS = 240  # contour grid resolution per axis
CONTOUR_LEVELS = 50  # as the tutorials
DEFAULT_DPI = 100
VALUE_CEILING = 1e200  # curves are drawn no higher: matplotlib's log ticks overflow past ~1e250
# Drawn path colours, one per run: white first (the tutorials' colour), then hues that stay
# visible on viridis; every path gets a dark outline so it also shows on the light end.
PATH_COLOURS = ("#ffffff", "#ff7f0e", "#ff3b3b", "#00e5ff", "#f781bf", "#c7e9c0", "#ffd92f", "#b3b3ff")
CURVE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")


class PlotError(OptrunError):
    """A picture cannot be drawn from these runs with these options (exit 2)."""


class PlotUnavailable(PlotError):
    """matplotlib is not installed (exit 2)."""

    def __init__(self) -> None:
        super().__init__("pictures need matplotlib, which is not installed: pip install matplotlib (or the plot extra: pip install '.[plot]' in the checkout)")


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
    the interquartile band.
    """

    label: str
    iterations: np.ndarray
    values: np.ndarray


# ---------------------------------------------------------------------------- thinning


def _log_spaced(n: int, k: int) -> np.ndarray:
    """About ``k`` distinct indices in ``[0, n)``, evenly spaced in ``log(1 + i)``."""
    return np.unique(np.round(np.expm1(np.linspace(0.0, np.log(n), k))).astype(np.int64).clip(0, n - 1))


def thin_curve(values: np.ndarray, budget: int = THIN_BUDGET) -> np.ndarray:
    """Sorted indices of the points of a curve worth drawing; all of them when ``n <= budget``.

    Otherwise the union of: the first and last point; ``budget/4`` indices log-spaced in the
    iteration number (the early iterations, where curves fall fastest); ``budget/4`` evenly
    spaced; and, in each of ``budget/4`` equal buckets, the points where the curve is lowest
    and highest, so oscillations and spikes keep their envelope (the min/max decimation of
    time-series plotting); plus the first and last finite point and the first non-finite one,
    where a run diverges. At most about ``budget + 4`` indices, whatever ``n``.
    """
    v = np.asarray(values, dtype=float)
    n = len(v)
    if n <= budget:
        return np.arange(n)
    q = max(budget // 4, 1)
    parts = [np.array([0, n - 1]), _log_spaced(n, q), np.linspace(0, n - 1, q).round().astype(np.int64)]
    edges = np.linspace(0, n, q + 1).astype(np.int64)
    finite = np.isfinite(v)
    if finite.any():
        w = np.where(finite, v, np.nan)
        starts = edges[:-1]
        lo = np.fmin.reduceat(w, starts)
        hi = np.fmax.reduceat(w, starts)
        bucket = np.repeat(np.arange(q), np.diff(edges))
        with np.errstate(invalid="ignore"):
            is_lo = w == lo[bucket]
            is_hi = w == hi[bucket]
        # the first index in each bucket that attains the bucket's min (max)
        for hit in (is_lo, is_hi):
            idx = np.flatnonzero(hit)
            if idx.size:
                _, first = np.unique(bucket[idx], return_index=True)
                parts.append(idx[first])
        fi = np.flatnonzero(finite)
        parts.append(fi[[0, -1]])
    bad = np.flatnonzero(~finite)
    if bad.size:
        parts.append(bad[:1])
    return np.unique(np.concatenate(parts))


def thin_path(xy: np.ndarray, budget: int = THIN_BUDGET) -> np.ndarray:
    """Sorted indices of the points of a search path worth drawing; all when ``n <= budget``.

    Otherwise the union of: first and last point; ``3 budget/4`` points evenly spaced in arc length
    along the path (where the search moves, it keeps points; where it creeps near a minimum, it
    drops them); ``budget/4`` log-spaced in the iteration number (the first steps, which
    decide where the search goes); and, when these coincide, enough evenly spaced iterations to
    fill the budget. At most about ``budget + 2`` indices, whatever ``n``.
    ``xy`` must be finite (cut a diverging path at its first non-finite point first).
    """
    p = np.asarray(xy, dtype=float)
    n = len(p)
    if n <= budget:
        return np.arange(n)
    early = max(budget // 4, 1)
    along = max(budget - early, 1)
    parts = [np.array([0, n - 1]), _log_spaced(n, early)]
    seg = np.sqrt(np.sum(np.diff(p, axis=0) ** 2, axis=1))
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] > 0:
        targets = np.linspace(0.0, s[-1], along)
        parts.append(np.searchsorted(s, targets, side="left").clip(0, n - 1))
    else:
        parts.append(np.linspace(0, n - 1, along).round().astype(np.int64))
    idx = np.unique(np.concatenate(parts))
    if len(idx) < budget:  # samples that coincided: fill up the budget evenly in iteration
        idx = np.unique(np.concatenate([idx, np.linspace(0, n - 1, budget - len(idx)).round().astype(np.int64)]))
    return idx


# ---------------------------------------------------------------------------- matplotlib


def require_matplotlib() -> None:
    """Raise :class:`PlotUnavailable` unless matplotlib can be imported (pyplot is not loaded)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotUnavailable() from None


def _pyplot():
    """matplotlib's pyplot on the headless Agg backend (imported here, never at start-up)."""
    try:
        import matplotlib
    except ImportError:
        raise PlotUnavailable() from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _style() -> dict[str, Any]:
    return {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 9.5,
            "xtick.labelsize": 10, "ytick.labelsize": 10, "figure.constrained_layout.use": True,
            "figure.constrained_layout.w_pad": 0.1, "figure.constrained_layout.h_pad": 0.08,
            "svg.hashsalt": "optrun", "svg.fonttype": "path"}


def output_format(path: str) -> str:
    """``png``, ``svg`` or ``pdf`` from the file name, checked before any drawing starts.

    :class:`PlotError` for another extension or a folder that does not exist.
    """
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in FORMATS:
        raise PlotError(f"cannot write '{path}': the file name must end in "
                        f"{', '.join('.' + f for f in FORMATS)} (the format is chosen by extension)")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise PlotError(f"cannot write '{path}': the folder {folder} does not exist")
    return ext


def _check_dpi(dpi: float) -> None:
    if not (isinstance(dpi, (int, float)) and 10 <= dpi <= 1200):
        raise PlotError(f"--dpi must be between 10 and 1200, not {dpi}")


def _save(fig, path: str, dpi: float) -> str:
    """Write the figure to ``path`` atomically (a temporary file renamed over it)."""
    fmt = output_format(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.{os.urandom(3).hex()}.tmp")
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # log axes near the float64 limit
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata={"Software": "optrun"} if fmt == "png" else None)
        os.replace(tmp, path)
    except OSError as e:
        raise PlotError(f"cannot write '{path}': {e.strerror or e}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _outlined(width: float = 2.6):
    import matplotlib.patheffects as pe

    return [pe.Stroke(linewidth=width, foreground="black", alpha=0.75), pe.Normal()]


def _grid(objective, region: np.ndarray, n: int = GRID_POINTS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``X, Y, Z`` on an ``n x n`` grid over ``region`` (``(2, 2)``): one vectorized call."""
    xs = np.linspace(region[0, 0], region[0, 1], n)
    ys = np.linspace(region[1, 0], region[1, 1], n)
    X, Y = np.meshgrid(xs, ys)
    try:
        Z = np.asarray(objective.value(np.stack([X, Y], axis=-1)), dtype=float)
    except Exception as e:  # noqa: BLE001 - a user objective that cannot take a grid
        raise PlotError(f"cannot evaluate the objective '{objective.name}' on a grid for the contour: "
                        f"{type(e).__name__}: {e}") from None
    if Z.shape != X.shape:
        raise PlotError(f"the objective '{objective.name}' returned values of shape {Z.shape} for a "
                        f"grid of shape {X.shape + (2,)}; it must be vectorized over (..., d)")
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


def _region(bounds: np.ndarray, paths: Sequence[PathSeries]) -> np.ndarray:
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


def plot_contour(objective, bounds: np.ndarray, paths: Sequence[PathSeries], out: str, *,
                 title: str, cmap: str = "viridis", dpi: float = DEFAULT_DPI,
                 surface: bool = False, budget: int = THIN_BUDGET,
                 axis_labels: tuple[str, str] = ("x0", "x1")) -> str:
    """Draw a 2-D objective's filled contour (or 3-D surface) with each search path; return ``out``.

    ``objective`` has ``value(XY)`` vectorized over ``(..., 2)``, ``name``, ``minima``
    (``(k, 2)``); ``bounds`` is ``(2, 2)``. Paths are cut at their first non-finite point
    and thinned to about ``budget`` points each (:func:`thin_path`).
    """
    _check_dpi(dpi)
    output_format(out)
    plt = _pyplot()
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm

    try:
        cm = colormaps[cmap]
    except KeyError:
        raise PlotError(f"unknown colormap '{cmap}'; try viridis, magma, cividis or jet "
                        "(any name matplotlib knows)") from None
    drawn = []
    for p in paths:
        xy, f = np.asarray(p.xy, dtype=float), np.asarray(p.f, dtype=float)
        ok = np.isfinite(xy).all(axis=1)
        cut = int(np.argmin(ok)) if not ok.all() else len(xy)
        xy, f = xy[:cut], f[:cut]
        idx = thin_path(xy, budget) if len(xy) else np.arange(0)
        drawn.append((p, xy[idx], f[idx], len(xy)))
    region = _region(bounds, [PathSeries(p.label, xy, f) for p, xy, f, _ in drawn])
    X, Y, Z = _grid(objective, region)
    levels, logarithmic = contour_levels(Z)
    norm = BoundaryNorm(levels, cm.N, clip=True)
    minima = np.asarray(getattr(objective, "minima", np.zeros((0, 2))), dtype=float).reshape(-1, 2)
    minima = minima[np.all((minima >= region[:, 0]) & (minima <= region[:, 1]), axis=1)]

    with plt.rc_context(_style()):
        if surface:
            fig = plt.figure(figsize=(7.6, 6.2))
            ax = fig.add_subplot(projection="3d", computed_zorder=False)
            surf = ax.plot_surface(X, Y, np.where(np.isfinite(Z), Z, np.nan), cmap=cm, norm=norm,
                                   rstride=4, cstride=4, linewidth=0, antialiased=True, alpha=0.9,
                                   zorder=1)
            ax.set_zlabel("f(x)", labelpad=8)
            ax.view_init(elev=32, azim=-60)
            fig.colorbar(surf, ax=ax, shrink=0.6, pad=0.1, label="f(x)",
                         ticks=_cbar_ticks(levels, logarithmic), format=_cbar_format())
        else:
            fig, ax = plt.subplots(figsize=(7.2, 6.0))
            filled = ax.contourf(X, Y, Z, levels=levels, cmap=cm, norm=norm, extend="neither")
            cbar = fig.colorbar(filled, ax=ax, ticks=_cbar_ticks(levels, logarithmic), format=_cbar_format(),
                                label="f(x)" + (", log-spaced levels" if logarithmic else ""))
            cbar.ax.tick_params(labelsize=9)
            ax.set_aspect("equal" if _square_enough(region) else "auto")
            ax.set_xlim(region[0])
            ax.set_ylim(region[1])
        k = len(drawn)
        if minima.size:  # under the paths: a converged run's end marker sits inside the star
            if surface:
                zmin = np.asarray(objective.value(minima), dtype=float)
                ax.scatter(minima[:, 0], minima[:, 1], zmin, s=330, marker="*", color="#ffd700",
                           edgecolor="black", linewidths=0.8, zorder=2, label=_minima_label(minima))
            else:
                ax.plot(minima[:, 0], minima[:, 1], "*", ms=19, color="#ffd700", mec="black", mew=0.8,
                        zorder=2, ls="none", label=_minima_label(minima))
        for i, (p, xy, f, n_all) in enumerate(drawn):
            if not len(xy):
                continue
            colour = PATH_COLOURS[i % len(PATH_COLOURS)]
            note = f"; {len(xy):,} points drawn" if len(xy) < n_all else ""
            label = f"{p.label} ({n_all - 1:,} steps{note})"
            # earlier runs are drawn wider, so a later path on the same track leaves them visible
            wider = min(k - 1 - i, 3)
            lw = 1.3 + 0.9 * wider
            size = (5.0 if len(xy) <= 200 else 2.5) + 1.5 * wider
            z = 3 + 3 * i
            if surface:
                ax.plot(xy[:, 0], xy[:, 1], f, ".-", color=colour, lw=lw, ms=size, zorder=z,
                        path_effects=_outlined(lw + 1.3), label=label)
                ax.scatter(*xy[0], f[0], s=80, marker="o", facecolor="none", edgecolor=colour,
                           linewidths=2.2, zorder=z + 1)
                ax.scatter(*xy[-1], f[-1], s=100, marker="X", color=colour, edgecolor="black",
                           linewidths=0.8, zorder=z + 2)
            else:
                ax.plot(xy[:, 0], xy[:, 1], ".-", color=colour, lw=lw, ms=size, zorder=z,
                        path_effects=_outlined(lw + 1.3), label=label)
                # start: a ring in the run's colour on a dark ring, the first point visible inside
                ax.plot(*xy[0], marker="o", ms=11, mfc="none", mec="black", mew=4.0, alpha=0.75,
                        zorder=z + 1, ls="none")
                ax.plot(*xy[0], marker="o", ms=11, mfc="none", mec=colour, mew=2.0, zorder=z + 1,
                        ls="none")
                ax.plot(*xy[-1], marker="X", ms=11, color=colour, mec="black", mew=0.8, zorder=z + 2,
                        ls="none")
        pad = {"labelpad": 8} if surface else {}
        ax.set_xlabel(axis_labels[0], **pad)
        ax.set_ylabel(axis_labels[1], **pad)
        ax.set_title(_wrap(title))
        # start / end legend entries drawn in grey, so they read on the white legend box
        ax.plot([], [], "o", ms=9, mfc="none", mec="0.25", mew=2.0, ls="none", label="start")
        ax.plot([], [], "X", ms=10, color="0.25", mec="black", mew=0.6, ls="none", label="end")
        _legend(ax, surface)
        try:
            return _save(fig, out, dpi)
        finally:
            plt.close(fig)


def _minima_label(minima: np.ndarray) -> str:
    return "known minimum" if len(minima) == 1 else f"known minima ({len(minima)})"


def _wrap(text: str, width: int = 60) -> str:
    """Long titles and legend labels broken into lines (explicit line breaks are kept)."""
    import textwrap

    return "\n".join(line for part in text.split("\n") for line in (textwrap.wrap(part, width) or [""]))


def _legend(ax, surface: bool = False) -> None:
    """The legend, labels wrapped, left out of the layout so it never shrinks the axes."""
    handles, labels = ax.get_legend_handles_labels()
    labels = [_wrap(label, 48) for label in labels]
    if surface:
        leg = ax.legend(handles, labels, loc="upper left", framealpha=0.85)
    else:
        leg = ax.legend(handles, labels, loc="best", framealpha=0.85, facecolor="white", edgecolor="0.6")
    leg.set_in_layout(False)


def _square_enough(region: np.ndarray) -> bool:
    w = region[:, 1] - region[:, 0]
    return 0.5 <= w[0] / w[1] <= 2.0


def _cbar_format():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{v:.3g}")


def _cbar_ticks(levels: np.ndarray, logarithmic: bool) -> np.ndarray:
    """About six readable colour-bar ticks among the level boundaries."""
    if not logarithmic:
        import matplotlib.ticker as mt

        return np.array([t for t in mt.MaxNLocator(6).tick_values(levels[0], levels[-1])
                         if levels[0] <= t <= levels[-1]])
    return levels[np.unique(np.linspace(0, len(levels) - 1, 6).round().astype(int))]


def plot_convergence(series: Sequence[CurveSeries], out: str, *, title: str,
                     ylabel: str = "f(x) − f*", log: bool = True, dpi: float = DEFAULT_DPI,
                     budget: int = THIN_BUDGET) -> str:
    """Draw one line per series against iteration; a matrix series gets its median and IQR band.

    With ``log`` the y axis is logarithmic; values ``<= 0`` (a run that reached ``f*`` to the
    last bit) cannot be drawn there and are clipped to a floor one decade below the smallest
    positive value, and values beyond ``VALUE_CEILING`` (a diverging run) are drawn at it; the
    axis label then says so. Each series is thinned to about
    ``budget`` points (:func:`thin_curve`, applied to the median). Returns ``out``.
    """
    _check_dpi(dpi)
    output_format(out)
    prepared = []
    for s in series:
        it = np.asarray(s.iterations, dtype=float)
        v = np.asarray(s.values, dtype=float)
        if v.ndim == 1:
            mid, q1, q3 = v, None, None
        elif v.ndim == 2 and v.shape[0] == 1:
            mid, q1, q3 = v[0], None, None
        elif v.ndim == 2:
            with warnings.catch_warnings():  # 'All-NaN slice' where no member has a row
                warnings.simplefilter("ignore", RuntimeWarning)
                q1, mid, q3 = np.nanpercentile(v, [25.0, 50.0, 75.0], axis=0)
        else:
            raise PlotError(f"series '{s.label}' has values of shape {v.shape}; expected (n,) or (m, n)")
        if mid.shape != it.shape:
            raise PlotError(f"series '{s.label}': {mid.shape[0]} values for {it.shape[0]} iterations")
        idx = thin_curve(mid, budget)
        if q1 is not None:  # keep the band's own extremes too
            idx = np.union1d(idx, np.union1d(thin_curve(q1, budget // 4), thin_curve(q3, budget // 4)))
        members = v.shape[0] if v.ndim == 2 else 1
        prepared.append((s.label, it[idx], mid[idx], None if q1 is None else q1[idx],
                         None if q3 is None else q3[idx], len(it), members))
    # matplotlib's axes fail on values near the float64 limit (a diverging run reaches 1e308)
    capped = False
    for k, (label, it, *arrays, n_all, members) in enumerate(prepared):
        fixed = []
        for a in arrays:
            if a is not None:
                big = np.isfinite(a) & (np.abs(a) > VALUE_CEILING)
                capped |= bool(big.any())
                a = np.where(big, np.sign(a) * VALUE_CEILING, a)
            fixed.append(a)
        prepared[k] = (label, it, *fixed, n_all, members)
    clipped = False
    floor = smallest = None
    if log:
        pos = [a[np.isfinite(a) & (a > 0)] for _, _, m, lo, hi, _, _ in prepared
               for a in (m, lo, hi) if a is not None]
        pos = np.concatenate(pos) if pos else np.array([])
        smallest = float(pos.min()) if pos.size else 1e-300
        floor = smallest / 10.0 if smallest / 10.0 > 0 else smallest  # a denormal cannot go lower
        out_prep = []
        for label, it, mid, lo, hi, n_all, members in prepared:
            fixed = []
            for a in (mid, lo, hi):
                if a is not None:
                    bad = np.isfinite(a) & (a <= 0)
                    clipped |= bool(bad.any())
                    a = np.where(bad, floor, a)
                fixed.append(a)
            out_prep.append((label, it, *fixed, n_all, members))
        prepared = out_prep

    plt = _pyplot()
    from matplotlib.ticker import FuncFormatter

    with plt.rc_context(_style()):
        fig, ax = plt.subplots(figsize=(7.6, 4.8))
        for i, (label, it, mid, lo, hi, n_all, members) in enumerate(prepared):
            colour = CURVE_COLOURS[i % len(CURVE_COLOURS)]
            text = label if members == 1 else f"{label} (median of {members})"
            ax.plot(it, mid, "-", color=colour, lw=1.6, label=text, zorder=3)
            if lo is not None:
                ax.fill_between(it, lo, hi, color=colour, alpha=0.22, lw=0, zorder=2,
                                label="interquartile range" if i == 0 else None)
        if log:
            ax.set_yscale("log")
            top = [float(np.nanmax(a[np.isfinite(a)])) for p in prepared for a in (p[2], p[4])
                   if a is not None and np.isfinite(a).any()]
            if top and floor is not None:
                bottom, highest = min(floor if clipped else smallest, max(top)), max(top)
                with np.errstate(over="ignore"):  # a diverged run may reach 1e308
                    highest = highest * 2.0 if np.isfinite(highest * 2.0) else highest
                ax.set_ylim(bottom / 2.0 if bottom / 2.0 > 0 else bottom, highest)
        ax.set_xlabel("iteration")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        notes = ([f"values <= 0 drawn at {floor:.1e}"] if clipped else []) + (
            [f"beyond {VALUE_CEILING:.0e} drawn at {VALUE_CEILING:.0e}"] if capped else [])
        ax.set_ylabel(ylabel + (f"\n({'; '.join(notes)})" if notes else ""))
        ax.set_title(_wrap(title))
        ax.grid(True, which="major", alpha=0.35)
        ax.grid(True, which="minor", axis="y", alpha=0.12)
        if prepared:
            lo_it = min(float(p[1][0]) for p in prepared if len(p[1]))
            hi_it = max(float(p[1][-1]) for p in prepared if len(p[1]))
            if hi_it > lo_it:
                ax.set_xlim(lo_it, hi_it)
        _legend(ax)
        try:
            return _save(fig, out, dpi)
        finally:
            plt.close(fig)


# ---------------------------------------------------------------------------- from run folders


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def _algorithm_text(run) -> str:
    v = run.variant
    return (run.algorithm or "?") + (f" ({v})" if v and v not in ("default", "standard") else "")


def _value_text(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def run_labels(runs: Sequence[Any]) -> list[str]:
    """Short legend labels that tell the runs apart.

    The run's name when names differ (always for a single run; the title names its algorithm),
    the algorithm when algorithms differ and the name does not already say it, then up to three config values that every run
    has but not all share (``alpha=0.05, seed=3``); the hash ending the run id when two labels
    would still be equal. A run that did not complete says how it ended (``[diverged]``).
    """
    names = [str(r.summary.get("name") or r.config.get("name") or r.id) for r in runs]
    algos = [_algorithm_text(r) for r in runs]
    show_name, show_algo = len(runs) == 1 or len(set(names)) > 1, len(set(algos)) > 1
    flat = [_flatten(r.config) for r in runs]
    fixed = {"name", "algorithm.name", "algorithm.variant", "iterations"}  # the picture shows the steps
    differ = [k for k in flat[0] if k not in fixed and not k.startswith(("expect.", "trace."))
              and all(k in f for f in flat) and len({repr(f[k]) for f in flat}) > 1]
    labels = []
    for r, name, algo, f in zip(runs, names, algos, flat):
        status = r.status if r.status != "completed" else ""
        head = name if show_name else ""
        if show_algo and (r.algorithm or "?") not in head:
            head = f"{head}: {algo}" if head else algo
        values = ", ".join(f"{k.rsplit('.', 1)[-1]}={_value_text(f[k])}" for k in differ[:3])
        labels.append(", ".join(x for x in (head, values) if x) + (f" [{status}]" if status else ""))
    for i, label in enumerate(labels):
        if labels.count(label) > 1 or not label:
            labels[i] = f"{label} [{str(runs[i].id).rsplit('-', 1)[-1]}]".lstrip()
    return labels


def _objective_key(config: dict[str, Any]) -> str:
    return repr(sorted(_flatten({"objective": config.get("objective")}).items()))


def _bounds(run, objective) -> np.ndarray:
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


def _dim(run) -> int:
    d = run.dim
    return int(d) if d is not None else len(_bounds(run, None) if run.config.get("bounds") else [])


def _objective_of(run):
    from .config import validate
    from .experiment import build_objective

    return build_objective(validate(run.config, source=os.path.join(run.path, "config.yaml")))


def _trace(run) -> dict[str, np.ndarray]:
    t = run.trace()
    if "f" not in t or len(t["f"]) == 0:
        raise PlotError(f"run {run.id} has no trace rows to plot yet")
    return t


def resolve_kind(runs: Sequence[Any], kind: str = "auto") -> str:
    """``contour`` for 2-D runs whose traces hold x, ``convergence`` otherwise (for ``auto``)."""
    if kind not in KINDS:
        raise PlotError(f"unknown kind '{kind}'; choose one of {', '.join(KINDS)}")
    two_d = all(_dim(r) == 2 for r in runs)
    if kind == "auto":
        return "contour" if two_d else "convergence"
    if kind in ("contour", "surface") and not two_d:
        dims = sorted({_dim(r) for r in runs})
        raise PlotError(f"a {kind} plot needs 2-D objectives, but these runs have d = "
                        f"{', '.join(map(str, dims))}; use --kind convergence")
    return kind


def default_output(run, kind: str) -> str:
    """Where a picture goes when no file is named: ``<run folder>/<kind>.png``
    (``<sweep folder>/<kind>-member-<N>.png`` for a sweep member)."""
    if getattr(run, "sweep_path", None) is not None:
        return os.path.join(run.sweep_path, f"{kind}-member-{run.member}.png")
    return os.path.join(run.path, f"{kind}.png")


def default_title(runs: Sequence[Any]) -> str:
    """Objective and algorithm(s): ``sphere (d=2): amsgrad (tutorial)``, or ``... vs ...``.

    With more than three algorithms the variants are left out.
    """
    objs: list[str] = []
    algos: list[str] = []
    for r in runs:
        o = f"{r.objective or '?'} (d={_dim(r)})"
        objs += [o] if o not in objs else []
        a = _algorithm_text(r)
        algos += [a] if a not in algos else []
    if len(algos) > 3:
        algos = list(dict.fromkeys(r.algorithm or "?" for r in runs))
    return f"{', '.join(objs)}: {' vs '.join(algos)}"


def plot_runs(runs: Sequence[Any], out: str | None = None, *, kind: str = "auto",
              title: str | None = None, cmap: str = "viridis", dpi: float = DEFAULT_DPI,
              budget: int = THIN_BUDGET) -> str:
    """Draw loaded runs (:func:`optrun.store.read.load_run` objects) and return the file written.

    ``kind`` is ``auto`` (contour for 2-D runs, convergence otherwise), ``contour``, ``surface``
    or ``convergence``; ``out`` defaults to ``<first run>/<kind>.png``.
    """
    if not runs:
        raise PlotError("give at least one run to plot")
    kind = resolve_kind(runs, kind)
    out = out or default_output(runs[0], kind)
    output_format(out)
    _check_dpi(dpi)
    title = title or default_title(runs)
    if kind == "convergence":
        return _plot_runs_convergence(runs, out, title, dpi, budget)

    keys = {_objective_key(r.config) for r in runs}
    if len(keys) > 1:
        raise PlotError("these runs are on different objectives, so one contour cannot show them; "
                        "plot them one at a time or use --kind convergence")
    objective = _objective_of(runs[0])
    bounds = _bounds(runs[0], objective)
    for r in runs[1:]:
        b = _bounds(r, objective)
        bounds[:, 0] = np.minimum(bounds[:, 0], b[:, 0])
        bounds[:, 1] = np.maximum(bounds[:, 1], b[:, 1])
    paths = []
    for r, label in zip(runs, run_labels(runs)):
        t = _trace(r)
        if "x0" not in t or "x1" not in t:
            raise PlotError(f"run {r.id} recorded no x coordinates (trace.x: none), so its path cannot "
                            "be drawn; use --kind convergence")
        paths.append(PathSeries(label, np.column_stack([t["x0"], t["x1"]]), t["f"]))
    return plot_contour(objective, bounds, paths, out, title=title, cmap=cmap, dpi=dpi,
                        surface=kind == "surface", budget=budget)


def _y_axis(series: Sequence[CurveSeries], gap: bool) -> tuple[str, bool]:
    """The y label and scale: f - f* on a log scale when every f* is known; otherwise f, on a
    log scale only when every finite value is positive."""
    if gap:
        return "f(x) − f*  (log scale)", True
    finite = np.concatenate([np.asarray(s.values)[np.isfinite(s.values)] for s in series])
    log = bool(finite.size) and bool(np.all(finite > 0))
    return "f(x)  (f* unknown" + ("; log scale)" if log else "; linear scale)"), log


def _plot_runs_convergence(runs, out, title, dpi, budget) -> str:
    f_stars = []
    for r in runs:
        fs = r.f_min
        if fs is None and "f_min" not in r.summary:  # a run that died before its summary
            try:
                fs = _objective_of(r).f_min
            except OptrunError:
                fs = None
        f_stars.append(fs)
    gap = all(fs is not None for fs in f_stars)
    series = []
    for r, fs, label in zip(runs, f_stars, run_labels(runs)):
        t = _trace(r)
        series.append(CurveSeries(label, t["iteration"], t["f"] - fs if gap else t["f"]))
    ylabel, log = _y_axis(series, gap)
    return plot_convergence(series, out, title=title, ylabel=ylabel, log=log, dpi=dpi, budget=budget)


def plot_run_folder(path: str, out: str | None = None, **options: Any) -> str:
    """Load the run folder at ``path`` and draw it (``optrun run --plot``); return the file written."""
    from .store.read import load_run

    return plot_runs([load_run(path)], out, **options)


# ---------------------------------------------------------------------------- sweeps

SWEEP_PLOT_MEMBERS = 1000  # members drawn per configuration at most (evenly spaced by member number)


def sweep_curves(sweeps: Sequence[Any], group_by: str | None = None,
                 max_members: int = SWEEP_PLOT_MEMBERS) -> tuple[list[CurveSeries], bool]:
    """One :class:`CurveSeries` per configuration of the sweeps (the members that differ only by
    seed, as :func:`optrun.compare.compare_sweeps` groups them), holding the ``(m, n)`` matrix of
    its members' f - f* (or f when some f* is unknown: the second value returned is whether it
    is the gap) on the union of their recorded iterations. A member that stopped early keeps its
    last value (it is frozen, not missing). At most ``max_members`` members per configuration are
    read, evenly spaced."""
    from .compare import compare_sweeps

    comparison = compare_sweeps(sweeps, group_by=group_by)
    by_id = {s.id: s for s in sweeps}
    gap = all(by_id[g.sweep].rows[m].get("f_min") is not None for g in comparison.groups for m in g.members)
    drawn = []
    for g in comparison.groups:
        members = g.members
        if len(members) > max_members:
            members = [members[i] for i in np.linspace(0, len(members) - 1, max_members).round().astype(int)]
        drawn.append(members)
    read: dict[str, dict[int, dict[str, np.ndarray]]] = {}
    for sid, sweep in by_id.items():  # every batch file is read once, whatever the groups
        read[sid] = sweep.traces(sorted({m for g, ms in zip(comparison.groups, drawn) if g.sweep == sid
                                         for m in ms}))
    series = []
    for g, members in zip(comparison.groups, drawn):
        sweep = by_id[g.sweep]
        traces = read[g.sweep]
        its = [traces[m]["iteration"] for m in members]
        grid = np.unique(np.concatenate(its)) if its else np.empty(0, dtype=np.int64)
        values = np.full((len(members), grid.size), np.nan)
        for k, m in enumerate(members):
            t = traces[m]
            if t["iteration"].size == 0:
                continue
            f = t["f"] - sweep.rows[m]["f_min"] if gap else t["f"]
            idx = np.searchsorted(t["iteration"], grid, side="right") - 1
            ok = idx >= 0
            values[k, ok] = f[idx[ok]]
        label = g.label + (f", sample of {g.n:,}" if len(members) < g.n else "")
        series.append(CurveSeries(label, grid, values))
    return series, gap


def plot_sweeps(sweeps: Sequence[Any], out: str | None = None, *, group_by: str | None = None,
                title: str | None = None, dpi: float = DEFAULT_DPI, budget: int = THIN_BUDGET) -> str:
    """Convergence of sweeps (:func:`optrun.store.read.load_sweep` objects): per configuration
    (:func:`sweep_curves`), the median of f - f* across its members with the interquartile band.
    ``out`` defaults to ``<first sweep>/convergence.png``. Returns the file written."""
    if not sweeps:
        raise PlotError("give at least one sweep to plot")
    out = out or os.path.join(sweeps[0].path, "convergence.png")
    output_format(out)
    _check_dpi(dpi)
    series, gap = sweep_curves(sweeps, group_by)
    if not any(np.asarray(s.values).size for s in series):
        raise PlotError(f"sweep {sweeps[0].id} has no trace rows to plot")
    ylabel, log = _y_axis(series, gap)
    title = title or default_title(sweeps) + "\nmedian and interquartile range across seeds"
    return plot_convergence(series, out, title=title, ylabel=ylabel, log=log, dpi=dpi, budget=budget)
