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

from ..text import plural
from .options import complete_runs, format_option, runs_dir_option

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
SELECTOR_HELP = "RUN is a run folder, a unique prefix of a run id, or last / -1 (newest), -2, ..."


# ------------------------------------------------------------------------------------ output


def plain_output() -> bool:
    """True when stdout is not a terminal or NO_COLOR is set: no ANSI codes at all."""
    return bool(os.environ.get("NO_COLOR")) or not sys.stdout.isatty()


def make_console():
    """A rich Console on the current stdout; plain (and unwrapped) when :func:`plain_output`."""
    from rich.console import Console

    if plain_output():
        # plain output (a pipe, a file, CI, NO_COLOR) is for reading whole: lines are never cut
        width = 100_000
        return Console(
            file=sys.stdout,
            force_terminal=False,
            color_system=None,
            width=width,
            highlight=False,
            emoji=False,
        )
    return Console(file=sys.stdout, highlight=False, emoji=False)


def output_width() -> int:
    """The width tables are fitted to: the terminal's, else ``COLUMNS``, else 100 (a pipe, a
    file, CI)."""
    import shutil

    if sys.stdout.isatty():
        return shutil.get_terminal_size((100, 24)).columns
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    return columns if columns > 0 else 100


GAP = 3  # columns between two table columns (rich's padding and rule)


def _cell_width(text: str) -> int:
    return max((len(line) for line in str(text).split("\n")), default=0)


_NUMBER = re.compile(r"[-+]?(\d[\d,]*\.?\d*|\.\d+)([eE][-+]?\d+)?[%x*]?")


def _figures(text: str) -> bool:
    """Whether a cell holds figures only (numbers with '..', '@', '*' or a time unit between)."""
    return all(
        _NUMBER.fullmatch(w) or w in ("..", "@", "*", "-", "s", "ms", "us", "ns") for w in str(text).split()
    )


def _wrap_cell(text: str, width: int, fold: bool = False) -> list[str]:
    """A text cell broken at spaces into lines of at most ``width``, continuation lines indented
    so that rows stay apart. Words are not cut; with ``fold`` a word too long for any line is
    (a git commit, a path), never a number."""
    import textwrap

    lines: list[str] = []
    for part in str(text).split("\n"):
        if fold:
            room = max(width - 2, 1)
            part = " ".join(
                " ".join(w[k : k + room] for k in range(0, len(w), room))
                if len(w) > room and not _NUMBER.fullmatch(w)
                else w
                for w in part.split(" ")
            )
        lines += textwrap.wrap(
            part, width, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False
        ) or [""]
    return lines


def _min_width(texts: Sequence[str]) -> int:
    """The narrowest a wrapped text column can be: its longest word (plus the continuation indent)."""
    words = [
        len(w) + (2 if k else 0)
        for t in texts
        for line in str(t).split("\n")
        for k, w in enumerate(line.split())
    ]
    return max(words, default=1)


