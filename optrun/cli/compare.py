"""``optrun compare RUN RUN...``: runs side by side, the config diff, a convergence plot, a CI gate.

The figures come from :mod:`optrun.compare` (pure data); this module lays them out as a rich
table, JSON, CSV or markdown, and turns the gate's verdict into the exit status.
"""

from __future__ import annotations

import sys

import click

from .options import format_option, quiet_option, runs_dir_option
from .runs import check_selectors, csv_text, echo_json, markdown_text, print_table

BEST_STYLE = "bold green"


def _headers(comparison) -> list[str]:
    labels = [s.label for s in comparison.runs]
    return [lab if labels.count(lab) == 1 else f"{lab} #{i + 1}" for i, lab in enumerate(labels)]


def _cells(row) -> list[str]:
    return [t + (" *" if j in row.best else "") for j, t in enumerate(row.text)]


def _print_table(comparison) -> None:
    rows = comparison.rows + comparison.config_rows
    body = [[r.label, *_cells(r)] for r in rows]
    styles = [[None, *[BEST_STYLE if j in r.best else None for j in range(len(r.text))]] for r in rows]
    sections = [len(comparison.rows)] if comparison.config_rows else []
    if comparison.config_rows:
        body[len(comparison.rows)][0] = "config: " + body[len(comparison.rows)][0]
    print_table(["", *_headers(comparison)], body, right=tuple(range(1, len(comparison.runs) + 1)),
                styles=styles, sections=sections)


def _markdown(comparison) -> str:
    def md_row(r) -> list[str]:
        return [r.label, *[f"**{t}**" if j in r.best else t for j, t in enumerate(r.text)]]

    body = [md_row(r) for r in comparison.rows]
    if comparison.config_rows:
        body.append(["**config**", *[""] * len(comparison.runs)])
        body += [[f"`{r.label}`", *[f"`{t}`" for t in r.text]] for r in comparison.config_rows]
    return markdown_text(["", *_headers(comparison)], body)


def _csv(comparison) -> str:
    ids = [s.id for s in comparison.runs]
    rows = []
    for r in comparison.rows + comparison.config_rows:
        vals = [v if isinstance(v, (int, float, str)) or v is None else str(v) for v in r.values]
        rows.append([r.key, r.label, *vals, " ".join(ids[i] for i in r.best)])
    return csv_text(["key", "label", *ids, "best"], rows)


def _best_line(comparison) -> str | None:
    from ..compare import METRICS, fmt_target

    m = METRICS[comparison.metric]
    label = m.label + (f" {fmt_target(comparison.target)}" if m.key == "iterations_to_target" else "")
    if not comparison.best:
        why = "the runs solve different problems" if (m.problem and not comparison.comparable) else "no run is ahead"
        return f"best by {label}: none ({why})"
    names = ", ".join(comparison.runs[i].label for i in comparison.best)
    return f"best by {label}: {names}"


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("selectors", nargs=-1, metavar="RUN RUN...")
@runs_dir_option
@click.option("--metric", default="final_f", show_default=True, metavar="METRIC",
              help="What 'best' means and what --fail-if-worse checks: final_f, best_f, f_gap, distance, "
                   "grad_norm, iterations_to_target, wall_time, time_per_iteration (lower is better).")
@click.option("--target", type=float, default=1e-6, show_default=True,
              help="The f - f* target of --metric iterations_to_target.")
@click.option("--sort", "sort", default=None, metavar="METRIC",
              help="Order the columns by this metric, best first (default: the order given).")
@click.option("--all", "all_config", is_flag=True, help="Show every config key, not only those that differ.")
@format_option("json", "csv", "markdown")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Also draw f - f* (log scale) against iteration for every run to FILE (.png or .svg).")
@click.option("--fail-if-worse", is_flag=True,
              help="CI gate: exit 1 if a CANDIDATE (2nd, 3rd ... RUN) is worse than the BASELINE "
                   "(1st RUN) on --metric beyond --rtol, or did not complete when the baseline did.")
@click.option("--rtol", type=float, default=0.0, show_default=True,
              help="Relative tolerance of --fail-if-worse: worse means above baseline + rtol * |baseline|.")
@quiet_option
def compare(selectors, runs_dir, metric, target, sort, all_config, fmt, plot_file, fail_if_worse, rtol, quiet):
    """Compare two or more runs side by side; optionally gate CI on the result.

    Rows: status, iterations, final f, best f and its iteration, final gradient
    norm, distance to the known optimum, f - f*, the first iteration at which
    f - f* falls below each of 1e-1 ... 1e-8 ('-' where never), wall time and
    time per iteration; then the config keys whose values differ. The best run of
    each row is marked with '*' (lower is better).

    \b
    RUN is a run folder, a unique prefix of a run id, or last / -1 (newest), -2, ...

    \b
    Examples:
      optrun compare -2 -1
      optrun compare RUN_A RUN_B --all --format markdown >> pr-comment.md
      optrun compare RUN_A RUN_B RUN_C --sort final_f --plot convergence.png
      optrun compare BASELINE CANDIDATE --fail-if-worse --rtol 0.05   # exit 1 if worse

    Exit status: 0, or 1 when --fail-if-worse finds a worse candidate; 2 for a
    RUN that matches nothing or a damaged run folder.
    """
    from ..compare import compare_runs, gate, metric_key
    from ..store.read import select_run

    check_selectors(selectors)
    if len(selectors) < 2:
        raise click.UsageError("give at least two runs to compare, e.g. optrun compare -2 -1")
    metric = metric_key(metric)
    if sort is not None:
        sort = metric_key(sort)
    if plot_file is not None:
        from ..plot import output_format

        output_format(plot_file)
    runs = [select_run(s, runs_dir) for s in selectors]
    comparison = compare_runs(runs, metric=metric, target=target, sort=sort, all_config=all_config)
    verdict = gate(comparison, rtol) if fail_if_worse else None

    if plot_file is not None:
        from ..plot import plot_runs

        order = {s.id: i for i, s in enumerate(comparison.runs)}
        written = plot_runs(sorted(runs, key=lambda r: order.get(r.id, 0)), plot_file, kind="convergence")
        click.echo(f"plot: {written}", err=True)

    result = verdict.line if verdict else _best_line(comparison)
    if quiet:
        if result:
            click.echo(result)
    elif fmt == "json":
        data = comparison.to_dict()
        if verdict:
            data["gate"] = {"baseline": comparison.given[0].id, "rtol": rtol, "worse": verdict.worse,
                            "exit_code": verdict.exit_code, "line": verdict.line}
        echo_json(data)
        if verdict:
            click.echo(verdict.line, err=True)
    elif fmt == "csv":
        click.echo(_csv(comparison), nl=False)
        if verdict:
            click.echo(verdict.line, err=True)
    elif fmt == "markdown":
        text = _markdown(comparison)
        notes = ["Best per row in **bold** (lower is better).", *comparison.notes]
        if result:
            notes.append(result)
        click.echo(text + "\n" + "".join(f"- {n}\n" for n in notes), nl=False)
    else:
        _print_table(comparison)
        click.echo("")
        for note in ["* best per row (lower is better)", *comparison.notes]:
            click.echo(note)
        if result:
            click.echo(result)
    if verdict is not None:
        sys.exit(verdict.exit_code)
