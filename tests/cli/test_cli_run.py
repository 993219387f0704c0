"""``optrun run`` through its real entry points: click's CliRunner in process, and subprocesses of
the installed console script (plain pipes, and a pseudo-terminal for the terminal-only output)."""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import optrun
from optrun.cli import cli
from optrun.config import EXPECT_KEYS, TRACE_KEYS, load_config

ANSI = re.compile(r"\x1b\[")
MINIMAL = "objective: sphere\nalgorithm: amsgrad\niterations: 25\n"
RESULT = re.compile(
    r"^(?P<head>[a-z ()_0-9,]+): (?P<name>\S+) f = (?P<f>\S+) \(best (?P<best>\S+) at "
    r"(?P<at>[\d,]+)\), (?P<its>[\d,]+) iterations in [\d.]+ s -> (?P<path>.+)$"
)


def invoke(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def only_folder(runs: Path) -> Path:
    (folder,) = runs.iterdir()
    return folder


def read_csv(folder: Path) -> list[dict[str, str]]:
    with open(folder / "trace.csv", newline="") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------------------ help, version


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["run", "--help"]])
def test_help_shows_an_example(args):
    res = invoke(*args)
    assert res.exit_code == 0
    assert "Examples:" in res.stdout and "optrun run configs/amsgrad.yaml" in res.stdout
    assert "Exit" in res.stdout


def test_group_help_lists_run():
    res = invoke("--help")
    assert re.search(r"^\s+run\s+Run one or more configs", res.stdout, re.MULTILINE)


def test_version():
    res = invoke("--version")
    assert res.exit_code == 0
    assert res.stdout == f"optrun, version {optrun.__version__}\n"
    assert optrun.__version__ == version("optrun")


def test_python_dash_m_help(tmp_path):
    p = subprocess.run(
        [sys.executable, "-m", "optrun", "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert p.returncode == 0 and "Usage: optrun" in p.stdout and p.stderr == ""


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["--version"]])
def test_help_imports_no_numpy(args, tmp_path):
    code = (
        "import sys\nfrom optrun.cli import cli\n"
        f"try:\n    cli.main({args!r}, prog_name='optrun')\nexcept SystemExit:\n    pass\n"
        "print('heavy:', sorted(m for m in ('numpy', 'matplotlib', 'scipy') "
        "if m in sys.modules))"
    )
    p = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[-1] == "heavy: []"


# ------------------------------------------------------------------------------ output


def test_result_line_and_start_line(configs_dir, runs_dir):
    res = invoke("run", configs_dir / "amsgrad.yaml", "--runs-dir", runs_dir)
    assert res.exit_code == 0, res.stderr
    m = RESULT.match(res.stdout.rstrip("\n"))
    assert m and res.stdout.count("\n") == 1, res.stdout
    folder = only_folder(runs_dir)
    assert m["head"] == "completed" and m["name"] == "amsgrad-tutorial"
    assert Path(m["path"]) == folder and m["its"] == "100" and m["at"] == "100"
    summary = json.loads((folder / "summary.json").read_text())
    assert float(m["f"]) == pytest.approx(summary["final_f"], rel=1e-5)
    assert res.stderr == f"run {folder.name}: amsgrad (tutorial) on sphere, d=2, 100 iterations\n"


def test_quiet_prints_only_the_result_line(configs_dir, runs_dir):
    res = invoke("run", configs_dir / "adagrad.yaml", "--quiet", "--runs-dir", runs_dir)
    assert res.exit_code == 0
    assert res.stderr == ""
    assert len(res.stdout.splitlines()) == 1 and RESULT.match(res.stdout.strip())


def test_format_json(configs_dir, runs_dir):
    res = invoke(
        "run",
        configs_dir / "amsgrad.yaml",
        configs_dir / "adagrad.yaml",
        "--format",
        "json",
        "--runs-dir",
        runs_dir,
    )
    assert res.exit_code == 0 and res.stderr == ""
    docs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [d["name"] for d in docs] == ["amsgrad-tutorial", "adagrad-tutorial"]
    for d in docs:
        on_disk = json.loads((Path(d["path"]) / "summary.json").read_text())
        assert {k: v for k, v in d.items() if k != "path"} == on_disk


