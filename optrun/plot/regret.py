"""What a regret picture draws (no matplotlib here): the two panels of Reddi, Kale and Kumar
(ICLR 2018, Figure 1) per objective, the point played ``x_t`` and the average regret ``R_t / t``,
both against the round ``t`` on a logarithmic axis.

The contract with the traces of an online run (docs/formats.md): row ``iteration = r`` holds the
point after ``r`` steps, ``x_r``, which is the point played in round ``t = r + 1``; its ``regret``
is ``R_{r+1}`` and its ``avg_regret`` is ``R_{r+1} / (r + 1)``. So both panels are drawn against
``t = iteration + 1`` (which a log axis can also show: it starts at 1).

* ``x_t``: for a 1-D problem the point itself; for ``d > 1`` its first coordinate (``x0``), the
  panel's title says so. It is drawn on a linear axis, with the known optimum ``x*`` (its first
  coordinate) as a dotted line when the objective has one minimizer. A trace that recorded no x
  (``trace.x: none``) leaves the panel with a note.
* ``R_t / t``: it may be negative or zero in early rounds (a round whose loss at x* is larger than
  at the point played), so its scale is chosen from what is drawn
  (:func:`~optrun.plot.data.signed_scale`): logarithmic when every value is positive, otherwise a
  symmetric log scale whose linear band is stated in the axis label.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .data import CurveSeries, Panel

REGRET_COLUMN = "avg_regret"
X_LABEL = "round $t$  (log scale)"
REGRET_LABEL = "average regret  $R_t/t$"


def has_regret(columns: Any) -> bool:
    """Whether a trace (its columns by name, or their names) is an online run's: has ``avg_regret``."""
    return REGRET_COLUMN in columns


def rounds(iterations: np.ndarray) -> np.ndarray:
    """The round ``t`` of each trace row: ``iteration + 1`` (row ``r`` holds the point played in
    round ``r + 1`` and the regret after it)."""
    return np.asarray(iterations, dtype=np.int64) + 1


def played(trace: dict[str, np.ndarray]) -> np.ndarray | None:
    """The point played as drawn: the ``x0`` column (the point for d = 1, its first coordinate
    otherwise); ``None`` when the trace recorded no x."""
    return trace.get("x0")


def x_panel(key: str, dim: int | None, optimum: float | None, recorded: bool, titled: bool) -> Panel:
    """The left panel of an objective's pair: ``x_t`` (its first coordinate when ``d > 1``)."""
    what = "$x_t$" if dim in (None, 1) else f"$x_{{t,1}}$, the first of d = {dim} coordinates"
    ylabel = what + ("" if optimum is None else f"  (dotted: $x^*$ = {optimum:g})")
    note = None if recorded else "x was not recorded (trace.x: none)"
    title = f"{key}: {what}" if titled else f"the point played, {what}"
    return Panel(title, ylabel, log=False, hline=optimum, note=note)


def regret_panel(key: str, titled: bool) -> Panel:
    """The right panel of an objective's pair: ``R_t / t`` on a scale chosen from its values."""
    title = f"{key}: $R_t/t$" if titled else "the average regret, $R_t/t$"
    return Panel(title, REGRET_LABEL, log=False, signed=True)


def regret_layout(
    keys: Sequence[str],
    dims: dict[str, int | None],
    optima: dict[str, float | None],
    recorded: dict[str, bool],
) -> list[Panel]:
    """Two panels per objective key (in order of first appearance): ``x_t``, then ``R_t / t``;
    line ``i`` of key ``k`` draws its x in panel ``2 j`` and its regret in ``2 j + 1`` (``j`` the
    key's place). With several objectives each panel's title names its objective."""
    order = list(dict.fromkeys(keys))
    titled = len(order) > 1
    out: list[Panel] = []
    for k in order:
        out += [
            x_panel(k, dims.get(k), optima.get(k), recorded.get(k, True), titled),
            regret_panel(k, titled),
        ]
    return out


def regret_series(
    label: str,
    t: np.ndarray,
    x: np.ndarray | None,
    avg_regret: np.ndarray,
    place: int,
    colour: str | None = None,
    linestyle: Any = "-",
) -> list[CurveSeries]:
    """A run's (``(n,)`` values) or a configuration's (``(m, n)``: median and band) two series:
    ``x`` in panel ``2 place`` (none when x was not recorded), ``avg_regret`` in ``2 place + 1``,
    both against the rounds ``t``."""
    out = [] if x is None else [CurveSeries(label, t, x, 2 * place, colour, linestyle)]
    return out + [CurveSeries(label, t, avg_regret, 2 * place + 1, colour, linestyle)]


def first_optimum(objective: Any) -> float | None:
    """The first coordinate of the objective's known minimizer, when it has exactly one
    (``x* = -1`` of the paper's problems); ``None`` otherwise."""
    minima = np.asarray(getattr(objective, "minima", np.zeros((0, 1))), dtype=float)
    if minima.ndim != 2 or minima.shape[0] != 1 or minima.shape[1] == 0:
        return None
    return float(minima[0, 0])


REGRET_LAYOUT = {
    "xlabel": X_LABEL,
    "xlog": True,
    "columns": 2,
    "legend_below": True,
}  # how the figure is laid out
