"""Pictures that stay readable (issue 14, items 8 and 17): the matplotlib Figure that `optrun plot`
builds for a sweep of 3 algorithms x 2 objectives (sphere, rosenbrock d = 10) x 4 alphas x 3 seeds,
checked as drawn (fig.canvas.draw(), then window extents): a panel per objective, the legend outside
every panel and the title, no two lines of a panel alike, no text cut off; --where choosing the
lines; where a picture of several runs is written; labels of identical runs.

The figures are taken at the one place they are written (``optrun.plot.draw.save_figure``), after the real
command built them through click's CliRunner.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

pytest.importorskip("matplotlib")

from optrun.cli import cli

ROOT = Path(__file__).resolve().parents[2]
AMSGRAD = ROOT / "configs" / "amsgrad.yaml"
ALGORITHMS = ["adam", "amsgrad", "rmsprop"]
ALPHAS = [0.001, 0.00464159, 0.0215443, 0.1]  # as compare prints logspace(1e-3, 1e-1, 4)
SWEEP = {
    "name": "readable",
    "objective": {"name": "sphere", "dim": 10},
    "start": "random",
    "seed": 0,
    "iterations": 300,
    "algorithm": {"name": "adam", "alpha": 0.01},
    "sweep": {
        "algorithm.name": ALGORITHMS,
        "objective": [{"name": "sphere", "dim": 10}, {"name": "rosenbrock", "dim": 10}],
        "algorithm.alpha": {"logspace": [1.0e-3, 1.0e-1, 4]},
        "seed": {"range": [0, 3]},
    },
}


def invoke(*args, runs_dir):
    r = CliRunner().invoke(
        cli, [str(a) for a in args], env={"OPTRUN_RUNS_DIR": str(runs_dir), "NO_COLOR": "1"}
    )
    return r


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """The sweep of the issue: 72 members; returns (runs folder, sweep folder)."""
    base = tmp_path_factory.mktemp("layout")
    cfg = base / "sweep.yaml"
    cfg.write_text(yaml.safe_dump(SWEEP, sort_keys=False))
    runs = base / "runs"
    r = invoke("run", cfg, "--workers", 1, runs_dir=runs)
    assert r.exit_code == 0, r.output
    (folder,) = [p for p in runs.iterdir() if (p / "traces").is_dir()]
    return runs, folder


@pytest.fixture
def figures(monkeypatch):
    """Every Figure the plot code writes, in order (the file is still written)."""
    from optrun.plot import draw

    got = []
    real = draw.save_figure

    def capture(fig, path, dpi):
        got.append(fig)
        return real(fig, path, dpi)

    monkeypatch.setattr(draw, "save_figure", capture)
    return got


def plot_sweep(runs, folder, tmp_path, figures, *extra):
    out = tmp_path / "sweep.png"
    r = invoke("plot", folder, "-o", out, *extra, runs_dir=runs)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == str(out) and out.stat().st_size > 10_000
    (fig,) = figures
    return drawn(fig)


def drawn(fig):
    """The figure laid out and drawn on a fresh Agg canvas (pyplot has closed it), so that window
    extents are those of the written file."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    return fig


def panels(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def legends(fig):
    return list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]


def disjoint(a, b) -> bool:
    return a.x1 <= b.x0 or b.x1 <= a.x0 or a.y1 <= b.y0 or b.y1 <= a.y0


def look(line):
    from matplotlib.colors import to_hex

    dashes = getattr(line, "_unscaled_dash_pattern", None)
    return to_hex(line.get_color()), line.get_linestyle(), repr(dashes)


# ---------------------------------------------------------------------------- the sweep picture


