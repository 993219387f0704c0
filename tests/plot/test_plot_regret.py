"""The regret picture (issue 17): x_t and R_t / t against t = iteration + 1 for online runs and
sweeps, from hand-made folders (tests/handmade.py) whose traces carry the regret columns.

The data the picture draws is checked without matplotlib (``regret_of_runs``, ``sweep_picture``
and ``prepare_curve``, what the drawing code is handed) against values computed here from the
arrays written: the rounds, the median and quartiles across seeds, the thinning's kept ends.
The figure itself is taken where it is written and checked as drawn."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest
from click.testing import CliRunner

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from handmade import BASE_CONFIG, write_run, write_sweep  # noqa: E402

from optrun.cli import cli  # noqa: E402
from optrun.plot.data import prepare_curve, signed_scale  # noqa: E402

ALGORITHMS = ["adam", "amsgrad"]
SEEDS = [0, 1, 2, 3, 4]


def online_config(name, algorithm, dim=1):
    """A config that validates, so the objective and its x* can be rebuilt: ``sphere`` stands in
    for an online objective here (its one minimizer is 0)."""
    return {
        **BASE_CONFIG,
        "name": name,
        "objective": {"name": "sphere", "dim": dim},
        "bounds": [[-1.0, 1.0]] * dim,
        "algorithm": {"name": algorithm, "alpha": 0.5},
    }


def online_columns(n, seed, every=1, dim=1):
    """Trace columns of an online run: per row r (iteration r * every) a loss, R_{r+1} as their
    running sum, R / t, and x (x0 .. for dim > 1). R is negative in the first rounds."""
    rng = np.random.default_rng(seed)
    its = np.arange(n) * every
    f = rng.normal(size=n)
    regret = np.cumsum(rng.normal(0.2, 1.0, size=n)) - 3.0
    cols = {"regret": regret, "avg_regret": regret / (its + 1)}
    for i in range(dim):
        cols[f"x{i}"] = np.tanh(rng.normal(size=n).cumsum() / 10.0 + i)
    return f, cols


def invoke(*args, runs_dir):
    r = CliRunner().invoke(
        cli, [str(a) for a in args], env={"OPTRUN_RUNS_DIR": str(runs_dir), "NO_COLOR": "1"}
    )
    return r


def one_line_error(r, *fragments):
    assert r.exit_code == 2, (r.exit_code, r.output)
    err = r.stderr.strip()
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


@pytest.fixture
def online_runs(tmp_path):
    """Two online runs (adam 40 rows every step, amsgrad 25 rows every 4 steps) and an offline one."""
    runs = tmp_path / "runs"
    out = {"dir": runs, "cols": {}}
    for k, (algo, n, every) in enumerate([("adam", 40, 1), ("amsgrad", 25, 4)]):
        f, cols = online_columns(n, k, every)
        run_id = f"20260101-00000{k}.000-on-{algo}-abcdef"
        out[algo] = write_run(
            runs, run_id, f, config=online_config(f"on-{algo}", algo), every=every, columns=cols
        )
        out["cols"][algo] = (np.arange(n) * every, cols)
    out["offline"] = write_run(runs, "20260101-000009.000-off-abcdef", np.linspace(1, 0.1, 10))
    return out


@pytest.fixture
def online_sweep(tmp_path):
    """A sweep of 2 algorithms x 5 seeds whose traces have the regret columns; member 3 stopped
    after 30 of 50 rows (it keeps its last values); returns (runs folder, folder, traces)."""
    runs = tmp_path / "runs"
    traces, rows = [], []
    for m in range(len(ALGORITHMS) * len(SEEDS)):
        n = 30 if m == 3 else 50
        f, cols = online_columns(n, 100 + m)
        traces.append({"iteration": np.arange(n), "f": f, **cols})
        rows.append(
            {"f_gap": None, "f_min": None, "final_f": f[-1], "final_avg_regret": cols["avg_regret"][-1]}
        )
    base = {**online_config("online-sweep", "adam"), "seed": 0}
    folder = write_sweep(
        runs,
        "online",
        {"algorithm.name": ALGORITHMS, "seed": SEEDS},
        rows,
        base=base,
        traces=traces,
        columns=["final_avg_regret"],
    )
    return runs, folder, traces


def load(path):
    from optrun.store.select import load_run, load_sweep

    return load_sweep(str(path)) if os.path.isdir(os.path.join(path, "traces")) else load_run(str(path))


# ---------------------------------------------------------------------------- the data drawn


def test_runs_draw_x_and_average_regret_against_t_equal_iteration_plus_one(online_runs):
    from optrun.plot import regret_of_runs, resolve_kind

    runs = [load(online_runs["adam"]), load(online_runs["amsgrad"])]
    assert resolve_kind(runs, "auto") == "regret"
    series, panels, legend = regret_of_runs(runs, ["a", "b"])
    assert [p.title for p in panels] == ["the point played, $x_t$", "the average regret, $R_t/t$"]
    assert panels[0].hline == 0.0 and "$x^*$ = 0" in panels[0].ylabel  # sphere's minimizer
    assert panels[1].signed and panels[0].note is None
    assert [s.panel for s in series] == [0, 1, 0, 1]
    for k, algo in enumerate(ALGORITHMS):
        its, cols = online_runs["cols"][algo]
        x, avg = series[2 * k], series[2 * k + 1]
        assert x.iterations.tolist() == (its + 1).tolist() == avg.iterations.tolist()
        assert x.values.tolist() == cols["x0"].tolist()
        assert avg.values.tolist() == cols["avg_regret"].tolist()
        assert x.label == avg.label == f"{algo}, last $R_t/t$ = {cols['avg_regret'][-1]:.3g}"
        assert (x.colour, x.linestyle) == (avg.colour, avg.linestyle)
    assert series[0].linestyle != series[2].linestyle  # a line style per algorithm
    assert [e.label for e in legend] == [series[0].label, series[2].label]


def test_runs_of_one_algorithm_are_told_apart_by_their_settings(tmp_path):
    from optrun.plot import regret_of_runs, run_labels

    runs = []
    for k, alpha in enumerate([0.1, 0.5]):
        f, cols = online_columns(10, k)
        cfg = online_config("same", "adam")
        cfg["algorithm"] = {"name": "adam", "alpha": alpha}
        runs.append(load(write_run(tmp_path, f"r{k}", f, config=cfg, columns=cols)))
    series, _, legend = regret_of_runs(runs, run_labels(runs))
    assert [e.label.split(",")[0] for e in legend] == ["alpha=0.1", "alpha=0.5"]
    assert series[0].linestyle == series[2].linestyle and series[0].colour != series[2].colour


def test_a_run_in_more_dimensions_draws_its_first_coordinate_and_one_without_x_says_so(tmp_path):
    from optrun.plot import regret_of_runs

    f, cols = online_columns(20, 7, dim=3)
    three = load(write_run(tmp_path, "r3", f, config=online_config("r3", "adam", 3), columns=cols))
    series, panels, _ = regret_of_runs([three], ["r3"])
    assert "first of d = 3 coordinates" in panels[0].title and panels[0].hline == 0.0
    assert series[0].values.tolist() == cols["x0"].tolist()
    del cols["x0"], cols["x1"], cols["x2"]
    blind = load(write_run(tmp_path, "r0", f, config=online_config("r0", "adam", 3), columns=cols))
    series, panels, _ = regret_of_runs([blind], ["r0"])
    assert [s.panel for s in series] == [1]  # the regret only
    assert panels[0].note == "x was not recorded (trace.x: none)"


def test_a_sweep_draws_per_configuration_the_median_and_quartiles_across_seeds(online_sweep):
    from optrun.plot import sweep_picture

    _, folder, traces = online_sweep
    kind, series, panels, legend, title = sweep_picture([load(folder)])
    assert kind == "regret"
    assert [(s.label, s.panel) for s in series] == [("adam", 0), ("adam", 1), ("amsgrad", 0), ("amsgrad", 1)]
    assert "median of 5 seeds" in title and [e.label for e in legend] == [
        "adam",
        "amsgrad",
        "interquartile range",
    ]
    assert panels[0].hline == 0.0 and panels[1].signed
    for g in range(len(ALGORITHMS)):
        members = [traces[g * len(SEEDS) + s] for s in range(len(SEEDS))]
        for column, s in (("x0", series[2 * g]), ("avg_regret", series[2 * g + 1])):
            # independently: every member on rows 0..49, one that stopped keeps its last value
            matrix = np.array(
                [np.r_[t[column], np.full(50 - len(t[column]), t[column][-1])] for t in members]
            )
            assert s.iterations.tolist() == list(range(1, 51))
            assert np.array_equal(s.values, matrix)
            drawn = prepare_curve(s, budget=10_000)
            assert drawn["members"] == 5
            assert np.allclose(drawn["mid"], np.median(matrix, axis=0), rtol=1e-14, atol=0)
            assert np.allclose(drawn["lo"], np.quantile(matrix, 0.25, axis=0), rtol=1e-14, atol=0)
            assert np.allclose(drawn["hi"], np.quantile(matrix, 0.75, axis=0), rtol=1e-14, atol=0)


def test_where_chooses_the_configurations_of_a_regret_sweep(online_sweep):
    from optrun.plot import sweep_picture

    _, folder, traces = online_sweep
    kind, series, *_ = sweep_picture([load(folder)], "regret", where=["algorithm=amsgrad", "seed=1"])
    assert kind == "regret" and len(series) == 2
    assert series[1].values.tolist() == [traces[len(SEEDS) + 1]["avg_regret"].tolist()]


def test_a_long_trace_is_thinned_and_keeps_its_first_and_last_round(tmp_path):
    from optrun.plot import regret_of_runs

    n = 120_000
    f, cols = online_columns(n, 3)
    run = load(write_run(tmp_path, "long", f, config=online_config("long", "adam"), columns=cols))
    series, _, _ = regret_of_runs([run], ["long"])
    for s in series:
        drawn = prepare_curve(s, budget=2000)
        assert 500 < len(drawn["it"]) <= 2010
        assert drawn["it"][0] == 1 and drawn["it"][-1] == n  # t = iteration + 1 at both ends
        assert drawn["mid"][-1] == s.values[-1] and drawn["mid"][0] == s.values[0]


def test_the_regret_scale_is_log_when_positive_else_symmetric_log_around_where_lines_end():
    def line(mid, lo=None, hi=None):
        return {"mid": np.asarray(mid, float), "lo": lo, "hi": hi}

    assert signed_scale([line([1000.0, 3.0, 0.2]), line([5.0, 0.01])]) == ("log", None)
    # negative early, ends at 0.198 and 0.0042: linear within the power of ten below 0.0042
    assert signed_scale([line([-10.0, 1.0, 0.198]), line([-5.0, 0.0042])]) == ("symlog", 1e-3)
    assert signed_scale([line([-10.0, -0.03])]) == ("symlog", 0.01)  # a size, whatever the sign
    # a line ending at 0 exactly: the smallest nonzero size drawn
    assert signed_scale([line([5.0, -0.5, 0.0])]) == ("symlog", 0.1)
    # never below 1e-6 of the largest size drawn
    assert signed_scale([line([-1e6, 1e-9])]) == ("symlog", 1.0)
    assert signed_scale([line([0.0, 0.0])]) == ("linear", None)
    band = np.array([-1.0, 0.5])  # a quartile below 0 makes the panel signed too
    assert signed_scale([line([2.0, 1.0], band, band + 3)])[0] == "symlog"


# ---------------------------------------------------------------------------- the command


def test_auto_draws_online_runs_as_the_two_panels_beside_each_run(online_runs, figures):
    r = invoke("plot", online_runs["adam"], runs_dir=online_runs["dir"])
    assert r.exit_code == 0, r.output
    out = os.path.join(online_runs["adam"], "regret.png")
    assert r.stdout.strip() == out and os.path.getsize(out) > 10_000
    (fig,) = figures
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 2
    left, right = sorted(axes, key=lambda ax: ax.get_position().x0)
    assert left.get_position().y0 == pytest.approx(right.get_position().y0)  # side by side
    assert left.get_xscale() == right.get_xscale() == "log"
    assert "round $t$" in left.get_xlabel()
    assert right.get_yscale() == "symlog" and "linear within" in right.get_ylabel()
    assert left.get_yscale() == "linear"
    assert left.get_xlim()[0] == 1.0  # t starts at 1
    assert fig.legends == []  # one run: the title names it
    assert "sphere (d=1): adam" in fig._suptitle.get_text()


def test_several_runs_and_a_sweep_write_their_pictures(online_runs, online_sweep, tmp_path, figures):
    out = tmp_path / "two.svg"
    r = invoke("plot", online_runs["adam"], online_runs["amsgrad"], "-o", out, runs_dir=online_runs["dir"])
    assert r.exit_code == 0, r.output
    assert out.read_text().startswith("<?xml")
    fig = figures[0]
    (leg,) = fig.legends
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()  # laid out as written
    renderer = fig.canvas.get_renderer()
    box = leg.get_window_extent(renderer)
    whole = fig.bbox
    assert whole.x0 <= box.x0 and box.x1 <= whole.x1 and whole.y0 <= box.y0  # not cut off
    for ax in fig.axes:  # under the panels, their tick labels and axis labels included
        assert box.y1 <= ax.get_tightbbox(renderer).y0
    assert fig.get_figwidth() == pytest.approx(11.2)  # the two panels' width: the legend adds none
    assert [t.get_text()[:18] for t in leg.get_texts()] == ["adam, last $R_t/t$", "amsgrad, last $R_t"]
    runs, folder, _ = online_sweep
    r = invoke("plot", folder, runs_dir=runs)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == os.path.join(folder, "regret.png")
    r = invoke("plot", folder, "--kind", "regret", "--where", "algorithm=adam", runs_dir=runs)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == os.path.join(folder, "regret-algorithm=adam.png")
    # one configuration of 5 seeds: its band in each panel
    assert [len(ax.collections) for ax in figures[-1].axes] == [1, 1]
    r = invoke("plot", folder, "--kind", "convergence", "-o", tmp_path / "c.png", runs_dir=runs)
    assert r.exit_code == 0, r.output  # an online sweep can still be drawn as f against iteration


def test_regret_requests_a_run_cannot_take_are_one_line_exit_2(online_runs, online_sweep, tmp_path):
    d = online_runs["dir"]
    one_line_error(
        invoke("plot", online_runs["offline"], "--kind", "regret", runs_dir=d),
        "has no regret columns",
        "--kind convergence",
        os.path.basename(online_runs["offline"]),
    )
    one_line_error(
        invoke("plot", online_runs["adam"], online_runs["offline"], runs_dir=d),
        "is online",
        "is not",
        "--kind convergence",
    )
    runs, folder, _ = online_sweep
    one_line_error(
        invoke("plot", folder, "--kind", "contour", runs_dir=runs), "drawn as convergence curves", "SWEEP/7"
    )
    assert not list(tmp_path.glob("*.png"))
    # the offline run mixed in with --kind convergence: drawn
    r = invoke(
        "plot",
        online_runs["adam"],
        online_runs["offline"],
        "--kind",
        "convergence",
        "-o",
        tmp_path / "m.png",
        runs_dir=d,
    )
    assert r.exit_code == 0, r.output


def test_a_sweep_without_regret_columns_refuses_kind_regret(tmp_path):
    runs = tmp_path / "runs"
    traces = [{"iteration": np.arange(5), "f": np.linspace(1, 0, 5)} for _ in range(2)]
    rows = [{"f_gap": 0.0} for _ in range(2)]
    folder = write_sweep(runs, "off", {"seed": [0, 1]}, rows, traces=traces)
    one_line_error(invoke("plot", folder, "--kind", "regret", runs_dir=runs), "member 0", "no regret columns")
    r = invoke("plot", folder, runs_dir=runs)  # auto: the convergence picture, as before
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == os.path.join(folder, "convergence.png")


def test_the_regret_picture_of_a_sweep_mixing_online_and_offline_members_is_refused(online_sweep):
    from optrun.errors import PlotError
    from optrun.plot import sweep_picture

    _, folder, _ = online_sweep
    # members 5 .. 9 (amsgrad) lose their regret and x columns: moved to a batch file of their own
    batch = os.path.join(folder, "traces", "batch-0000.csv")
    with open(batch) as fh:
        header, *lines = [line for line in fh.read().split("\n") if line]
    assert header.split(",")[5:] == ["regret", "avg_regret", "x0"]
    on = [line for line in lines if int(line.split(",")[0]) < 5]
    off = [",".join(line.split(",")[:5]) for line in lines if int(line.split(",")[0]) >= 5]
    with open(batch, "w") as fh:
        fh.write("\n".join([header, *on]) + "\n")
    with open(os.path.join(folder, "traces", "batch-0001.csv"), "w") as fh:
        fh.write("\n".join(["member,iteration,f,grad_norm,step_norm", *off]) + "\n")
    summary_file = os.path.join(folder, "summary.json")
    with open(summary_file) as fh:
        summary = json.load(fh)
    for row in summary["rows"][5:]:
        row["batch"] = 1
    with open(summary_file, "w") as fh:
        json.dump(summary, fh)
    sweep = load(folder)
    with pytest.raises(
        PlotError, match=r"'algorithm=adam' is online .* 'algorithm=amsgrad' is not: .*--where"
    ):
        sweep_picture([sweep])
    with pytest.raises(PlotError, match=r"member 5 of sweep .* no regret columns"):
        sweep_picture([sweep], "regret")
    assert sweep_picture([sweep], "auto", where=["algorithm=adam"])[0] == "regret"
    assert sweep_picture([sweep], "auto", where=["algorithm=amsgrad"])[0] == "convergence"


def test_the_help_names_the_regret_kind():
    r = CliRunner().invoke(cli, ["plot", "--help"], terminal_width=200)
    assert r.exit_code == 0
    assert "[auto|contour|surface|convergence|regret|learning]" in r.output
    assert "auto: regret for online runs" in r.output and "optrun plot SWEEP --kind regret" in r.output
