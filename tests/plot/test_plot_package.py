"""The plot package's parts: what to draw is computed without matplotlib, paths are cut and
thinned before drawing, and a picture that cannot be written is one PlotError with nothing left."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest


def test_importing_the_package_loads_no_matplotlib():
    code = "import sys, optrun.plot; print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_cut_path_stops_at_the_first_non_finite_point_and_counts_what_is_left():
    from optrun.plot.data import PathSeries, cut_path

    xy = np.array([[0.0, 0.0], [1.0, 1.0], [np.inf, 2.0], [3.0, 3.0]])
    drawn, points = cut_path(PathSeries("run", xy, np.arange(4.0)), budget=100)
    assert points == 2 and drawn.label == "run"
    assert drawn.xy.tolist() == [[0.0, 0.0], [1.0, 1.0]] and drawn.f.tolist() == [0.0, 1.0]
    n = 10_000
    long = np.column_stack([np.linspace(0, 1, n), np.zeros(n)])
    drawn, points = cut_path(PathSeries("long", long, np.zeros(n)), budget=200)
    assert points == n and len(drawn.xy) <= 202
    assert drawn.xy[0].tolist() == [0.0, 0.0] and drawn.xy[-1].tolist() == [1.0, 0.0]  # both ends kept


def test_minima_outside_the_region_are_left_out():
    from optrun.plot.data import minima_in

    class Objective:
        minima = np.array([[0.0, 0.0], [3.0, 0.0], [-0.5, 0.9]])

    region = np.array([[-1.0, 1.0], [-1.0, 1.0]])
    assert minima_in(Objective(), region).tolist() == [[0.0, 0.0], [-0.5, 0.9]]
    assert minima_in(object(), region).shape == (0, 2)  # an objective that knows no minimum


def test_flat_and_surface_views_place_path_points_in_the_plane_and_on_the_surface():
    from optrun.plot.contour import FLAT, SURFACE

    xy, f = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([5.0, 6.0])
    assert [a.tolist() for a in FLAT.coords(xy, f)] == [[1.0, 3.0], [2.0, 4.0]]
    assert [a.tolist() for a in SURFACE.coords(xy, f)] == [[1.0, 3.0], [2.0, 4.0], [5.0, 6.0]]


def test_a_picture_that_cannot_be_written_is_one_plot_error_and_leaves_nothing(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from optrun.errors import PlotError
    from optrun.plot import CurveSeries, plot_convergence
    from optrun.store import pictures

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pictures.os, "replace", full_disk)
    series = [CurveSeries("a", np.arange(10.0), np.geomspace(1.0, 1e-6, 10))]
    with pytest.raises(PlotError) as e:
        plot_convergence(series, str(tmp_path / "c.svg"), title="t")
    assert str(e.value) == f"cannot write '{tmp_path / 'c.svg'}': No space left on device"
    assert os.listdir(tmp_path) == []


def test_column_quartiles_are_nanpercentile_bit_for_bit():
    """The sweep bands' quartiles, computed by one sort down the columns, equal numpy's
    nanpercentile (linear interpolation) exactly: NaN left out, all-NaN columns NaN, infinities
    and ties as numpy treats them."""
    import warnings

    from optrun.plot.data import column_quartiles

    rng = np.random.default_rng(5)
    for trial in range(400):
        m, n = int(rng.integers(1, 25)), int(rng.integers(1, 30))
        v = rng.normal(size=(m, n)) * 10.0 ** int(rng.integers(-3, 4))
        if trial % 5 == 0:
            v = np.round(v)  # ties
        v[rng.random((m, n)) < (0.3 if trial % 3 else 0.0)] = np.nan
        v[rng.random((m, n)) < (0.1 if trial % 7 == 0 else 0.0)] = np.inf
        v[rng.random((m, n)) < (0.1 if trial % 11 == 0 else 0.0)] = -np.inf
        v[:, 0] = np.nan if trial % 13 == 0 else v[:, 0]  # a column where no member has a row
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            want = np.nanpercentile(v, [25.0, 50.0, 75.0], axis=0)
        got = column_quartiles(v)
        assert got.shape == want.shape
        assert np.array_equal(got, want, equal_nan=True), trial
