"""Pictures (issue 7): thinning, levels, and `optrun plot` / `optrun run --plot` writing real PNG
and SVG files into a temporary folder: through real subprocesses of `python -m optrun` where the
process matters (default output, the drawn path, the long trace, --plot, missing matplotlib), and
through click's CliRunner on the real command group for the rest."""

from __future__ import annotations

import itertools
import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AMSGRAD = os.path.join(ROOT, "configs", "amsgrad.yaml")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

pytest.importorskip("matplotlib")


def optrun(*args, runs_dir, cwd=None, env_extra=None):
    env = dict(os.environ, OPTRUN_RUNS_DIR=str(runs_dir), NO_COLOR="1", COLUMNS="200")
    env.pop("OPTRUN_DEBUG", None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "optrun", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or str(runs_dir.parent),
        timeout=120,
        check=False,
    )


def invoke(*args, runs_dir):
    """The real command group in-process (click's CliRunner): for cases that need no new process."""
    from click.testing import CliRunner

    from optrun.cli import cli

    env = {"OPTRUN_RUNS_DIR": str(runs_dir), "NO_COLOR": "1"}
    r = CliRunner().invoke(cli, list(map(str, args)), env=env)
    return subprocess.CompletedProcess(args, r.exit_code, r.stdout, r.stderr)


