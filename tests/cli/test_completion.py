"""Shell completion (click's): commands, options, RUN selectors from the runs folder, config files;
answered without importing numpy."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def complete(optrun_bin, runs_dir, words: str, cwd=None, shell: str = "bash") -> list[tuple[str, str]]:
    """(type, value) pairs that ``optrun`` gives bash for the command line ``words`` (the last word
    is the one being completed; a trailing space starts a new, empty word)."""
    parts = words.split(" ")
    env = {
        **os.environ,
        "_OPTRUN_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(parts) - 1),
        "OPTRUN_RUNS_DIR": str(runs_dir),
    }
    p = subprocess.run(
        [optrun_bin], check=False, env=env, capture_output=True, text=True, timeout=60, cwd=cwd
    )
    assert p.returncode == 0, p.stderr
    return [tuple(line.split(",", 1)) for line in p.stdout.splitlines() if line]


@pytest.fixture
def two_runs(run_optrun, configs_dir, runs_dir):
    for seed in (1, 2):
        r = run_optrun("run", configs_dir / "rosenbrock.yaml", "iterations=5", f"seed={seed}", "-q")
        assert r.returncode in (0, 1), r.stderr
    r = run_optrun("run", configs_dir / "rosenbrock.yaml", "iterations=5", "--sweep", "seed=0:3", "-q")
    assert r.returncode in (0, 1), r.stderr
    return sorted((p.name for p in runs_dir.iterdir()), reverse=True)  # newest first


def test_commands_and_options(optrun_bin, runs_dir):
    assert ("plain", "resume") in complete(optrun_bin, runs_dir, "optrun re")
    assert ("plain", "runs") in complete(optrun_bin, runs_dir, "optrun ru")
    opts = [v for _, v in complete(optrun_bin, runs_dir, "optrun show --")]
    assert "--runs-dir" in opts and "--rows" in opts


@pytest.mark.parametrize("command", ["show", "resume", "compare", "plot"])
def test_run_selectors_come_from_the_runs_folder(optrun_bin, runs_dir, two_runs, command):
    values = [v for _, v in complete(optrun_bin, runs_dir, f"optrun {command} ")]
    assert values[:4] == ["last", "-1", "-2", "-3"]
    assert values[4:] == two_runs  # every run and sweep id, newest first


def test_prefixes_and_labels(optrun_bin, runs_dir, two_runs):
    newest = two_runs[0]
    assert [v for _, v in complete(optrun_bin, runs_dir, f"optrun show {newest[:-3]}")] == [newest]
    assert [v for _, v in complete(optrun_bin, runs_dir, "optrun show la")] == ["last"]
    label = two_runs[1].split("-", 2)[2]  # name-hash, as compare and plot print it
    assert ("plain", label) in complete(optrun_bin, runs_dir, f"optrun compare last {label[:-2]}")


def test_runs_dir_option_is_honoured(optrun_bin, runs_dir, two_runs, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert complete(optrun_bin, runs_dir, f"optrun show --runs-dir {empty} ") == []
    assert len(complete(optrun_bin, empty, f"optrun show --runs-dir {runs_dir} ")) == 4 + len(two_runs)


def test_paths_and_config_files(optrun_bin, runs_dir):
    assert complete(optrun_bin, runs_dir, "optrun show ./ru") == [("dir", "./ru")]
    assert complete(optrun_bin, runs_dir, "optrun run conf") == [("file", "conf")]
    assert complete(optrun_bin, runs_dir, "optrun check-gradient c.yaml objective.dim=") == []


def test_completion_does_not_import_numpy(runs_dir, two_runs):
    code = (
        "import os, sys\n"
        "os.environ.update(_OPTRUN_COMPLETE='bash_complete', COMP_WORDS='optrun show ', COMP_CWORD='2')\n"
        "from optrun.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('numpy' in sys.modules, file=sys.stderr)\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "OPTRUN_RUNS_DIR": str(runs_dir)},
    )
    assert p.stderr.strip() == "False", p.stderr
    assert "plain,last" in p.stdout


def test_bash_source_script(optrun_bin):
    p = subprocess.run(
        [optrun_bin],
        check=False,
        env={**os.environ, "_OPTRUN_COMPLETE": "bash_source"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0 and "_optrun_completion" in p.stdout and "complete " in p.stdout
