"""``optrun runs``: the runs folder listed, newest first, as a table, JSON or CSV.

The table, CSV and JSON helpers live in :mod:`optrun.cli.render`, RUN-argument parsing in
:mod:`optrun.cli.selectors` and ``optrun show`` in :mod:`optrun.cli.show`.
"""

from __future__ import annotations

import json
from typing import Any

import click

from .cells import algorithm_text, count_text, fmt_g, fmt_wall, iterations_text, members_text
from .options import format_option, runs_dir_option
from .render import csv_text, echo_json, print_table

STATUSES = ("running", "completed", "diverged", "interrupted", "failed", "crashed", "damaged", "unreadable")
STATUS_STYLE = {
    "completed": "green",
    "running": "cyan",
    "diverged": "yellow",
    "interrupted": "yellow",
    "failed": "red",
    "crashed": "red",
    "damaged": "bold red",
    "unreadable": "bold red",
}
HEADER = (
    "id",
    "kind",
    "status",
    "members",
    "algorithm",
    "objective",
    "d",
    "iterations",
    "final f",
    "wall time",
)


def run_record(run) -> dict[str, Any]:
    """The JSON object of one run (or sweep) in ``optrun runs --format json``.

    A sweep's object has ``kind: "sweep"``, its summary fields (``members``, ``counts``, ``axes``,
    lists of ``algorithm`` and ``objective`` names, ...) and ``best_member`` / ``best_final_f``,
    the member with the lowest final f; its member table is left out (``optrun show SWEEP``)."""
    rec = {"id": run.id, "path": run.path, "kind": run.kind, "status": run.status}
    rec.update({k: v for k, v in run.summary.items() if k not in rec})
    if run.kind == "sweep":
        rec["counts"] = run.counts
        best = run.best_member()
        rec["best_member"] = None if best is None else best["member"]
        rec["best_final_f"] = None if best is None else best["final_f"]
        rec.setdefault("iterations", run.config.get("iterations"))
        variants = run.variants  # one name, or the list when members differ (as algorithm is)
        rec["variant"] = variants[0] if len(variants) == 1 else (variants or None)
        rec.setdefault("dim", run.dim)
        return rec
    rec["algorithm"], rec["objective"] = run.algorithm, run.objective
    rec.setdefault("variant", run.variant)
    rec.setdefault("dim", run.dim)
    return rec


CSV_FIELDS = (
    "id",
    "path",
    "kind",
    "status",
    "name",
    "algorithm",
    "variant",
    "objective",
    "dim",
    "iterations",
    "iterations_planned",
    "final_f",
    "best_f",
    "best_iteration",
    "final_grad_norm",
    "f_gap",
    "distance_to_optimum",
    "wall_time_s",
    "started_at",
    "ended_at",
    "stop_reason",
    "problem",
    "members",
    "best_member",
    "best_final_f",
)


def _csv_cell(v: Any) -> Any:
    if isinstance(v, list):
        return " ".join(map(str, v))
    if isinstance(v, dict):
        return json.dumps(v, separators=(",", ":"))
    return v


def _matches(value: str | None, wanted: tuple[str, ...]) -> bool:
    """Does a name (or a sweep's comma-separated names) match one of the wanted names?"""
    return not wanted or (value is not None and any(v.strip().lower() in wanted for v in value.split(",")))


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip().lower() for vs in values for v in vs.split(",") if v.strip())


