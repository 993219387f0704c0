"""Sweeps through the real command line: batch members against the same runs made one at a time,
the sweep folder, --workers, --dry-run, algorithm x objective matrices, keep-going and --fail-fast,
Ctrl-C on a real process, and ``optrun resume`` of a sweep.

The reference for a member is ``optrun run CONFIG KEY=VALUE...`` with the member's values: its
``trace.csv`` must equal the member's rows in the sweep's batch file, string for string (both are
Python's shortest round-trip repr, so equal strings are equal bits).
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from optrun.cli import cli
from optrun.optimizers import ALGORITHMS

VOLATILE = {"wall_time_s", "batch_wall_time_s"}  # the only fields that may differ between two runs


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def write(tmp_path: Path, data: dict | str, name: str = "c.yaml") -> Path:
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return p


def sweep_folder(runs: Path) -> Path:
    (folder,) = [p for p in runs.iterdir() if (p / "traces").is_dir()]
    return folder


def member_traces(folder: Path, pattern: str = "batch-*.csv") -> dict[int, list[list[str]]]:
    """Every member's trace rows (iteration, f, ...) from the batch files matching ``pattern``."""
    out: dict[int, list[list[str]]] = {}
    for p in sorted((folder / "traces").glob(pattern)):
        with open(p, newline="") as f:
            for rec in list(csv.reader(f))[1:]:
                out.setdefault(int(rec[0]), []).append(rec[1:])
    return out


def single_trace(cfg: Path, runs: Path, overrides: list[str]) -> list[list[str]]:
    """The trace of one run made alone by `optrun run` with the member's values."""
    res = invoke("run", cfg, *overrides, "--runs-dir", runs, "--format", "json")
    assert res.exit_code in (0, 1), res.output
    path = Path(json.loads(res.stdout.strip().splitlines()[-1])["path"])
    with open(path / "trace.csv", newline="") as f:
        return list(csv.reader(f))[1:]


def summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def stable(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]


def fmt(v) -> str:
    return yaml.safe_dump(v, default_flow_style=True).strip().removesuffix("...").strip()


# ------------------------------------------------------------------------------ batch == single


VARIANTS = [(a.name, v.name, v) for a in ALGORITHMS.values() for v in a.variants]


@pytest.mark.parametrize("name, variant, spec", VARIANTS, ids=[f"{n}-{v}" for n, v, _ in VARIANTS])
def test_every_builtin_variant_member_equals_the_run_alone(tmp_path, name, variant, spec):
    alpha = next(p for p in spec.params if p.name == "alpha").default
    alphas = [alpha, alpha / 2]
    cfg = write(
        tmp_path,
        {
            "name": "bitwise",
            "objective": {"name": "rosenbrock", "dim": 3},
            "bounds": [-1.0, 1.0],
            "algorithm": {"name": name, "variant": variant},
            "iterations": 30,
            "trace": {"checkpoint_s": None},
        },
    )
    res = invoke(
        "run",
        cfg,
        "--sweep",
        "seed=0,1",
        "--sweep",
        f"algorithm.alpha={alphas[0]!r},{alphas[1]!r}",
        "--runs-dir",
        tmp_path / "runs",
        "--workers",
        "1",
        "--quiet",
    )
    assert res.exit_code in (0, 1), res.output
    folder = sweep_folder(tmp_path / "runs")
    assert len(list((folder / "traces").glob("*.csv"))) == 1  # the four members ran as one batch
    traces = member_traces(folder)
    for m, (seed, a) in enumerate(itertools.product([0, 1], alphas)):
        alone = single_trace(cfg, tmp_path / "alone", [f"seed={seed}", f"algorithm.alpha={a!r}"])
        assert len(alone) > 5  # 31 rows, or fewer when the member diverged (masked in the batch)
        assert traces[m] == alone, (name, variant, seed, a)


OBJECTIVES = [
    {"name": "sphere", "dim": 5},
    {"name": "rastrigin", "dim": 3},
    {"name": "himmelblau"},
    {"name": "rosenbrock", "dim": 4, "shift": True, "rotate": True, "transform_seed": 3},
    {"expression": "(x0 - 1)**2 + 10*(x1 - x0**2)**2 + abs(x0)"},
]


