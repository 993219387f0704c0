"""Configs and plans for the sweep tests: a base config, a file written from text, the CLI
invoked with CliRunner, a plan loaded from a sweep block and options."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from optrun.cli import cli
from optrun.sweep import load_plan

BASE = """\
name: base
objective: sphere
bounds: [[-1.0, 1.0], [-1.0, 1.0]]
algorithm: {name: amsgrad, variant: tutorial, alpha: 0.01, beta1_schedule: power}
iterations: 20
seed: 1
"""


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def plan_of(
    tmp_path: Path,
    sweep_block: str = "",
    options: tuple[str, ...] = (),
    base: str = BASE,
    overrides: tuple[str, ...] = (),
):
    return load_plan(str(write(tmp_path, base + sweep_block)), overrides, options)


def values(plan, key):
    return [a[key] for a in plan.assignments]
