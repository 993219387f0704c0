"""Minibatch learning runs: each member's minibatches from its own seeded stream (a member alone
equals the member in a sweep, members sharing a seed share minibatches), the full loss on the
recorded rows, test loss and accuracy, checked against a plain transcription of minibatch SGD."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from optrun.cli import cli
from optrun.objectives.data_config import learning_params, prepare
from optrun.objectives.data_losses import DataLoss
from optrun.objectives.data_rounds import (
    BATCH_STREAM,
    EpochBatches,
    ReplaceBatches,
    default_every,
)

N = 50  # samples; minibatches of 8 leave a last minibatch of 2 in each epoch


def own_stream(seed: int) -> np.random.Generator:
    """The stream the module documents: ``SeedSequence([seed, BATCH_STREAM])``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, BATCH_STREAM])))


def shuffled(seed: int, n: int, B: int, rows: int) -> list[np.ndarray]:
    gen, out = own_stream(seed), []
    while len(out) < rows:
        perm = gen.permutation(n)
        out += [perm[i : i + B] for i in range(0, n, B)]
    return out[:rows]


def replaced(seed: int, n: int, B: int, rows: int) -> list[np.ndarray]:
    gen = own_stream(seed)
    return [gen.integers(0, n, B) for _ in range(rows)]


@pytest.mark.parametrize("kind, reference", [(EpochBatches, shuffled), (ReplaceBatches, replaced)])
def test_each_member_draws_its_own_stream_whatever_the_others(kind, reference):
    seeds = [7, 3, 7, 11, 0]
    together = kind(seeds, N, 8)
    alone = {s: kind([s], N, 8) for s in set(seeds)}
    expected = {s: reference(s, N, 8, 40) for s in set(seeds)}
    for r in range(40):
        rows = together.row(r)
        for m, s in enumerate(seeds):
            assert np.array_equal(rows[m], expected[s][r]), (r, s)
            assert np.array_equal(alone[s].row(r)[0], expected[s][r])


def test_an_epoch_visits_every_sample_once_and_its_last_minibatch_is_shorter():
    b = EpochBatches([5], N, 8)
    for epoch in range(3):
        rows = [b.row(epoch * 7 + j)[0] for j in range(7)]
        assert [len(r) for r in rows] == [8] * 6 + [2]
        assert sorted(np.concatenate(rows).tolist()) == list(range(N))


def test_a_stream_skips_ahead_as_a_resumed_run_does():
    late = EpochBatches([4, 9], N, 8)
    assert np.array_equal(late.row(23), np.stack([shuffled(s, N, 8, 24)[23] for s in (4, 9)]))
    rep = ReplaceBatches([4], N, 8)
    assert np.array_equal(rep.row(30)[0], replaced(4, N, 8, 31)[30])


def test_the_default_trace_every_is_an_epoch_or_a_200th_of_the_run():
    assert default_every(None, 1000, 10**6) == 1  # whole data set: f comes with every gradient
    assert default_every(2000, 1000, 10**6) == 1
    assert default_every(128, 1000, 100) == 8  # ceil(1000 / 128)
    assert default_every(128, 1000, 10**5) == 500


# runs -------------------------------------------------------------------------------------------


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def write_config(tmp_path: Path, objective: dict, **extra) -> Path:
    cfg = {
        "objective": objective,
        "algorithm": {"name": "gd", "alpha": 0.05},
        "iterations": 30,
        "trace": {"checkpoint_s": None, "every": 1},
        **extra,
    }
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


def run_json(*args) -> Path:
    res = invoke("run", *args, "--format", "json")
    assert res.exit_code == 0, res.output
    return Path(json.loads(res.stdout.strip().splitlines()[-1])["path"])


def read_trace(folder: Path) -> list[dict[str, float]]:
    with open(folder / "trace.csv", newline="") as f:
        return [{k: float(v) for k, v in rec.items()} for rec in csv.DictReader(f)]


REGRESSION = {"synthetic": "regression", "n": N, "features": 3, "seed": 2, "noise": 0.3}


@pytest.mark.parametrize("sampling, reference", [("shuffle", shuffled), ("replace", replaced)])
def test_minibatch_gd_equals_a_plain_transcription(tmp_path, sampling, reference):
    obj = {"name": "least-squares", "data": REGRESSION, "l2": 0.01, "batch_size": 8, "sampling": sampling}
    folder = run_json(write_config(tmp_path, obj, seed=6), "--runs-dir", tmp_path / "runs")
    rows = read_trace(folder)
    assert [r["iteration"] for r in rows] == list(range(31))
    data = prepare("least-squares", learning_params(obj)).train
    X, y = data.X, data.y
    w = np.array([rows[0][f"x{i}"] for i in range(4)])  # the random start, 3 weights and b
    batches = reference(6, N, 8, 31)

    def loss(w):
        r = X @ w[:3] + w[3] - y
        return 0.5 * np.mean(r * r) + 0.005 * (w[:3] @ w[:3])

    for t, row in enumerate(rows):
        assert row["f"] == pytest.approx(loss(w), rel=1e-12), t
        assert [row[f"x{i}"] for i in range(4)] == pytest.approx(w, rel=1e-12, abs=1e-14)
        i = batches[t]
        r = X[i] @ w[:3] + w[3] - y[i]
        g = np.append(X[i].T @ r / len(i) + 0.01 * w[:3], r.mean())
        w = w - 0.05 * g


