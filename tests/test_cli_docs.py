"""docs/cli.md is what every command's --help says (regenerate: python tools/make_cli_docs.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("make_cli_docs", ROOT / "tools" / "make_cli_docs.py")
docs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(docs)


def test_the_command_reference_is_current():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert text == docs.render(), "docs/cli.md is out of date: run python tools/make_cli_docs.py"


def test_the_reference_has_every_command_with_its_usage():
    from optrun.cli import COMMANDS

    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for name in COMMANDS:
        assert f"## optrun {name}\n" in text and f"Usage: optrun {name} " in text
