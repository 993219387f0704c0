"""Learning objectives through ``optrun run``: a run records f* as f_min, bad data stop before any
run folder (exit 2, one line), and a sweep member's trace equals the run alone, byte for byte."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from optrun.cli import cli
from optrun.objectives.data_config import learning_params, prepare


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def write_csv(path: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((150, 3))
    y = (X @ [1.0, -2.0, 0.5] + rng.standard_normal(150) > 0).astype(int)
    rows = "".join(",".join(repr(float(v)) for v in r) + f",{t}\n" for r, t in zip(X, y))
    path.write_text("a,b,c,label\n" + rows)


def config(tmp_path: Path, objective: dict, **extra) -> Path:
    cfg = {
        "objective": objective,
        "algorithm": {"name": "adam", "alpha": 0.05},
        "iterations": 40,
        "trace": {"checkpoint_s": None},
        **extra,
    }
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


def test_a_logistic_run_on_a_csv_file_records_f_star(tmp_path):
    write_csv(tmp_path / "train.csv")
    obj = {"name": "logistic", "data": "train.csv", "target": "label", "l2": 0.01}
    cfg = config(tmp_path, obj, start=[0.0] * 4)
    res = invoke("run", cfg, "--runs-dir", tmp_path / "runs", "--format", "json")
    assert res.exit_code == 0, res.output
    folder = Path(json.loads(res.stdout.strip().splitlines()[-1])["path"])
    summary = json.loads((folder / "summary.json").read_text())
    expected = prepare("logistic", learning_params({**obj, "data": str(tmp_path / "train.csv")})).optimum
    assert summary["dim"] == 4 and summary["f_min"] == expected.f_star
    assert summary["f_gap"] == pytest.approx(summary["final_f"] - expected.f_star, rel=1e-12)
    data = json.loads((folder / "meta.json").read_text())["data"]
    assert data["f_star"] == expected.f_star and data["f_star_solver"] == "newton"
    assert data["n"] == 150 and data["features"] == 3 and data["f_star_grad_norm"] < 1e-10
    recorded = yaml.safe_load((folder / "config.yaml").read_text())["objective"]
    assert recorded["data"] == str((tmp_path / "train.csv").resolve())  # found again on resume
    with open(folder / "trace.csv", newline="") as f:
        first = next(iter(csv.DictReader(f)))
    assert float(first["f"]) == pytest.approx(np.log(2), rel=1e-15)  # w = 0: log 2


@pytest.mark.parametrize(
    "objective, message",
    [
        ({"name": "logistic", "data": "nope.csv", "target": "label"}, "nope.csv: no such data file"),
        (
            {"name": "logistic", "data": "train.csv", "target": "y"},
            "train.csv: no target column 'y' (the columns are a, b, c, label)",
        ),
        (
            {"name": "least-squares", "data": "train.csv", "target": "label", "l2": -1},
            "c.yaml:7: objective.l2: must be a finite number of at least 0, not -1",
        ),
        ({"name": "softmax", "data": "train.csv", "target": "a"}, "train.csv: sample 1 has label"),
        ({"name": "logistic"}, "objective.data: is required"),
    ],
)
def test_bad_data_exit_2_with_one_line_and_no_run_folder(tmp_path, objective, message):
    write_csv(tmp_path / "train.csv")
    res = invoke("run", config(tmp_path, objective), "--runs-dir", tmp_path / "runs")
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], res.output
    assert not (tmp_path / "runs").exists()


def test_a_sweep_member_equals_the_run_alone(tmp_path):
    obj = {
        "name": "softmax",
        "data": {"synthetic": "multiclass", "n": 120, "features": 3, "classes": 3},
        "l2": 1e-3,
    }
    cfg = config(tmp_path, obj)
    res = invoke(
        "run",
        cfg,
        "--sweep",
        "algorithm.alpha=0.01,0.1",
        "--sweep",
        "seed=0,1",
        "--runs-dir",
        tmp_path / "runs",
        "--workers",
        "1",
        "--quiet",
    )
    assert res.exit_code == 0, res.output
    (folder,) = [p for p in (tmp_path / "runs").iterdir() if (p / "traces").is_dir()]
    members: dict[int, list[list[str]]] = {}
    for p in sorted((folder / "traces").glob("batch-*.csv")):
        with open(p, newline="") as f:
            for rec in list(csv.reader(f))[1:]:
                members.setdefault(int(rec[0]), []).append(rec[1:])
    assert len(members) == 4
    for m, (alpha, seed) in enumerate([(0.01, 0), (0.01, 1), (0.1, 0), (0.1, 1)]):
        res = invoke(
            "run",
            cfg,
            f"algorithm.alpha={alpha}",
            f"seed={seed}",
            "--runs-dir",
            tmp_path / "alone",
            "--format",
            "json",
        )
        assert res.exit_code == 0, res.output
        path = Path(json.loads(res.stdout.strip().splitlines()[-1])["path"])
        with open(path / "trace.csv", newline="") as f:
            alone = list(csv.reader(f))[1:]
        assert len(alone) == 41 and members[m] == alone, (alpha, seed)


GOOD = "a,b,c,label\n0.5,1.0,-2.0,1\n1.5,-1.0,0.25,0\n-0.5,2.0,1.0,1\n"


@pytest.mark.parametrize(
    "files, objective, message",
    [
        (
            {"train.csv": "a,b,c,label\n0.5,1.0,-2.0,1\n1.5,nan,0.25,0\n"},
            {"name": "logistic", "data": "train.csv", "target": "label"},
            ["train.csv", "line 3", "b"],
        ),
        (
            {"train.csv": "a,b,c,label\n0.5,1.0,-2.0,1\n1.5,inf,0.25,0\n"},
            {"name": "logistic", "data": "train.csv", "target": "label"},
            ["train.csv", "line 3", "b"],
        ),
        (
            {"train.csv": "a,b,c,label\n0.5,1.0,-2.0,1\n1.5,0.25,0\n"},
            {"name": "logistic", "data": "train.csv", "target": "label"},
            ["train.csv", "line 3"],
        ),
        (
            {"train.csv": GOOD, "test.csv": "a,b,d,label\n0.5,1.0,-2.0,1\n"},
            {"name": "logistic", "data": "train.csv", "target": "label", "test": "test.csv"},
            ["test.csv", "column 3", "'d'"],
        ),
        (
            {"train.csv": GOOD, "test.csv": "a,b,c,label\n0.5,1.0,-2.0,3\n"},
            {"name": "logistic", "data": "train.csv", "target": "label", "test": "test.csv"},
            ["test.csv", "sample 1", "label 3"],
        ),
        (
            {"train.csv": GOOD.replace(",0\n", ",2\n")},
            {"name": "logistic", "data": "train.csv", "target": "label"},
            ["train.csv", "sample 2", "label 2"],
        ),
        (
            {"big.svm": "1 1:0.5 300000000:1.0\n-1 2:1.0\n"},
            {"name": "logistic", "data": "big.svm"},
            ["big.svm", "300000000 features", "MB"],
        ),
        (
            {"train.csv": "label,a,label\n0,1,5\n1,2,6\n"},
            {"name": "logistic", "data": "train.csv", "target": "label"},
            ["train.csv", "line 1", "'label' is in columns 1 and 3"],
        ),
    ],
    ids=[
        "nan",
        "inf",
        "ragged",
        "test-columns",
        "test-labels",
        "labels",
        "libsvm-too-large",
        "duplicate-column",
    ],
)
def test_every_data_error_is_one_line_naming_file_and_place(tmp_path, files, objective, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    for args in ([], ["--sweep", "seed=1,2", "--workers", "1"]):
        res = invoke("run", config(tmp_path, objective), *args, "--runs-dir", tmp_path / "runs")
        assert res.exit_code == 2, res.output
        lines = res.output.strip().splitlines()
        assert len(lines) == 1 and all(m in lines[0] for m in message), res.output
        assert not (tmp_path / "runs").exists()


def test_a_csv_with_a_byte_order_mark_finds_its_first_column(tmp_path):
    (tmp_path / "train.csv").write_bytes(b"\xef\xbb\xbf" + b"label,a,b\n0,2,0\n1,0,2\n0,1,0\n1,0,1\n")
    obj = {"name": "logistic", "data": "train.csv", "target": "label", "l2": 0.1}
    res = invoke("run", config(tmp_path, obj), "--runs-dir", tmp_path / "runs", "--format", "json")
    assert res.exit_code == 0, res.output
    folder = Path(json.loads(res.stdout.strip().splitlines()[-1])["path"])
    assert json.loads((folder / "meta.json").read_text())["data"]["features"] == 2


def test_bad_npz_and_compressed_files_are_one_line(tmp_path):
    np.save(tmp_path / "one.npy", np.zeros((3, 3)))
    (tmp_path / "one.npy").rename(tmp_path / "one.npz")
    X = np.random.default_rng(0).standard_normal((20, 2))
    np.savez(tmp_path / "good.npz", X=X, y=(X[:, 0] > 0) * 1.0)
    (tmp_path / "cut.npz").write_bytes((tmp_path / "good.npz").read_bytes()[:300])
    np.savez(tmp_path / "empty.npz", X=np.zeros((0, 2)), y=np.zeros(0))
    (tmp_path / "t.csv.gz").write_bytes(b"\x1f\x8b")
    cases = {
        "one.npz": "one.npz: cannot be read as NPZ (it holds one array",
        "cut.npz": "cut.npz: cannot be read as NPZ",
        "empty.npz": "empty.npz: holds no samples",
        "t.csv.gz": "compressed files are not read",
    }
    for name, message in cases.items():
        res = invoke(
            "run", config(tmp_path, {"name": "logistic", "data": name}), "--runs-dir", tmp_path / "runs"
        )
        assert res.exit_code == 2, res.output
        lines = res.output.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], res.output
        assert not (tmp_path / "runs").exists()


def test_a_run_on_separable_data_without_l2_says_f_star_is_unknown(tmp_path):
    np.savez(
        tmp_path / "sep.npz", X=np.array([[1.0, 0], [2, 1], [-1, 0], [-2, -1]]), y=np.array([1.0, 1, 0, 0])
    )
    res = invoke(
        "run", config(tmp_path, {"name": "logistic", "data": "sep.npz"}), "--runs-dir", tmp_path / "runs"
    )
    assert res.exit_code == 0, res.output
    line = res.stdout.strip().splitlines()[-1]
    assert "f* unknown: no finite optimum: the training data are separable and l2 is 0" in line
    (folder,) = (tmp_path / "runs").iterdir()
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["f_min"] is None and summary["f_min_note"].startswith("no finite optimum")


def test_a_run_reads_each_data_file_once(tmp_path, monkeypatch):
    from optrun.objectives import data

    write_csv(tmp_path / "train.csv")
    write_csv(tmp_path / "test.csv", seed=1)
    reads: list[str] = []
    real = data.read_csv
    monkeypatch.setattr(data, "read_csv", lambda path, *a: reads.append(Path(path).name) or real(path, *a))
    obj = {"name": "logistic", "data": "train.csv", "target": "label", "l2": 0.01, "test": "test.csv"}
    res = invoke("run", config(tmp_path, obj), "--runs-dir", tmp_path / "runs")
    assert res.exit_code == 0, res.output
    assert sorted(reads) == ["test.csv", "train.csv"]  # validation, build and f* share one read