@pytest.mark.parametrize("objective", OBJECTIVES, ids=lambda o: o.get("name", "expression"))
def test_members_equal_runs_alone_on_several_objectives(tmp_path, objective):
    cfg = write(
        tmp_path,
        {
            "name": "objs",
            "objective": objective,
            "bounds": [-2.0, 2.0],
            "algorithm": {"name": "adam", "alpha": 0.05},
            "iterations": 40,
            "rng": "legacy",
            "stop": {"f_target": 1e-3},
        },
    )
    res = invoke(
        "run",
        cfg,
        "--sweep",
        "seed=0:3",
        "--sweep",
        "algorithm.beta1=0.8,0.9",
        "--runs-dir",
        tmp_path / "runs",
        "--workers",
        "1",
        "--quiet",
    )
    assert res.exit_code in (0, 1), res.output
    traces = member_traces(sweep_folder(tmp_path / "runs"))
    for m, (seed, b1) in enumerate(itertools.product(range(3), [0.8, 0.9])):
        assert traces[m] == single_trace(cfg, tmp_path / "alone", [f"seed={seed}", f"algorithm.beta1={b1}"])


def test_members_equal_runs_alone_with_a_user_function(tmp_path, monkeypatch):
    mod = f"userobj_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{mod}.py").write_text(
        "import numpy as np\n"
        "def f(x):\n    return np.sum(x * x * (1 + np.arange(x.shape[-1])), axis=-1)\n"
        "def g(x):\n    return 2 * x * (1 + np.arange(x.shape[-1]))\n"
    )
    monkeypatch.chdir(tmp_path)
    cfg = write(
        tmp_path,
        {
            "name": "userfn",
            "objective": {"function": f"{mod}:f", "gradient": f"{mod}:g"},
            "bounds": [[-1.0, 1.0], [-1.0, 1.0], [-1.0, 1.0]],
            "algorithm": {"name": "nesterov", "alpha": 0.01},
            "iterations": 25,
        },
    )
    res = invoke(
        "run", cfg, "--sweep", "seed=0:4", "--runs-dir", tmp_path / "runs", "--workers", "1", "--quiet"
    )
    assert res.exit_code == 0, res.output
    traces = member_traces(sweep_folder(tmp_path / "runs"))
    for seed in range(4):
        assert traces[seed] == single_trace(cfg, tmp_path / "alone", [f"seed={seed}"])


# ------------------------------------------------------------------------------ matrix in one config


def test_algorithms_by_objectives_by_seeds_in_one_config(tmp_path, configs_dir):
    # the tutorial config's AMSGrad-only settings (variant tutorial, beta1_schedule) do not leak
    res = invoke(
        "run",
        configs_dir / "amsgrad.yaml",
        "iterations=15",
        "--sweep",
        "algorithm.name=amsgrad,adam,gd",
        "--sweep",
        "objective.name=sphere,booth",
        "--sweep",
        "seed=0,1",
        "--runs-dir",
        tmp_path / "runs",
        "--quiet",
    )
    assert res.exit_code == 0, res.output
    folder = sweep_folder(tmp_path / "runs")
    s = summary(folder)
    assert (
        s["members"] == 12 and s["batches"] == 6 and s["axes"] == ["algorithm.name", "objective.name", "seed"]
    )
    assert s["algorithm"] == ["adam", "amsgrad", "gd"] and s["objective"] == ["booth", "sphere"]
    traces = member_traces(folder)
    combos = list(itertools.product(["amsgrad", "adam", "gd"], ["sphere", "booth"], [0, 1]))
    for m in (0, 5, 6, 11):  # amsgrad tutorial on sphere; amsgrad on booth; adam; gd on booth
        algo, obj, seed = combos[m]
        assert [s["rows"][m][k] for k in ("algorithm.name", "objective.name", "seed")] == [algo, obj, seed]
        over = [f"seed={seed}", f"objective={obj}", "iterations=15"]
        if algo != "amsgrad":  # alone, the user writes the algorithm they want
            over.append(
                f"algorithm={{name: {algo}, alpha: 0.007, beta1: 0.9, beta2: 0.99, eps: 0.0}}"
                if algo == "adam"
                else f"algorithm={{name: {algo}, alpha: 0.007}}"
            )
        assert traces[m] == single_trace(configs_dir / "amsgrad.yaml", tmp_path / "alone", over), combos[m]


# ------------------------------------------------------------------------------ the sweep folder