def _layout(
    header: Sequence[str], rows: Sequence[Sequence[str]], width: int, repeat: int, right: Sequence[int]
) -> tuple[list[list[int]], list[str], list[list[str]]]:
    """Blocks of column indices and the (wrapped) cells of a table fitted to ``width``.

    A table that fits is one block. Otherwise the first ``repeat`` columns (the row labels) are
    repeated in every block and the other columns continue in further blocks below, as pandas
    prints a wide frame; the row labels may wrap over several lines. Of the label widths that
    fit, the one printing the fewest lines wins (a block costs its header too), so long labels
    wrap rather than leave one column per block. Numbers are never cut; a text column too wide
    for any block wraps at its spaces."""
    ncol = len(header)
    natural = [max([_cell_width(header[j])] + [_cell_width(r[j]) for r in rows]) for j in range(ncol)]
    if sum(natural) + GAP * (ncol - 1) <= width or ncol <= repeat:
        return [list(range(ncol))], list(header), [list(map(str, r)) for r in rows]
    labels = list(range(min(repeat, ncol)))
    rest = list(range(len(labels), ncol))
    floor = {j: max(_min_width([header[j]]), _min_width([r[j] for r in rows])) for j in labels}
    # the narrowest each other column can be: text folds, but a number never breaks, nor does a
    # cell of figures (an interquartile range '0.12 .. 0.42', '67% @ 1,025', '2.16 ms')
    whole = {
        j: max(
            [
                _cell_width(r[j])
                if _figures(r[j])
                else max([len(w) for w in str(r[j]).split() if _NUMBER.fullmatch(w)] + [1])
                for r in rows
            ]
            + [1]
        )
        for j in rest
    }

    def plan(cap: int):
        lw = {j: max(floor[j], min(natural[j], cap)) for j in labels}
        wrapped = {j: [_wrap_cell(r[j], lw[j]) for r in rows] for j in labels}
        used = sum(max([_cell_width(header[j])] + [len(x) for c in wrapped[j] for x in c]) for j in labels)
        room = width - used - GAP * len(labels)
        blocks, cur, cur_w = [], [], 0
        for j in rest:
            w = natural[j]
            if cur and cur_w + GAP + w > room:
                blocks.append(cur)
                cur, cur_w = [], 0
            cur_w = w if not cur else cur_w + GAP + w
            cur.append(j)
        blocks.append(cur)
        heights = [max(len(wrapped[j][i]) for j in labels) for i in range(len(rows))]
        lines = len(blocks) * (sum(heights) + 3)  # each block: header, rule, rows, a blank line
        over = 0
        for j in (j for b in blocks if len(b) == 1 for j in b if natural[j] > room):
            over += max(0, whole[j] - room)  # a number wider than the room: the table overflows
            lines += sum(
                max(0, len(_wrap_cell(r[j], max(room, 1), fold=True)) - h) for r, h in zip(rows, heights)
            )
        return over, lines, -cap, blocks, wrapped, room

    caps = sorted({max(floor[j], c) for j in labels for c in range(floor[j], natural[j] + 1)}, reverse=True)
    _, _, _, blocks, wrapped, room = min((plan(c) for c in caps), key=lambda p: p[:3])
    cells = [
        [("\n".join(wrapped[j][i]) if j in wrapped else str(r[j])) for j in range(ncol)]
        for i, r in enumerate(rows)
    ]
    heads = list(header)
    for j in rest:  # a column too wide even alone: text breaks at its spaces, long words fold (not numbers)
        if natural[j] > room:
            heads[j] = "\n".join(_wrap_cell(heads[j], max(room, 1), fold=True))
            for r in cells:
                r[j] = "\n".join(_wrap_cell(r[j], max(room, 1), fold=True))
    return [labels + b for b in blocks], heads, cells


