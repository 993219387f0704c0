"""``optrun plot``: draw runs to a PNG, SVG or PDF file."""

from __future__ import annotations

import click

from .options import complete_runs, runs_dir_option
from .selectors import SelectorCommand

KIND_CHOICES = ("auto", "contour", "surface", "convergence", "regret", "learning")


@click.command(cls=SelectorCommand, context_settings={"ignore_unknown_options": True})  # -1, -2 reach RUN...
@click.argument("selectors", nargs=-1, required=True, metavar="RUN...", shell_complete=complete_runs)
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False),
    help="File to write; .png, .svg or .pdf picks the format. [default: one run: "
    "<run folder>/<kind>.png; one sweep: <sweep folder>/<kind>.png (convergence or regret); "
    "part of a sweep (SWEEP:KEY=VALUE, --where): <sweep folder>/<kind>-KEY=VALUE,....png; "
    "several: the same names in the working folder]",
)
@click.option(
    "--kind",
    type=click.Choice(KIND_CHOICES),
    default="auto",
    show_default=True,
    help="auto: regret for online runs (traces with avg_regret), learning for learning runs "
    "with test data (traces with test_loss), else contour for 2-D runs, convergence otherwise.",
)
@click.option("--surface", is_flag=True, help="The 3-D surface view (same as --kind surface).")
@click.option("--cmap", default="viridis", show_default=True, help="matplotlib colormap of the contour.")
@click.option("--title", default=None, help="Title [default: objective and algorithm].")
@click.option(
    "--dpi",
    type=click.FloatRange(10, 1200),
    default=100,
    show_default=True,
    help="Resolution of PNG output (pixels = inches x dpi).",
)
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="KEY=VALUE",
    help="Draw only the sweep members (or runs) with this value; repeatable: values of one "
    "KEY are alternatives, different KEYs must all match. KEY as in SWEEP:KEY=VALUE "
    "(alpha for algorithm.alpha, algorithm for algorithm.name); numbers match at the "
    "precision given (alpha=0.0316228).",
)
@runs_dir_option
def plot(selectors, output, kind, surface, cmap, title, dpi, where, runs_dir):
    """Draw one or more RUNs and print the path of the file written.

    A RUN is a run folder, a unique prefix of a run id, or last / -1, -2, ...;
    SWEEP/7 or SWEEP:alpha=0.01,seed=3 is one member of a sweep. A whole SWEEP
    is drawn as the median of f - f* across seeds with its interquartile band,
    one line per configuration: one panel per objective, a line style per
    algorithm, a colour per setting, the legend beside the panels; --where
    chooses what is drawn. Without -o a part of a sweep (SWEEP:KEY=VALUE,
    --where) is written beside the sweep's convergence.png, never over it, as
    convergence-KEY=VALUE,....png; the title states the values that every line
    drawn shares.

    For a 2-D objective the picture is the tutorials' contour plot: the objective's
    filled contour over the run's bounds with each run's search path as dots joined
    by a line (start circled, end crossed, known minima starred). For any dimension,
    --kind convergence draws f - f* against iteration on a log scale, one line per run,
    one panel per objective.

    For online runs and sweeps (an online objective: traces with regret and
    avg_regret) --kind regret, what auto picks for them, draws the two panels of
    Reddi et al. (2018) per objective, side by side against the round t =
    iteration + 1 on a log axis: the point played x_t (its first coordinate when
    d > 1; dotted: the known optimum x*) and the average regret R_t / t (log
    scale when every value drawn is positive, else a symmetric log scale whose
    linear band the axis label states). A sweep draws per configuration the
    median across seeds with the interquartile band. Online runs mixed with
    others are refused: plot them apart or all with --kind convergence.

    For learning runs and sweeps with test data (traces with test_loss) --kind
    learning, what auto picks for them, draws per objective the training loss
    f - f* (log scale; f where f* is unknown) and the test accuracy (the test
    loss for least squares) against the iteration; sweeps as above. A
    minibatch run's lines join the rows it recorded (every trace.every steps).
    Traces longer than a few thousand points are thinned before drawing.

    \b
    Examples:
      optrun plot last
      optrun plot last -2 -o paths.png           # two runs on one contour
      optrun plot last --surface -o surface.svg
      optrun plot last --kind convergence --title "AMSGrad on the sphere"
      optrun plot SWEEP -o sweep.png             # median and IQR per alpha
      optrun plot SWEEP --where algorithm=adam --where alpha=0.01 --where alpha=0.1
      optrun plot SWEEP --where seed=3           # one member per configuration
      optrun plot SWEEP:algorithm=adam SWEEP:algorithm=amsgrad,alpha=0.1   # configuration groups
      optrun plot SWEEP:algorithm=adam,alpha=0.01   # SWEEP/convergence-algorithm=adam,alpha=0.01.png
      optrun plot last -2 -o reddi.png           # online runs: x_t and R_t / t
      optrun plot SWEEP --kind regret --where algorithm=amsgrad
      optrun plot SWEEP -o learning.png        # learning: f - f* and test accuracy
    """
    from ..plot import plot_runs
    from .selectors import check_selectors

    check_selectors(selectors)  # unknown options land in RUN... too: only -N is a selector
    if surface:
        if kind not in ("auto", "surface"):
            raise click.UsageError(f"--surface contradicts --kind {kind}; give one of them")
        kind = "surface"
    from ..store.select import select, split_groups

    # SWEEP:KEY=VALUE naming several members (a configuration, all its seeds) draws its sweep with
    # only those members
    given = [select(s, runs_dir, groups=True) for s in selectors]
    chosen, only = split_groups(given)
    # what narrowed a sweep names the picture's file (so it never replaces the whole sweep's)
    specs = [g.spec for g in given if getattr(g, "kind", None) == "group" and g.sweep.id in only]
    sweeps = [c for c in chosen if c.kind == "sweep"]
    if sweeps:  # a sweep: median and interquartile band per configuration
        if len(sweeps) != len(chosen):
            raise click.UsageError("plot sweeps together or runs together; a sweep member (SWEEP/7) is a run")
        from ..plot import plot_sweeps

        click.echo(
            plot_sweeps(
                sweeps, output, kind=kind, title=title, dpi=dpi, where=where, only=only, selectors=specs
            )
        )
        return
    click.echo(plot_runs(chosen, output, kind=kind, title=title, cmap=cmap, dpi=dpi, where=where))