LAYOUT = """\
name: layout
objective: sphere
bounds: [[-1.0, 1.0], [-1.0, 1.0]]
algorithm: {name: amsgrad, alpha: 0.05}
iterations: 30
sweep:
  algorithm.name: [amsgrad, rmsprop]
  seed: {range: [3]}
  algorithm.alpha: [0.05, 0.1]
"""


def test_folder_layout(tmp_path):
    res = invoke(
        "run", write(tmp_path, LAYOUT), "--runs-dir", tmp_path / "runs", "--workers", "1", "--format", "json"
    )
    assert res.exit_code == 0, res.output
    folder = sweep_folder(tmp_path / "runs")
    out = json.loads(res.stdout)
    assert out["path"] == str(folder) and out["status"] == "completed" and out["members"] == 12
    assert sorted(os.listdir(folder)) == ["config.yaml", "meta.json", "summary.csv", "summary.json", "traces"]
    assert sorted(os.listdir(folder / "traces")) == ["batch-0000.csv", "batch-0001.csv"]
    # config.yaml: the resolved base with the sweep's axes as given (lists, or range/logspace/linspace)
    conf = yaml.safe_load((folder / "config.yaml").read_text())
    assert conf["sweep"] == {
        "algorithm.name": ["amsgrad", "rmsprop"],
        "seed": {"range": [3]},
        "algorithm.alpha": [0.05, 0.1],
    }
    # the swapped algorithm section as given (resolved, the base's defaults would be pinned on rmsprop)
    assert "variant" not in conf["algorithm"] and conf["trace"]["every"] == 1
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["kind"] == "sweep" and meta["format_version"] == 1 and meta["batches"] == 2
    for k in ("optrun", "numpy", "python", "platform", "command", "started_at", "ended_at"):
        assert meta[k]
    s = summary(folder)
    assert (s["kind"], s["status"], s["members"], s["counts"]) == (
        "sweep",
        "completed",
        12,
        {"completed": 12},
    )
    cols = s["columns"]
    assert cols[:5] == ["member", "batch", "algorithm.name", "seed", "algorithm.alpha"]
    assert cols[5:12] == [
        "status",
        "stop_reason",
        "iterations",
        "final_f",
        "best_f",
        "best_iteration",
        "f_gap",
    ]
    assert [f"hit_1e-{k}" for k in range(1, 9)] == [c for c in cols if c.startswith("hit_")]
    with open(folder / "summary.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == cols and len(table) == 12
    combos = list(itertools.product(["amsgrad", "rmsprop"], [0, 1, 2], [0.05, 0.1]))
    for i, (r, js, (algo, seed, alpha)) in enumerate(zip(table, s["rows"], combos)):
        assert (r["member"], r["algorithm.name"], r["seed"], r["algorithm.alpha"]) == (
            str(i),
            algo,
            str(seed),
            str(alpha),
        )
        assert r["batch"] == str(0 if algo == "amsgrad" else 1) and js["batch"] == int(r["batch"])
        assert list(js)[:5] == cols[:5]  # JSON rows keep the column order
        assert float(r["final_f"]) == js["final_f"] and int(r["iterations"]) == js["iterations"] == 30
        assert js["final_f"] == js["f_gap"] and js["final_x"] and js["status"] == "completed"
    # each member's rows are in the file its row names, iterations 0..30, member-major per chunk
    traces = member_traces(folder)
    assert sorted(traces) == list(range(12)) and all(len(t) == 31 for t in traces.values())
    assert all([int(r[0]) for r in t] == list(range(31)) for t in traces.values())
    for m, js in enumerate(s["rows"]):
        assert float(traces[m][-1][1]) == js["final_f"]
    head = (folder / "traces" / "batch-0001.csv").read_text().splitlines()[0]
    assert head == "member,iteration,f,grad_norm,step_norm,x0,x1"


def test_a_swept_integer_beyond_64_bits_is_written_to_the_summary(tmp_path):
    # orjson (the fast summary.json writer) refuses such integers: the rows go through json instead
    cfg = write(
        tmp_path,
        {
            "objective": {"name": "sphere", "dim": 2},
            "iterations": 5,
            "algorithm": {
                "name": "gd",
                "schedule": {"name": "exponential", "decay_steps": 1000, "decay_rate": 0.5},
            },
            "sweep": {"algorithm.schedule.decay_steps": [1000, 10**20]},
        },
    )
    res = invoke("run", cfg, "--runs-dir", tmp_path / "runs", "--workers", "1", "--quiet")
    assert res.exit_code == 0, res.output
    folder = sweep_folder(tmp_path / "runs")
    rows = summary(folder)["rows"]
    assert [r["algorithm.schedule.decay_steps"] for r in rows] == [1000, 10**20]
    assert all(r["status"] == "completed" for r in rows)
    with open(folder / "summary.csv", newline="") as f:
        assert [r["algorithm.schedule.decay_steps"] for r in csv.DictReader(f)] == ["1000", str(10**20)]


def test_rerunning_config_yaml_reproduces_the_table_and_traces(tmp_path):
    res = invoke("run", write(tmp_path, LAYOUT), "--runs-dir", tmp_path / "a", "--workers", "1", "--quiet")
    assert res.exit_code == 0
    first = sweep_folder(tmp_path / "a")
    res = invoke("run", first / "config.yaml", "--runs-dir", tmp_path / "b", "--workers", "1", "--quiet")
    assert res.exit_code == 0
    second = sweep_folder(tmp_path / "b")
    assert stable(summary(first)["rows"]) == stable(summary(second)["rows"])
    for name in ("batch-0000.csv", "batch-0001.csv"):
        assert (first / "traces" / name).read_bytes() == (second / "traces" / name).read_bytes()
    assert (first / "config.yaml").read_text() == (second / "config.yaml").read_text()


def test_workers_one_and_two_give_identical_tables_and_traces(tmp_path):
    cfg = write(
        tmp_path,
        LAYOUT.replace("seed: {range: [3]}", "seed: {range: [40]}").replace(
            "[amsgrad, rmsprop]", "[amsgrad, rmsprop, adagrad, gd]"
        ),
    )
    folders = []
    for w in ("1", "2"):
        res = invoke("run", cfg, "--runs-dir", tmp_path / w, "--workers", w, "--quiet")
        assert res.exit_code == 0, res.output
        folders.append(sweep_folder(tmp_path / w))
    a, b = folders
    assert summary(b)["workers"] == 2 and summary(a)["workers"] == 1
    assert stable(summary(a)["rows"]) == stable(summary(b)["rows"])
    drop = [summary(a)["columns"].index(c) for c in VOLATILE if c in summary(a)["columns"]]

    def table(folder):
        with open(folder / "summary.csv", newline="") as f:
            return [[c for i, c in enumerate(r) if i not in drop] for r in csv.reader(f)]

    assert table(a) == table(b)
    names = sorted(os.listdir(a / "traces"))
    assert names == sorted(os.listdir(b / "traces")) and len(names) == 4
    for n in names:
        assert (a / "traces" / n).read_bytes() == (b / "traces" / n).read_bytes()


def test_dry_run_prints_members_and_batches_and_writes_nothing(tmp_path):
    cfg = write(tmp_path, LAYOUT)
    res = invoke("run", cfg, "--dry-run", "--runs-dir", tmp_path / "runs")
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert lines[0] == f"{cfg}: 12 members over algorithm.name (2), seed (3), algorithm.alpha (2); 2 batches"
    assert lines[1] == "batch 0: 6 members, amsgrad (tutorial) on sphere d=2, 30 iterations"
    assert lines[2] == "  member 0: algorithm.name=amsgrad, seed=0, algorithm.alpha=0.05 [amsgrad (tutorial)]"
    assert lines[8] == "batch 1: 6 members, rmsprop (torch) on sphere d=2, 30 iterations"
    assert lines[-1] == "  member 11: algorithm.name=rmsprop, seed=2, algorithm.alpha=0.1 [rmsprop (torch)]"
    assert len(lines) == 15 and not (tmp_path / "runs").exists()
    # long batches are elided in the middle
    res = invoke("run", cfg, "--sweep", "seed=0:100", "--dry-run")
    assert res.exit_code == 0 and "  ..." in res.stdout and "member 399:" in res.stdout
    # a config without axes is one run
    res = invoke("run", write(tmp_path, LAYOUT.split("sweep:")[0], "one.yaml"), "--dry-run")
    assert res.stdout.startswith(f"# {tmp_path / 'one.yaml'}: one run: amsgrad (tutorial) on sphere")


# ------------------------------------------------------------------------------ failures, Ctrl-C, resume


FLAKY = """\
import os
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def f(x):
    if os.path.exists(os.path.join(HERE, "SLOW")):
        time.sleep(0.005)
    if os.path.exists(os.path.join(HERE, "FAIL")) and np.any(np.abs(x) < 0.5):
        raise RuntimeError("flaky objective refused a point near the origin")
    return np.sum(x * x, axis=-1)


def g(x):
    return 2.0 * x
"""


def flaky_config(tmp_path: Path, iterations: list[int]) -> tuple[Path, str]:
    mod = f"flaky_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{mod}.py").write_text(FLAKY)
    cfg = write(
        tmp_path,
        {
            "name": "flaky",
            "objective": {"function": f"{mod}:f", "gradient": f"{mod}:g"},
            "bounds": [[0.8, 1.0], [0.8, 1.0]],
            "algorithm": {"name": "gd", "alpha": 0.01},
            "sweep": {"iterations": iterations, "seed": [0, 1]},
        },
    )
    return cfg, mod


