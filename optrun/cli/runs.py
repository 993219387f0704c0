"""``optrun runs`` (list the runs folder) and ``optrun show RUN`` (one run), plus the table,
CSV and markdown output shared with ``optrun compare``.

Tables are drawn by rich on stdout; when stdout is not a terminal or ``NO_COLOR`` is set they are
plain text (no ANSI codes, ASCII rules, no wrapping unless ``COLUMNS`` says so). Messages for
people go to stderr.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

import click

from .options import format_option, runs_dir_option

STATUSES = ("running", "completed", "diverged", "interrupted", "failed", "crashed", "damaged")
STATUS_STYLE = {"completed": "green", "running": "cyan", "diverged": "yellow", "interrupted": "yellow",
                "failed": "red", "crashed": "red", "damaged": "bold red"}
SELECTOR_HELP = "RUN is a run folder, a unique prefix of a run id, or last / -1 (newest), -2, ..."


# ------------------------------------------------------------------------------------ output


def plain_output() -> bool:
    """True when stdout is not a terminal or NO_COLOR is set: no ANSI codes at all."""
    return bool(os.environ.get("NO_COLOR")) or not sys.stdout.isatty()


def make_console():
    """A rich Console on the current stdout; plain (and unwrapped) when :func:`plain_output`."""
    from rich.console import Console

    if plain_output():
        cols = os.environ.get("COLUMNS", "")
        width = int(cols) if cols.isdigit() and int(cols) > 20 else 100_000
        return Console(file=sys.stdout, force_terminal=False, color_system=None, width=width,
                       highlight=False, emoji=False)
    return Console(file=sys.stdout, highlight=False, emoji=False)


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = (),
                styles: Sequence[Sequence[str | None]] | None = None, sections: Sequence[int] = (),
                title: str | None = None) -> None:
    """Draw a table with rich. ``right``: right-aligned column indices; ``styles[i][j]``: a rich
    style for cell (i, j) (ignored in plain output); ``sections``: row indices a rule goes above."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    console = make_console()
    plain = plain_output()
    ascii_head = box.Box("    \n    \n -- \n    \n -- \n -- \n    \n    \n", ascii=True)
    table = Table(box=ascii_head if plain else box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  header_style="" if plain else "bold", title=title, title_justify="left",
                  title_style="" if plain else "bold")
    for j, name in enumerate(header):
        table.add_column(escape(name), justify="right" if j in right else "left", no_wrap=plain)
    for i, row in enumerate(rows):
        if i in sections and i:
            table.add_section()
        cells = []
        for j, cell in enumerate(row):
            style = None if plain or styles is None else styles[i][j]
            text = escape(str(cell))
            cells.append(f"[{style}]{text}[/]" if style else text)
        table.add_row(*cells)
    console.print(table)


def csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow(["" if v is None else (repr(v) if isinstance(v, float) else v) for v in row])
    return buf.getvalue()


def markdown_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table (pipes in cells escaped)."""

    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "|" + "|".join("---" if j == 0 else "---:" for j in range(len(header))) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def echo_json(data: Any) -> None:
    from ..store.folder import jsonable

    click.echo(json.dumps(jsonable(data), indent=1, allow_nan=False, default=str))


_SHIELD = "\x00"  # cannot come from a shell: marks RUN tokens that look like short options
_MEMBER_TOKEN = re.compile(r"-\d+(?:/\d+/?|:.+)", re.S)


class SelectorCommand(click.Command):
    """A command whose RUN arguments may look like options.

    ``-1`` and ``-2/7`` pass Click as unknown options (``ignore_unknown_options``), but
    ``-1:alpha=0.1`` holds letters that Click would read as short options (``-h``, ``-o``, ...)
    clustered together. Such tokens are shielded before parsing and restored after it.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args = [_SHIELD + a if _MEMBER_TOKEN.fullmatch(a) else a for a in args]
        rest = super().parse_args(ctx, args)

        def restore(v: Any) -> Any:
            return v[1:] if isinstance(v, str) and v.startswith(_SHIELD) else v

        for name, value in list(ctx.params.items()):
            ctx.params[name] = tuple(map(restore, value)) if isinstance(value, tuple) else restore(value)
        return rest