def test_the_full_loss_is_on_the_recorded_rows_and_test_columns_are_there(tmp_path):
    data = {"synthetic": "multiclass", "n": 240, "features": 4, "classes": 3, "seed": 1}
    obj = {"name": "softmax", "data": data, "l2": 1e-3, "batch_size": 16, "test": 0.25}
    cfg = write_config(tmp_path, obj, iterations=100, algorithm={"name": "adam", "alpha": 0.05})
    text = cfg.read_text().replace("every: 1\n", "")
    cfg.write_text(text)
    folder = run_json(cfg, "--runs-dir", tmp_path / "runs")
    recorded = yaml.safe_load((folder / "config.yaml").read_text())
    assert recorded["trace"]["every"] == math.ceil(180 / 16)  # an epoch of the 180 training samples
    rows = read_trace(folder)
    assert [r["iteration"] for r in rows] == [*range(0, 100, 12), 100]
    prepared = prepare("softmax", learning_params(obj))
    for row in rows:
        x = np.array([[row[f"x{i}"] for i in range(15)]])
        f, g = prepared.train.value_and_grad(x)
        assert row["f"] == pytest.approx(f[0], rel=1e-12)
        assert row["grad_norm"] == pytest.approx(np.linalg.norm(g), rel=1e-10)
        test_loss = DataLoss("softmax", prepared.test.X, prepared.test.y, 0.0, True, 3).value_and_grad(x)[0]
        assert row["test_loss"] == pytest.approx(test_loss[0], rel=1e-12)
        assert row["test_accuracy"] == prepared.test.accuracy(x)[0]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["final_test_accuracy"] == rows[-1]["test_accuracy"]
    assert summary["final_test_loss"] == rows[-1]["test_loss"]
    assert summary["final_f"] == rows[-1]["f"] and summary["best_f"] <= rows[-1]["f"]


def test_log_spaced_rows_are_refused_for_minibatch_runs(tmp_path):
    obj = {"name": "least-squares", "data": REGRESSION, "batch_size": 8}
    cfg = write_config(tmp_path, obj, trace={"log_per_decade": 5})
    res = invoke("run", cfg, "--runs-dir", tmp_path / "runs")
    assert res.exit_code == 2 and "trace.log_per_decade" in res.output and "trace.every" in res.output
    assert len(res.output.strip().splitlines()) == 1 and not (tmp_path / "runs").exists()


CLASSES = {"synthetic": "classification", "n": 90, "features": 3, "seed": 4}


@pytest.mark.parametrize("sampling", ["shuffle", "replace"])
def test_a_sweep_member_equals_the_run_alone_bit_for_bit(tmp_path, sampling):
    obj = {
        "name": "logistic",
        "data": CLASSES,
        "l2": 1e-3,
        "batch_size": 10,
        "sampling": sampling,
        "test": 0.2,
    }
    cfg = write_config(tmp_path, obj, algorithm={"name": "adam", "alpha": 0.1}, iterations=40)
    args = ["--sweep", "algorithm.name=adam,amsgrad", "--sweep", "seed=3,5", "--workers", "1", "--quiet"]
    res = invoke("run", cfg, *args, "--runs-dir", tmp_path / "runs")
    assert res.exit_code == 0, res.output
    (folder,) = [p for p in (tmp_path / "runs").iterdir() if (p / "traces").is_dir()]
    members: dict[int, list[list[str]]] = {}
    for p in sorted((folder / "traces").glob("batch-*.csv")):
        with open(p, newline="") as f:
            for rec in list(csv.reader(f))[1:]:
                members.setdefault(int(rec[0]), []).append(rec[1:])
    for m, (name, seed) in enumerate([("adam", 3), ("adam", 5), ("amsgrad", 3), ("amsgrad", 5)]):
        alone = run_json(cfg, f"algorithm.name={name}", f"seed={seed}", "--runs-dir", tmp_path / "alone")
        with open(alone / "trace.csv", newline="") as f:
            assert members[m] == list(csv.reader(f))[1:], (name, seed)


def test_adam_and_amsgrad_with_one_seed_see_the_same_minibatches(tmp_path, monkeypatch):
    seen: list[np.ndarray] = []
    original = DataLoss.batch_value_and_grad

    def spy(self, x, idx):
        seen.append(np.array(idx))
        return original(self, x, idx)

    monkeypatch.setattr(DataLoss, "batch_value_and_grad", spy)
    obj = {"name": "logistic", "data": CLASSES, "batch_size": 10}
    cfg = write_config(tmp_path, obj, iterations=25)
    order = {}
    for name in ("adam", "amsgrad", "gd"):
        seen.clear()
        run_json(cfg, f"algorithm.name={name}", "seed=8", "--runs-dir", tmp_path / "runs")
        order[name] = np.concatenate(seen)
    assert len(order["adam"]) == 26 * 1 and np.array_equal(order["adam"], order["amsgrad"])
    assert np.array_equal(order["adam"], order["gd"])
    assert np.array_equal(order["adam"][:, :], np.stack(shuffled(8, 90, 10, 26)))


