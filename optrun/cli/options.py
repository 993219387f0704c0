"""Options shared by several commands, defined once."""

from __future__ import annotations

import os

import click

runs_dir_option = click.option(
    "--runs-dir",
    type=click.Path(file_okay=False),
    envvar="OPTRUN_RUNS_DIR",
    default="runs",
    show_default=True,
    show_envvar=True,
    help="Folder that holds the run folders.",
)

quiet_option = click.option("-q", "--quiet", is_flag=True, help="Print only the result line.")


def format_option(*choices: str, default: str = "table"):
    return click.option(
        "--format",
        "fmt",
        type=click.Choice((default,) + choices),
        default=default,
        show_default=True,
        help="Output format: a table for people, or data for machines.",
    )


# ------------------------------------------------------------------------------- shell completion
# Called by click when the shell asks (``_OPTRUN_COMPLETE=bash_complete``): they list folders and
# read no file, and import neither numpy nor optrun's readers, so a TAB answers at once.

RUN_FILES = ("summary.json", "config.yaml", "meta.json", "trace.csv")  # as optrun.store.parts.RUN_FILES
RELATIVE = ("last", "-1", "-2", "-3")


def _runs_dir(ctx: click.Context) -> str:
    return ctx.params.get("runs_dir") or os.environ.get("OPTRUN_RUNS_DIR") or "runs"


def _run_ids(runs_dir: str) -> list[str]:
    """The run and sweep folders of ``runs_dir``, newest first (ids begin with their start time)."""
    try:
        names = os.listdir(runs_dir)
    except OSError:
        return []
    return sorted(
        (
            n
            for n in names
            if not n.startswith(".") and any(os.path.isfile(os.path.join(runs_dir, n, f)) for f in RUN_FILES)
        ),
        reverse=True,
    )


def complete_runs(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    """RUN selectors: ``last``/``-1``..., run ids, their ``name-hash`` labels, and folder paths for
    what looks like a path. (Sweep members, ``SWEEP/7``, would need the sweep's summary read: the
    shell is not kept waiting for that.)"""
    from click.shell_completion import CompletionItem

    if incomplete.startswith((".", "/", "~")):
        return [CompletionItem(incomplete, type="dir")]
    runs_dir = _runs_dir(ctx)
    ids = _run_ids(runs_dir)
    items = [
        CompletionItem(r, help="the newest run" if r in ("last", "-1") else None)
        for r in RELATIVE[: 1 + len(ids)]
        if r.startswith(incomplete) and ids
    ]
    items += [CompletionItem(i) for i in ids if i.startswith(incomplete)]
    if incomplete:  # the label tables print (name-hash, the end of the id)
        items += [
            CompletionItem(i.split("-", 2)[2], help=i)
            for i in ids
            if i.count("-") >= 2 and i.split("-", 2)[2].startswith(incomplete)
        ]
    return items


def complete_config_args(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    """CONFIG... [KEY=VALUE...]: files, unless the word is already an override."""
    from click.shell_completion import CompletionItem

    return [] if "=" in incomplete else [CompletionItem(incomplete, type="file")]
