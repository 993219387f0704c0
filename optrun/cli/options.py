"""Options shared by several commands, defined once."""

from __future__ import annotations

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


executor_option = click.option(
    "--executor",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Where a sweep's batches run: local, a process pool on this machine; dask, a Dask "
    "cluster (--scheduler, else a LocalCluster of --workers processes on 127.0.0.1; needs "
    "pip install 'optrun[dask]'). A single run always runs here.",
)

scheduler_option = click.option(
    "--scheduler",
    metavar="tcp://HOST:PORT",
    envvar="OPTRUN_DASK_SCHEDULER",
    show_envvar=True,
    default=None,
    help="The Dask scheduler of --executor dask, e.g. tcp://10.0.0.5:8786 (default: start a "
    "LocalCluster here, closed at the end).",
)


def executor_options(f):
    """``--executor`` and ``--scheduler``, shared by ``optrun run`` and ``optrun resume``."""
    return executor_option(scheduler_option(f))


def check_executor(executor: str, scheduler: str | None) -> None:
    """``--scheduler`` on the command line needs ``--executor dask``; ``--executor dask`` needs
    dask[distributed] (one line, exit 2, before any folder is made)."""
    ctx = click.get_current_context()
    if scheduler and executor != "dask" and ctx.get_parameter_source("scheduler").name == "COMMANDLINE":
        raise click.UsageError("--scheduler needs --executor dask")
    if executor == "dask":
        from ..execution.dask_executor import require_distributed

        require_distributed()


def open_executor(executor: str, scheduler: str | None, workers: int | None, configs: list):
    """A context giving the executor of a sweep: None (the local pool) or a connected
    :class:`~optrun.execution.dask_executor.DaskExecutor`, closed at the end, whose workers were
    checked to import the user code of ``configs``."""
    import contextlib

    if executor != "dask":
        return contextlib.nullcontext(None)
    from ..execution.dask_executor import DaskExecutor

    ex = DaskExecutor(scheduler, workers)
    try:
        ex.check(configs)
    except BaseException:
        ex.close()
        raise
    return ex


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
# read no file, and import neither numpy nor optrun's readers (only the stdlib-only
# optrun.store.names), so a TAB answers at once.

RELATIVE = ("last", "-1", "-2", "-3")


def complete_runs(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    """RUN selectors: ``last``/``-1``..., run ids, their ``name-hash`` labels, and folder paths for
    what looks like a path. (Sweep members, ``SWEEP/7``, would need the sweep's summary read: the
    shell is not kept waiting for that.)"""
    from click.shell_completion import CompletionItem

    from ..store.names import default_runs_dir, run_names

    if incomplete.startswith((".", "/", "~")):
        return [CompletionItem(incomplete, type="dir")]
    ids = run_names(ctx.params.get("runs_dir") or default_runs_dir())
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