def test_one_panel_per_objective_with_shared_iterations_and_own_scales(sweep, tmp_path, figures):
    fig = plot_sweep(*sweep, tmp_path, figures)
    axes = panels(fig)
    assert len(axes) == 2  # sphere and rosenbrock
    titles = sorted(ax.get_title() for ax in axes)
    assert titles == ["rosenbrock (d=10)", "sphere (d=10)"]
    a, b = axes
    assert a.get_shared_x_axes().joined(a, b)
    assert not a.get_shared_y_axes().joined(a, b)
    assert a.get_ylim() != b.get_ylim()
    for ax in axes:  # f* is known for both: f - f* on a log scale
        assert ax.get_yscale() == "log" and "f*" in ax.get_ylabel()
        assert len(ax.get_lines()) == len(ALGORITHMS) * len(ALPHAS)  # every configuration of that objective
    assert "iteration" in {ax.get_xlabel() for ax in axes}


def test_legend_is_outside_every_panel_and_the_title(sweep, tmp_path, figures):
    fig = plot_sweep(*sweep, tmp_path, figures)
    renderer = fig.canvas.get_renderer()
    (legend,) = legends(fig)
    box = legend.get_window_extent(renderer)
    for ax in panels(fig):  # the panel with its tick labels, axis labels and title
        assert disjoint(box, ax.get_tightbbox(renderer)), (box, ax.get_tightbbox(renderer))
    titles = [t for t in fig.texts if t.get_text()] + [ax.title for ax in panels(fig) if ax.get_title()]
    assert titles
    for t in titles:
        assert disjoint(box, t.get_window_extent(renderer))
    # every row of the legend can be read: algorithms and alphas are all named
    text = [t.get_text() for t in legend.get_texts()]
    for name in ALGORITHMS:
        assert any(name in t for t in text), text
    for alpha in ALPHAS:
        assert any(f"{alpha:g}" in t for t in text), text


def test_no_two_lines_of_a_panel_look_alike_and_style_follows_the_algorithm(sweep, tmp_path, figures):
    fig = plot_sweep(*sweep, tmp_path, figures)
    for ax in panels(fig):
        lines = ax.get_lines()
        looks = [look(line) for line in lines]
        assert len(set(looks)) == len(looks) == 12, looks
        # 3 line styles (one per algorithm) x 4 colours (one per alpha)
        assert len({lk[1:] for lk in looks}) == len(ALGORITHMS)
        assert len({lk[0] for lk in looks}) == len(ALPHAS)


def test_no_text_is_cut_off(sweep, tmp_path, figures):
    fig = plot_sweep(*sweep, tmp_path, figures)
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    texts = list(fig.texts)
    for leg in legends(fig):
        texts += list(leg.get_texts())
    for ax in panels(fig):
        texts += [ax.title, ax.xaxis.label, ax.yaxis.label]
        lo, hi = sorted(ax.get_xlim())
        texts += [t for t, x in zip(ax.get_xticklabels(), ax.get_xticks()) if lo <= x <= hi]
        lo, hi = sorted(ax.get_ylim())
        texts += [t for t, y in zip(ax.get_yticklabels(), ax.get_yticks()) if lo <= y <= hi]
    texts = [t for t in texts if t.get_visible() and t.get_text().strip()]
    assert len(texts) > 30
    for t in texts:
        b = t.get_window_extent(renderer)
        assert page.x0 - 0.5 <= b.x0 and b.x1 <= page.x1 + 0.5, (t.get_text(), b, page)
        assert page.y0 - 0.5 <= b.y0 and b.y1 <= page.y1 + 0.5, (t.get_text(), b, page)
    # and the whole drawing (what bbox_inches='tight' would keep) is on the page
    tight = fig.get_tightbbox(renderer)
    assert tight.x0 >= -0.01 and tight.y0 >= -0.01
    assert tight.x1 <= fig.get_figwidth() + 0.01 and tight.y1 <= fig.get_figheight() + 0.01


# ---------------------------------------------------------------------------- --where


def test_where_chooses_the_lines_drawn(sweep, tmp_path, figures):
    runs, folder = sweep
    fig = plot_sweep(
        runs,
        folder,
        tmp_path,
        figures,
        "--where",
        "algorithm=adam",
        "--where",
        "alpha=0.1",
        "--where",
        "alpha=0.001",
    )
    assert [len(ax.get_lines()) for ax in panels(fig)] == [2, 2]  # adam at two alphas, on each objective
    text = " ".join(t.get_text() for leg in legends(fig) for t in leg.get_texts())
    assert "0.1" in text and "0.001" in text and "0.0215443" not in text


