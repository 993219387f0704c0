"""``optrun run``: run configs into run folders."""

from __future__ import annotations

import json
import os
import re
import sys

import click

from .options import (
    check_executor,
    complete_config_args,
    executor_options,
    open_executor,
    quiet_option,
    runs_dir_option,
)


def _missing_equals(arg: str) -> str | None:
    """``algorithm.alpha`` or ``iterations:500`` given where a CONFIG is expected, and no such file:
    the hint for an override whose ``=`` was forgotten, else None."""
    if os.path.exists(arg) or arg.endswith((".yaml", ".yml")):
        return None
    from ..config import TOP_KEYS  # only for an argument that is no file: the error path

    m = re.fullmatch(r"([A-Za-z_]\w*)((?:\.\w+)*)\s*(?::\s*(.*))?", arg, re.DOTALL)
    if not m or m.group(1) not in TOP_KEYS:
        return None
    key = m.group(1) + m.group(2)
    value = m.group(3) if m.group(3) is not None else "VALUE"
    return f"'{arg}' is not a file; it looks like an override missing '=': write {key}={value}"


def split_args(args: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """CONFIG paths first (``-``: standard input), then KEY=VALUE overrides (an argument with '='
    that is not a file)."""
    configs, overrides = [], []
    for a in args:
        if "=" in a and not os.path.isfile(a):
            overrides.append(a)
        elif overrides:
            raise click.UsageError(
                f"config '{a}' comes after an override; put every CONFIG before the KEY=VALUE overrides"
            )
        else:
            hint = _missing_equals(a)
            if hint:
                raise click.UsageError(hint)
            configs.append(a)
    if not configs:
        raise click.UsageError("give at least one CONFIG file, e.g. optrun run configs/amsgrad.yaml")
    if configs.count("-") > 1:
        raise click.UsageError("'-' (read the config from standard input) can be given once")
    return configs, overrides


@click.command(context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1, metavar="CONFIG... [KEY=VALUE...]", shell_complete=complete_config_args)
@runs_dir_option
@quiet_option
@click.option(
    "-v", "--verbose", is_flag=True, help="Print every iteration in the tutorials' format '>%d f(%s) = %.5f'."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: print each run's summary as a JSON line on stdout instead of the result line.",
)
@click.option(
    "--sweep",
    "sweeps",
    multiple=True,
    metavar="KEY=SPEC",
    help="Add a sweep axis: KEY=a,b,c, KEY=START:STOP[:STEP], KEY=range(...), KEY=logspace(a,b,n) "
    "or KEY=linspace(a,b,n), e.g. seed=0:100, algorithm.alpha=0.001,0.01,0.1. "
    "Repeatable; the sweep is the product.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print what would run, and stop: the resolved config as YAML for one run (re-readable: "
    "pipe it to 'optrun run -'; a comment names the folders user code is imported from), "
    "the members, their variants and the batches for a sweep.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="Processes for a sweep's batches (default: the number of cores); with --executor dask "
    "and no --scheduler, the LocalCluster's workers.",
)
@executor_options
@click.option(
    "--fail-fast", is_flag=True, help="Stop a sweep at the first failed member (default: keep going)."
)
@click.option(
    "--plot",
    "plot",
    is_flag=True,
    help="Also draw each run into its folder, as optrun plot does (contour.png for a 2-D "
    "objective, regret.png for an online one, learning.png for a learning problem with test "
    "data, convergence.png otherwise); the path goes to stderr.",
)
def run(args, runs_dir, quiet, verbose, fmt, sweeps, dry_run, workers, executor, scheduler, fail_fast, plot):
    """Run one or more CONFIG files, each into a new folder under the runs folder.

    Overrides set any config key by its dotted path; values are typed by YAML rules
    (0.01 is a number, true a boolean, [1, 2] a list). Every config and override is
    validated before any run starts. CONFIG '-' reads the config from standard input.
    Swapping algorithm.name keeps the settings the new algorithm accepts, its variant
    included; what is dropped is named in a note on stderr.

    \b
    Examples:
      optrun run configs/amsgrad.yaml
      optrun run configs/adagrad.yaml iterations=500 algorithm.alpha=0.05 seed=3
      optrun run configs/amsgrad.yaml configs/adagrad.yaml --quiet
      optrun run configs/amsgrad.yaml --verbose        # the tutorial's own lines
      optrun run configs/amsgrad.yaml --sweep seed=0:100 --sweep algorithm.alpha=0.001,0.01,0.1
      optrun run configs/amsgrad.yaml --sweep seed=0:10 --dry-run
      optrun run configs/amsgrad.yaml --dry-run > mine.yaml   # the resolved config
      cat mine.yaml | optrun run -
      optrun run configs/reddi-online.yaml             # the AMSGrad paper's experiment,
      optrun plot last                                 # and its two panels
      optrun run configs/amsgrad.yaml --sweep seed=0:1000 --executor dask   # a LocalCluster
      optrun run configs/amsgrad.yaml --sweep seed=0:1000 --executor dask --scheduler tcp://head:8786

    A config with a sweep: block (or --sweep options) runs as a sweep: members that
    share algorithm, objective and dimension run as one vectorized batch, batches run
    in a process pool (or on a Dask cluster: --executor dask), and one sweep folder
    holds a summary table and the traces.

    Exit status: 0 all runs completed and met their expect: block; 1 a run diverged,
    failed or missed its expect: block (a sweep: a member did, or a gate such as
    expect.success_rate_min failed); 2 bad input; 130 interrupted (143 on SIGTERM).
    """
    from ..execution.signals import ignore_interrupts, interrupted
    from ..sweep import load_plan
    from .console import result_line, sweep_result_line

    if verbose and quiet:
        raise click.UsageError("--verbose and --quiet contradict each other; give one")
    config_paths, overrides = split_args(args)
    check_executor(executor, scheduler)
    plans = [load_plan(p, overrides, sweeps) for p in config_paths]  # validate all before running any
    for plan in plans:  # --quiet keeps the notes that change what runs (settings a swap dropped)
        for note in plan_notes(plan, quiet):
            click.echo(f"note: {plan.source}: {note}", err=True)
    if dry_run:
        for plan in plans:
            print_dry_run(plan)
        return
    worst = 0
    argv = ["optrun", *sys.argv[1:]]
    if plot:  # no matplotlib: say so (exit 2) before any run starts
        from ..plot import require_matplotlib

        require_matplotlib()
    silent = quiet or fmt == "json"
    for plan in plans:
        if plan.is_sweep:
            with open_executor(executor, scheduler, workers, plan.bases) as ex:
                outcome = _run_sweep(plan, runs_dir, silent, verbose, workers, fail_fast, argv, ex)
            line = sweep_result_line(outcome)
            data = {"path": outcome.path, **{k: v for k, v in outcome.summary.items() if k != "rows"}}
        else:
            if executor == "dask" and not quiet:
                click.echo(
                    f"note: {plan.source}: one run, not a sweep: it runs here (--executor dask)", err=True
                )
            outcome = _run_one(plan, runs_dir, silent, verbose, argv)
            line = result_line(outcome)
            data = {"path": outcome.path, **outcome.summary}
        if plot and not interrupted(outcome.exit_code):  # a sweep: median and IQR band per configuration
            worst = max(worst, _draw(_picture(plan, outcome.path), outcome.path, data, silent))
        _print_result(line, data, fmt)
        if interrupted(outcome.exit_code):
            ignore_interrupts()  # the record is final: a late Ctrl-C must not change the exit status
            sys.exit(outcome.exit_code)
        worst = max(worst, outcome.exit_code)
    sys.exit(worst)


def _run_one(plan, runs_dir: str, silent: bool, verbose: bool, argv: list[str]):
    """One run, reported by a bar on a terminal, plain lines otherwise."""
    from ..execution.run import execute
    from .console import BarReporter, PlainReporter, use_bar

    reporter = BarReporter() if use_bar(silent, verbose) else PlainReporter(quiet=silent)
    with reporter:
        return execute(plan.base, runs_dir, reporter, argv=argv, verbose=verbose)


def _run_sweep(
    plan, runs_dir: str, silent: bool, verbose: bool, workers, fail_fast: bool, argv: list[str], executor
):
    """One sweep (through ``executor``, or the local pool when None), reported by a bar on a
    terminal, plain lines otherwise."""
    from ..execution.sweep import execute_sweep  # multiprocessing: imported only for sweeps
    from .console import BarSweepReporter, PlainSweepReporter, use_bar

    reporter = BarSweepReporter() if use_bar(silent, verbose) else PlainSweepReporter(quiet=silent)
    with reporter:
        return execute_sweep(
            plan, runs_dir, reporter, workers=workers, fail_fast=fail_fast, argv=argv, executor=executor
        )


def _picture(plan, path: str):
    """What ``--plot`` draws of the finished run or sweep at ``path``."""
    if plan.is_sweep:
        from ..plot import plot_sweeps
        from ..store.select import load_sweep

        return lambda: plot_sweeps([load_sweep(path)])
    from ..plot import plot_run_folder

    return lambda: plot_run_folder(path)


def _print_result(line: str, data: dict, fmt: str) -> None:
    """The result line, or with ``--format json`` the summary as a JSON line, on stdout."""
    if fmt == "json":
        from ..store.folder import jsonable

        click.echo(json.dumps(jsonable(data), allow_nan=False))
    else:
        click.echo(line)


def _draw(make, path: str, data: dict, quiet: bool) -> int:
    """Draw a finished run or sweep (``--plot``); a picture that cannot be drawn is one line and
    exit 2, the run itself is kept. Returns the exit code it adds."""
    from ..errors import OptrunError

    try:
        data["plot"] = make()
    except OptrunError as e:
        click.echo(f"optrun: no picture of {path}: {e.message}", err=True)
        return e.exit_code
    if not quiet:
        click.echo(f"picture: {data['plot']}", err=True)
    return 0


def plan_notes(plan, quiet: bool = False) -> list[str]:
    """The notes to print before a plan runs: settings a swap dropped (even when ``quiet``: they
    change what runs), a start outside the bounds, a trace that will be large."""
    if quiet:
        return list(plan.notes)
    from ..config import start_outside_bounds
    from ..execution.notes import trace_notes

    members = plan.members if plan.is_sweep else [plan.base]
    notes = {n for n in map(start_outside_bounds, members) if n}
    notes.update(trace_notes(members, sweep=plan.is_sweep))
    return list(plan.notes) + sorted(notes)


def print_dry_run(plan) -> None:
    """One run: the resolved config as YAML (headed by a comment line). A sweep: the members,
    their variants and the batches they would run in. Notes come first, as comments or lines."""
    from ..sweep import make_batches
    from ..text import flow, plural
    from .console import describe_sweep

    notes = plan_notes(plan)
    if not plan.is_sweep:
        c = plan.base
        click.echo(
            f"# {plan.source}: one run: {c.algorithm.name} ({c.algorithm.variant}) on "
            f"{c.objective.name}, d={c.dim}, {plural(c.iterations, 'iteration')}, seed {c.seed}"
        )
        for note in notes:
            click.echo(f"# note: {note}")
        from ..objectives.user import module_record
        from ..store.records import recorded_module_dirs

        dirs = module_record(c, recorded=recorded_module_dirs).get("module_dirs")
        if dirs:  # read elsewhere (optrun run -), the config looks beside itself and in the working folder
            click.echo(
                f"# user code is imported from {', '.join(dirs)}: run this output from there, or with "
                "PYTHONPATH naming the folder"
            )
        click.echo(c.to_yaml(), nl=False)
        return
    batches = make_batches(plan.members)
    click.echo(f"{plan.source}: {describe_sweep(plan, batches)}")
    for note in notes:
        click.echo(f"note: {note}")
    for b, idx in enumerate(batches):
        m0 = plan.members[idx[0]]
        click.echo(
            f"batch {b}: {plural(len(idx), 'member')}, {m0.algorithm.name} ({m0.algorithm.variant}) on "
            f"{m0.objective.name} d={m0.dim}, {plural(m0.iterations, 'iteration')}"
        )
        shown = idx if len(idx) <= 20 else idx[:10] + [None] + idx[-5:]
        for i in shown:
            if i is None:
                click.echo("  ...")
                continue
            axes = ", ".join(f"{k}={flow(v)}" for k, v in plan.assignments[i].items())
            m = plan.members[i]
            click.echo(f"  member {i}: {axes} [{m.algorithm.name} ({m.algorithm.variant})]")
