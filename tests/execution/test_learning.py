"""Learning problems through runs and sweeps: x0 = 0 by default (recorded), expect rules on
f - f* with the data's f* (refused without one), a sweep's meta.json records its data, f* found
once per process, and ``optrun resume`` refuses data that changed since the run started."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from optrun.cli import cli
from optrun.config import load_config
from optrun.execution import drive
from optrun.objectives import data_optimum
from optrun.objectives.data_config import learning_params, prepare

W = [1.0, -2.0, 0.5]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def write_csv(path: Path, seed: int = 0, separable: bool = False) -> None:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((150, 3))
    y = (X @ W + (0 if separable else rng.standard_normal(150)) > 0).astype(int)
    rows = "".join(",".join(repr(float(v)) for v in r) + f",{t}\n" for r, t in zip(X, y))
    path.write_text("a,b,c,label\n" + rows)


def config(tmp_path: Path, objective: dict, name: str = "c.yaml", **extra) -> Path:
    cfg = {
        "objective": objective,
        "algorithm": {"name": "adam", "alpha": 0.05},
        "iterations": 300,
        "trace": {"checkpoint_s": None},
        **extra,
    }
    p = tmp_path / name
    p.write_text(yaml.safe_dump(cfg))
    return p


LOGISTIC = {"name": "logistic", "data": "train.csv", "target": "label", "l2": 0.01}


def f_star(tmp_path: Path, obj: dict) -> float:
    return prepare(obj["name"], learning_params({**obj, "data": str(tmp_path / obj["data"])})).optimum.f_star


def only_folder(runs: Path) -> Path:
    (folder,) = list(runs.iterdir())
    return folder


def test_a_data_objective_starts_at_zero_and_the_resolved_config_says_so(tmp_path):
    write_csv(tmp_path / "train.csv")
    cfg = config(tmp_path, LOGISTIC)
    assert load_config(str(cfg)).start == (0.0,) * 4
    res = invoke("run", cfg, "--dry-run")
    assert res.exit_code == 0 and "start: [0.0, 0.0, 0.0, 0.0]" in res.output, res.output
    # a start given is kept, and a built-in's default start is still random
    assert load_config(str(config(tmp_path, LOGISTIC, start=[0.5] * 4))).start == (0.5,) * 4
    assert load_config(str(config(tmp_path, "sphere", name="s.yaml"))).start == "random"


def test_expect_f_gap_max_is_measured_against_the_data_f_star(tmp_path):
    write_csv(tmp_path / "train.csv")
    best = f_star(tmp_path, LOGISTIC)
    runs = tmp_path / "runs"
    ok = config(tmp_path, LOGISTIC, expect={"f_gap_max": 1e-6})
    res = invoke("run", ok, "--runs-dir", runs, "-q")
    assert res.exit_code == 0, res.output
    summary = json.loads((only_folder(runs) / "summary.json").read_text())
    assert summary["f_min"] == best and 0 <= summary["f_gap"] <= 1e-6 and summary["status"] == "completed"
    assert summary["hits"]["1e-4"] is not None  # the targets ladder works on f - f*
    tight = config(tmp_path, LOGISTIC, name="t.yaml", iterations=5, expect={"f_gap_max": 1e-6})
    res = invoke("run", tight, "--runs-dir", tmp_path / "runs2", "-q")
    assert res.exit_code == 1 and "f_gap_max" in res.output, res.output  # the gate fails: exit 1
    # a rule below the data's f* can never pass: refused before any folder
    low = config(tmp_path, LOGISTIC, name="l.yaml", expect={"f_final_max": best / 2})
    res = invoke("run", low, "--runs-dir", tmp_path / "runs3")
    assert res.exit_code == 2 and "expect.f_final_max: can never pass" in res.output, res.output
    assert not (tmp_path / "runs3").exists()


@pytest.mark.parametrize(
    "sweep, rule", [(False, "f_gap_max"), (True, "f_gap_max"), (True, "f_gap_median_max")]
)
def test_a_rule_on_f_gap_without_f_star_is_refused_in_one_line(tmp_path, sweep, rule):
    write_csv(tmp_path / "sep.csv", separable=True)
    obj = {"name": "logistic", "data": "sep.csv", "target": "label"}  # separable, no l2: no f*
    cfg = config(tmp_path, obj, expect={rule: 1e-3})
    extra = ["--sweep", "seed=0,1", "--workers", "1"] if sweep else []
    res = invoke("run", cfg, *extra, "--runs-dir", tmp_path / "runs")
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and f"c.yaml: expect.{rule}: can never pass" in lines[0], res.output
    assert "separable" in lines[0] and "Traceback" not in res.output
    assert not (tmp_path / "runs").exists()
    # without the rule it runs (f* unknown, recorded as such)
    plain = config(tmp_path, obj, name="p.yaml")
    res = invoke("run", plain, *extra, "--runs-dir", tmp_path / "ok", "-q")
    assert res.exit_code == 0, res.output


def test_a_sweep_records_its_data_once_and_finds_f_star_once(tmp_path, monkeypatch):
    write_csv(tmp_path / "train.csv")
    solves = []
    real = data_optimum.optimum
    monkeypatch.setattr(
        data_optimum, "optimum", lambda loss, *a, **k: solves.append(1) or real(loss, *a, **k)
    )
    obj = {"name": "logistic", "data": {"synthetic": "classification", "n": 80, "features": 3}, "l2": 0.1}
    cfg = config(tmp_path, obj, iterations=20)
    # four batches (one per algorithm) in this process: synthetic data have no folder to cache f* beside
    args = ["--sweep", "algorithm.name=adam,amsgrad,adagrad,rmsprop", "--sweep", "seed=0,1"]
    res = invoke("run", cfg, *args, "--workers", "1", "--runs-dir", tmp_path / "runs", "-q")
    assert res.exit_code == 0, res.output
    folder = only_folder(tmp_path / "runs")
    assert len(list((folder / "traces").glob("batch-*.csv"))) == 4
    assert len(solves) == 1
    data = json.loads((folder / "meta.json").read_text())["data"]
    run = invoke("run", cfg, "--runs-dir", tmp_path / "alone", "--format", "json")
    alone = json.loads(
        (Path(json.loads(run.stdout.strip().splitlines()[-1])["path"]) / "meta.json").read_text()
    )
    assert data == {"objective": "logistic", **alone["data"]}
    assert data["source"].startswith("synthetic") and len(data["sha256"]) == 64 and data["f_star"] > 0
    assert len(solves) == 1  # the run alone in the same process reused it too


def test_a_sweep_over_two_data_files_records_both(tmp_path):
    write_csv(tmp_path / "a.csv", seed=1)
    write_csv(tmp_path / "b.csv", seed=2)
    cfg = config(tmp_path, {**LOGISTIC, "data": "a.csv"}, iterations=10)
    res = invoke(
        "run", cfg, "--sweep", f"objective.data={tmp_path / 'a.csv'},{tmp_path / 'b.csv'}",
        "--workers", "1", "--runs-dir", tmp_path / "runs", "-q",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads((only_folder(tmp_path / "runs") / "meta.json").read_text())["data"]
    assert [Path(d["source"]).name for d in data] == ["a.csv", "b.csv"]
    assert data[0]["sha256"] != data[1]["sha256"]


def interrupted_run(cfg: Path, runs: Path, monkeypatch) -> Path:
    """``cfg`` run and stopped after 100 steps (as by Ctrl-C): its folder."""
    real_run = drive.run

    def stopped(problem, on_chunk, should_stop=None, **kw):
        steps = iter(range(10**9))
        return real_run(problem, on_chunk, should_stop=lambda: next(steps) >= 100, **kw)

    monkeypatch.setattr(drive, "run", stopped)
    res = invoke("run", cfg, "--runs-dir", runs, "-q")
    assert res.exit_code == 130, res.output
    monkeypatch.setattr(drive, "run", real_run)
    return only_folder(runs)


def test_resume_refuses_a_run_whose_data_file_changed(tmp_path, monkeypatch):
    write_csv(tmp_path / "train.csv")
    obj = {**LOGISTIC, "test": "test.csv"}
    write_csv(tmp_path / "test.csv", seed=5)
    runs = tmp_path / "runs"
    folder = interrupted_run(config(tmp_path, obj, trace={"checkpoint_s": 10.0}), runs, monkeypatch)
    meta = json.loads((folder / "meta.json").read_text())["data"]
    assert len(meta["sha256"]) == 64 and len(meta["test_sha256"]) == 64
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    for changed in ("test.csv", "train.csv"):
        original = (tmp_path / changed).read_text()
        write_csv(tmp_path / changed, seed=9)
        res = invoke("resume", folder, "--runs-dir", runs)
        assert res.exit_code == 2, res.output
        lines = res.output.strip().splitlines()
        assert len(lines) == 1 and str(tmp_path / changed) in lines[0] and "changed since run" in lines[0]
        assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before  # untouched
        (tmp_path / changed).write_text(original)
    res = invoke("resume", folder, "--runs-dir", runs, "-q")  # the same data again: it resumes
    assert res.exit_code == 0, res.output
    assert json.loads((folder / "summary.json").read_text())["status"] == "completed"


def test_resume_refuses_a_sweep_whose_data_file_changed(tmp_path):
    write_csv(tmp_path / "train.csv")
    runs = tmp_path / "runs"
    cfg = config(tmp_path, LOGISTIC, iterations=20)
    res = invoke("run", cfg, "--sweep", "seed=0,1", "--workers", "1", "--runs-dir", runs, "-q")
    assert res.exit_code == 0, res.output
    folder = only_folder(runs)
    summary = json.loads((folder / "summary.json").read_text())
    summary["status"] = "interrupted"
    summary["rows"][1]["status"] = "interrupted"
    (folder / "summary.json").write_text(json.dumps(summary))
    original = (tmp_path / "train.csv").read_text()
    write_csv(tmp_path / "train.csv", seed=3)
    res = invoke("resume", folder, "--runs-dir", runs, "--workers", "1")
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and f"{tmp_path / 'train.csv'}: the data changed since sweep" in lines[0]
    assert not (folder / "meta.resume.json").exists()
    (tmp_path / "train.csv").write_text(original)
    res = invoke("resume", folder, "--runs-dir", runs, "--workers", "1", "-q")
    assert res.exit_code == 0, res.output
