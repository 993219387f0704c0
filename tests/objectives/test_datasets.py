"""The data sets shipped with optrun (``data: {dataset: digits}``): read offline from the package,
validated like ``{synthetic: ...}``, and run through ``optrun run``."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import optrun.datasets as datasets
from optrun.cli import cli
from optrun.errors import OptrunError
from optrun.objectives import data_prep
from optrun.objectives.data_config import ObjectiveKeyError, data_dim, learning_params, prepare
from optrun.objectives.data_prep import shipped

DIGITS = {"name": "softmax", "data": {"dataset": "digits"}}


def test_digits_is_the_uci_test_set_read_from_the_package():
    X, y = data_prep.arrays("digits")
    assert X.shape == (1797, 64) and y.shape == (1797,) and X.dtype == y.dtype == np.float64
    assert X.flags.c_contiguous and X.min() == 0 and X.max() == 16 and np.array_equal(X, np.round(X))
    # the class counts of UCI's optdigits.tes
    assert np.bincount(y.astype(int)).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert X[0, :8].tolist() == [0, 0, 5, 13, 9, 1, 0, 0] and y[0] == 0  # the first image is a 0
    spec = datasets.DATASETS["digits"]
    assert (spec.samples, spec.features, spec.classes) == (1797, 64, 10)
    assert datasets.location("digits").parent == Path(datasets.__file__).parent
    d = shipped("digits")
    assert np.array_equal(d.X, X) and d.source == "digits (shipped with optrun)" and len(d.columns) == 64


def test_the_listing_has_a_one_line_description_of_each_data_set():
    names = datasets.dataset_names()
    assert [n for n, _ in names] == list(datasets.DATASETS) and names[0][0] == "digits"
    assert all(text and "\n" not in text for _, text in names)


def test_a_damaged_file_is_refused_by_its_checksum(monkeypatch):
    bad = dataclasses.replace(datasets.DATASETS["digits"], sha256="0" * 64)
    monkeypatch.setitem(datasets.DATASETS, "digits", bad)
    with pytest.raises(OptrunError) as e:
        data_prep.arrays("digits")
    assert "\n" not in str(e.value) and "'digits' is damaged" in str(e.value) and e.value.exit_code == 2


def test_a_dataset_key_is_validated_without_reading_it():
    p = learning_params({**DIGITS, "test": 0.2, "standardize": True})
    assert p["data"] == {"dataset": "digits"} and p["test"] == 0.2
    assert data_dim("softmax", p) == 65 * 10
    assert data_dim("softmax", {**p, "intercept": False}) == 64 * 10


@pytest.mark.parametrize(
    "raw, key, message",
    [
        ({"data": {"dataset": "mnist"}}, "data.dataset", "optrun ships no data set 'mnist'; it ships digits"),
        ({"data": {"dataset": "digits", "n": 100}}, "data.n", "unknown key; a shipped data set takes only"),
        (
            {"name": "logistic", "data": {"dataset": "digits"}},
            "data.dataset",
            "'digits' has multiclass labels, which do not fit logistic: use softmax",
        ),
        ({"data": {"dataset": "digits"}, "target": "label"}, "target", "applies to CSV data files"),
        ({"data": {"dataset": "digits"}, "test": "t.csv"}, "test", "a test file needs a training file"),
    ],
)
def test_bad_dataset_keys_are_named(raw, key, message):
    with pytest.raises(ObjectiveKeyError) as e:
        learning_params({**DIGITS, **raw})
    assert e.value.key == key and e.value.message.startswith(message)


def test_a_seeded_split_and_standardisation_of_digits():
    p = learning_params({**DIGITS, "test": 0.2, "standardize": True, "l2": 1e-2})
    a, b = prepare("softmax", p), prepare("softmax", p)
    assert a.train.X.shape == (1438, 64) and a.test.X.shape == (359, 64)
    assert np.array_equal(a.train.X, b.train.X) and np.array_equal(a.test.y, b.test.y)
    assert np.allclose(a.train.X.mean(axis=0), 0) and a.record["test_n"] == 359
    assert a.record["source"] == "digits (shipped with optrun) (train)" and a.record["classes"] == list(
        range(10)
    )
    assert a.optimum.f_star is not None and a.optimum.grad_norm < 1e-10
    other = prepare("softmax", {**p, "split_seed": 1})
    assert not np.array_equal(other.test.y, a.test.y)


def write(tmp_path: Path, objective: dict, **extra) -> Path:
    cfg = {
        "objective": objective,
        "algorithm": {"name": "adam", "alpha": 0.01},
        "iterations": 30,
        "trace": {"checkpoint_s": None},
        **extra,
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_optrun_run_on_digits(tmp_path):
    objective = {**DIGITS, "test": 0.2, "standardize": True, "l2": 1e-2}
    cfg = write(tmp_path, objective)
    res = CliRunner().invoke(cli, ["run", str(cfg), "--runs-dir", str(tmp_path / "runs"), "--format", "json"])
    assert res.exit_code == 0, res.output
    folder = Path(json.loads(res.stdout.strip().splitlines()[-1])["path"])
    summary = json.loads((folder / "summary.json").read_text())
    data = json.loads((folder / "meta.json").read_text())["data"]
    assert summary["dim"] == 650 and data["n"] == 1438 and data["features"] == 64 and data["test_n"] == 359
    assert summary["f_min"] == data["f_star"] and 0 < summary["final_f"] - data["f_star"] < np.log(10)
    assert yaml.safe_load((folder / "config.yaml").read_text())["objective"]["data"] == {"dataset": "digits"}


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"dataset": "mnist"}, "objective.data.dataset: optrun ships no data set 'mnist'; it ships digits"),
        ({"dataset": "digits", "seed": 1}, "objective.data.seed: unknown key; a shipped data set takes only"),
    ],
)
def test_a_bad_dataset_stops_the_cli_with_one_line(tmp_path, data, expected):
    cfg = write(tmp_path, {"name": "softmax", "data": data})
    res = CliRunner().invoke(cli, ["run", str(cfg), "--runs-dir", str(tmp_path / "runs")])
    assert res.exit_code == 2 and expected in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_the_digits_config_validates_and_its_sweep_runs_shortened(tmp_path):
    from optrun.config import load_config

    cfg = load_config(str(CONFIGS / "digits-logistic.yaml"))
    obj, alg = cfg.objective, cfg.algorithm
    assert obj.name == "softmax" and obj.params["data"] == {"dataset": "digits"} and obj.dim == 650
    assert obj.params["batch_size"] == 128 and obj.params["sampling"] == "shuffle"
    assert alg.params["schedule"] == {"name": "inverse_sqrt"} and alg.variant == "paper"
    args = ["run", str(CONFIGS / "digits-logistic.yaml"), "iterations=24", "--runs-dir", str(tmp_path)]
    res = CliRunner().invoke(cli, [*args, "--workers", "1", "--quiet"])
    assert res.exit_code == 0, res.output
    (folder,) = [p for p in tmp_path.iterdir() if (p / "traces").is_dir()]
    with open(folder / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 20 and {r["status"] for r in rows} == {"completed"}
    assert {(r["algorithm.name"], r["seed"]) for r in rows} == {
        (a, str(s)) for a in ("adam", "amsgrad") for s in range(10)
    }


def mnist_like(path: Path, rows: int, seed: int) -> None:
    """A stand-in for the Kaggle CSV export of MNIST: a label column, then 784 pixels 0..255."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(rows, 784)) * (rng.random((rows, 784)) < 0.2)
    labels = np.arange(rows) % 10
    header = "label," + ",".join(f"{i}x{j}" for i in range(1, 29) for j in range(1, 29))
    body = "\n".join(f"{t}," + ",".join(map(str, r)) for t, r in zip(labels, pixels))
    path.write_text(header + "\n" + body + "\n")