def print_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: Sequence[int] = (),
    styles: Sequence[Sequence[str | None]] | None = None,
    sections: Sequence[int] = (),
    title: str | None = None,
    width: int | None = None,
    repeat: int = 1,
) -> None:
    """Draw a table with rich. ``right``: right-aligned column indices; ``styles[i][j]``: a rich
    style for cell (i, j) (ignored in plain output); ``sections``: row indices a rule goes above.

    ``width``: fit the table to this many columns by wrapping whole columns into further blocks
    below (each repeating the first ``repeat`` columns, as pandas prints a wide frame) rather than
    cutting cells; without it plain output is never wrapped."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    console = make_console()
    plain = plain_output()
    if width is not None:
        blocks, heads, cells = _layout(header, rows, width, repeat, right)
        for k, cols in enumerate(blocks):
            if k:
                sys.stdout.write("\n")
            print_table(
                [heads[j] for j in cols],
                [[row[j] for j in cols] for row in cells],
                right=[n for n, j in enumerate(cols) if j in right],
                styles=None if styles is None else [[st[j] for j in cols] for st in styles],
                sections=sections,
                title=title if k == 0 else None,
            )
        return
    ascii_head = box.Box("    \n    \n -- \n    \n -- \n -- \n    \n    \n", ascii=True)
    table = Table(
        box=ascii_head if plain else box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        header_style="" if plain else "bold",
        title=title,
        title_justify="left",
        title_style="" if plain else "bold",
    )
    for j, name in enumerate(header):
        # the first column names the rows and numbers must never be cut: on a narrow terminal the
        # other text columns wrap instead
        width = max([_cell_width(name)] + [_cell_width(r[j]) for r in rows if j < len(r)]) if rows else 0
        keep = j in right or (j == 0 and width <= 30)  # row labels and numbers stay whole
        width = width if keep else None
        table.add_column(
            escape(name),
            justify="right" if j in right else "left",
            no_wrap=plain or keep,
            min_width=width,
            overflow="fold",
        )
    for i, row in enumerate(rows):
        if i in sections and i:
            table.add_section()
        cells = []
        for j, cell in enumerate(row):
            style = None if plain or styles is None else styles[i][j]
            text = escape(str(cell))
            cells.append(f"[{style}]{text}[/]" if style else text)
        table.add_row(*cells)
    if plain:  # no trailing padding in piped output
        with console.capture() as cap:
            console.print(table)
        sys.stdout.write("".join(line.rstrip() + "\n" for line in cap.get().splitlines()))
    else:
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

    lines = [
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "|".join("---" if j == 0 else "---:" for j in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def echo_json(data: Any) -> None:
    from ..store.folder import jsonable

    click.echo(json.dumps(jsonable(data), indent=1, allow_nan=False, default=str))


_SHIELD = "\x00"  # cannot come from a shell: marks RUN tokens that look like short options
_MEMBER_TOKEN = re.compile(r"-\d+(?:/\d+/?|:.+)", re.DOTALL)


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


def _show_head(kind: str, item: Any, lines: list[str]) -> None:
    """The top of ``optrun show``: id and status, path, extra lines, the resolved config."""
    note = item.summary.get("status_note")
    click.echo(f"{kind} {item.id}: {item.status}" + (f" ({note})" if note else ""))
    click.echo(f"path: {item.path}")
    for line in lines:
        click.echo(line)
    if lines and lines[-1]:
        click.echo("")
    click.echo("config:")
    import yaml

    text = yaml.safe_dump(item.config, sort_keys=False, default_flow_style=None, width=100)
    click.echo("".join(f"  {line}\n" for line in text.splitlines()), nl=False)
    click.echo("")


def check_selectors(selectors: Sequence[str]) -> None:
    """RUN arguments may start with '-' (-1, -2, and members -1/7, -1:seed=3); anything else
    starting with '-' is a bad option."""
    for s in selectors:
        if s.startswith("-") and not re.fullmatch(r"-\d+(?:/\d+/?|:.*)?", s, re.DOTALL):
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
    """``name/variant``; a sweep's names with their one variant, or ``/mixed`` when its members
    run different variants (``optrun show SWEEP`` and the JSON list them)."""
    a, v = run.algorithm, run.variant
    if not a:
        return "-"
    return f"{a}/{v}" if v and v != "default" else str(a)


def count_text(items: Sequence[Any]) -> str:
    """``3 runs``, ``2 sweeps``, ``2 runs and 1 sweep``: what a listing holds, by kind."""
    runs = sum(1 for r in items if r.kind != "sweep")
    sweeps = len(items) - runs
    parts = [plural(n, word) for n, word in ((runs, "run"), (sweeps, "sweep")) if n]
    return " and ".join(parts) or "0 runs"


def _iterations(run) -> str:
    s = run.summary
    it, planned = s.get("iterations"), s.get("iterations_planned")
    it = it if isinstance(it, int) and not isinstance(it, bool) else None
    if run.status in ("running", "crashed") and isinstance(planned, int) and not isinstance(planned, bool):
        return f"{it or 0:,}/{planned:,}"
    return "-" if it is None else f"{it:,}"


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


def _members_text(sweep) -> str:
    counts = sweep.counts
    if not counts:
        return f"{sweep.size:,}"
    parts = ", ".join(f"{n:,} {s}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    return (
        f"{sweep.size:,}: {parts}"
        if len(counts) > 1 or sum(counts.values()) != sweep.size
        else f"{sweep.size:,} {next(iter(counts))}"
    )


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
    from ..store.read import list_runs

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
        return
    if fmt == "csv":
        click.echo(
            csv_text(CSV_FIELDS, [[_csv_cell(run_record(r).get(k)) for k in CSV_FIELDS] for r in chosen]),
            nl=False,
        )
        return
    if not chosen:
        if every:
            click.echo(f"no runs match the filters ({count_text(every)} in {runs_dir})", err=True)
        else:
            click.echo(
                f"no runs in {runs_dir} yet: optrun run CONFIG makes one "
                "(or point --runs-dir / OPTRUN_RUNS_DIR at another folder)",
                err=True,
            )
        return
    header = (
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
    rows = []
    for r in chosen:
        if r.kind == "sweep":
            best = r.best_member()
            its = r.config.get("iterations")
            rows.append(
                (
                    r.id,
                    "sweep",
                    r.status,
                    _members_text(r),
                    _algorithm(r),
                    r.objective or "-",
                    "-" if r.dim is None else str(r.dim),
                    f"{its:,}" if isinstance(its, int) and not isinstance(its, bool) else "-",
                    "-" if best is None else _g(best["final_f"]),
                    _wall(r.summary.get("wall_time_s")),
                )
            )
            continue
        rows.append(
            (
                r.id,
                "run",
                r.status,
                "-",
                _algorithm(r),
                r.objective or "-",
                "-" if r.dim is None else str(r.dim),
                _iterations(r),
                _g(r.summary.get("final_f")) if "final_f" in r.summary else "-",
                _wall(r.summary.get("wall_time_s")),
            )
        )
    styles = [[None, None, STATUS_STYLE.get(r.status)] + [None] * 7 for r in chosen]
    print_table(header, rows, right=(6, 7, 8, 9), styles=styles)
    shown = f"{count_text(chosen)} of {count_text(every)}" if len(chosen) != len(every) else count_text(every)
    click.echo(f"{shown} in {runs_dir}", err=True)
    if any(r.kind == "sweep" for r in chosen):
        click.echo(
            "a sweep's final f is its best member's (optrun show SWEEP lists the best members)", err=True
        )
    for r in chosen:
        if r.problem:
            click.echo(f"{r.status}: {r.id}: {r.problem}", err=True)


# ------------------------------------------------------------------------------------ optrun show


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, default=str)
    return "null" if v is None else str(v)


def best_rows(sweep, n: int) -> tuple[str, list[dict[str, Any]]]:
    """The key ranked on (``f_gap`` when every ranked member has it, else ``final_f``) and the
    ``n`` members with the lowest value (members without one are left out)."""

    def value(r: dict[str, Any], key: str) -> float | None:
        return _number(r.get(key))

    key = (
        "f_gap"
        if all(value(r, "f_gap") is not None for r in sweep.rows if value(r, "final_f") is not None)
        else "final_f"
    )
    ranked = sorted(
        (r for r in sweep.rows if value(r, key) is not None), key=lambda r: (value(r, key), r["member"])
    )
    return key, ranked[:n]


def _show_sweep(sweep, n: int, fmt: str) -> None:
    """``optrun show SWEEP``: config, members by status, axes, the best members."""

    from ..store.read import _show as show_value

    key, top = best_rows(sweep, n)
    axes = {a: sweep.axis_values(a) for a in sweep.axes} if sweep.rows else {}
    if fmt == "json":
        echo_json(
            {
                "id": sweep.id,
                "path": sweep.path,
                "kind": "sweep",
                "status": sweep.status,
                "config": sweep.config,
                "summary": sweep.summary,
                "meta": sweep.meta,
                "counts": sweep.counts,
                "axes": axes,
                "ranked_by": key,
                "best": top,
            }
        )
        return
    out = click.echo
    _show_head("sweep", sweep, [f"members: {_members_text(sweep)}"])
    if not sweep.rows:
        out(f"no member table yet: the sweep is {sweep.status}")
        return
    out("axes:")
    for a, vals in axes.items():
        shown = ", ".join(show_value(v) for v in vals[:10]) + (
            f", ... {show_value(vals[-1])}" if len(vals) > 10 else ""
        )
        out(f"  {a}: {len(vals)} value{'s' * (len(vals) != 1)} ({shown})")
    out("")
    if not top:
        out("no member has a final f")
        return
    label = "final f - f*" if key == "f_gap" else "final f"
    out(f"best {len(top)} of {plural(len(sweep.rows), 'member')} by {label}:")
    targets = [c for c in sweep.columns if c.startswith("hit_")]
    reached = [c for c in targets if any(r.get(c) is not None for r in top)]
    hit_col = reached[-1] if reached else None
    header = ["member", *sweep.axes, "status", "final f", "f - f*", "best f", "iterations"]
    if hit_col:
        header.append(f"f - f* <= {hit_col[4:]} at")
    body = []
    for r in top:
        cells = [
            str(r["member"]),
            *[show_value(r.get(a)) for a in sweep.axes],
            str(r.get("status")),
            _g(r.get("final_f")),
            _g(r.get("f_gap")),
            _g(r.get("best_f")),
            "-" if _number(r.get("iterations")) is None else f"{r['iterations']:,}",
        ]
        if hit_col:
            cells.append("-" if r.get(hit_col) is None else f"{r[hit_col]:,}")
        body.append(cells)
    print_table(header, body, right=tuple(range(len(sweep.axes) + 2, len(header))) + (0,))
    out("")
    out(
        f"one member: optrun show {sweep.id}/{top[0]['member']}, or by its axis values "
        f"{sweep.id}:" + ",".join(f"{a}={show_value(top[0].get(a))}" for a in sweep.axes)
    )


def trace_rows(trace: dict, n: int) -> tuple[list[str], list[int], int]:
    """Column names, the row indices to show (first and last ``n``), and the total row count."""
    cols = list(trace)
    total = len(trace["iteration"]) if "iteration" in trace else 0
    idx = list(range(total)) if total <= 2 * n else list(range(n)) + list(range(total - n, total))
    return cols, idx, total


@click.command(cls=SelectorCommand, context_settings={"ignore_unknown_options": True})
@click.argument("run", metavar="RUN", shell_complete=complete_runs)
@runs_dir_option
@click.option(
    "-n",
    "--rows",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Trace rows shown from the head and from the tail.",
)
@click.option(
    "--best",
    "best",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="For a sweep: how many of its best members to list.",
)
@format_option("json")
def show(run, runs_dir, rows, best, fmt):
    """Show one run: its resolved config, summary, and first and last trace rows.

    For a sweep: its config (with the sweep block), members by status, its axes
    and the table of its best members (lowest final f - f*, or final f).

    \b
    RUN is a run folder, a unique prefix of a run id, or last / -1 (newest), -2, ...;
    SWEEP/7 or SWEEP:alpha=0.01,seed=3 is one member of a sweep.

    \b
    Examples:
      optrun show last
      optrun show 20250101-1200 --rows 10
      optrun show runs/20250101-120000.000-amsgrad-tutorial-1a2b3c --format json
      optrun show SWEEP --best 20
      optrun show SWEEP:alpha=0.01,seed=3
    """

    from ..store.read import select

    check_selectors([run])
    r = select(run, runs_dir)
    if r.kind == "sweep":
        _show_sweep(r, best, fmt)
        return
    trace = r.trace()
    cols, idx, total = trace_rows(trace, rows)
    if fmt == "json":

        def row(i: int) -> dict[str, Any]:
            return {c: (int(trace[c][i]) if c == "iteration" else float(trace[c][i])) for c in cols}

        head = [row(i) for i in idx[: min(rows, total)]]
        tail = [row(i) for i in idx[len(head) :]]
        echo_json(
            {
                "id": r.id,
                "path": r.path,
                "status": r.status,
                "config": r.config,
                "summary": r.summary,
                "meta": r.meta,
                "trace": {"columns": cols, "rows": total, "head": head, "tail": tail},
            }
        )
        return
    out = click.echo
    _show_head("run", r, [""])
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
    done = r.summary.get("iterations")
    if r.summary.get("status") in ("completed", "diverged") and isinstance(done, int) and last != done:
        click.echo(
            f"warning: the trace ends at iteration {last:,} but summary.json says {done:,} "
            "iterations: the trace was cut short or edited",
            err=True,
        )
    table_rows = []
    sections = []
    for k, i in enumerate(idx):
        if k == rows and total > 2 * rows:
            sections.append(len(table_rows))
        table_rows.append([str(int(trace[c][i])) if c == "iteration" else f"{trace[c][i]:.6g}" for c in cols])
    print_table(cols, table_rows, right=tuple(range(len(cols))), sections=sections)
