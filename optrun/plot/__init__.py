"""Pictures of runs and sweeps, each written as PNG, SVG or PDF (chosen by the file's extension).

The kinds of picture:

* ``contour`` (2-D objectives): the tutorials' filled contour of ``f`` over the run's bounds with
  each run's search path drawn over it (:mod:`~optrun.plot.contour`);
* ``surface`` (2-D objectives): the tutorials' 3-D view, the path lifted onto the surface;
* ``convergence`` (any dimension): ``f - f*`` against iteration on a logarithmic axis, one panel
  per objective (:mod:`~optrun.plot.convergence`); a sweep as the median of its seeds with the
  interquartile band (:mod:`~optrun.plot.sweeps`). ``where`` conditions choose what is drawn
  (:mod:`~optrun.plot.where`);
* ``regret`` (online runs and sweeps, whose traces have ``avg_regret``): the two panels of Reddi,
  Kale and Kumar (2018) per objective, ``x_t`` and ``R_t / t`` against the round ``t`` on a log
  axis (:mod:`~optrun.plot.regret`), drawn by the convergence figure's code;
* ``learning`` (learning runs and sweeps with test data, whose traces have ``test_loss``): per
  objective the training loss f - f* and the test accuracy (test loss for least squares)
  against iteration (:mod:`~optrun.plot.learning`), drawn by the convergence figure's code.

The package, by job: :mod:`~optrun.plot.data` (what to draw; no matplotlib),
:mod:`~optrun.plot.thin` (long traces thinned to a few thousand points per series),
:mod:`~optrun.plot.labels` (the words), :mod:`~optrun.plot.outputs` (file names and checks),
:mod:`~optrun.plot.draw` (what every picture shares with matplotlib; files written through
:mod:`optrun.store.pictures`), :mod:`~optrun.plot.contour`, :mod:`~optrun.plot.convergence`,
:mod:`~optrun.plot.runs` and :mod:`~optrun.plot.sweeplines` / :mod:`~optrun.plot.sweeps` (from
loaded runs and sweeps to pictures).

matplotlib is imported only inside the functions that draw, with the headless ``Agg`` backend;
without it a :class:`optrun.errors.PlotUnavailable` error (exit 2) says how to install it.
"""

from .contour import plot_contour
from .convergence import convergence_figure, plot_convergence
from .data import (
    KINDS,
    CurveSeries,
    LegendEntry,
    Panel,
    PathSeries,
    contour_levels,
    signed_scale,
)
from .draw import looks, palette, require_matplotlib
from .labels import default_title, run_labels, run_tag
from .learning import has_test
from .outputs import default_output, output_format, shared_output, subset_name
from .regret import has_regret, rounds
from .runs import learning_of_runs, plot_run_folder, plot_runs, regret_of_runs, resolve_kind
from .sweeplines import SweepLine, sweep_curves, sweep_lines
from .sweeps import plot_sweeps, sweep_picture
from .thin import THIN_BUDGET, thin_curve, thin_path
from .where import Where, parse_where, select_members, select_runs, value_matches

__all__ = [
    "KINDS",
    "THIN_BUDGET",
    "CurveSeries",
    "LegendEntry",
    "Panel",
    "PathSeries",
    "SweepLine",
    "Where",
    "contour_levels",
    "convergence_figure",
    "default_output",
    "default_title",
    "has_regret",
    "has_test",
    "learning_of_runs",
    "looks",
    "output_format",
    "palette",
    "parse_where",
    "plot_contour",
    "plot_convergence",
    "plot_run_folder",
    "plot_runs",
    "plot_sweeps",
    "regret_of_runs",
    "require_matplotlib",
    "resolve_kind",
    "rounds",
    "run_labels",
    "run_tag",
    "select_members",
    "select_runs",
    "shared_output",
    "signed_scale",
    "subset_name",
    "sweep_curves",
    "sweep_lines",
    "sweep_picture",
    "thin_curve",
    "thin_path",
    "value_matches",
]
