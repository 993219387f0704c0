"""``optrun resume``: continue an interrupted, crashed or failed run, or finish a sweep."""

from __future__ import annotations

import sys

import click

from .options import (
    check_executor,
    complete_runs,
    executor_options,
    open_executor,
    quiet_option,
    runs_dir_option,
)
from .selectors import SelectorCommand, check_selectors


@click.command(cls=SelectorCommand, context_settings={"ignore_unknown_options": True})
@click.argument("run_selector", metavar="RUN", shell_complete=complete_runs)
@runs_dir_option
@quiet_option
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="Processes for a sweep's remaining batches (default: the number of cores); with "
    "--executor dask and no --scheduler, the LocalCluster's workers.",
)
@executor_options
def resume(run_selector, runs_dir, quiet, workers, executor, scheduler):
    """Continue RUN where it stopped.

    A run (interrupted by Ctrl-C or SIGTERM, crashed, or failed, e.g. on a full
    disk) continues from its last checkpoint (trace.checkpoint_s in the config,
    every 10 s by default, and always at an interruption); rows after the
    checkpoint are dropped and recomputed, so the finished trace is bit-identical
    to an uninterrupted run. A sweep runs only its members that are missing,
    failed or interrupted, or whose batch trace file is gone.

    The folder is locked while it is written: a second resume of the same run or
    sweep (or a resume of one still running) exits 2 naming the process that
    writes it.

    A sweep resumes locally or on a Dask cluster (--executor dask), whatever ran
    its first part; a single run always resumes here.

    \b
    Examples:
      optrun resume last
      optrun resume 20261122-0451
      optrun resume last --executor dask --scheduler tcp://head:8786
    """
    from ..execution.run import resume_run
    from ..store.parts import folder_kind, member_of
    from ..store.select import resolve_run
    from .console import PlainReporter, PlainSweepReporter, result_line, sweep_result_line

    check_selectors([run_selector])
    check_executor(executor, scheduler)
    from ..errors import RunSelectionError

    path = resolve_run(run_selector, runs_dir)
    sweep = member_of(path)
    if sweep is not None:
        raise RunSelectionError(
            f"{run_selector} is one member of a sweep; resume the whole sweep "
            f"(optrun resume {sweep}): it reruns only the members that did not finish"
        )
    kind = folder_kind(path)
    argv = ["optrun", *sys.argv[1:]]
    if kind == "sweep":
        from ..execution.sweep import resume_sweep
        from ..store.records import config_path
        from ..sweep import load_plan

        configs = load_plan(config_path(path)).bases if executor == "dask" else []
        with open_executor(executor, scheduler, workers, configs) as ex:
            outcome = resume_sweep(
                path, PlainSweepReporter(quiet=quiet), workers=workers, argv=argv, executor=ex
            )
        click.echo(sweep_result_line(outcome))
    else:
        outcome = resume_run(path, PlainReporter(quiet=quiet), argv=argv)
        click.echo(result_line(outcome))
    from ..execution.signals import ignore_interrupts, interrupted

    if interrupted(outcome.exit_code):
        ignore_interrupts()  # the record is final: a late Ctrl-C must not change the exit status
    sys.exit(outcome.exit_code)
