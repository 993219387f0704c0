"""``optrun resume`` of a folder written by a newer optrun: refused first, in one line naming the
folder's format and the one this optrun reads (exit 2), and nothing in the folder changes."""

from __future__ import annotations

import json
import os

import pytest
from cli_runs import run_folder
from click.testing import CliRunner

from optrun.cli import cli


def newer(folder: str) -> dict[str, bytes]:
    """Mark ``folder`` as written in format 99, interrupted; its files' bytes after that."""
    path = os.path.join(folder, "summary.json")
    with open(path) as f:
        summary = json.load(f)
    summary.update(format_version=99, status="interrupted")
    with open(path, "w") as f:
        json.dump(summary, f)
    return files(folder)


def files(folder: str) -> dict[str, bytes]:
    out = {}
    for name in sorted(os.listdir(folder)):
        if name != "traces":
            with open(os.path.join(folder, name), "rb") as f:
                out[name] = f.read()
    return out


@pytest.mark.parametrize("sweep", [False, True], ids=["run", "sweep"])
def test_resume_refuses_a_newer_format_in_one_line(tmp_path, configs_dir, sweep):
    args = ["--sweep", "seed=1,2"] if sweep else []
    folder = run_folder(configs_dir / "amsgrad.yaml", tmp_path / "runs", "iterations=20", *args)
    before = newer(folder)
    r = CliRunner().invoke(cli, ["resume", folder])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.output
    assert "format 99" in lines[0] and "reads format 1" in lines[0] and "upgrade optrun" in lines[0]
    assert os.path.basename(folder) in lines[0]
    assert files(folder) == before


@pytest.mark.parametrize("sweep", [False, True], ids=["run", "sweep"])
def test_resume_of_a_newer_format_never_makes_a_lock_file(tmp_path, configs_dir, sweep, monkeypatch):
    """The format is checked before the folder is locked: no ``.lock`` is created (and removed)
    in a folder a newer optrun wrote."""
    args = ["--sweep", "seed=1,2"] if sweep else []
    folder = run_folder(configs_dir / "amsgrad.yaml", tmp_path / "runs", "iterations=20", *args)
    before = newer(folder)
    opened: list[str] = []
    real_open = os.open

    def watching_open(path, *a, **k):
        opened.append(os.fspath(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr(os, "open", watching_open)
    r = CliRunner().invoke(cli, ["resume", folder])
    monkeypatch.undo()
    assert r.exit_code == 2, r.output
    assert not [p for p in opened if os.path.basename(p) == ".lock"]
    assert files(folder) == before