def png_size(path) -> tuple[int, int]:
    with open(path, "rb") as fh:
        data = fh.read()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def one_line_error(p, *fragments):
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    err = p.stderr.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    for f in fragments:
        assert f in err, err
    return err


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three finished runs: the AMSGrad tutorial, a second 2-D run, and a 3-D run."""
    base = tmp_path_factory.mktemp("plots")
    runs_dir = base / "runs"
    out = {}
    for key, extra in (
        ("tutorial", []),
        ("fast", ["algorithm.alpha=0.05", "seed=3"]),
        ("3d", ["bounds=[[-1,1],[-1,1],[-1,1]]", "iterations=40", "expect.f_final_max=null"]),
    ):
        p = invoke("run", AMSGRAD, *extra, "--format", "json", runs_dir=runs_dir)
        assert p.returncode == 0, p.stderr
        out[key] = json.loads(p.stdout)["path"]
    out["dir"] = runs_dir
    return out


# ---------------------------------------------------------------------------- thinning


def test_thin_curve_keeps_short_curves_whole():
    from optrun.plot import thin_curve

    assert thin_curve(np.arange(50.0), budget=100).tolist() == list(range(50))


def test_thin_curve_bounds_points_and_keeps_ends_spikes_and_divergence():
    from optrun.plot import thin_curve

    n, budget = 100_001, 2000
    t = np.arange(n, dtype=float)
    v = np.exp(-t / 5000.0) * (1.0 + 0.3 * np.sin(t / 7.0))
    v[54_321] = 50.0  # a single spike must survive thinning
    v[77_777] = 1e-30  # and a single dip
    v[99_000:] = np.inf  # divergence near the end
    idx = thin_curve(v, budget)
    assert len(idx) <= budget + 8
    assert np.all(np.diff(idx) > 0)
    kept = set(idx.tolist())
    assert {0, n - 1, 54_321, 77_777, 99_000, 98_999} <= kept
    # min/max envelope: in each of budget/4 equal buckets, the bucket's extremes are kept
    q = budget // 4
    edges = np.linspace(0, n, q + 1).astype(int)
    for a, b in itertools.pairwise(edges):
        seg = v[a:b]
        if not np.isfinite(seg).any():
            continue
        lo_val, hi_val = (
            np.nanmin(np.where(np.isfinite(seg), seg, np.nan)),
            np.nanmax(np.where(np.isfinite(seg), seg, np.nan)),
        )
        assert any(v[i] == lo_val for i in kept if a <= i < b)
        assert any(v[i] == hi_val for i in kept if a <= i < b)
    # early iterations are dense (log spacing): every one of the first 20 is kept
    assert set(range(20)) <= kept


def test_thin_path_follows_arc_length():
    from optrun.plot import thin_path

    n, budget = 200_000, 1000
    t = np.linspace(0.0, 1.0, n)
    # a spiral that moves fast at first and then creeps towards the centre
    r = np.exp(-6.0 * np.sqrt(t))
    xy = np.column_stack([r * np.cos(40 * t), r * np.sin(40 * t)])
    idx = thin_path(xy, budget)
    assert idx[0] == 0 and idx[-1] == n - 1 and len(idx) <= budget + 2
    seg = np.sqrt(np.sum(np.diff(xy, axis=0) ** 2, axis=1))
    s = np.concatenate([[0.0], np.cumsum(seg)])
    # no gap along the path between kept points is longer than total / (3 budget/4) (+1 segment)
    gaps = np.diff(s[idx])
    assert gaps.max() <= s[-1] / (budget - budget // 4 - 1) + seg.max() + 1e-12
    assert thin_path(xy[:500], budget).tolist() == list(range(500))


def test_contour_levels_linear_for_the_bowl_and_log_for_steep_walls():
    from optrun.plot import contour_levels

    x = np.linspace(-1, 1, 101)
    X, Y = np.meshgrid(x, x)
    levels, log = contour_levels(X**2 + Y**2)
    assert not log and len(levels) == 51
    np.testing.assert_allclose(np.diff(levels), 2.0 / 50, rtol=1e-9)
    # Rosenbrock on [-2, 2] x [-1, 3]: the median is 143 of a range of 2509
    X, Y = np.meshgrid(np.linspace(-2, 2, 101), np.linspace(-1, 3, 101))
    Z = (1 - X) ** 2 + 100 * (Y - X**2) ** 2
    levels, log = contour_levels(Z)
    assert log and len(levels) == 51 and levels[0] == Z.min()
    assert np.all(np.diff(levels) > 0) and np.isclose(levels[-1], Z.max())
    ratios = np.diff(levels)[2:] / np.diff(levels)[1:-1]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-6)  # geometric above the minimum


# ---------------------------------------------------------------------------- pictures


def test_plot_writes_the_default_png_in_the_run_folder(runs):
    p = optrun("plot", runs["tutorial"], runs_dir=runs["dir"])
    assert p.returncode == 0, p.stderr
    out = p.stdout.strip()
    assert out == os.path.join(runs["tutorial"], "contour.png")
    assert png_size(out) == (720, 600)
    assert os.path.getsize(out) > 10_000
    # nothing half-written left behind
    assert not [f for f in os.listdir(runs["tutorial"]) if f.endswith(".tmp")]


def test_dpi_scales_pixels_and_svg_by_extension(runs, tmp_path):
    png = tmp_path / "big.png"
    p = invoke("plot", runs["tutorial"], "-o", png, "--dpi", 150, runs_dir=runs["dir"])
    assert p.returncode == 0, p.stderr
    assert png_size(png) == (1080, 900)
    svg = tmp_path / "paths.svg"
    p = invoke("plot", runs["tutorial"], runs["fast"], "-o", svg, "--title", "Two runs", runs_dir=runs["dir"])
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(svg)
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert re.search(r'width="518\.4pt" height="432pt"', text)  # 7.2 x 6 inches


def _axes_box(img: np.ndarray) -> tuple[int, int, int, int]:
    """Pixel extent of the filled contour: the longest run of coloured pixels across the middle."""
    rgb = img[..., :3].astype(float)
    coloured = (rgb.max(axis=-1) - rgb.min(axis=-1)) > 0.08  # viridis is never grey

    def longest(mask):
        best, start = (0, 0), None
        for i, m in enumerate(list(mask) + [False]):
            if m and start is None:
                start = i
            if not m and start is not None:
                if i - start > best[1] - best[0]:
                    best = (start, i)
                start = None
        return best

    h = coloured.shape[0]
    x0, x1 = max((longest(coloured[y]) for y in (h // 3, h // 2, 2 * h // 3)), key=lambda e: e[1] - e[0])
    cols = (x0 + (x1 - x0) // 3, (x0 + x1) // 2, x1 - (x1 - x0) // 3)
    y0, y1 = max((longest(coloured[:, x]) for x in cols), key=lambda e: e[1] - e[0])
    return x0, x1, y0, y1


def test_path_is_drawn_where_the_start_point_is(runs, tmp_path):
    """The pixel at the start point differs from the contour rendered without any path."""
    from matplotlib.image import imread

    from optrun.config import validate
    from optrun.plot import plot_contour
    from optrun.problem import build_objective
    from optrun.store.select import load_run

    with_path = tmp_path / "with.png"
    p = optrun("plot", runs["tutorial"], "-o", with_path, runs_dir=runs["dir"])
    assert p.returncode == 0, p.stderr
    run = load_run(runs["tutorial"])
    objective = build_objective(validate(run.config, source="config.yaml"))
    background = tmp_path / "background.png"
    plot_contour(
        objective,
        np.array(validate(run.config, source="config.yaml").bounds),
        [],
        str(background),
        title="background",
    )
    a, b = imread(str(with_path)), imread(str(background))
    assert a.shape == b.shape
    x0, x1, y0, y1 = _axes_box(b)
    assert x1 - x0 > 300 and abs((x1 - x0) - (y1 - y0)) <= 2  # square bounds, equal aspect

    def pixel(x, y):
        (lo_x, hi_x), (lo_y, hi_y) = validate(run.config, source="config.yaml").bounds
        px = x0 + (x - lo_x) / (hi_x - lo_x) * (x1 - x0)
        py = y1 - (y - lo_y) / (hi_y - lo_y) * (y1 - y0)
        return round(py), round(px)

    # the start point of the tutorial run: seed(1); rand(2) mapped into [-1, 1]^2
    r = np.random.RandomState(1).random_sample(2)
    start = -1.0 + 2.0 * r
    tr = run.trace()
    np.testing.assert_allclose([tr["x0"][0], tr["x1"][0]], start, rtol=0, atol=1e-15)
    py, px = pixel(*start)
    diff = np.abs(a[py - 1 : py + 2, px - 1 : px + 2, :3] - b[py - 1 : py + 2, px - 1 : px + 2, :3]).max()
    assert diff > 0.3, f"no path drawn at the start pixel ({px}, {py})"
    # the start is white (the tutorials' colour) on a darker contour
    assert a[py, px, :3].min() > 0.85 and b[py, px, :3].min() < 0.7
    # away from the path and the legend the two pictures agree pixel for pixel
    qy, qx = pixel(0.6, -0.3)
    np.testing.assert_array_equal(a[qy - 3 : qy + 4, qx - 3 : qx + 4], b[qy - 3 : qy + 4, qx - 3 : qx + 4])
    same = np.all(a[y0:y1, x0:x1] == b[y0:y1, x0:x1], axis=-1).mean()
    assert same > 0.75


def test_surface_and_convergence_kinds(runs, tmp_path):
    surf = tmp_path / "surface.png"
    p = invoke("plot", "-2", "--surface", "-o", surf, runs_dir=runs["dir"])
    assert p.returncode == 0, p.stderr
    assert png_size(surf)[0] >= 700
    # a 3-D objective: auto picks the convergence plot, written as <run>/convergence.png
    p = invoke("plot", "last", runs_dir=runs["dir"])
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == os.path.join(runs["3d"], "convergence.png")
    assert png_size(p.stdout.strip()) == (760, 480)


def test_sweep_style_matrix_draws_median_and_interquartile_band(tmp_path):
    from optrun.plot import CurveSeries, plot_convergence

    it = np.arange(200)
    members = np.exp(-np.outer(np.linspace(0.02, 0.05, 9), it))
    out = tmp_path / "band.svg"
    plot_convergence(
        [CurveSeries("alpha sweep", it, members), CurveSeries("one run", it, members[0])],
        str(out),
        title="band",
    )
    text = out.read_text()
    assert len(re.findall(r'<g id="(?:FillBetween)?PolyCollection_\d+"', text)) == 1  # one band


def test_a_100000_iteration_trace_plots_thinned(runs, tmp_path):
    """A long trace (synthetic spiral, 100,001 rows) plots; the SVG holds a thinned path."""
    folder = tmp_path / "runs" / "20260101-000000.000-long-abcdef"
    folder.mkdir(parents=True)
    source = Path(runs["tutorial"])
    for name in ("config.yaml", "meta.json"):
        (folder / name).write_text((source / name).read_text())
    summary = json.loads((source / "summary.json").read_text())
    n = 100_001
    summary.update(id=folder.name, iterations=n - 1)
    (folder / "summary.json").write_text(json.dumps(summary))
    t = np.linspace(0.0, 1.0, n)
    r = 0.9 * np.exp(-5.0 * t)
    x = np.column_stack([r * np.cos(30 * t), r * np.sin(30 * t)])
    f = np.sum(x * x, axis=1)
    rows = np.column_stack([np.arange(n), f, 2 * np.sqrt(f), np.full(n, 1e-5), x])
    with open(folder / "trace.csv", "w") as fh:
        fh.write("iteration,f,grad_norm,step_norm,x0,x1\n")
        np.savetxt(fh, rows, delimiter=",", fmt=["%d"] + ["%.17g"] * 5)
    out = tmp_path / "long.svg"
    p = optrun("plot", folder, "-o", out, runs_dir=tmp_path / "runs")
    assert p.returncode == 0, p.stderr
    text = out.read_text()
    longest = max(len(re.findall(r"[ML] ", d)) for d in re.findall(r' d="([^"]*)"', text))
    assert 500 < longest < 2_500, longest  # the path, thinned from 100,001 points
    assert text.count("<use ") < 12_000  # markers are bounded too
    p = invoke("plot", folder, "--kind", "convergence", runs_dir=tmp_path / "runs")
    assert p.returncode == 0, p.stderr
    assert png_size(folder / "convergence.png") == (760, 480)


def test_run_with_plot_writes_the_picture(tmp_path):
    p = optrun("run", AMSGRAD, "--plot", runs_dir=tmp_path / "runs")
    assert p.returncode == 0, p.stderr
    folder = p.stdout.strip().rsplit(" -> ", 1)[1]
    picture = os.path.join(folder, "contour.png")
    assert p.stderr.strip().splitlines()[-1] == f"picture: {picture}"
    assert png_size(picture) == (720, 600)


# ---------------------------------------------------------------------------- errors


def test_bad_requests_are_one_line_exit_2(runs, tmp_path):
    """Through the real command group in-process (CliRunner): faster than a process per case."""

    def plot(*args):
        return invoke("plot", *args, runs_dir=runs["dir"])

    one_line_error(plot(runs["3d"], "--kind", "contour"), "d = 3", "--kind convergence")
    one_line_error(plot(runs["tutorial"], "-o", tmp_path / "x.jpg"), ".png", ".svg")
    one_line_error(plot(runs["tutorial"], "-o", tmp_path / "no" / "x.png"), "does not exist")
    one_line_error(plot(runs["tutorial"], "--cmap", "nosuchmap", "-o", tmp_path / "c.png"), "nosuchmap")
    one_line_error(plot("zzz-nothing"), "zzz-nothing")
    one_line_error(plot(runs["tutorial"], runs["3d"], "--kind", "surface"), "2-D")
    assert not list(tmp_path.iterdir())  # nothing written by any refused request
    p = plot("last", "--bogus")
    assert p.returncode == 2 and "--bogus" in p.stderr


def test_missing_matplotlib_is_a_one_line_exit_2(runs, tmp_path):
    shadow = tmp_path / "shadow" / "matplotlib"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named matplotlib')\n")
    env = {"PYTHONPATH": str(shadow.parent)}
    p = optrun("plot", runs["tutorial"], "-o", tmp_path / "m.png", runs_dir=runs["dir"], env_extra=env)
    one_line_error(p, "pip install matplotlib")
    fresh = tmp_path / "fresh-runs"
    p = optrun("run", AMSGRAD, "--plot", runs_dir=fresh, env_extra=env)
    one_line_error(p, "pip install matplotlib")
    assert not fresh.exists() or not os.listdir(fresh)  # refused before any run started


def test_plot_command_imports_no_numpy_or_matplotlib_until_it_runs():
    code = (
        "import sys, optrun.cli.plot; print(sorted(m for m in ('numpy', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