@click.command()
@runs_dir_option
@click.option(
    "--status",
    "statuses",
    multiple=True,
    metavar="STATUS",
    help=f"Only runs with this status (repeat or comma-separate): {', '.join(STATUSES)}.",
)
@click.option("--algorithm", "algorithms", multiple=True, metavar="NAME", help="Only runs of this algorithm.")
@click.option("--objective", "objectives", multiple=True, metavar="NAME", help="Only runs on this objective.")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=None, help="Show at most N runs (newest).")
@click.option(
    "--kind",
    "kinds",
    type=click.Choice(("run", "sweep")),
    default=None,
    help="Only runs, or only sweeps (default: both).",
)
@format_option("json", "csv")
def runs(runs_dir, statuses, algorithms, objectives, limit, kinds, fmt):
    """List the runs and sweeps in the runs folder, newest first.

    Damaged folders are listed as damaged (the problem on stderr); a run whose
    process died without finishing is listed as crashed. A sweep's row shows its
    members by status and, as final f, its best member's.

    \b
    Examples:
      optrun runs
      optrun runs --status completed --algorithm amsgrad --limit 5
      optrun runs --kind sweep
      optrun runs --format json > runs.json
    """
    from ..store.listing import list_runs

    statuses, algorithms, objectives = _split(statuses), _split(algorithms), _split(objectives)
    for s in statuses:
        if s not in STATUSES:
            raise click.BadParameter(
                f"'{s}' is not a status; choose from {', '.join(STATUSES)}", param_hint="--status"
            )
    every = list_runs(runs_dir, kind=kinds)
    chosen = [
        r
        for r in every
        if _matches(r.status, statuses)
        and _matches(r.algorithm, algorithms)
        and _matches(r.objective, objectives)
    ]
    if limit is not None:
        chosen = chosen[:limit]
    if fmt == "json":
        echo_json([run_record(r) for r in chosen])
    elif fmt == "csv":
        click.echo(
            csv_text(CSV_FIELDS, [[_csv_cell(run_record(r).get(k)) for k in CSV_FIELDS] for r in chosen]),
            nl=False,
        )
    elif not chosen:
        _say_none(every, runs_dir)
    else:
        _print_listing(chosen, every, runs_dir)


def _say_none(every: list[Any], runs_dir: str) -> None:
    """Why the listing is empty: the filters, or no runs at all."""
    if every:
        click.echo(f"no runs match the filters ({count_text(every)} in {runs_dir})", err=True)
    else:
        click.echo(
            f"no runs in {runs_dir} yet: optrun run CONFIG makes one "
            "(or point --runs-dir / OPTRUN_RUNS_DIR at another folder)",
            err=True,
        )


def table_row(r) -> tuple[str, ...]:
    """The cells of one run or sweep in the ``optrun runs`` table (columns :data:`HEADER`)."""
    dim = "-" if r.dim is None else str(r.dim)
    wall = fmt_wall(r.summary.get("wall_time_s"))
    if r.kind == "sweep":
        best = r.best_member()
        its = r.config.get("iterations")
        its_text = f"{its:,}" if isinstance(its, int) and not isinstance(its, bool) else "-"
        final = "-" if best is None else fmt_g(best["final_f"])
        return (
            r.id,
            "sweep",
            r.status,
            members_text(r),
            algorithm_text(r),
            r.objective or "-",
            dim,
            its_text,
            final,
            wall,
        )
    final = fmt_g(r.summary.get("final_f")) if "final_f" in r.summary else "-"
    return (
        r.id,
        "run",
        r.status,
        "-",
        algorithm_text(r),
        r.objective or "-",
        dim,
        iterations_text(r),
        final,
        wall,
    )


def _print_listing(chosen: list[Any], every: list[Any], runs_dir: str) -> None:
    """The table on stdout; what it holds, and each folder's problem, on stderr."""
    rows = [table_row(r) for r in chosen]
    styles = [[None, None, STATUS_STYLE.get(r.status)] + [None] * 7 for r in chosen]
    print_table(HEADER, rows, right=(6, 7, 8, 9), styles=styles)
    shown = f"{count_text(chosen)} of {count_text(every)}" if len(chosen) != len(every) else count_text(every)
    click.echo(f"{shown} in {runs_dir}", err=True)
    if any(r.kind == "sweep" for r in chosen):
        click.echo(
            "a sweep's final f is its best member's (optrun show SWEEP lists the best members)", err=True
        )
    for r in chosen:
        if r.problem:
            click.echo(f"{r.status}: {r.id}: {r.problem}", err=True)