def test_the_mnist_template_validates_with_stand_in_files_and_its_conversion_runs(tmp_path, monkeypatch):
    import gzip
    import textwrap

    from optrun.config import load_config

    template = tmp_path / "mnist-logistic.yaml"
    text = (CONFIGS / "mnist-logistic.yaml").read_text()
    template.write_text(text)
    mnist_like(tmp_path / "mnist_train.csv", 60, 0)
    mnist_like(tmp_path / "mnist_test.csv", 20, 1)
    cfg = load_config(str(template))
    obj = cfg.objective
    assert obj.dim == 785 * 10 and obj.params["target"] == "label"
    assert obj.params["data"] == str(tmp_path / "mnist_train.csv")  # read beside the config
    assert obj.params["batch_size"] == 128 and cfg.iterations == 4690
    # the IDX conversion written in the template's comments, run on stand-in IDX files
    lines = text.splitlines()
    start = lines.index("#     import gzip")
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("#     "))
    code = textwrap.dedent("\n".join(line[1:] for line in lines[start:end]))
    rng = np.random.default_rng(2)
    for prefix, n in (("train", 30), ("t10k", 10)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        for kind, a in (("images-idx3", images), ("labels-idx1", labels)):
            head = bytes([0, 0, 8, a.ndim]) + np.array(a.shape, ">u4").tobytes()
            (tmp_path / f"{prefix}-{kind}-ubyte.gz").write_bytes(gzip.compress(head + a.tobytes()))
    monkeypatch.chdir(tmp_path)
    exec(code, {})
    with np.load(tmp_path / "mnist_train.npz") as z:
        assert z["X"].shape == (30, 784) and z["y"].tolist() == (np.arange(30) % 10).tolist()
    npz = ["objective.data=mnist_train.npz", "objective.test=mnist_test.npz", "objective.target=null"]
    assert load_config(str(template), npz).objective.dim == 7850
