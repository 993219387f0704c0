"""The objective keys of learning problems: validation (one message naming the key) and the
problem they build (files beside the config, split, standardisation, f* recorded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from optrun.objectives.data import DataError
from optrun.objectives.data_config import ObjectiveKeyError, is_learning, learning_params, prepare

HERE = Path(__file__).resolve().parent.parent / "data" / "learning"


def test_defaults_and_a_synthetic_data_set():
    raw = {"name": "logistic", "data": {"synthetic": "classification", "n": 200, "features": 4}}
    assert is_learning(raw) and not is_learning({"name": "sphere"})
    p = learning_params(raw)
    assert p == {
        "data": {
            "synthetic": "classification",
            "n": 200,
            "features": 4,
            "seed": 0,
            "condition": 1.0,
            "noise": 0.1,
        },
        "target": None,
        "l2": 0.0,
        "intercept": True,
        "standardize": False,
        "test": None,
        "split_seed": 0,
        "batch_size": None,
        "sampling": "shuffle",
    }


@pytest.mark.parametrize(
    "raw, key, message",
    [
        ({"data": "d.csv"}, "target", "a CSV data file needs the name of its target column"),
        (
            {"data": "d.npz", "target": "y"},
            "target",
            "applies to CSV data files (NPZ has 'y', libsvm the first field)",
        ),
        ({"data": "d.npz", "l2": -1}, "l2", "must be a finite number of at least 0, not -1"),
        ({"data": "d.npz", "intercept": "yes"}, "intercept", "must be true or false, not 'yes'"),
        (
            {"data": "d.npz", "test": 1.5},
            "test",
            "must be a file name or a fraction between 0 and 1, not 1.5",
        ),
        ({"data": "d.npz", "batch_size": 0}, "batch_size", "must be a whole number from 1 up, not 0"),
        ({"data": "d.npz", "split_seed": 3}, "split_seed", "seeds the split of test: FRACTION"),
        (
            {"data": "d.npz", "test": "t.npz", "split_seed": 3},
            "split_seed",
            "seeds the split of test: FRACTION",
        ),
        (
            {"data": "d.npz", "sampling": "cyclic"},
            "sampling",
            "must be one of shuffle, replace, not 'cyclic'",
        ),
        ({"data": "d.npz", "lr": 1}, "lr", "unknown key for a data objective"),
        (
            {"data": {"n": 3}},
            "data",
            "a mapping must name a synthetic data set, e.g. {synthetic: regression}",
        ),
        (
            {"data": {"synthetic": "regression"}},
            "data.synthetic",
            "'regression' data do not fit logistic: use classification",
        ),
        (
            {"data": {"synthetic": "classification", "n": 3, "features": 5}},
            "data.n",
            "must be at least data.features (5), not 3",
        ),
        (
            {"data": {"synthetic": "classification", "classes": 3}},
            "data.classes",
            "applies to multiclass data only",
        ),
        ({"data": {"synthetic": "classification", "cond": 3}}, "data.cond", "unknown key"),
        (
            {"data": {"synthetic": "classification"}, "test": "t.csv"},
            "test",
            "a test file needs a training file",
        ),
    ],
)
def test_bad_keys_are_named(raw, key, message):
    with pytest.raises(ObjectiveKeyError) as e:
        learning_params({"name": "logistic", **raw})
    assert e.value.key == key and e.value.message.startswith(message)


def test_a_csv_file_beside_the_config_with_a_split_and_standardisation(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 3)) * [1.0, 100.0, 0.01] + [0.0, 50.0, 1.0]
    y = (X[:, 0] + 0.02 * X[:, 1] + rng.standard_normal(120) > 1.0).astype(int)
    (tmp_path / "d.csv").write_text(
        "a,b,c,y\n" + "".join(f"{r[0]!r},{r[1]!r},{r[2]!r},{t}\n" for r, t in zip(X.tolist(), y))
    )
    params = learning_params(
        {"name": "logistic", "data": "d.csv", "target": "y", "l2": 1e-3, "standardize": True, "test": 0.25}
    )
    p = prepare("logistic", params, tmp_path)
    assert p.train.X.shape == (90, 3) and p.test.X.shape == (30, 3)
    assert np.allclose(p.train.X.mean(0), 0) and np.allclose(p.train.X.std(0), 1)
    assert p.record["n"] == 90 and p.record["test_n"] == 30 and len(p.record["standardization"]["mean"]) == 3
    assert p.optimum.grad_norm < 1e-10 and p.record["f_star"] == p.optimum.f_star
    f, _ = p.train.value_and_grad(np.zeros((1, 4)))
    assert f[0] == pytest.approx(np.log(2)) and p.optimum.f_star < f[0]
    assert (tmp_path / ".optrun-fstar").is_dir()


def test_a_test_file_and_a_missing_file(tmp_path):
    (tmp_path / "small.csv").write_bytes((HERE / "small.csv").read_bytes())
    params = learning_params(
        {"name": "logistic", "data": "small.csv", "target": "label", "test": "small.csv"}
    )
    p = prepare("logistic", params, tmp_path)
    assert p.optimum.f_star is None and p.record["f_star_note"].startswith("no finite optimum")
    assert p.test is not None and p.test.X.shape == (3, 2)
    with pytest.raises(DataError, match=r"nope.csv: no such data file$"):
        prepare(
            "logistic", learning_params({"name": "logistic", "data": "nope.csv", "target": "y"}), tmp_path
        )


def test_softmax_on_synthetic_multiclass_data_records_classes():
    raw = {
        "name": "softmax",
        "data": {"synthetic": "multiclass", "n": 150, "features": 3, "classes": 4},
        "l2": 0.01,
        "test": 0.2,
    }
    p = prepare("softmax", learning_params(raw))
    assert p.record["classes"] == [0, 1, 2, 3] and p.train.dim == 16
    assert p.test.y.max() <= 3 and p.record["f_star_solver"] == "newton"