def check_selectors(selectors: Sequence[str]) -> None:
    """RUN arguments may start with '-' (-1, -2, and members -1/7, -1:seed=3); anything else
    starting with '-' is a bad option."""
    for s in selectors:
        if s.startswith("-") and not re.fullmatch(r"-\d+(?:/\d+/?|:.*)?", s, re.S):
            raise click.UsageError(f"no such option: {s} (a relative RUN is -1, -2, ...)")


# ------------------------------------------------------------------------------------ optrun runs


def _number(v: Any) -> float | None:
    """A summary value as a number, or ``None`` (missing, or damaged into something else)."""
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _g(v: Any) -> str:
    v = _number(v)
    return "-" if v is None else f"{v:.6g}"


def _wall(v: Any) -> str:
    from ..compare import fmt_seconds

    return fmt_seconds(_number(v))


def _algorithm(run) -> str:
    a, v = run.algorithm, run.variant
    if not a:
        return "-"
    return f"{a}/{v}" if v and v != "default" else str(a)


def _iterations(run) -> str:
    s = run.summary
    it, planned = s.get("iterations"), s.get("iterations_planned")
    it = it if isinstance(it, int) and not isinstance(it, bool) else None
    if run.status in ("running", "crashed") and isinstance(planned, int) and not isinstance(planned, bool):
        return f"{it or 0:,}/{planned:,}"
    return "-" if it is None else f"{it:,}"


def run_record(run) -> dict[str, Any]:
    """The JSON object of one run in ``optrun runs --format json``."""
    rec = {"id": run.id, "path": run.path, "status": run.status}
    rec.update({k: v for k, v in run.summary.items() if k not in rec})
    rec["algorithm"], rec["objective"] = run.algorithm, run.objective
    rec.setdefault("variant", run.variant)
    rec.setdefault("dim", run.dim)
    return rec


CSV_FIELDS = ("id", "path", "status", "name", "algorithm", "variant", "objective", "dim", "iterations",
              "iterations_planned", "final_f", "best_f", "best_iteration", "final_grad_norm", "f_gap",
              "distance_to_optimum", "wall_time_s", "started_at", "ended_at", "stop_reason", "problem")


def _matches(value: str | None, wanted: tuple[str, ...]) -> bool:
    return not wanted or (value is not None and value.lower() in wanted)


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip().lower() for vs in values for v in vs.split(",") if v.strip())


@click.command()
@runs_dir_option
@click.option("--status", "statuses", multiple=True, metavar="STATUS",
              help=f"Only runs with this status (repeat or comma-separate): {', '.join(STATUSES)}.")
@click.option("--algorithm", "algorithms", multiple=True, metavar="NAME", help="Only runs of this algorithm.")
@click.option("--objective", "objectives", multiple=True, metavar="NAME", help="Only runs on this objective.")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=None, help="Show at most N runs (newest).")
@format_option("json", "csv")
def runs(runs_dir, statuses, algorithms, objectives, limit, fmt):
    """List the runs in the runs folder, newest first.

    Damaged folders are listed as damaged (the problem on stderr); a run whose
    process died without finishing is listed as crashed.

    \b
    Examples:
      optrun runs
      optrun runs --status completed --algorithm amsgrad --limit 5
      optrun runs --format json > runs.json
    """
    from ..store.read import list_runs

    statuses, algorithms, objectives = _split(statuses), _split(algorithms), _split(objectives)
    for s in statuses:
        if s not in STATUSES:
            raise click.BadParameter(f"'{s}' is not a status; choose from {', '.join(STATUSES)}",
                                     param_hint="--status")
    every = list_runs(runs_dir)
    chosen = [r for r in every if _matches(r.status, statuses) and _matches(r.algorithm, algorithms)
              and _matches(r.objective, objectives)]
    if limit is not None:
        chosen = chosen[:limit]
    if fmt == "json":
        echo_json([run_record(r) for r in chosen])
        return
    if fmt == "csv":
        click.echo(csv_text(CSV_FIELDS, [[run_record(r).get(k) for k in CSV_FIELDS] for r in chosen]), nl=False)
        return
    if not chosen:
        if every:
            click.echo(f"no runs match the filters ({len(every)} run{'s' * (len(every) != 1)} in {runs_dir})",
                       err=True)
        else:
            click.echo(f"no runs in {runs_dir} yet: optrun run CONFIG makes one "
                       "(or point --runs-dir / OPTRUN_RUNS_DIR at another folder)", err=True)
        return
    header = ("id", "status", "algorithm", "objective", "d", "iterations", "final f", "wall time")
    rows = [(r.id, r.status, _algorithm(r), r.objective or "-", "-" if r.dim is None else str(r.dim),
             _iterations(r), _g(r.summary.get("final_f")) if "final_f" in r.summary else "-",
             _wall(r.summary.get("wall_time_s"))) for r in chosen]
    styles = [[None, STATUS_STYLE.get(r.status), None, None, None, None, None, None] for r in chosen]
    print_table(header, rows, right=(4, 5, 6, 7), styles=styles)
    shown = f"{len(chosen)} of {len(every)} runs" if len(chosen) != len(every) else f"{len(every)} runs"
    click.echo(f"{shown} in {runs_dir}", err=True)
    for r in chosen:
        if r.problem:
            click.echo(f"damaged: {r.id}: {r.problem}", err=True)


