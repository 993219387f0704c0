"""Behaviours added after a user-level review of the tool; each test fails without its fix."""

from __future__ import annotations

import json
import platform
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from optrun.cli import cli
from optrun.compare import compare_runs, gate, member_value
from optrun.execution.provenance import git_commit, machine_name, platform_text, python_version
from optrun.store.select import load_run, resolve_run

AMSGRAD = Path(__file__).resolve().parent.parent / "configs" / "amsgrad.yaml"


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"NO_COLOR": "1"})


def folders(runs: Path) -> list[Path]:
    return sorted(p for p in runs.iterdir() if p.is_dir())


def test_a_large_run_keeps_x_out_of_the_summary_and_reruns_from_its_config(tmp_path):
    runs = tmp_path / "runs"
    r = invoke(
        "run", AMSGRAD, "objective.dim=1500", "bounds=[-1, 1]", "iterations=3", "--runs-dir", runs, "-q"
    )
    assert r.exit_code == 0, r.output
    (f,) = folders(runs)
    s = json.loads((f / "summary.json").read_text())
    assert s["final_x"] is None and s["best_x"] is None and s["x_file"] == "x.npz"
    with np.load(f / "x.npz") as z:
        assert z["final_x"].shape == (1500,) and z["best_x"].shape == (1500,)
    c = yaml.safe_load((f / "config.yaml").read_text())
    assert c["bounds"] == [-1.0, 1.0]  # one shared pair, not 1,500
    again = invoke("run", f / "config.yaml", "--runs-dir", tmp_path / "again", "-q")
    assert again.exit_code == 0, again.output
    (g,) = folders(tmp_path / "again")
    assert (g / "trace.csv").read_bytes() == (f / "trace.csv").read_bytes()


def test_an_override_given_twice_is_refused(tmp_path):
    r = invoke("run", AMSGRAD, "seed=3", "seed=4", "--runs-dir", tmp_path / "runs")
    assert r.exit_code == 2
    assert "set twice" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_a_user_function_that_cannot_be_imported_names_file_and_key(tmp_path):
    cfg = tmp_path / "u.yaml"
    cfg.write_text(
        'objective: {function: "no_such_module_xyz:f"}\nbounds: [[-1, 1], [-1, 1]]\nalgorithm: gd\n'
    )
    r = invoke("run", cfg, "--runs-dir", tmp_path / "runs")
    assert r.exit_code == 2
    line = r.stderr.strip()
    assert str(cfg) in line and ": objective: " in line and "no_such_module_xyz" in line
    assert not (tmp_path / "runs").exists()


def test_a_crashed_run_shows_its_progress_from_the_trace(tmp_path):
    runs = tmp_path / "runs"
    assert invoke("run", AMSGRAD, "--runs-dir", runs, "-q").exit_code == 0
    (f,) = folders(runs)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    s = json.loads((f / "summary.json").read_text())
    keep = {
        k: s[k]
        for k in (
            "format_version",
            "id",
            "name",
            "algorithm",
            "variant",
            "objective",
            "dim",
            "iterations_planned",
            "started_at",
        )
    }
    (f / "summary.json").write_text(
        json.dumps(
            {**keep, "status": "running", "pid": dead.pid, "pid_start": 1, "hostname": socket.gethostname()}
        )
    )
    run = load_run(str(f))
    assert run.summary["status"] == "crashed"
    assert run.summary["iterations"] == 100 and run.summary["final_f"] == s["final_f"]


def test_the_name_hash_label_selects_a_run(tmp_path):
    runs = tmp_path / "runs"
    assert invoke("run", AMSGRAD, "--runs-dir", runs, "-q").exit_code == 0
    (f,) = folders(runs)
    label = f.name.split("-", 2)[2]  # YYYYMMDD-HHMMSS.mmm-<name-hash>
    assert resolve_run(label, str(runs)) == str(f)


def test_show_warns_when_the_trace_is_shorter_than_the_summary(tmp_path):
    runs = tmp_path / "runs"
    assert invoke("run", AMSGRAD, "--runs-dir", runs, "-q").exit_code == 0
    (f,) = folders(runs)
    assert "warning" not in invoke("show", f).stderr
    lines = (f / "trace.csv").read_text().splitlines(keepends=True)
    (f / "trace.csv").write_text("".join(lines[:11]))
    r = invoke("show", f)
    assert r.exit_code == 0 and "ends at iteration 9 but summary.json says 100" in r.stderr


def test_run_plot_draws_a_sweep(tmp_path):
    pytest.importorskip("matplotlib")
    runs = tmp_path / "runs"
    r = invoke("run", AMSGRAD, "--sweep", "seed=0:3", "--plot", "--runs-dir", runs)
    assert r.exit_code == 0, r.output
    (f,) = folders(runs)
    assert (f / "convergence.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_diverged_members_rank_worst_whatever_their_last_f():
    row = {"status": "diverged", "final_f": 2.5e267, "f_gap": 2.5e267}
    assert member_value(row, "final_f", 1e-6) == float("inf")
    assert member_value({**row, "status": "completed"}, "final_f", 1e-6) == 2.5e267


def _fake_run(tmp_path: Path, name: str, final_f: float) -> str:
    f = tmp_path / name
    f.mkdir()
    (f / "config.yaml").write_text(
        yaml.safe_dump(
            {"objective": {"name": "sphere", "dim": 2}, "algorithm": {"name": "gd"}, "iterations": 1}
        )
    )
    (f / "meta.json").write_text("{}")
    (f / "summary.json").write_text(
        json.dumps(
            {
                "format_version": 1,
                "id": name,
                "status": "completed",
                "algorithm": "gd",
                "objective": "sphere",
                "dim": 2,
                "iterations": 1,
                "final_f": final_f,
                "best_f": final_f,
                "best_iteration": 1,
                "f_min": 0.0,
                "f_gap": final_f,
                "final_grad_norm": 1.0,
                "distance_to_optimum": 1.0,
                "wall_time_s": 1.0,
            }
        )
    )
    (f / "trace.csv").write_text(f"iteration,f,grad_norm,step_norm\n0,1.0,1.0,0.0\n1,{final_f!r},1.0,0.1\n")
    return str(f)


def test_the_gate_prints_values_that_differ_as_different(tmp_path):
    a = load_run(_fake_run(tmp_path, "a", 1.0000001e-6))
    b = load_run(_fake_run(tmp_path, "b", 1.0000002e-6))
    line = gate(compare_runs([a, b])).line
    assert "1.0000001e-06" in line and "1.0000002e-06" in line


def test_git_commit_is_read_without_git_and_none_outside_a_repository(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "PATH": "/usr/bin:/bin",
    }
    try:
        for cmd in (["git", "init", "-q"], ["git", "commit", "-q", "--allow-empty", "-m", "x"]):
            subprocess.run(cmd, cwd=repo, check=True, env=env, capture_output=True)
        want = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
        ).stdout.strip()
        subprocess.run(["git", "pack-refs", "--all"], cwd=repo, check=True, env=env, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git is not available")
    (repo / "sub").mkdir()
    assert git_commit(str(repo / "sub")) == want  # found from a subfolder, through packed-refs
    assert git_commit(str(tmp_path / "elsewhere")) is None or (tmp_path / ".git").exists()


def test_platform_text_is_platform_platform():
    assert platform_text() == platform.platform()
    assert python_version() == platform.python_version() and machine_name() == platform.machine()