def test_configuration_selectors_draw_their_members(sweep, tmp_path, figures):
    """SWEEP:KEY=VALUE naming a whole configuration (all its seeds) is drawn as one line, for plot
    and for compare --plot; several such selectors of one sweep draw their configurations."""
    runs, folder = sweep
    out = tmp_path / "groups.png"
    r = invoke(
        "plot",
        f"{folder}:algorithm=adam,alpha=0.1",
        f"{folder}:algorithm=rmsprop,alpha=0.001",
        "-o",
        out,
        runs_dir=runs,
    )
    assert r.exit_code == 0, r.output
    fig = drawn(figures[-1])
    assert [len(ax.get_lines()) for ax in panels(fig)] == [2, 2]  # two configurations, on each objective
    r = invoke(
        "compare",
        f"{folder}:algorithm=adam",
        f"{folder}:algorithm=amsgrad",
        "--plot",
        tmp_path / "cmp.png",
        runs_dir=runs,
    )
    assert r.exit_code == 0, r.output
    fig = drawn(figures[-1])
    assert [len(ax.get_lines()) for ax in panels(fig)] == [8, 8]  # 2 algorithms x 4 alphas


def test_where_matches_numbers_at_the_printed_precision_and_objectives_by_name(sweep, tmp_path, figures):
    runs, folder = sweep
    # 0.0215443 is how compare prints 0.021544346900318846
    fig = plot_sweep(
        runs, folder, tmp_path, figures, "--where", "alpha=0.0215443", "--where", "objective=rosenbrock"
    )
    (ax,) = panels(fig)
    assert ax.get_title().startswith("rosenbrock (d=10): adam vs amsgrad vs rmsprop")
    assert len(ax.get_lines()) == len(ALGORITHMS)


def test_where_one_seed_draws_one_member_per_configuration(sweep, tmp_path, figures):
    runs, folder = sweep
    fig = plot_sweep(runs, folder, tmp_path, figures, "--where", "seed=1")
    from matplotlib.collections import PolyCollection

    for ax in panels(fig):
        assert len(ax.get_lines()) == 12
        assert not [c for c in ax.collections if isinstance(c, PolyCollection)]  # no band from one member


@pytest.mark.parametrize(
    "where, message",
    [
        ("alpha=0.5", "alpha takes 0.001, 0.00464159, 0.0215443, 0.1"),
        ("colour=red", "no axis or setting 'colour'"),
        ("alpha", "is not KEY=VALUE"),
    ],
)
def test_where_that_matches_nothing_is_one_line_exit_2(sweep, tmp_path, where, message):
    runs, folder = sweep
    out = tmp_path / "nothing.png"
    r = invoke("plot", folder, "-o", out, "--where", where, runs_dir=runs)
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.stderr
    assert not out.exists()


# ---------------------------------------------------------------------------- several runs


@pytest.fixture
def two_identical_runs(tmp_path):
    runs = tmp_path / "runs"
    made = []
    for _ in range(2):
        r = invoke("run", AMSGRAD, "iterations=50", "--format", "json", runs_dir=runs)
        assert r.exit_code == 0, r.output
        made.append(json.loads(r.stdout))
    return runs, [m["path"] for m in made]


def test_a_plot_of_several_runs_goes_to_the_working_folder(two_identical_runs, tmp_path, monkeypatch):
    runs, (a, b) = two_identical_runs
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    r = invoke("plot", a, b, runs_dir=runs)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == str(here / "contour.png") and (here / "contour.png").stat().st_size > 10_000
    assert not (Path(a) / "contour.png").exists()
    r = invoke("plot", a, b, "--kind", "convergence", runs_dir=runs)
    assert r.exit_code == 0 and r.stdout.strip() == str(here / "convergence.png")
    # one run: its own folder, as before
    r = invoke("plot", b, runs_dir=runs)
    assert r.exit_code == 0 and r.stdout.strip() == os.path.join(b, "contour.png")
    assert sorted(os.listdir(here)) == ["contour.png", "convergence.png"]


