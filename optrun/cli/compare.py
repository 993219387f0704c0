"""``optrun compare RUN RUN...``: runs side by side, the config diff, a convergence plot, a CI gate;
and sweeps aggregated across seeds, tested against each other, ranked.

The figures come from :mod:`optrun.compare` (pure data); this module lays them out as a rich
table, JSON, CSV or markdown, and turns the gate's verdict into the exit status.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import click

from .compare_render import (
    best_line,
    csv_runs,
    csv_sweeps,
    markdown_runs,
    markdown_sweeps,
    print_runs,
    print_sweeps,
    say,
    sweep_best_line,
)
from .options import complete_runs, format_option, quiet_option, runs_dir_option
from .render import echo_json, output_width
from .selectors import SelectorCommand, check_selectors


@dataclass(frozen=True)
class _Options:
    """The options of ``optrun compare``, one bundle for the runs path and the sweeps path."""

    metric: str | None
    target: float
    sort: str | None
    all_config: bool
    fmt: str
    plot_file: str | None
    fail_if_worse: bool
    rtol: float
    group_by: str | None
    alpha: float
    quiet: bool


def _compare_sweeps(chosen, o: _Options) -> None:
    """Sweeps (or configurations) aggregated, tested and ranked in ``o.fmt``; the gate's exit status."""
    from ..compare import compare_sweeps, gate_sweeps
    from ..errors import CompareError

    sweeps = [c for c in chosen if c.kind in ("sweep", "group")]
    if len(sweeps) != len(chosen):
        raise CompareError(
            "compare sweeps with sweeps (or their configurations, SWEEP:KEY=VALUE); to "
            "compare a run with a sweep, name one of its members (SWEEP/7 or "
            "SWEEP:alpha=0.1,seed=3)"
        )
    if o.sort is not None or o.all_config:
        raise click.UsageError("--sort and --all apply to runs, not sweeps")
    fmt, plot_file, rtol, quiet, group_by = o.fmt, o.plot_file, o.rtol, o.quiet, o.group_by
    cmp = compare_sweeps(sweeps, group_by=group_by, metric=o.metric, target=o.target, alpha=o.alpha)
    verdict = gate_sweeps(cmp, rtol) if o.fail_if_worse else None
    if plot_file is not None:
        from ..plot import plot_sweeps
        from ..store.select import split_groups

        drawn, only = split_groups(sweeps)  # a configuration group: its sweep, only its members
        click.echo(f"plot: {plot_sweeps(drawn, plot_file, group_by=group_by, only=only)}", err=True)
    result = (
        verdict.line
        if verdict
        else (cmp.tests[0].line if quiet and len(cmp.tests) == 1 else sweep_best_line(cmp))
    )
    if quiet:
        click.echo(result)
    elif fmt in ("json", "csv"):
        _machine_output(fmt, cmp.to_dict, lambda: csv_sweeps(cmp), verdict, cmp.sides[0], rtol)
    elif fmt == "markdown":
        click.echo(markdown_sweeps(cmp, result), nl=False)
    else:
        print_sweeps(cmp, result)
    if verdict is not None:
        sys.exit(verdict.exit_code)


# ------------------------------------------------------------------------------------ the command


def _machine_output(fmt: str, to_dict, to_csv, verdict, baseline: str, rtol: float) -> None:
    """JSON (with the gate's verdict inside) or CSV on stdout; the gate's line on stderr."""
    if fmt == "json":
        data = to_dict()
        if verdict:
            data["gate"] = {
                "baseline": baseline,
                "rtol": rtol,
                "worse": verdict.worse,
                "exit_code": verdict.exit_code,
                "line": verdict.line,
            }
        echo_json(data)
    else:
        click.echo(to_csv(), nl=False)
    if verdict:
        click.echo(verdict.line, err=True)