# ------------------------------------------------------------------------------------ optrun show


def _value(v: Any) -> str:
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, default=str)
    return "null" if v is None else str(v)


def trace_rows(trace: dict, n: int) -> tuple[list[str], list[int], int]:
    """Column names, the row indices to show (first and last ``n``), and the total row count."""
    cols = list(trace)
    total = len(trace["iteration"]) if "iteration" in trace else 0
    idx = list(range(total)) if total <= 2 * n else list(range(n)) + list(range(total - n, total))
    return cols, idx, total


@click.command(cls=SelectorCommand, context_settings={"ignore_unknown_options": True})
@click.argument("run", metavar="RUN")
@runs_dir_option
@click.option("-n", "--rows", type=click.IntRange(min=0), default=5, show_default=True,
              help="Trace rows shown from the head and from the tail.")
@format_option("json")
def show(run, runs_dir, rows, fmt):
    """Show one run: its resolved config, summary, and first and last trace rows.

    \b
    RUN is a run folder, a unique prefix of a run id, or last / -1 (newest), -2, ...

    \b
    Examples:
      optrun show last
      optrun show 20250101-1200 --rows 10
      optrun show runs/20250101-120000.000-amsgrad-tutorial-1a2b3c --format json
    """
    import yaml

    from ..store.read import select_run

    check_selectors([run])
    r = select_run(run, runs_dir)
    trace = r.trace()
    cols, idx, total = trace_rows(trace, rows)
    if fmt == "json":
        def row(i: int) -> dict[str, Any]:
            return {c: (int(trace[c][i]) if c == "iteration" else float(trace[c][i])) for c in cols}

        head = [row(i) for i in idx[:min(rows, total)]]
        tail = [row(i) for i in idx[len(head):]]
        echo_json({"id": r.id, "path": r.path, "status": r.status, "config": r.config, "summary": r.summary,
                   "meta": r.meta, "trace": {"columns": cols, "rows": total, "head": head, "tail": tail}})
        return
    out = click.echo
    note = r.summary.get("status_note")
    out(f"run {r.id}: {r.status}" + (f" ({note})" if note else ""))
    out(f"path: {r.path}")
    out("")
    out("config:")
    text = yaml.safe_dump(r.config, sort_keys=False, default_flow_style=None, width=100)
    out("".join(f"  {line}\n" for line in text.splitlines()), nl=False)
    out("")
    out("summary:")
    skip = {"id", "format_version"}
    for k, v in r.summary.items():
        if k not in skip:
            out(f"  {k}: {_value(v)}")
    out("")
    if total == 0:
        out("trace: no rows recorded yet")
        return
    first, last = int(trace["iteration"][0]), int(trace["iteration"][-1])
    what = "all" if total <= 2 * rows else f"first {rows} and last {rows}"
    out(f"trace: {total:,} rows (iterations {first:,} to {last:,}), {what}:")
    table_rows = []
    sections = []
    for k, i in enumerate(idx):
        if k == rows and total > 2 * rows:
            sections.append(len(table_rows))
        table_rows.append([str(int(trace[c][i])) if c == "iteration" else f"{trace[c][i]:.6g}" for c in cols])
    print_table(cols, table_rows, right=tuple(range(len(cols))), sections=sections)
