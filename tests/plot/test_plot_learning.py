"""The learning picture (issue 19): training f - f* and test accuracy (test loss for least
squares) against the iteration, for learning runs and sweeps with test data, from real minibatch
runs on small seeded synthetic data sets. The series handed to the drawing code are checked
against the traces written; the figure is taken where it is written and checked as drawn."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from optrun.cli import cli
from optrun.plot import learning_of_runs, resolve_kind, sweep_picture
from optrun.store.select import load_run, load_sweep

DATA = {"synthetic": "classification", "n": 200, "features": 4, "seed": 4, "noise": 1.0}
LOGISTIC = {"name": "logistic", "data": DATA, "l2": 1e-3, "batch_size": 16, "test": 0.3}
REGRESSION = {"synthetic": "regression", "n": 80, "features": 3, "seed": 2, "noise": 0.3}
LEAST_SQUARES = {"name": "least-squares", "data": REGRESSION, "l2": 0.01, "batch_size": 8, "test": 0.25}


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"NO_COLOR": "1"})


def run(tmp: Path, objective: dict, *overrides: str, sweep=()) -> Path:
    cfg = {
        "objective": objective,
        "algorithm": {"name": "gd", "alpha": 0.05},
        "iterations": 60,
        "trace": {"checkpoint_s": None},
    }
    path = tmp / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    args = [f"--sweep={s}" for s in sweep] + (["--workers", "1"] if sweep else [])
    res = invoke("run", path, *overrides, *args, "--runs-dir", tmp / "runs", "--format", "json")
    assert res.exit_code == 0, res.output
    return Path(json.loads(res.stdout.strip().splitlines()[-1])["path"])


def trace(path: Path) -> dict[str, np.ndarray]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def one_line_error(res, *fragments):
    assert res.exit_code == 2, (res.exit_code, res.output)
    err = res.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for f in fragments:
        assert f in err, err


@pytest.fixture
def figures(monkeypatch):
    """Every Figure the plot code writes (the file is still written)."""
    from optrun.plot import draw

    got = []
    real = draw.save_figure

    def capture(fig, path, dpi):
        got.append(fig)
        return real(fig, path, dpi)

    monkeypatch.setattr(draw, "save_figure", capture)
    return got


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plot-learning")
    return {
        "gd": run(tmp, LOGISTIC),
        "adam": run(tmp, LOGISTIC, "algorithm.name=adam"),
        "untested": run(tmp, {k: v for k, v in LOGISTIC.items() if k != "test"}),
        "ls": run(tmp, LEAST_SQUARES),
        "sweep": run(tmp, LOGISTIC, sweep=("algorithm.name=gd,adam", "seed=1,2,3,4,5")),
        "plain_sweep": run(tmp, {k: v for k, v in LOGISTIC.items() if k != "test"}, sweep=("seed=1,2",)),
    }


def test_runs_draw_training_f_minus_f_star_and_test_accuracy_against_the_recorded_iterations(runs):
    loaded = [load_run(str(runs["gd"])), load_run(str(runs["adam"]))]
    assert resolve_kind(loaded, "auto") == "learning"
    series, panels, legend = learning_of_runs(loaded, ["a", "b"])
    assert [p.title for p in panels] == ["training loss, f − f*", "test accuracy"]
    assert panels[0].log and "f* " in panels[0].ylabel and not panels[1].log
    assert [s.panel for s in series] == [0, 1, 0, 1]
    for k, r in enumerate(loaded):
        t = trace(Path(r.path) / "trace.csv")
        train, test = series[2 * k], series[2 * k + 1]
        assert train.iterations.tolist() == t["iteration"].tolist() == test.iterations.tolist()
        assert t["iteration"].tolist()[:3] == [0, 9, 18]  # minibatch rows: every epoch of 9 steps
        assert train.values.tolist() == (t["f"] - r.summary["f_min"]).tolist()
        assert test.values.tolist() == t["test_accuracy"].tolist()
        assert train.label.endswith(f"last test accuracy {100 * t['test_accuracy'][-1]:.4g}%")
        assert (train.colour, train.linestyle) == (test.colour, test.linestyle)
    assert series[0].linestyle != series[2].linestyle  # a line style per algorithm
    assert [e.label for e in legend] == [series[0].label, series[2].label]


def test_least_squares_draws_its_test_loss(runs):
    r = load_run(str(runs["ls"]))
    series, panels, legend = learning_of_runs([r], ["ls"])
    t = trace(runs["ls"] / "trace.csv")
    assert [p.title for p in panels] == ["training loss, f − f*", "test loss"]
    assert series[1].values.tolist() == t["test_loss"].tolist() and legend == []


def test_auto_draws_a_learning_run_as_two_panels_side_by_side(runs, figures):
    res = invoke("plot", runs["gd"])
    assert res.exit_code == 0, res.output
    out = os.path.join(runs["gd"], "learning.png")
    assert res.stdout.strip() == out and os.path.getsize(out) > 10_000
    (fig,) = figures
    axes = [ax for ax in fig.axes if ax.get_visible()]
    left, right = sorted(axes, key=lambda ax: ax.get_position().x0)
    assert len(axes) == 2 and left.get_position().y0 == pytest.approx(right.get_position().y0)
    assert left.get_yscale() == "log" and right.get_yscale() == "linear"
    assert left.get_xlabel() == right.get_xlabel() == "iteration"
    assert "test accuracy" in right.get_ylabel() and "f* " in left.get_ylabel()
    t = trace(runs["gd"] / "trace.csv")
    (line,) = right.get_lines()
    assert np.asarray(line.get_ydata()).tolist() == t["test_accuracy"].tolist()
    assert np.asarray(line.get_xdata()).tolist() == t["iteration"].tolist()


def test_runs_without_test_data_keep_their_picture_and_refuse_kind_learning(runs, tmp_path):
    assert resolve_kind([load_run(str(runs["untested"]))], "auto") == "convergence"
    assert resolve_kind([load_run(str(runs["gd"])), load_run(str(runs["untested"]))]) == "convergence"
    out = tmp_path / "x.png"
    one_line_error(
        invoke("plot", runs["untested"], "--kind", "learning", "-o", out),
        "no test columns",
        "objective.test",
        "--kind convergence",
    )
    one_line_error(
        invoke("plot", runs["plain_sweep"], "--kind", "learning", "-o", out), "no test columns", "member 0"
    )
    assert not out.exists()


def test_a_sweep_draws_per_configuration_the_median_and_quartiles_across_seeds(runs, figures):
    sweep = load_sweep(str(runs["sweep"]))
    kind, series, panels, _, title = sweep_picture([sweep], "auto")
    assert kind == "learning" and [p.title for p in panels] == ["training loss, f − f*", "test accuracy"]
    assert [s.panel for s in series] == [0, 1, 0, 1] and "median of 5 seeds" in title
    with open(runs["sweep"] / "summary.csv", newline="") as f:
        members = list(csv.DictReader(f))
    for k, name in enumerate(["gd", "adam"]):
        mine = [int(r["member"]) for r in members if r["algorithm.name"] == name]
        traces = sweep.traces(mine)
        # the run alone solved the same problem (data, split, l2): its f*
        f_min = np.full(len(mine), json.loads((runs["gd"] / "summary.json").read_text())["f_min"])
        train, test = series[2 * k], series[2 * k + 1]
        assert train.values.shape == (5, len(traces[mine[0]]["iteration"]))
        want = np.stack([traces[m]["f"] for m in mine]) - f_min[:, None]
        assert train.values.tolist() == want.tolist()
        assert test.values.tolist() == np.stack([traces[m]["test_accuracy"] for m in mine]).tolist()
    res = invoke("plot", runs["sweep"])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == os.path.join(runs["sweep"], "learning.png")
    axes = figures[-1].axes
    assert [len(ax.collections) for ax in axes] == [2, 2]  # a band per configuration in each panel
    assert [len(ax.get_lines()) for ax in axes] == [2, 2]
    medians = np.median(
        np.stack([sweep.traces(list(range(5)))[m]["test_accuracy"] for m in range(5)]), axis=0
    )
    got = [np.asarray(line.get_ydata()) for line in axes[1].get_lines()]
    assert any(np.allclose(g, medians, rtol=0, atol=1e-15) for g in got)
    res = invoke("plot", runs["sweep"], "--where", "algorithm=adam", "--kind", "learning")
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == os.path.join(runs["sweep"], "learning-algorithm=adam.png")


def test_the_help_names_the_learning_kind():
    res = invoke("plot", "--help")
    assert "learning" in res.stdout and "test accuracy" in res.stdout


def test_a_run_whose_f_star_is_unknown_draws_its_training_loss_f(tmp_path):
    separable = {"synthetic": "classification", "n": 60, "features": 2, "seed": 4, "noise": 0.0}
    folder = run(tmp_path, {"name": "logistic", "data": separable, "l2": 0.0, "test": 0.3})
    r = load_run(str(folder))
    assert r.summary["f_min"] is None  # no regularisation on separable data: no finite optimum
    series, panels, _ = learning_of_runs([r], ["r"])
    assert panels[0].title == "training loss, f" and "f* unknown" in panels[0].ylabel
    assert series[0].values.tolist() == trace(folder / "trace.csv")["f"].tolist()
