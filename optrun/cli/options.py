"""Options shared by several commands, defined once."""

from __future__ import annotations

import click

runs_dir_option = click.option(
    "--runs-dir", type=click.Path(file_okay=False), envvar="OPTRUN_RUNS_DIR", default="runs",
    show_default=True, show_envvar=True, help="Folder that holds the run folders.")

quiet_option = click.option("-q", "--quiet", is_flag=True, help="Print only the result line.")


def format_option(*choices: str, default: str = "table"):
    return click.option("--format", "fmt", type=click.Choice((default,) + choices), default=default,
                        show_default=True, help="Output format: a table for people, or data for machines.")