@click.command(cls=SelectorCommand, context_settings={"ignore_unknown_options": True})
@click.argument("selectors", nargs=-1, metavar="RUN RUN...", shell_complete=complete_runs)
@runs_dir_option
@click.option(
    "--metric",
    default=None,
    metavar="METRIC",
    help="What 'best' means and what --fail-if-worse checks: final_f, best_f, f_gap, distance, "
    "grad_norm, iterations_to_target, final_avg_regret, final_regret, wall_time, "
    "time_per_iteration, and for learning runs with test data test_loss (final test loss) and "
    "test_error (1 - final test accuracy; test_accuracy is the same ranking) (lower is better). "
    "[default: final_avg_regret when every run or member "
    "is online (records regret); else final_f for runs, f_gap for sweeps (final f where f* is "
    "unknown)]",
)
@click.option(
    "--target",
    type=float,
    default=1e-6,
    show_default=True,
    help="The f - f* target of --metric iterations_to_target.",
)
@click.option(
    "--sort",
    "sort",
    default=None,
    metavar="METRIC",
    help="Order the columns by this metric, best first (default: the order given).",
)
@click.option("--all", "all_config", is_flag=True, help="Show every config key, not only those that differ.")
@format_option("json", "csv", "markdown")
@click.option(
    "--plot",
    "plot_file",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Also draw f - f* (log scale) against iteration for every run to FILE (.png or .svg).",
)
@click.option(
    "--fail-if-worse",
    is_flag=True,
    help="CI gate: exit 1 if a CANDIDATE (2nd, 3rd ... RUN) is worse than the BASELINE "
    "(1st RUN) on --metric beyond --rtol, or did not complete when the baseline did.",
)
@click.option(
    "--rtol",
    type=float,
    default=0.0,
    show_default=True,
    help="Relative tolerance of --fail-if-worse: worse means above baseline + rtol * |baseline|.",
)
@click.option(
    "--group-by",
    "group_by",
    default=None,
    metavar="KEY",
    help="Sweeps: split each sweep by the values of this axis (e.g. algorithm.name or alpha) "
    "and compare the groups.",
)
@click.option(
    "--significance",
    "--alpha",
    "alpha",
    type=float,
    default=0.05,
    show_default=True,
    help="Sweeps: significance level of the tests (and of --fail-if-worse); "
    "--alpha is the same option (the statisticians' name, not the learning rate).",
)
@quiet_option
def compare(selectors, runs_dir, **options):
    """Compare two or more runs side by side, or one or more sweeps across seeds; gate CI.

    Rows: status, iterations, final f, best f and its iteration, final gradient
    norm, distance to the known optimum, f - f*, the first iteration at which
    f - f* falls below each of 1e-1 ... 1e-8 ('-' where never), wall time and
    time per iteration; then the config keys whose values differ. The best run of
    each row is marked with '*' (lower is better).

    Sweeps (not mixed with runs): ONE sweep is enough. `optrun compare SWEEP`
    groups its members that differ only by seed into configurations: median and
    interquartile range of final f - f*, the share of members reaching each
    target with their median iterations; the best configuration is marked. Axes
    with one value in every configuration are said once above the table; two
    sweeps are A and B in the labels (A = SWEEP_ID above the table). A table
    wider than the terminal (or COLUMNS, or 100 when piped) continues below,
    its labels wrapped; no number is cut.
    Two sweeps, two configurations (SWEEP:algorithm=adam,alpha=0.1 names one
    with all its seeds), or two groups of --group-by are compared by a two-sided
    test across seeds (statistic, p-value, which is better, a one-line verdict):
    the Wilcoxon signed-rank test of pairs when both have the same seeds (each
    member paired with the other's member of its seed: common random numbers),
    else the Mann-Whitney U test. A sweep over algorithm.name and objective.name
    also gets a ranking: each algorithm's mean rank over objectives.
    Online runs (every run or member records regret) are ranked and tested on
    final average regret R_T / T instead of f. Learning runs with test data
    (objective.test) add the rows final test loss and final test accuracy (its
    best is the highest); --metric test_loss or test_error ranks and tests runs
    and sweeps on them.

    \b
    RUN is a run folder, a unique prefix of a run id, or last / -1 (newest), -2, ...;
    SWEEP/7 or SWEEP:alpha=0.01,seed=3 is one member of a sweep, and
    SWEEP:algorithm=adam,alpha=0.1 the members it matches (all seeds). Values
    printed in labels paste back: alpha=0.0316228 matches 0.03162277660168379.

    \b
    Examples:
      optrun compare -2 -1
      optrun compare RUN_A RUN_B --all --format markdown >> pr-comment.md
      optrun compare RUN_A RUN_B RUN_C --sort final_f --plot convergence.png
      optrun compare BASELINE CANDIDATE --fail-if-worse --rtol 0.05   # exit 1 if worse
      optrun compare SWEEP                       # one sweep: median and IQR per configuration
      optrun compare SWEEP:algorithm=adam SWEEP:algorithm=amsgrad   # paired by seed
      optrun compare SWEEP_A SWEEP_B --fail-if-worse   # worse only if significant
      optrun compare SWEEP --group-by algorithm.name --format markdown
      optrun compare SWEEP --group-by algorithm.name --metric test_error   # learning

    Exit status: 0, or 1 when --fail-if-worse finds a worse candidate (for
    sweeps: a worse median beyond --rtol and, with 5 or more members each,
    p < --significance); 2 for a RUN that matches nothing or a damaged run folder.
    """
    from ..store.select import select

    o = _Options(**options)
    check_selectors(selectors)
    if not selectors:
        raise click.UsageError("give at least two runs (or one sweep) to compare, e.g. optrun compare -2 -1")
    if o.plot_file is not None:
        from ..plot import output_format

        output_format(o.plot_file)
    chosen = [select(s, runs_dir, groups=True) for s in selectors]
    if any(c.kind in ("sweep", "group") for c in chosen):
        _compare_sweeps(chosen, o)
        return
    if o.group_by is not None:
        raise click.UsageError("--group-by splits sweeps; these are runs")
    if len(selectors) < 2:
        raise click.UsageError("give at least two runs to compare, e.g. optrun compare -2 -1")
    _compare_runs(chosen, o)