def test_expect_block_failing_exits_1(tmp_path, runs_dir):
    cfg = write(tmp_path, MINIMAL + "expect: {f_final_max: 1.0e-30, status: completed}\n")
    res = invoke("run", cfg, "--runs-dir", runs_dir)
    assert res.exit_code == 1
    assert RESULT.match(res.stdout.strip())
    lines = res.stderr.splitlines()
    assert len(lines) == 2 and re.fullmatch(r"expect failed: final f \S+ > 1e-30 \(f_final_max\)", lines[1])
    summary = json.loads((only_folder(runs_dir) / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["expect"]["passed"] is False and len(summary["expect"]["failures"]) == 1


def test_expect_block_met_exits_0(tmp_path, runs_dir):
    cfg = write(tmp_path, MINIMAL + "expect: {f_final_max: 10.0, status: completed, distance_max: 5}\n")
    res = invoke("run", cfg, "--runs-dir", runs_dir)
    assert res.exit_code == 0 and "expect" not in res.stderr
    assert json.loads((only_folder(runs_dir) / "summary.json").read_text())["expect"]["passed"] is True


def test_expect_diverged_is_met_by_a_divergence(tmp_path, runs_dir):
    cfg = write(
        tmp_path,
        "objective: sphere\nalgorithm: {name: gd, alpha: 1000.0}\niterations: 200\n"
        "expect: {status: diverged}\n",
    )
    res = invoke("run", cfg, "--runs-dir", runs_dir)
    # a divergence is still exit 1 (SPEC section 2), but the expectation itself holds
    assert res.exit_code == 1 and "expect failed" not in res.stderr
    assert res.stdout.startswith("diverged at iteration ")


def test_multiple_configs_exit_with_the_worst(tmp_path, configs_dir, runs_dir):
    bad = write(tmp_path, MINIMAL + "expect: {f_final_max: 1.0e-30}\n")
    res = invoke(
        "run", configs_dir / "adagrad.yaml", bad, configs_dir / "amsgrad.yaml", "--runs-dir", runs_dir
    )
    assert res.exit_code == 1
    names = [RESULT.match(line)["name"] for line in res.stdout.splitlines()]
    assert names == ["adagrad-tutorial", "amsgrad-sphere", "amsgrad-tutorial"]
    assert len(list(runs_dir.iterdir())) == 3


def test_overrides_are_typed_by_yaml_and_recorded(tmp_path, runs_dir):
    cfg = write(tmp_path, MINIMAL)
    res = invoke(
        "run",
        cfg,
        "seed=3",
        "algorithm.alpha=5e-2",
        "start=[0.1, -0.2]",
        "name=typed",
        "algorithm.beta1_schedule=constant",
        "iterations=7",
        "--runs-dir",
        runs_dir,
    )
    assert res.exit_code == 0, res.stderr
    folder = only_folder(runs_dir)
    assert folder.name.split("-", 2)[2].startswith("typed-")
    c = yaml.safe_load((folder / "config.yaml").read_text())
    assert c["seed"] == 3 and type(c["seed"]) is int
    assert c["algorithm"]["alpha"] == 0.05 and c["algorithm"]["beta1_schedule"] == "constant"
    assert c["start"] == [0.1, -0.2] and c["iterations"] == 7
    rows = read_csv(folder)
    assert (float(rows[0]["x0"]), float(rows[0]["x1"])) == (0.1, -0.2) and len(rows) == 8


def test_runs_dir_option_env_and_default(tmp_path, configs_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = configs_dir / "adagrad.yaml"
    assert invoke("run", cfg, "-q", "--runs-dir", "opt").exit_code == 0
    assert invoke("run", cfg, "-q", env={"OPTRUN_RUNS_DIR": str(tmp_path / "env")}).exit_code == 0
    assert (
        invoke(
            "run", cfg, "-q", "--runs-dir", "wins", env={"OPTRUN_RUNS_DIR": str(tmp_path / "env")}
        ).exit_code
        == 0
    )  # the option wins
    monkeypatch.delenv("OPTRUN_RUNS_DIR", raising=False)
    assert invoke("run", cfg, "-q", env={"OPTRUN_RUNS_DIR": None}).exit_code == 0
    counts = {d: len(list((tmp_path / d).iterdir())) for d in ("opt", "env", "wins", "runs")}
    assert counts == {"opt": 1, "env": 1, "wins": 1, "runs": 1}


def test_runs_dir_that_is_a_file_is_refused(tmp_path, configs_dir):
    f = tmp_path / "file"
    f.write_text("")
    res = invoke("run", configs_dir / "adagrad.yaml", "--runs-dir", f)
    assert res.exit_code == 2 and "is a file" in res.stderr and "Traceback" not in res.stderr


def test_no_ansi_codes_in_captured_output(configs_dir, runs_dir):
    for env in ({"NO_COLOR": "1"}, {"NO_COLOR": None}):
        res = invoke("run", configs_dir / "amsgrad.yaml", "--runs-dir", runs_dir, env=env)
        assert res.exit_code == 0
        assert not ANSI.search(res.stdout + res.stderr)


# ------------------------------------------------------------------------------ the run folder


def test_run_folder_contents(tmp_path, runs_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not a git checkout
    cfg = write(tmp_path, MINIMAL)
    assert invoke("run", cfg, "--runs-dir", runs_dir, "-q").exit_code == 0
    folder = only_folder(runs_dir)
    assert re.fullmatch(r"\d{8}-\d{6}\.\d{3}-amsgrad-sphere-[0-9a-f]{6}", folder.name)
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.yaml",
        "meta.json",
        "summary.json",
        "trace.csv",
        "trace.jsonl",
    ]
    # config.yaml: every default filled in
    c = yaml.safe_load((folder / "config.yaml").read_text())
    assert list(c) == [
        "name",
        "objective",
        "bounds",
        "constraint",
        "start",
        "algorithm",
        "iterations",
        "seed",
        "rng",
        "backend",
        "stop",
        "expect",
        "trace",
    ]
    assert {k: c["objective"][k] for k in ("name", "dim")} == {"name": "sphere", "dim": 2}
    assert c == yaml.safe_load(load_config(str(cfg)).to_yaml())  # the resolved form, nothing left out
    assert c["algorithm"] == {
        "name": "amsgrad",
        "variant": "tutorial",
        "alpha": 0.001,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-8,
        "beta1_schedule": "power",
    }
    assert (c["bounds"], c["start"], c["seed"], c["rng"]) == ([-1.0, 1.0], "random", 0, "generator")
    assert c["stop"] == {"f_target": None, "grad_norm": None}
    assert list(c["expect"]) == list(EXPECT_KEYS) and set(c["expect"].values()) == {None}
    assert list(c["trace"]) == list(TRACE_KEYS) and (c["trace"]["every"], c["trace"]["x"]) == (1, "auto")
    # the trace: rows 0..25, csv and jsonl agree to the bit
    rows = read_csv(folder)
    assert list(rows[0]) == ["iteration", "f", "grad_norm", "step_norm", "x0", "x1"]
    jl = [json.loads(line) for line in (folder / "trace.jsonl").read_text().splitlines()]
    assert [int(r["iteration"]) for r in rows] == [j["iteration"] for j in jl] == list(range(26))
    for r, j in zip(rows, jl):
        assert {k: float(v) for k, v in r.items()} == {k: float(v) for k, v in j.items()}
    # the start point is numpy's Generator: default_rng(seed).random(d) mapped into the bounds
    r0 = np.random.default_rng(0).random(2)
    assert [float(rows[0]["x0"]), float(rows[0]["x1"])] == (-1.0 + r0 * 2.0).tolist()
    # summary.json
    s = json.loads((folder / "summary.json").read_text())
    last = {k: float(v) for k, v in rows[-1].items()}
    fs = [float(r["f"]) for r in rows]
    assert s["format_version"] == 1 and s["id"] == folder.name
    assert (s["status"], s["stop_reason"], s["iterations"]) == ("completed", "iterations", 25)
    assert s["final_f"] == last["f"] and s["final_x"] == [last["x0"], last["x1"]]
    assert s["best_f"] == min(fs) and s["best_iteration"] == fs.index(min(fs))
    assert s["best_x"] == [float(rows[s["best_iteration"]][k]) for k in ("x0", "x1")]
    assert s["distance_to_optimum"] == pytest.approx(math.hypot(last["x0"], last["x1"]), rel=1e-15)
    assert s["f_gap"] == s["final_f"] and s["wall_time_s"] >= 0
    # meta.json
    m = json.loads((folder / "meta.json").read_text())
    assert (m["optrun"], m["numpy"], m["python"]) == (
        optrun.__version__,
        np.__version__,
        platform.python_version(),
    )
    assert m["platform"] and m["format_version"] == 1
    assert "git_commit" in m and m["git_commit"] is None
    assert m["started_at"] <= m["ended_at"]


def test_meta_records_the_git_commit_and_command(tmp_path, run_optrun, runs_dir):
    repo = tmp_path / "repo"
    repo.mkdir()
    write(repo, MINIMAL)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    for cmd in (["init", "-q"], ["add", "c.yaml"], ["commit", "-q", "-m", "c"]):
        subprocess.run(git + cmd, cwd=repo, check=True, capture_output=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()
    p = run_optrun("run", "c.yaml", "seed=4", cwd=repo)
    assert p.returncode == 0, p.stderr
    m = json.loads((only_folder(runs_dir) / "meta.json").read_text())
    assert m["git_commit"] == head and len(head) == 40
    assert m["command"] == ["optrun", "run", "c.yaml", "seed=4"]
    assert m["cwd"] == str(repo)


@pytest.mark.parametrize("rng", ["generator", "legacy"])
def test_rerunning_config_yaml_reproduces_the_trace(tmp_path, runs_dir, rng):
    cfg = write(tmp_path, MINIMAL + f"seed: 11\nrng: {rng}\n")
    assert invoke("run", cfg, "--runs-dir", runs_dir, "-q").exit_code == 0
    first = only_folder(runs_dir)
    again = tmp_path / "again"
    assert invoke("run", first / "config.yaml", "--runs-dir", again, "-q").exit_code == 0
    second = only_folder(again)
    assert (first / "trace.csv").read_bytes() == (second / "trace.csv").read_bytes()
    assert (first / "config.yaml").read_text() == (second / "config.yaml").read_text()


def test_same_config_same_trace_other_seed_other_trace(tmp_path):
    cfg = write(tmp_path, MINIMAL)
    for d, seed in (("a", 5), ("b", 5), ("c", 6)):
        assert invoke("run", cfg, f"seed={seed}", "--runs-dir", tmp_path / d, "-q").exit_code == 0
    a, b, c = ((only_folder(tmp_path / d) / "trace.csv").read_bytes() for d in "abc")
    assert a == b and a != c


# ------------------------------------------------------------------------------ the installed CLI


def test_installed_optrun_runs_a_tutorial(run_optrun, configs_dir, runs_dir):
    p = run_optrun("run", configs_dir / "amsgrad.yaml")
    assert p.returncode == 0, p.stderr
    m = RESULT.match(p.stdout.strip())
    assert m and m["name"] == "amsgrad-tutorial" and Path(m["path"]).parent == runs_dir
    assert p.stderr.startswith("run ") and len(p.stderr.splitlines()) == 1
    assert not ANSI.search(p.stdout + p.stderr)


def test_installed_optrun_without_no_color_on_pipes_has_no_ansi(run_optrun, configs_dir):
    p = run_optrun(
        "run", configs_dir / "adagrad.yaml", env={"NO_COLOR": "", "TERM": "xterm-256color", "FORCE_COLOR": ""}
    )
    assert p.returncode == 0 and not ANSI.search(p.stdout + p.stderr)


def test_installed_optrun_exit_codes(run_optrun, tmp_path):
    diverge = write(tmp_path, "objective: sphere\nalgorithm: {name: gd, alpha: 1000.0}\niterations: 100\n")
    assert run_optrun("run", diverge).returncode == 1
    assert run_optrun("run", diverge, "iterations=oops").returncode == 2
    assert run_optrun("run").returncode == 2
    assert run_optrun("nonsense").returncode == 2


def _run_on_pty(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run with stdin, stdout and stderr on a pseudo-terminal; return (exit code, everything shown)."""
    import pty

    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return p.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals as on Linux")
def test_terminal_shows_a_bar_unless_no_color(optrun_bin, configs_dir, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "OPTRUN_DEBUG")}
    env.update(OPTRUN_RUNS_DIR=str(tmp_path / "runs"), TERM="xterm-256color", COLUMNS="100")
    code, shown = _run_on_pty([optrun_bin, "run", str(configs_dir / "adagrad.yaml")], env, tmp_path)
    assert code == 0 and ANSI.search(shown), shown  # rich draws the bar
    assert "completed: adagrad-tutorial" in shown
    code, shown = _run_on_pty(
        [optrun_bin, "run", str(configs_dir / "adagrad.yaml")], {**env, "NO_COLOR": "1"}, tmp_path
    )
    assert code == 0 and not ANSI.search(shown), shown
    assert "completed: adagrad-tutorial" in shown and shown.count("run 20") == 1


def test_a_start_outside_the_bounds_is_noted_not_refused(tmp_path):
    cfg = tmp_path / "out.yaml"
    cfg.write_text(
        "objective: sphere\nbounds: [-1, 1]\nstart: [0.5, 3.0]\nalgorithm: {name: gd, alpha: 0.1}\n"
        "iterations: 5\n"
    )
    runs = tmp_path / "runs"
    res = CliRunner().invoke(cli, ["run", str(cfg), "--runs-dir", str(runs)])
    assert res.exit_code == 0
    (note,) = [ln for ln in res.stderr.splitlines() if ln.startswith("note:")]
    assert "outside the bounds (x1 = 3, bounds [-1, 1])" in note and "not confined" in note
    quiet = CliRunner().invoke(cli, ["run", str(cfg), "--runs-dir", str(runs), "-q"])
    assert quiet.exit_code == 0 and "note:" not in quiet.stderr
    inside = CliRunner().invoke(cli, ["run", str(cfg), "start=[0.5,1.0]", "--runs-dir", str(runs)])
    assert inside.exit_code == 0 and "note:" not in inside.stderr
    swept = CliRunner().invoke(cli, ["run", str(cfg), "--sweep", "seed=0:3", "--runs-dir", str(runs)])
    assert swept.exit_code == 0 and swept.stderr.count("outside the bounds") == 1