@pytest.fixture
def two_sweeps(tmp_path, monkeypatch):
    """Two small sweeps (alpha 0.01 and 0.1, two seeds each) and an empty working folder, entered;
    returns (runs folder, working folder)."""
    runs = tmp_path / "runs"
    for alpha in ("0.01", "0.1"):
        r = invoke(
            "run", AMSGRAD, "iterations=30", f"algorithm.alpha={alpha}", "--sweep", "seed=0:2", runs_dir=runs
        )
        assert r.exit_code == 0, r.output
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    return runs, here


def test_one_sweep_plots_into_its_folder_and_two_into_the_working_folder(two_sweeps):
    runs, here = two_sweeps
    r = invoke("plot", "-1", runs_dir=runs)
    assert r.exit_code == 0, r.output
    assert Path(r.stdout.strip()).parent.parent == runs and r.stdout.strip().endswith("convergence.png")
    r = invoke("plot", "-1", "-2", runs_dir=runs)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == str(here / "convergence.png") and (here / "convergence.png").exists()


def _path_labels(fig) -> list[str]:
    (legend,) = legends(fig)
    return [t.get_text() for t in legend.get_texts() if "steps" in t.get_text()]


def test_identical_runs_are_labelled_by_name_and_hash(two_identical_runs, tmp_path, figures):
    runs, (a, b) = two_identical_runs
    r = invoke("plot", a, b, "-o", tmp_path / "two.png", runs_dir=runs)
    assert r.exit_code == 0, r.output
    labels = _path_labels(drawn(figures[0]))
    tags = [os.path.basename(p).split("-", 2)[2] for p in (a, b)]  # amsgrad-tutorial-<hash>
    assert len(labels) == 2 and len(set(labels)) == 2
    for tag, label in zip(tags, labels):
        assert label.startswith(tag), (tag, label)


def test_the_same_run_given_twice_is_marked(two_identical_runs, tmp_path, figures):
    runs, (a, _) = two_identical_runs
    r = invoke("plot", a, a, "-o", tmp_path / "same.png", runs_dir=runs)
    assert r.exit_code == 0, r.output
    labels = _path_labels(drawn(figures[0]))
    assert len(labels) == len(set(labels))
    assert labels == ["amsgrad-tutorial (given 2 times) (50 steps)"]


# ---------------------------------------------------------------------------- a part of a sweep


def words(fig) -> str:
    """Every text of the figure as drawn: titles (the figure's and each panel's) and legend rows."""
    texts = [t.get_text() for t in fig.texts]
    texts += [fig._suptitle.get_text()] if fig._suptitle is not None else []
    texts += [ax.get_title() for ax in panels(fig)]
    texts += [t.get_text() for leg in legends(fig) for t in leg.get_texts()]
    return "\n".join(texts)


def test_a_part_of_a_sweep_gets_its_own_file_and_leaves_the_sweeps_picture_alone(sweep, tmp_path, figures):
    """SWEEP:KEY=VALUE and --where without -o write beside the sweep's own convergence.png, under a
    name that says what was selected, and never touch the whole sweep's picture."""
    runs, folder = sweep
    r = invoke("plot", folder, runs_dir=runs)
    assert r.exit_code == 0, r.output
    whole = folder / "convergence.png"
    assert r.stdout.strip() == str(whole)
    before = (whole.read_bytes(), whole.stat().st_mtime_ns)
    one = folder / "convergence-algorithm=adam,alpha=0.1.png"
    r = invoke("plot", f"{folder}:algorithm=adam,alpha=0.1", runs_dir=runs)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == str(one) and one.stat().st_size > 10_000
    assert (whole.read_bytes(), whole.stat().st_mtime_ns) == before
    one.unlink()
    # the same selection by --where: the same name
    r = invoke("plot", folder, "--where", "algorithm=adam", "--where", "alpha=0.1", runs_dir=runs)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == str(one) and one.exists()
    two = folder / "convergence-algorithm=adam,alpha=0.1+algorithm=amsgrad,alpha=0.1.png"
    r = invoke(
        "plot", f"{folder}:algorithm=adam,alpha=0.1", f"{folder}:algorithm=amsgrad,alpha=0.1", runs_dir=runs
    )
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == str(two) and two.exists()
    assert (whole.read_bytes(), whole.stat().st_mtime_ns) == before
    assert len(figures) == 4
    for p in (one, two):
        p.unlink()
    whole.unlink()