def _direction(comparison) -> str:
    """Which way 'best' points: lower, but higher for the rows that say so (test accuracy)."""
    higher = [r.label for r in comparison.rows if r.higher]
    return "lower is better" + (f"; higher for {', '.join(higher)}" if higher else "")


def _compare_runs(runs, o: _Options) -> None:
    """Runs side by side in ``o.fmt``, a convergence plot, the gate's verdict as the exit status."""
    from ..compare import compare_runs, gate, metric_key

    fmt, plot_file, rtol, quiet, sort = o.fmt, o.plot_file, o.rtol, o.quiet, o.sort

    metric = None if o.metric is None else metric_key(o.metric)  # None: compare_runs chooses
    if sort is not None:
        sort = metric_key(sort)
    comparison = compare_runs(runs, metric=metric, target=o.target, sort=sort, all_config=o.all_config)
    verdict = gate(comparison, rtol) if o.fail_if_worse else None

    if plot_file is not None:
        from ..plot import plot_runs

        order = {s.id: i for i, s in enumerate(comparison.runs)}
        written = plot_runs(sorted(runs, key=lambda r: order.get(r.id, 0)), plot_file, kind="convergence")
        click.echo(f"plot: {written}", err=True)

    result = verdict.line if verdict else best_line(comparison)
    if quiet:
        if result:
            click.echo(result)
    elif fmt in ("json", "csv"):
        _machine_output(
            fmt, comparison.to_dict, lambda: csv_runs(comparison), verdict, comparison.given[0].id, rtol
        )
    elif fmt == "markdown":
        text = markdown_runs(comparison)
        notes = [f"Best per row in **bold** ({_direction(comparison)}).", *comparison.notes]
        if result:
            notes.append(result)
        click.echo(text + "\n" + "".join(f"- {n}\n" for n in notes), nl=False)
    else:
        print_runs(comparison)
        click.echo("")
        for note in [f"* best per row ({_direction(comparison)})", *comparison.notes]:
            say(note, output_width())
        if result:
            say(result, output_width())
    if verdict is not None:
        sys.exit(verdict.exit_code)
