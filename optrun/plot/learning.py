"""What a learning picture draws (no matplotlib here): for runs of a learning objective with test
data (``objective.test``: traces with ``test_loss``, and ``test_accuracy`` for classifiers), two
panels per objective against the iteration, as the benchmarks of optimizers for learning show
them (the training loss and the held-out figure side by side):

* the training loss: ``f - f*`` on a log scale where every f* is known (the full regularised
  training loss minus its optimum), else ``f`` (:func:`~optrun.plot.data.y_axis`);
* the test accuracy (share of held-out samples classified right; linear axis), or for least
  squares, which has no accuracy, the test loss (the unregularised mean loss on the test data).

A minibatch run records its rows every ``trace.every`` steps: the lines join the recorded rows. A
sweep draws per configuration the median across seeds with the interquartile band, on the union
of its members' recorded iterations (:func:`~optrun.plot.sweeplines.member_matrix`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .data import CurveSeries, Panel, y_axis
from .sweeplines import SweepLine, has_f_star, lines_lacking, member_curves, member_matrix

TEST_LOSS = "test_loss"
TEST_ACCURACY = "test_accuracy"
LEARNING_LAYOUT = {"columns": 2, "legend_below": True}  # how the figure is laid out


def has_test(columns: Any) -> bool:
    """Whether a trace (its columns by name, or their names) has test figures: ``test_loss``."""
    return TEST_LOSS in columns


def test_column(traces: Sequence[Any]) -> str:
    """What the test panel draws: ``test_accuracy`` when every trace has it (classification),
    else ``test_loss`` (least squares, or classifiers drawn with it)."""
    return TEST_ACCURACY if traces and all(TEST_ACCURACY in t for t in traces) else TEST_LOSS


def training_panel(key: str, series: Sequence[CurveSeries], gap: bool, titled: bool) -> Panel:
    """The left panel of an objective's pair: f - f* (log) when f* is known, else f."""
    ylabel, log = y_axis(series, gap)
    what = "training loss, f − f*" if gap else "training loss, f"
    return Panel(f"{key}: {what}" if titled else what, ylabel, log)


def test_panel(key: str, column: str, titled: bool) -> Panel:
    """The right panel of an objective's pair: test accuracy, or test loss."""
    what = "test accuracy" if column == TEST_ACCURACY else "test loss"
    ylabel = (
        "test accuracy  (share of test samples)"
        if column == TEST_ACCURACY
        else "test loss  (mean, unregularised)"
    )
    return Panel(f"{key}: {what}" if titled else what, ylabel, log=False)


def learning_layout(
    keys: Sequence[str], series: Sequence[CurveSeries], gaps: dict[str, bool], columns: dict[str, str]
) -> list[Panel]:
    """Two panels per objective key (in order of first appearance): the training loss in panel
    ``2 j`` and the test figure ``columns[key]`` in ``2 j + 1`` (``j`` the key's place). With
    several objectives each panel's title names its objective."""
    order = list(dict.fromkeys(keys))
    titled = len(order) > 1
    out: list[Panel] = []
    for j, k in enumerate(order):
        here = [s for s in series if s.panel == 2 * j]
        out += [training_panel(k, here, gaps[k], titled), test_panel(k, columns[k], titled)]
    return out


def learning_series(
    label: str,
    iterations: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    place: int,
    colour: str | None = None,
    linestyle: Any = "-",
) -> list[CurveSeries]:
    """A run's (``(n,)`` values) or a configuration's (``(m, n)``: median and band) two series:
    the training loss in panel ``2 place``, the test figure in ``2 place + 1``."""
    return [
        CurveSeries(label, iterations, train, 2 * place, colour, linestyle),
        CurveSeries(label, iterations, test, 2 * place + 1, colour, linestyle),
    ]


def untested_lines(lines: Sequence[SweepLine], read: dict[str, Any]) -> list[int | None]:
    """:func:`~optrun.plot.sweeplines.lines_lacking` the test columns."""
    return lines_lacking(lines, read, has_test)


def learning_of_lines(
    lines: Sequence[SweepLine],
    read: dict[str, Any],
    labels: Sequence[str],
    styled: Sequence[tuple[str, Any]],
) -> tuple[list[CurveSeries], list[Panel]]:
    """What the learning picture of sweeps draws: per objective the training loss and the test
    figure against the iteration; per line (configuration) the ``(m, n)`` matrices of its members'
    f - f* (f where some f* is unknown) and test accuracy or loss, drawn as median and band."""
    keys = [line.objective for line in lines]
    order = list(dict.fromkeys(keys))
    gaps = {k: all(has_f_star(line) for line in lines if line.objective == k) for k in order}
    columns = {
        k: test_column([read[x.sweep.id][m] for x in lines if x.objective == k for m in x.members])
        for k in order
    }
    curves = member_curves(lines, [gaps[k] for k in keys], read)
    series: list[CurveSeries] = []
    for line, key, label, (colour, ls), (grid, train) in zip(lines, keys, labels, styled, curves):
        test = member_matrix(line, read[line.sweep.id], columns[key])[1]
        series += learning_series(label, grid, train, test, order.index(key), colour, ls)
    return series, learning_layout(keys, series, gaps, columns)
