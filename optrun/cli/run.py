"""``optrun run``: run configs into run folders."""

from __future__ import annotations

import json
import os
import sys

import click

from .options import quiet_option, runs_dir_option


def split_args(args: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """CONFIG paths first, then KEY=VALUE overrides (an argument with '=' that is not a file)."""
    configs, overrides = [], []
    for a in args:
        if "=" in a and not os.path.isfile(a):
            overrides.append(a)
        elif overrides:
            raise click.UsageError(f"config '{a}' comes after an override; put every CONFIG "
                                   "before the KEY=VALUE overrides")
        else:
            configs.append(a)
    if not configs:
        raise click.UsageError("give at least one CONFIG file, e.g. optrun run configs/amsgrad.yaml")
    return configs, overrides


@click.command(context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1, metavar="CONFIG... [KEY=VALUE...]")
@runs_dir_option
@quiet_option
@click.option("-v", "--verbose", is_flag=True,
              help="Print every iteration in the tutorials' format '>%d f(%s) = %.5f'.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: print each run's summary as a JSON line on stdout instead of the result line.")
def run(args, runs_dir, quiet, verbose, fmt):
    """Run one or more CONFIG files, each into a new folder under the runs folder.

    Overrides set any config key by its dotted path; values are typed by YAML rules
    (0.01 is a number, true a boolean, [1, 2] a list). Every config and override is
    validated before any run starts.

    \b
    Examples:
      optrun run configs/amsgrad.yaml
      optrun run configs/adagrad.yaml iterations=500 algorithm.alpha=0.05 seed=3
      optrun run configs/amsgrad.yaml configs/adagrad.yaml --quiet
      optrun run configs/amsgrad.yaml --verbose        # the tutorial's own lines

    Exit status: 0 all runs completed and met their expect: block; 1 a run diverged,
    failed or missed its expect: block; 2 bad input; 130 interrupted (143 on SIGTERM).
    """
    from ..config import load_config
    from ..experiment import execute
    from ..store.folder import jsonable
    from .console import BarReporter, PlainReporter, result_line, use_bar

    config_paths, overrides = split_args(args)
    configs = [load_config(p, overrides) for p in config_paths]  # validate all before running any
    worst = 0
    argv = ["optrun", *sys.argv[1:]]
    for config in configs:
        reporter = BarReporter() if use_bar(quiet or fmt == "json", verbose) else PlainReporter(
            quiet=quiet or fmt == "json")
        try:
            outcome = execute(config, runs_dir, reporter, argv=argv, verbose=verbose)
        finally:
            if isinstance(reporter, BarReporter):
                reporter.close()
        if fmt == "json":
            click.echo(json.dumps(jsonable({"path": outcome.path, **outcome.summary}), allow_nan=False,
                                  default=str))
        else:
            click.echo(result_line(outcome))
        if outcome.exit_code in (130, 143):
            sys.exit(outcome.exit_code)
        worst = max(worst, outcome.exit_code)
    sys.exit(worst)
