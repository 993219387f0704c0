"""The ``optrun`` command line: parsing, output and error translation only.

Commands live in their own modules and are imported only when invoked, so ``optrun --help``
starts without numpy. Library errors (:class:`optrun.errors.OptrunError`) become one line on
stderr and their exit code here, in one place.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from .. import __version__
from ..errors import OptrunError

# name -> (module, attribute, one-line help shown by `optrun --help` without importing it)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("optrun.cli.run", "run", "Run one or more configs into new run folders."),
    "resume": ("optrun.cli.resume", "resume", "Continue an interrupted or crashed run, or finish a sweep."),
    "runs": ("optrun.cli.runs", "runs", "List the runs in the runs folder, newest first."),
    "show": ("optrun.cli.show", "show", "Show one run's config, summary and trace head and tail."),
    "compare": ("optrun.cli.compare", "compare", "Compare two or more runs side by side; gate CI on it."),
    "plot": ("optrun.cli.plot", "plot", "Draw runs: contour with search path (2-D), f - f* curves."),
    "algorithms": (
        "optrun.cli.algorithms",
        "algorithms",
        "List optimizers, their variants and update rules.",
    ),
    "objectives": ("optrun.cli.objectives", "objectives", "List test functions, formulas and known minima."),
    "check-gradient": (
        "optrun.cli.objectives",
        "check_gradient",
        "Check an objective's gradient against finite differences.",
    ),
}


class CommandFailed(click.ClickException):
    """A ClickException carrying an OptrunError's exit code."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class LazyGroup(click.Group):
    """Imports a command's module only when that command runs or shows its own help."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, _, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except OptrunError as e:
            # the contract is one line: fold any line breaks a message picked up from a library
            raise CommandFailed(" ".join(e.message.split()), e.exit_code) from None


@click.group(
    cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, "--version", prog_name="optrun")
def cli() -> None:
    """Run first-order optimizers from YAML configs and keep every run as a folder.

    \b
    Examples:
      optrun run configs/amsgrad.yaml
      optrun run configs/adagrad.yaml iterations=500 algorithm.alpha=0.05 seed=3

    \b
    Exit codes:
      0    success
      1    a run finished but failed its expect: block, diverged or failed;
           compare --fail-if-worse found a worse candidate
      2    bad usage or bad input (one line on stderr says what and where)
      130  interrupted by Ctrl-C (SIGINT); finished work is kept
      143  stopped by SIGTERM (kill, timeout, a CI job's cancel); finished work is kept
    """


def main() -> None:
    """Console-script entry point: every failure is one line on stderr and an exit code."""
    from ..execution.signals import hold_interrupts, ignore_interrupts

    hold_interrupts()  # an interrupted run's or sweep's exit cannot be cut by a late Ctrl-C
    try:
        code = cli.main(prog_name="optrun", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as e:  # bare `optrun`: the help, on stdout
        click.echo(e.ctx.get_help() if e.ctx is not None else e.format_message())
        sys.exit(0)
    except click.UsageError as e:  # bad usage: one line, with where to look (exit 2)
        cmd = e.ctx.command_path if e.ctx is not None else "optrun"
        click.echo(f"Error: {e.format_message()} (see '{cmd} --help')", err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except (click.Abort, KeyboardInterrupt):
        ignore_interrupts()  # a second Ctrl-C must not turn exit status 130 into death by SIGINT
        click.echo("optrun: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:  # `optrun runs | head`
        sys.stderr.close()
        sys.exit(0)
    except Exception as e:  # a bug in optrun: say so in one line unless debugging
        if os.environ.get("OPTRUN_DEBUG"):
            raise
        click.echo(
            f"optrun: internal error: {type(e).__name__}: {e} (set OPTRUN_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
