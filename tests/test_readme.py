"""The README's generated tables match the code (like cog in sqlite-utils): a doc cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from optrun.cli import cli

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize("command", ["algorithms", "objectives"])
def test_readme_table_is_the_command_output(command):
    text = README.read_text()
    m = re.search(rf"<!-- {command}:begin -->\n(.*?)<!-- {command}:end -->", text, re.DOTALL)
    assert m, f"README lacks the generated {command} table"
    result = CliRunner().invoke(cli, [command, "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert m.group(1) == result.output, (
        f"README's {command} table is stale: paste the output of `optrun {command} --format markdown`"
    )


def test_readme_test_command_is_what_ci_runs():
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    cmd = "pip install -e '.[test]' && python -m pytest -q"
    assert cmd in README.read_text() and cmd in ci
