"""The data sets shipped with optrun (``data: {dataset: digits}``): read offline from the package,
validated like ``{synthetic: ...}``, and run through ``optrun run``."""

from __future__ import annotations

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
from optrun.objectives.data_config import ObjectiveKeyError, data_dim, learning_params, prepare
from optrun.objectives.data_prep import shipped

DIGITS = {"name": "softmax", "data": {"dataset": "digits"}}


def test_digits_is_the_uci_test_set_read_from_the_package():
    X, y = datasets.arrays("digits")
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
        datasets.arrays("digits")
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