def test_an_interrupted_minibatch_run_ends_on_a_full_row_and_resumes_to_the_same_bytes(tmp_path, optrun_bin):
    import signal
    import subprocess
    import time

    data = {"synthetic": "classification", "n": 3000, "features": 20, "seed": 1}
    obj = {"name": "logistic", "data": data, "l2": 1e-3, "batch_size": 7, "test": 0.1}
    cfg = write_config(tmp_path, obj, iterations=30_000, trace={"checkpoint_s": 0.1, "every": 100})
    env = {"OPTRUN_RUNS_DIR": str(tmp_path / "runs"), "NO_COLOR": "1", "PATH": str(Path(optrun_bin).parent)}
    p = subprocess.Popen([optrun_bin, "run", str(cfg), "-q"], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((tmp_path / "runs").glob("*/checkpoint.npz")):
        time.sleep(0.05)
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=60)
    if p.returncode == 0:
        pytest.skip("the run finished before the interrupt")
    assert p.returncode == 130
    (folder,) = list((tmp_path / "runs").iterdir())
    summary = json.loads((folder / "summary.json").read_text())
    last = read_trace(folder)[-1]
    assert summary["status"] == "interrupted" and last["iteration"] == summary["iterations"]
    prepared = prepare("logistic", learning_params(obj))
    x = np.array([[last[f"x{i}"] for i in range(21)]])
    assert summary["final_f"] == last["f"] == pytest.approx(prepared.train.value_and_grad(x)[0][0], rel=1e-12)
    assert math.isfinite(last["test_accuracy"])
    resumed = subprocess.run([optrun_bin, "resume", "last", "-q"], env=env, capture_output=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    ref = run_json(folder / "config.yaml", "--runs-dir", tmp_path / "ref")
    assert (folder / "trace.csv").read_bytes() == (ref / "trace.csv").read_bytes()
    assert (
        json.loads((folder / "summary.json").read_text())["final_x"]
        == json.loads((ref / "summary.json").read_text())["final_x"]
    )


def test_a_sweep_over_data_keys_reruns_from_its_folder_config_to_the_same_bytes(tmp_path):
    data = {"synthetic": "classification", "n": 300, "features": 3, "seed": 1}
    obj = {"name": "logistic", "data": data, "batch_size": 16, "test": 0.2}
    cfg = write_config(tmp_path, obj, iterations=100, algorithm={"name": "adam", "alpha": 0.05})
    cfg.write_text(cfg.read_text().replace("every: 1\n", ""))
    axes = ["--sweep", "objective.batch_size=16,64", "--sweep", "objective.data.features=3,5"]
    first = run_json(cfg, *axes, "--workers", "1", "--runs-dir", tmp_path / "a")
    again = run_json(first / "config.yaml", "--workers", "1", "--runs-dir", tmp_path / "b")
    files = sorted(p.name for p in (first / "traces").glob("batch-*.csv"))
    assert len(files) == 4
    for name in files:  # each member's own dimension and its own epoch as trace.every
        assert (first / "traces" / name).read_bytes() == (again / "traces" / name).read_bytes()
    rows = json.loads((first / "summary.json").read_text())["rows"]
    assert {r["iterations"] for r in rows} == {100}


def test_a_sweep_over_relative_data_files_reruns_from_its_folder_anywhere(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    (tmp_path / "cfg").mkdir()
    for name, n in (("a", 120), ("b", 90)):
        X = rng.standard_normal((n, 3))
        np.savez(tmp_path / "cfg" / f"{name}.npz", X=X, y=(X[:, 0] + rng.standard_normal(n) > 0) * 1.0)
    obj = {"name": "logistic", "data": "a.npz", "l2": 1e-3, "batch_size": 16, "test": "b.npz"}
    write_config(tmp_path / "cfg", obj, iterations=30)
    axes = ["--sweep", "objective.l2=0.001,0.01", "--sweep", "objective.data=a.npz,b.npz"]
    monkeypatch.chdir(tmp_path / "cfg")
    first = run_json("c.yaml", *axes, "--workers", "1", "--runs-dir", tmp_path / "a")
    monkeypatch.chdir(tmp_path)
    again = run_json(first / "config.yaml", "--workers", "1", "--runs-dir", tmp_path / "b")
    files = sorted(p.name for p in (first / "traces").glob("batch-*.csv"))
    assert len(files) == 4
    for name in files:
        assert (first / "traces" / name).read_bytes() == (again / "traces" / name).read_bytes()
