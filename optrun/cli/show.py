"""``optrun show RUN``: one run (config, summary, first and last trace rows) or one sweep (config,
members by status, axes, its best members), as text or JSON."""

from __future__ import annotations

import json
from typing import Any

import click

from ..text import plural
from .cells import as_number, fmt_g, members_text
from .options import complete_runs, format_option, runs_dir_option
from .render import echo_json, print_table
from .selectors import SelectorCommand, check_selectors


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

    from ..store.select import select

    check_selectors([run])
    r = select(run, runs_dir)
    if r.kind == "sweep":
        _show_sweep(r, best, fmt)
    elif fmt == "json":
        _show_run_json(r, rows)
    else:
        _show_run(r, rows)


# ------------------------------------------------------------------------------------ a run


def trace_rows(trace: dict, n: int) -> tuple[list[str], list[int], int]:
    """Column names, the row indices to show (first and last ``n``), and the total row count."""
    cols = list(trace)
    total = len(trace["iteration"]) if "iteration" in trace else 0
    idx = list(range(total)) if total <= 2 * n else list(range(n)) + list(range(total - n, total))
    return cols, idx, total


def _show_run_json(r, rows: int) -> None:
    """``optrun show RUN --format json``: config, summary, meta and the trace's head and tail."""
    trace = r.trace()
    cols, idx, total = trace_rows(trace, rows)

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


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, default=str)
    return "null" if v is None else str(v)


def _show_run(r, rows: int) -> None:
    """``optrun show RUN``: the config, the summary, the trace's first and last ``rows`` rows."""
    trace = r.trace()
    cols, idx, total = trace_rows(trace, rows)
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


# ------------------------------------------------------------------------------------ a sweep


def best_rows(sweep, n: int) -> tuple[str, list[dict[str, Any]]]:
    """The key ranked on (``f_gap`` when every ranked member has it, else ``final_f``) and the
    ``n`` members with the lowest value (members without one are left out)."""

    def value(r: dict[str, Any], key: str) -> float | None:
        return as_number(r.get(key))

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
    from ..store.values import selector_text

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
    _show_head("sweep", sweep, [f"members: {members_text(sweep)}"])
    if not sweep.rows:
        out(f"no member table yet: the sweep is {sweep.status}")
        return
    out("axes:")
    for a, vals in axes.items():
        shown = ", ".join(selector_text(v) for v in vals[:10]) + (
            f", ... {selector_text(vals[-1])}" if len(vals) > 10 else ""
        )
        out(f"  {a}: {len(vals)} value{'s' * (len(vals) != 1)} ({shown})")
    out("")
    if not top:
        out("no member has a final f")
        return
    label = "final f - f*" if key == "f_gap" else "final f"
    out(f"best {len(top)} of {plural(len(sweep.rows), 'member')} by {label}:")
    _print_best(sweep, top)
    out("")
    out(
        f"one member: optrun show {sweep.id}/{top[0]['member']}, or by its axis values "
        f"{sweep.id}:" + ",".join(f"{a}={selector_text(top[0].get(a))}" for a in sweep.axes)
    )


def _print_best(sweep, top: list[dict[str, Any]]) -> None:
    """The table of a sweep's best members: axis values, status, final f, f - f*, best f,
    iterations, and when the tightest target any of them reached was first reached."""
    from ..store.values import selector_text

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
            *[selector_text(r.get(a)) for a in sweep.axes],
            str(r.get("status")),
            fmt_g(r.get("final_f")),
            fmt_g(r.get("f_gap")),
            fmt_g(r.get("best_f")),
            "-" if as_number(r.get("iterations")) is None else f"{r['iterations']:,}",
        ]
        if hit_col:
            cells.append("-" if r.get(hit_col) is None else f"{r[hit_col]:,}")
        body.append(cells)
    print_table(header, body, right=tuple(range(len(sweep.axes) + 2, len(header))) + (0,))