def test_a_long_or_odd_selection_gives_a_safe_bounded_file_name(sweep, figures):
    runs, folder = sweep
    where = [f"alpha={a}" for a in ALPHAS] + [f"algorithm={a}" for a in ALGORITHMS]
    where += ["objective={name: sphere, dim: 10}"]
    args = [x for w in where for x in ("--where", w)]
    r = invoke("plot", folder, *args, runs_dir=runs)
    assert r.exit_code == 0, r.output
    out = Path(r.stdout.strip())
    assert out.parent == folder and out.exists() and out.name.startswith("convergence-alpha=0.001,")
    assert len(out.name) <= len("convergence-") + 80 + len(".png")
    assert set(out.name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._=,+-")
    # one value fewer: another name, although both are cut at the same length
    r = invoke("plot", folder, *args[:-4], "--where", "objective=sphere", runs_dir=runs)
    assert r.exit_code == 0, r.output
    other = Path(r.stdout.strip())
    assert other != out and other.exists() and not (folder / "convergence.png").exists()
    out.unlink()
    other.unlink()


def test_the_title_states_the_values_every_line_shares(sweep, tmp_path, figures):
    """A reader tells from the picture alone what was selected: a value fixed across every line is
    in the title (no legend row says it), a value that differs is in the legend."""
    runs, folder = sweep
    r = invoke("plot", f"{folder}:algorithm=adam,alpha=0.0215443", "-o", tmp_path / "one.png", runs_dir=runs)
    assert r.exit_code == 0, r.output
    text = words(drawn(figures[-1]))
    assert "adam, alpha = 0.0215443" in text, text
    r = invoke(
        "plot",
        f"{folder}:algorithm=adam,alpha=0.1",
        f"{folder}:algorithm=amsgrad,alpha=0.1",
        "-o",
        tmp_path / "two.png",
        runs_dir=runs,
    )
    assert r.exit_code == 0, r.output
    fig = drawn(figures[-1])
    assert "adam vs amsgrad, each with alpha = 0.1\n" in fig._suptitle.get_text(), words(fig)
    r = invoke(
        "plot",
        folder,
        "--where",
        "seed=1",
        "--where",
        "alpha=0.001",
        "--where",
        "objective=sphere",
        "-o",
        tmp_path / "seed.png",
        runs_dir=runs,
    )
    assert r.exit_code == 0, r.output
    (ax,) = panels(drawn(figures[-1]))
    assert ax.get_title().startswith(
        "sphere (d=10): adam vs amsgrad vs rmsprop, each with alpha = 0.001\n"
        "one member per configuration, seed = 1"
    ), ax.get_title()
    # what differs stays in the legend, what is shared leaves it
    r = invoke("plot", folder, "--where", "algorithm=rmsprop", "-o", tmp_path / "alphas.png", runs_dir=runs)
    assert r.exit_code == 0, r.output
    fig = drawn(figures[-1])
    rows = [t.get_text() for leg in legends(fig) for t in leg.get_texts()]
    assert [a for a in ALPHAS if any(f"alpha={a:g}" in row for row in rows)] == ALPHAS, rows
    assert "alpha =" not in fig._suptitle.get_text() and not any("rmsprop" in row for row in rows)


def test_a_part_of_several_sweeps_goes_to_the_working_folder_under_its_own_name(two_sweeps):
    runs, here = two_sweeps
    r = invoke("plot", "-1", "-2", "--where", "seed=1", runs_dir=runs)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == str(here / "convergence-seed=1.png")
    r = invoke("plot", "-1", "-2", runs_dir=runs)
    assert r.exit_code == 0 and r.stdout.strip() == str(here / "convergence.png")
    assert sorted(os.listdir(here)) == ["convergence-seed=1.png", "convergence.png"]
