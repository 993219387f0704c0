"""Where user modules (objective functions, optimizer factories) are found: beside the config file,
then in the working folder; a run or sweep records the folders so that ``optrun run RUN/config.yaml``
(and ``optrun resume``, which reads the same file) finds the module again from anywhere."""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path

import pytest

from optrun.objectives.user import module_dirs
from optrun.store.records import recorded_module_dirs

OBJECTIVE = textwrap.dedent("""
    import numpy as np

    def f(x):
        return np.sum((x - 0.5) ** 2, axis=-1)

    def g(x):
        return 2.0 * (x - 0.5)
""")


def project(tmp_path: Path, **extra) -> tuple[Path, str]:
    """A folder ``proj`` with a uniquely named module and a config using it; returns (config, module)."""
    name = f"umod_{uuid.uuid4().hex[:10]}"
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / f"{name}.py").write_text(OBJECTIVE)
    body = {
        "name": "mod-test",
        "objective": {"function": f"{name}:f", "gradient": f"{name}:g"},
        "bounds": [[-2.0, 2.0], [-2.0, 2.0]],
        "iterations": 30,
        "seed": 0,
        "algorithm": {"name": "gd", "alpha": 0.1},
        **extra,
    }
    cfg = proj / "c.yaml"
    cfg.write_text(json.dumps(body))  # JSON is YAML
    return cfg, name


