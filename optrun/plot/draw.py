"""What every picture shares with matplotlib: importing it lazily on the headless Agg backend,
the style of the figures, the colours and line styles of curves, and writing a figure to its file.

matplotlib is imported only inside these functions (never when optrun starts); without it
:class:`~optrun.errors.PlotUnavailable` (exit 2) says how to install it. A figure is written
in one place, :func:`save_figure`, through :func:`optrun.store.pictures.write_picture` (atomic).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import PlotError, PlotUnavailable
from ..store.pictures import write_picture
from .outputs import output_format


def require_matplotlib() -> None:
    """Raise :class:`PlotUnavailable` unless matplotlib can be imported (pyplot is not loaded)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotUnavailable() from None


def pyplot():
    """matplotlib's pyplot on the headless Agg backend (imported here, never at start-up)."""
    try:
        import matplotlib
    except ImportError:
        raise PlotUnavailable() from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def style() -> dict[str, Any]:
    """The rc settings every figure is built and written under (fixed SVG ids: same bytes twice)."""
    return {
        "font.size": 11,
        "axes.titlesize": 12,
        "axes.labelsize": 11,
        "legend.fontsize": 9.5,
        "xtick.labelsize": 10,
        "ytick.labelsize": 10,
        "figure.constrained_layout.use": True,
        "figure.constrained_layout.w_pad": 0.1,
        "figure.constrained_layout.h_pad": 0.08,
        "svg.hashsalt": "optrun",
        "svg.fonttype": "path",
    }


def save_figure(fig, path: str, dpi: float) -> str:
    """Write the figure to ``path`` atomically (a temporary file renamed over it); return ``path``."""
    fmt = output_format(path)

    def save(tmp: str) -> None:
        with np.errstate(over="ignore", invalid="ignore"):  # log axes near the float64 limit
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata={"Software": "optrun"} if fmt == "png" else None)

    try:
        return write_picture(path, save)
    except OSError as e:
        raise PlotError(f"cannot write '{path}': {e.strerror or e}") from None


def save_and_close(fig, out: str, dpi: float) -> str:
    """Write the figure (:func:`save_figure`) under the figures' style, then close it."""
    plt = pyplot()
    try:
        with plt.rc_context(style()):  # the SVG settings apply when the file is written
            return save_figure(fig, out, dpi)
    finally:
        plt.close(fig)


# One line style per algorithm: solid, dashed, dotted, dash-dot, then dash patterns that stay
# apart at a line width of 1.8 (matplotlib's (offset, (on, off, ...)) in line widths).
LINE_STYLES: tuple[Any, ...] = (
    "-",
    "--",
    ":",
    "-.",
    (0, (8, 2, 1.5, 2, 1.5, 2)),
    (0, (12, 3)),
    (0, (1.5, 1.5)),
    (0, (5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5)),
    (0, (14, 2, 4, 2)),
)


def palette(n: int) -> list[str]:
    """``n`` distinct colours: tab10 up to 10; tab20 up to 20 (its ten dark shades first, then
    their light partners, so neighbours differ in hue); beyond that ``n`` samples of the sequential
    ``viridis`` map (its light yellow end left out), where order is what can still be read."""
    try:
        from matplotlib import colormaps
        from matplotlib.colors import to_hex
    except ImportError:
        raise PlotUnavailable() from None

    if n <= 10:
        return [to_hex(c) for c in colormaps["tab10"].colors[:n]]
    if n <= 20:
        tab20 = colormaps["tab20"].colors
        return [to_hex(c) for c in (tab20[0::2] + tab20[1::2])[:n]]
    cmap = colormaps["viridis"]
    return [to_hex(cmap(x)) for x in np.linspace(0.0, 0.9, n)]


def looks(style_keys: Sequence[Any], colour_keys: Sequence[Any]) -> list[tuple[str, Any]]:
    """``(colour, linestyle)`` per line: a line style per style key (the algorithm) and a colour per
    colour key (the setting), so no two lines with different keys look alike.

    When only one of the two varies it sets both colour and style (three algorithms at one setting
    get three colours as well as three styles). With more algorithms than :data:`LINE_STYLES`,
    the styles repeat with a fresh set of colours."""
    styles = list(dict.fromkeys(style_keys))
    colours = list(dict.fromkeys(colour_keys))
    n_styles = len(LINE_STYLES)
    if len(styles) <= 1:
        pal = palette(len(colours))
        return [(pal[colours.index(c)], "-") for c in colour_keys]
    if len(colours) <= 1:
        pal = palette(len(styles))
        return [(pal[styles.index(s)], LINE_STYLES[styles.index(s) % n_styles]) for s in style_keys]
    cycles = -(-len(styles) // n_styles)
    pal = palette(len(colours) * cycles)
    out = []
    for s, c in zip(style_keys, colour_keys):
        si, ci = styles.index(s), colours.index(c)
        out.append((pal[ci + len(colours) * (si // n_styles)], LINE_STYLES[si % n_styles]))
    return out
