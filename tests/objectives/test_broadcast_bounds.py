"""A built-in's default box is a read-only broadcast view of its one pair, and a minimizer the
same in every coordinate a broadcast view of one number (issue 16): no array of d numbers held
for a run's life. Every consumer still works: the catalogue (``optrun objectives``), shifts,
gradient checks (``optrun check-gradient``), the distance to the optimum and the plots."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from optrun.cli import cli
from optrun.objectives import OBJECTIVES, get_objective
from optrun.objectives.catalog import describe
from optrun.objectives.check import check_gradient
from optrun.objectives.resolve import build


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_default_box_is_a_read_only_view_with_the_tiled_values(name):
    spec = get_objective(name)
    d = spec.default_dim if spec.dims[1] is not None else 7
    obj = spec.build(d)
    assert obj.bounds.shape == (d, 2)
    lo, hi = obj.bounds[0]
    if spec.dims[1] is None:  # any dimension: one pair for all
        assert obj.bounds.strides[0] == 0
    if obj.bounds.strides[0] == 0:
        assert obj.bounds.tolist() == np.tile([lo, hi], (d, 1)).tolist()
        with pytest.raises(ValueError):
            obj.bounds[0, 0] = 0.0


def test_minimizer_views_give_the_same_distances_as_arrays():
    obj = get_objective("rosenbrock").build(6)
    assert obj.minima.shape == (1, 6) and obj.minima.strides == (0, 0)
    x = np.random.default_rng(3).normal(size=(4, 6))
    ref = np.sqrt(np.min(np.sum((x[:, None, :] - np.ones((1, 6))) ** 2, axis=-1), axis=-1))
    assert obj.distance_to_optimum(x).tobytes() == ref.tobytes()
    assert obj.distance_to_optimum(x[0]).tobytes() == ref[0].tobytes()


def test_catalogue_shift_and_gradient_check_read_the_views():
    r = describe(get_objective("ackley"), 3)
    assert r["bounds"] == [[-32.768, 32.768]] * 3 and r["minima"] == [[0.0, 0.0, 0.0]]
    assert r["minima_text"] == "x_i = 0 for all i"
    shifted = build("rastrigin", 5, {"shift": True, "transform_seed": 4})
    b = shifted.bounds
    assert ((shifted.minima >= b[:, 0]) & (shifted.minima <= b[:, 1])).all()
    assert shifted.minima.flags.writeable  # a new array, the view left alone
    res = check_gradient(get_objective("sphere").build(4), get_objective("sphere").build(4).bounds, points=5)
    assert res.worst < 1e-6 and res.points.shape == (5, 4)


def test_objectives_cli_and_check_gradient_with_default_bounds(tmp_path):
    r = CliRunner().invoke(cli, ["objectives", "rosenbrock", "--dim", "4"])
    assert r.exit_code == 0 and "[-2.048, 2.048]" in r.output
    cfg = tmp_path / "c.yaml"
    cfg.write_text("objective: {name: griewank, dim: 5}\nalgorithm: {name: adam}\n")  # default box
    r = CliRunner().invoke(cli, ["check-gradient", str(cfg), "--points", "5"])
    assert r.exit_code == 0 and ": ok" in r.output, r.output


def test_a_plot_of_a_run_with_the_default_box(tmp_path):
    pytest.importorskip("matplotlib")
    from optrun.plot.data import run_bounds

    run = SimpleNamespace(config={}, dim=2)  # a recorded config without bounds
    obj = get_objective("himmelblau").build(2)
    b = run_bounds(run, obj)
    assert b.tolist() == [[-5.0, 5.0]] * 2 and b.flags.writeable  # a copy: the plot widens it
    cfg = tmp_path / "h.yaml"
    cfg.write_text("objective: himmelblau\nalgorithm: {name: adam}\niterations: 5\n")
    env = {"OPTRUN_RUNS_DIR": str(tmp_path / "runs"), "NO_COLOR": "1"}
    r = CliRunner().invoke(cli, ["run", str(cfg), "--plot"], env=env)
    assert r.exit_code == 0, r.output
    pngs = list((tmp_path / "runs").rglob("*.png"))
    assert pngs and pngs[0].stat().st_size > 1000