def only_run(runs_dir: Path) -> Path:
    (run,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    return run


def test_readme_example_check_gradient_from_the_repository_root(run_optrun, repo_root):
    r = run_optrun("check-gradient", "configs/examples/user-objective.yaml", cwd=repo_root)
    assert r.returncode == 0, r.stderr
    assert "my_objective.tilted_rosenbrock (d=2, user gradient): worst error" in r.stdout


def test_user_optimizer_example_runs_from_another_folder(run_optrun, repo_root, runs_dir):
    r = run_optrun("run", repo_root / "configs/examples/user-optimizer.yaml", "iterations=50", "-q")
    assert r.returncode in (0, 1), r.stderr  # 50 steps may miss the example's expect: block
    assert r.stdout.startswith("completed"), r.stdout
    meta = json.loads((only_run(runs_dir) / "meta.json").read_text())
    assert meta["module_dirs"][0] == str(repo_root / "configs" / "examples")


def test_module_beside_the_config_and_rerun_from_the_run_folder(run_optrun, tmp_path, runs_dir):
    cfg, _ = project(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run_optrun("run", cfg, "-q", cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    run = only_run(runs_dir)
    meta = json.loads((run / "meta.json").read_text())
    assert meta["module_dirs"] == [str(cfg.parent), str(elsewhere)]
    # the run's own config.yaml, from a third folder: found through the recorded folders
    third = tmp_path / "third"
    third.mkdir()
    r2 = run_optrun("run", run / "config.yaml", "-q", cwd=third)
    assert r2.returncode == 0, r2.stderr
    runs = sorted(p for p in runs_dir.iterdir() if p.is_dir())
    again = json.loads((runs[-1] / "meta.json").read_text())["module_dirs"]
    assert str(cfg.parent) in again
    s1, s2 = (json.loads((p / "summary.json").read_text()) for p in runs)
    assert s1["final_f"] == s2["final_f"]


def test_sweep_workers_find_the_module(run_optrun, tmp_path, runs_dir):
    cfg, _ = project(tmp_path)
    r = run_optrun(
        "run",
        cfg,
        "--sweep",
        "algorithm.alpha=0.05,0.1",
        "--sweep",
        "algorithm.name=gd,adam",
        "--workers",
        "2",
        "-q",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("sweep completed"), r.stdout
    assert "4 completed" in r.stdout
    meta = json.loads((only_run(runs_dir) / "meta.json").read_text())
    assert meta["module_dirs"][0] == str(cfg.parent)


def test_a_missing_module_names_every_folder_searched(run_optrun, tmp_path, runs_dir):
    cfg, name = project(tmp_path)
    (cfg.parent / f"{name}.py").unlink()
    cwd = tmp_path / "work"
    cwd.mkdir()
    r = run_optrun("run", cfg, cwd=cwd)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert (
        f"cannot import module '{name}' (looked in {cfg.parent}, {cwd} and the installed packages)"
        in r.stderr
    ), r.stderr
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_a_missing_optimizer_module_names_the_folders(run_optrun, tmp_path):
    cfg = tmp_path / "conf" / "o.yaml"
    cfg.parent.mkdir()
    cfg.write_text("objective: sphere\nalgorithm: {name: 'nosuch_opt_mod:make'}\n")
    r = run_optrun("run", cfg)
    assert r.returncode == 2
    assert f"cannot import module 'nosuch_opt_mod' (looked in {cfg.parent}, {tmp_path} and the" in r.stderr


def test_the_working_folder_is_still_searched(run_optrun, tmp_path):
    cfg, name = project(tmp_path)
    moved = tmp_path / "cwd"
    moved.mkdir()
    (cfg.parent / f"{name}.py").rename(moved / f"{name}.py")
    r = run_optrun("check-gradient", cfg, cwd=moved)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(
    "meta,recorded",
    [
        ({"module_dirs": ["/a", "/b"]}, ["/a", "/b"]),
        ({"cwd": "/old/cwd"}, ["/old/cwd"]),  # a folder written before module_dirs was recorded
        ("not json", []),
    ],
)
def test_module_dirs_read_a_run_folders_record(tmp_path, monkeypatch, meta, recorded):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("{}")
    (run / "meta.json").write_text(meta if isinstance(meta, str) else json.dumps(meta))
    monkeypatch.chdir(tmp_path)
    config = str(run / "config.yaml")
    assert module_dirs(config, recorded_module_dirs(config)) == [str(run), *recorded, str(tmp_path)]
    assert module_dirs(None) == [str(tmp_path)]


def test_resume_finds_the_module_from_another_folder(optrun_bin, run_optrun, tmp_path, runs_dir):
    """Ctrl-C a run started from one folder, resume it from another: the module is found through
    the run's recorded folders."""
    import os
    import signal
    import subprocess
    import time

    cfg, _ = project(tmp_path, iterations=200_000, trace={"checkpoint_s": 0.1})
    start = tmp_path / "start"
    start.mkdir()
    env = {**os.environ, "OPTRUN_RUNS_DIR": str(runs_dir), "NO_COLOR": "1"}
    p = subprocess.Popen(
        [optrun_bin, "run", str(cfg)],
        cwd=start,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = list(runs_dir.glob("*/checkpoint.npz")) if runs_dir.exists() else []
        if runs:
            break
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=60)
    if p.returncode == 0:
        pytest.skip("the run finished before the interrupt")
    assert p.returncode == 130
    other = tmp_path / "other"
    other.mkdir()
    r = run_optrun("resume", "last", "-q", cwd=other, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads((only_run(runs_dir) / "summary.json").read_text())["status"] == "completed"


def test_dry_run_output_names_where_user_code_is_imported_from(run_optrun, repo_root, tmp_path):
    """The resolved config of --dry-run, read from elsewhere, no longer sits beside the module: its
    comment says which folders to run it from (or to put on PYTHONPATH), and that works."""
    examples = repo_root / "configs" / "examples"
    r = run_optrun("run", examples / "user-objective.yaml", "--dry-run", "iterations=50")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "resolved.yaml"
    out.write_text(r.stdout)
    assert f"# user code is imported from {examples}," in r.stdout
    assert run_optrun("run", out, "-q").returncode == 2
    r = run_optrun("run", out, "-q", env={"PYTHONPATH": str(examples)})
    assert r.returncode == 0 and r.stdout.startswith("completed:"), r.stderr


def test_check_gradient_names_the_config_and_key_as_run_does(run_optrun, repo_root):
    config = repo_root / "configs" / "examples" / "user-objective.yaml"
    r = run_optrun("check-gradient", config, "objective.function=nomod_zz:f")
    assert r.returncode == 2
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith(f"Error: {config}: objective: objective function 'nomod_zz:f': cannot import")
