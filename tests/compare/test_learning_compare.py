"""compare of learning runs (issue 19): runs with test data get the rows final test loss and
final test accuracy (whose best is the highest), sweeps are ranked and tested on test loss or
test error (1 - accuracy), from real runs on small seeded synthetic data sets."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from optrun.cli import cli
from optrun.compare import compare_runs, compare_sweeps
from optrun.compare.stats import quantile
from optrun.store.select import load_run, load_sweep

DATA = {"synthetic": "classification", "n": 200, "features": 4, "seed": 4, "noise": 1.0}
LOGISTIC = {"name": "logistic", "data": DATA, "l2": 1e-3, "batch_size": 16, "test": 0.3}
REGRESSION = {"synthetic": "regression", "n": 80, "features": 3, "seed": 2, "noise": 0.3}


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"NO_COLOR": "1", "COLUMNS": "200"})


def run(tmp: Path, objective: dict, *overrides: str, algorithm=None, sweep=()) -> Path:
    """One run (or a sweep) on ``objective`` through the CLI; its folder."""
    cfg = {
        "objective": objective,
        "algorithm": algorithm or {"name": "gd", "alpha": 0.05},
        "iterations": 60,
        "trace": {"checkpoint_s": None},
    }
    path = tmp / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    args = [f"--sweep={s}" for s in sweep] + (["--workers", "1"] if sweep else [])
    res = invoke("run", path, *overrides, *args, "--runs-dir", tmp / "runs", "--format", "json")
    assert res.exit_code == 0, res.output
    return Path(json.loads(res.stdout.strip().splitlines()[-1])["path"])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """gd at a small step (lower accuracy), adam, a logistic run without test data, least squares
    with test data."""
    tmp = tmp_path_factory.mktemp("learning")
    return {
        "slow": run(tmp, LOGISTIC, algorithm={"name": "gd", "alpha": 0.002}),
        "adam": run(tmp, LOGISTIC, algorithm={"name": "adam", "alpha": 0.05}),
        "untested": run(tmp, {k: v for k, v in LOGISTIC.items() if k != "test"}),
        "ls": run(tmp, {"name": "least-squares", "data": REGRESSION, "l2": 0.01, "test": 0.25}),
        "ls_untested": run(tmp, {"name": "least-squares", "data": REGRESSION, "l2": 0.01}),
    }


def summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def rows_of(folders) -> dict:
    cmp = compare_runs([load_run(str(f)) for f in folders])
    return cmp, {r.key: r for r in cmp.rows}


def test_learning_runs_show_final_test_loss_and_accuracy_with_the_highest_accuracy_best(runs):
    slow, adam = summary(runs["slow"]), summary(runs["adam"])
    assert slow["final_test_accuracy"] < adam["final_test_accuracy"]  # the data make them differ
    cmp, rows = rows_of([runs["slow"], runs["adam"]])
    loss, acc = rows["final_test_loss"], rows["final_test_accuracy"]
    assert loss.values == [slow["final_test_loss"], adam["final_test_loss"]]
    assert loss.best == [int(np.argmin(loss.values))] and not loss.higher
    assert acc.values == [slow["final_test_accuracy"], adam["final_test_accuracy"]]
    assert acc.best == [1] and acc.higher  # the highest accuracy, not the lowest
    assert acc.text == [f"{100 * v:.4g}%" for v in acc.values]
    keys = [r.key for r in cmp.rows]
    assert keys.index("f_gap") < keys.index("final_test_loss") < keys.index("target_1e-1")
    data = cmp.to_dict()
    by_key = {r["key"]: r for r in data["rows"]}
    assert by_key["final_test_accuracy"]["higher_is_better"] is True
    assert "higher_is_better" not in by_key["final_test_loss"]


def test_the_cli_says_accuracy_is_best_high_and_ranks_on_test_error(runs):
    res = invoke("compare", runs["slow"], runs["adam"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    acc = [line.rstrip() for line in lines if line.startswith("final test accuracy")]
    best = f"{100 * summary(runs['adam'])['final_test_accuracy']:.4g}% *"  # adam's, the higher
    assert "".join(acc).count("*") == 1 and acc[-1].endswith(best)  # a block per run here
    assert "* best per row (lower is better; higher for final test accuracy)" in res.stdout
    adam_id = load_run(str(runs["adam"])).id
    for metric in ("test_error", "test_accuracy", "final-test-accuracy"):
        res = invoke("compare", runs["slow"], runs["adam"], "--metric", metric, "--quiet")
        assert res.exit_code == 0, res.output
        assert res.stdout.strip() == f"best by test error (1 - test accuracy): {adam_id.split('-', 2)[2]}"
    res = invoke("compare", runs["slow"], runs["adam"], "--metric", "test_loss", "--format", "json")
    data = json.loads(res.stdout)
    losses = [summary(runs[k])["final_test_loss"] for k in ("slow", "adam")]
    assert data["metric"] == "final_test_loss"
    assert data["best"] == [[load_run(str(runs[k])).id for k in ("slow", "adam")][int(np.argmin(losses))]]
    md = invoke("compare", runs["slow"], runs["adam"], "--format", "markdown").stdout
    assert "Best per row in **bold** (lower is better; higher for final test accuracy)." in md


def test_the_gate_fails_a_candidate_with_a_higher_test_error(runs):
    res = invoke("compare", runs["adam"], runs["slow"], "--metric", "test_error", "--fail-if-worse")
    assert res.exit_code == 1, res.output
    res = invoke("compare", runs["slow"], runs["adam"], "--metric", "test_error", "--fail-if-worse")
    assert res.exit_code == 0, res.output


def test_runs_without_test_data_show_nothing_new(runs):
    cmp, _ = rows_of([runs["untested"], runs["ls_untested"]])
    assert not any("test" in r.key for r in cmp.rows)
    res = invoke("compare", runs["untested"], runs["ls_untested"])
    assert "test" not in res.stdout and "(lower is better)\n" in res.stdout


def test_a_run_without_test_data_beside_one_with_says_so(runs):
    _, rows = rows_of([runs["adam"], runs["untested"]])
    assert rows["final_test_loss"].text[1] == "no test data"
    assert rows["final_test_accuracy"].text[1] == "no test data"
    assert rows["final_test_loss"].values[1] is None


def test_least_squares_has_a_test_loss_and_no_accuracy_row(runs):
    _, rows = rows_of([runs["ls"], runs["ls_untested"]])
    assert rows["final_test_loss"].values[0] == summary(runs["ls"])["final_test_loss"]
    assert "final_test_accuracy" not in rows
    res = invoke("compare", runs["ls"], runs["ls_untested"], "--metric", "test_error", "--format", "json")
    assert json.loads(res.stdout)["best"] == []  # nobody has an accuracy


def test_a_run_whose_summary_lacks_the_test_figures_takes_them_from_its_last_trace_row(runs, tmp_path):
    import shutil

    folder = tmp_path / runs["adam"].name
    shutil.copytree(runs["adam"], folder)
    s = summary(folder)
    for k in ("final_test_loss", "final_test_accuracy"):
        s.pop(k)
    (folder / "summary.json").write_text(json.dumps(s))
    with open(folder / "trace.csv", newline="") as f:
        last = list(csv.DictReader(f))[-1]
    from optrun.compare import run_stats

    stats = run_stats(load_run(str(folder)))
    assert stats.tested
    assert stats.final_test_loss == float(last["test_loss"])
    assert stats.final_test_accuracy == float(last["test_accuracy"])


# sweeps -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("learning-sweep")
    folder = run(tmp, LOGISTIC, sweep=("algorithm.name=gd,adam", "seed=1,2,3,4,5,6"))
    with open(folder / "summary.csv", newline="") as f:
        members = list(csv.DictReader(f))
    return folder, members


def _medians(members, column, transform=float):
    out = {}
    for name in ("gd", "adam"):
        vals = [transform(float(r[column])) for r in members if r["algorithm.name"] == name]
        out[f"algorithm={name}"] = quantile(vals, 0.5)
    return out


@pytest.mark.parametrize(
    "metric, key, column, transform",
    [
        ("test_loss", "final_test_loss", "final_test_loss", float),
        ("final_test_loss", "final_test_loss", "final_test_loss", float),
        ("test_error", "test_error", "final_test_accuracy", lambda a: 1.0 - a),
        ("test_accuracy", "test_error", "final_test_accuracy", lambda a: 1.0 - a),
    ],
)
def test_a_sweep_is_compared_on_test_loss_or_error_paired_by_seed(sweep, metric, key, column, transform):
    folder, members = sweep
    cmp = compare_sweeps([load_sweep(str(folder))], group_by="algorithm.name", metric=metric)
    assert cmp.metric == key
    want = _medians(members, column, transform)
    assert {g.label: g.median for g in cmp.groups} == pytest.approx(want, rel=1e-15)
    (test,) = cmp.tests
    assert test.test == "wilcoxon" and test.n_pairs == 6
    assert cmp.metric_label in test.line


def test_the_default_metric_of_a_learning_sweep_stays_f_minus_f_star(sweep):
    folder, members = sweep
    cmp = compare_sweeps([load_sweep(str(folder))], group_by="algorithm.name")
    assert cmp.metric == "f_gap" and cmp.metric_label == "final f - f*"
    assert {g.label: g.median for g in cmp.groups} == pytest.approx(_medians(members, "f_gap"), rel=1e-15)


def test_the_cli_compares_a_sweep_on_test_error(sweep):
    folder, _ = sweep
    res = invoke("compare", folder, "--group-by", "algorithm.name", "--metric", "test_error")
    assert res.exit_code == 0, res.output
    assert "test error (1 - test accuracy) across seeds (lower is better)" in res.stdout
    assert "Wilcoxon signed-rank" in res.stdout


def test_a_test_metric_no_member_records_is_one_line_exit_2(tmp_path):
    plain = run(tmp_path, {k: v for k, v in LOGISTIC.items() if k != "test"}, sweep=("seed=1,2",))
    res = invoke("compare", plain, "--metric", "test_loss")
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert len(res.stderr.strip().splitlines()) == 1 and "objective.test" in res.stderr
    ls = run(tmp_path, {"name": "least-squares", "data": REGRESSION, "test": 0.25}, sweep=("seed=1,2",))
    res = invoke("compare", ls, "--metric", "test_error")
    assert res.exit_code == 2 and "test_loss" in res.stderr and "accuracy" in res.stderr
    res = invoke("compare", ls, "--metric", "test_loss")
    assert res.exit_code == 0, res.output


def test_the_help_lists_the_learning_metrics():
    res = invoke("compare", "--help")
    for word in ("test_loss", "test_error", "test_accuracy"):
        assert word in res.stdout
