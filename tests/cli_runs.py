"""One run through the CLI (click's CliRunner), for tests that need a real run folder: returns its
path, read from the run's JSON result line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from optrun.cli import cli


def run_folder(config: Path, runs: Path, *args: str, code: int = 0) -> str:
    """``optrun run CONFIG ARGS... --runs-dir RUNS -q --format json``; asserts its exit code."""
    r = CliRunner().invoke(
        cli, ["run", str(config), *args, "--runs-dir", str(runs), "-q", "--format", "json"]
    )
    assert r.exit_code == code, r.output
    return json.loads(r.output.strip().splitlines()[-1])["path"]