def test_keep_going_fail_fast_and_resume_after_a_fix(tmp_path, monkeypatch):
    # x shrinks by 0.98 a step from [0.8, 1]^2: the 10-iteration batch stays outside |x| < 0.5,
    # the 100-iteration one gets there (t > 23) and raises
    cfg, _ = flaky_config(tmp_path, [100, 10])
    monkeypatch.chdir(tmp_path)
    (tmp_path / "FAIL").touch()
    res = invoke("run", cfg, "--runs-dir", tmp_path / "ff", "--workers", "1", "--fail-fast")
    assert res.exit_code == 1
    s = summary(sweep_folder(tmp_path / "ff"))
    assert s["status"] == "failed" and s["counts"] == {"failed": 2, "pending": 2}
    assert [r["status"] for r in s["rows"]] == ["failed", "failed", "pending", "pending"]
    assert "Traceback" not in res.output
    assert res.stderr.count("flaky objective refused") == 2  # one line per failed member, as it happens

    res = invoke("run", cfg, "--runs-dir", tmp_path / "kg", "--workers", "1")
    assert res.exit_code == 1
    folder = sweep_folder(tmp_path / "kg")
    s = summary(folder)
    assert s["status"] == "completed" and s["counts"] == {"completed": 2, "failed": 2}
    err = [ln for ln in res.stderr.splitlines() if "failed:" in ln]
    assert len(err) == 2 and err[0].startswith("member 0 (iterations=100, seed=0) failed: ")
    assert "flaky objective refused a point near the origin" in err[0]
    before = {r["member"]: r for r in s["rows"] if r["status"] == "completed"}
    csv_before = (folder / "summary.csv").read_text().splitlines()
    batch1 = (folder / "traces" / "batch-0001.csv").read_bytes()

    (tmp_path / "FAIL").unlink()  # the fix
    res = invoke("resume", folder, "--runs-dir", tmp_path / "kg", "--workers", "1")
    assert res.exit_code == 0, res.output
    s = summary(folder)
    assert s["status"] == "completed" and s["counts"] == {"completed": 4}
    assert {r["member"]: r for r in s["rows"] if r["member"] in before} == before  # untouched
    csv_after = (folder / "summary.csv").read_text().splitlines()
    assert csv_after[0] == csv_before[0] and csv_after[3:5] == csv_before[3:5]
    assert (folder / "traces" / "batch-0001.csv").read_bytes() == batch1
    assert [r["batch"] for r in s["rows"]] == [2, 2, 1, 1]  # rerun members went to a new batch file
    rerun = [ln.split(",")[:2] for ln in (folder / "traces" / "batch-0002.csv").read_text().splitlines()[1:]]
    assert sorted(rerun, key=lambda r: (int(r[0]), int(r[1]))) == [
        [str(m), str(t)] for m in (0, 1) for t in range(101)
    ]
    res = invoke("resume", folder)
    assert res.exit_code == 2 and "nothing left to run" in res.stderr


def _popen(optrun_bin: str, args: list, cwd: Path, runs: Path) -> subprocess.Popen:
    env = {**os.environ, "OPTRUN_RUNS_DIR": str(runs), "NO_COLOR": "1"}
    return subprocess.Popen(
        [optrun_bin, *map(str, args)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@pytest.mark.parametrize("workers, to_group", [("1", False), ("2", True)], ids=["one-worker", "pool-ctrl-c"])
def test_ctrl_c_keeps_finished_members_and_resume_finishes_the_rest(tmp_path, optrun_bin, workers, to_group):
    cfg, _ = flaky_config(tmp_path, [10, 3000])
    (tmp_path / "SLOW").touch()  # 3000 iterations at 5 ms per evaluation: about 15 s if not stopped
    runs = tmp_path / "runs"
    p = _popen(optrun_bin, ["run", cfg, "--workers", workers], tmp_path, runs)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the short batch is finished and the long one runs
            if list(runs.glob("*/traces/batch-0000.csv")) and list(
                runs.glob("*/traces/batch-0001.csv.partial")
            ):
                break
            time.sleep(0.02)
        else:
            pytest.fail("the sweep did not reach its second batch")
        time.sleep(0.3)
        if to_group:  # a terminal's Ctrl-C: every process of the group
            os.killpg(p.pid, signal.SIGINT)
        else:
            p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert out.startswith("sweep interrupted: flaky 4 members")
    folder = sweep_folder(runs)
    s = summary(folder)
    assert s["status"] == "interrupted" and s["signal"] == "SIGINT"
    assert [r["status"] for r in s["rows"]] == ["completed", "completed", "interrupted", "interrupted"]
    assert [r["iterations"] for r in s["rows"][:2]] == [10, 10]
    cut = s["rows"][2]["iterations"]
    assert 0 < cut < 3000
    traces = member_traces(folder)  # the interrupted batch's rows up to the interruption are kept
    assert [int(r[0]) for r in traces[2]] == list(range(cut + 1))
    finished = s["rows"][:2]
    batch0 = (folder / "traces" / "batch-0000.csv").read_bytes()

    (tmp_path / "SLOW").unlink()
    res = subprocess.run(
        [optrun_bin, "resume", str(folder), "--workers", workers],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_COLOR": "1", "OPTRUN_RUNS_DIR": str(runs)},
    )
    assert res.returncode == 0, res.stderr
    s = summary(folder)
    assert s["status"] == "completed" and [r["iterations"] for r in s["rows"]] == [10, 10, 3000, 3000]
    assert s["rows"][:2] == finished and (folder / "traces" / "batch-0000.csv").read_bytes() == batch0
    assert [r["batch"] for r in s["rows"]] == [0, 0, 2, 2]
    # the resumed members equal the same sweep run without interruption
    res = subprocess.run(
        [
            optrun_bin,
            "run",
            str(folder / "config.yaml"),
            "--runs-dir",
            str(tmp_path / "fresh"),
            "--workers",
            "1",
            "--quiet",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    fresh = sweep_folder(tmp_path / "fresh")
    assert stable(summary(fresh)["rows"])[2:] == [{**r, "batch": 1} for r in stable(s["rows"])[2:]]
    resumed = member_traces(folder, "batch-0002.csv")
    assert sorted(resumed) == [2, 3] and len(resumed[3]) == 3001
    assert member_traces(fresh)[2] == resumed[2] and member_traces(fresh)[3] == resumed[3]


@pytest.mark.skipif(sys.platform != "linux", reason="the live-process check reads /proc")
def test_resume_refuses_a_finished_or_live_sweep(tmp_path):
    from optrun.store.folder import process_start_ticks

    res = invoke("run", write(tmp_path, LAYOUT), "--runs-dir", tmp_path / "runs", "--quiet")
    folder = sweep_folder(tmp_path / "runs")
    res = invoke("resume", folder, "--runs-dir", tmp_path / "runs")
    assert res.exit_code == 2
    assert res.stderr.strip() == f"Error: sweep {folder.name} has nothing left to run: every member finished"
    s = summary(folder)  # as a sweep in progress in this very process would leave it
    (folder / "summary.json").write_text(
        json.dumps(
            {**s, "status": "running", "pid": os.getpid(), "pid_start": process_start_ticks(os.getpid())}
        )
    )
    res = invoke("resume", folder, "--runs-dir", tmp_path / "runs")
    assert res.exit_code == 2 and f"is still running (pid {os.getpid()})" in res.stderr


def test_a_sweep_after_a_threaded_numba_run_in_the_same_process(tmp_path):
    # a large numba run leaves optrun's kernel helper threads behind, and a user's own
    # parallel=True numba code may have started GNU OpenMP threads (NUMBA_THREADING_LAYER=omp),
    # which do not survive fork(): the sweep's forked workers must rebuild the helpers, and with
    # OpenMP running they must start from a fresh process (else numba kills each worker)
    pytest.importorskip("numba.np.ufunc.omppool", reason="numba's OpenMP layer is not available here")
    big = write(
        tmp_path,
        {
            "objective": {"name": "sphere", "dim": 300_000},
            "backend": "numba",
            "algorithm": {"name": "adagrad", "alpha": 0.1},
            "iterations": 2,
            "trace": {"x": 0},
        },
        "big.yaml",
    )
    # two groups (two batches, one per worker), each member threaded too
    swept = write(
        tmp_path,
        {
            "objective": {"name": "sphere", "dim": 140_000},
            "iterations": 2,
            "backend": "numba",
            "algorithm": {"name": "adagrad", "alpha": 0.1},
            "trace": {"x": 0},
            "sweep": {"seed": [0, 1], "algorithm.name": ["adagrad", "rmsprop"]},
        },
        "swept.yaml",
    )
    script = (
        "import sys, threading, numba, numpy as np\n"
        "from optrun.config import load_config\n"
        "from optrun.execution.run import execute\n"
        "from optrun.sweep import load_plan\n"
        "from optrun.execution.sweep import execute_sweep\n"
        f"execute(load_config({str(big)!r}), {str(tmp_path / 'runs')!r})\n"
        "print(sum(t.name == 'optrun-kernel' for t in threading.enumerate()))\n"
        "users_own = numba.njit(parallel=True)(lambda a: np.sum(a * 2.0))\n"
        "users_own(np.ones(100_000))\n"
        "print(numba.threading_layer())\n"
        f"out = execute_sweep(load_plan({str(swept)!r}), {str(tmp_path / 'runs')!r}, workers=2)\n"
        "print(out.summary['counts'], out.summary['workers'])\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "NUMBA_THREADING_LAYER": "omp", "NUMBA_NUM_THREADS": "2"},
    )
    assert r.returncode == 0, r.stderr
    helpers, layer, counts = r.stdout.strip().splitlines()
    assert helpers == "1" and layer == "omp"
    assert counts == "{'completed': 4} 2", (layer, r.stderr)
    assert "fork() called from a process already using GNU OpenMP" not in r.stderr


def test_members_missing_expect_are_named_on_stderr(tmp_path, configs_dir):
    res = invoke(
        "run",
        configs_dir / "rosenbrock.yaml",
        "iterations=1000",
        "--sweep",
        "seed=0:3",
        "--runs-dir",
        tmp_path / "runs",
        "--workers",
        "1",
        "--quiet",
    )
    assert res.exit_code == 1
    (line,) = [ln for ln in res.stderr.splitlines() if ln.startswith("expect failed")]
    assert line.startswith("expect failed for 3 of 3 members (member 0: f - f* ") and line.endswith(
        "(f_gap_max))"
    )
    ok = invoke(
        "run",
        configs_dir / "rosenbrock.yaml",
        "--sweep",
        "seed=0:2",
        "--runs-dir",
        tmp_path / "runs",
        "--workers",
        "1",
        "--quiet",
    )
    assert ok.exit_code == 0 and "expect failed" not in ok.stderr


def test_large_members_keep_their_points_in_a_batch_file(tmp_path, configs_dir):
    """Above 1,000 coordinates a member's final and best points leave the summary rows: they go to
    traces/points-NNNN.npz (the rows' x_file), equal to the same run's own x.npz, bit for bit."""
    import numpy as np

    args = [str(configs_dir / "amsgrad.yaml"), "objective.dim=1001", "bounds=[-1, 1]", "iterations=20"]
    r = invoke("run", *args, "--sweep", "seed=0:3", "--runs-dir", tmp_path / "s", "-q")
    assert r.exit_code == 0, r.output
    folder = sweep_folder(tmp_path / "s")
    rows = json.loads((folder / "summary.json").read_text())["rows"]
    assert [row["x_file"] for row in rows] == ["traces/points-0000.npz"] * 3
    with np.load(folder / rows[1]["x_file"]) as z:
        members, final_x, best_x = z["members"], z["final_x"], z["best_x"]
    assert members.tolist() == [0, 1, 2] and final_x.shape == (3, 1001)
    r = invoke("run", *args, "seed=1", "--runs-dir", tmp_path / "one", "-q")
    assert r.exit_code == 0, r.output
    (run,) = list((tmp_path / "one").iterdir())
    with np.load(run / "x.npz") as z:
        assert np.array_equal(z["final_x"], final_x[1]) and np.array_equal(z["best_x"], best_x[1])
