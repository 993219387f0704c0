"""The stepper a run uses is chosen once (optrun.backends.stepper), and the projection seam."""

from __future__ import annotations

import numpy as np
import pytest

from optrun.backends.stepper import ChunkStepper, Fused, FusedStepper, Stepper, stepper_for
from optrun.objectives import get_objective
from optrun.optimizers import Optimizer, get_algorithm
from optrun.runner import Problem, run


def gd(alpha=0.1) -> Optimizer:
    return get_algorithm("gd").variant(None).build(alpha=alpha)


def fused_like(opt: Optimizer, steps=None) -> Fused:
    def apply(g, s, x, t, sq):
        step, s = opt.update(g, s, x, t)
        np.add(x, step, out=x)
        np.vecdot(step, step, out=sq)
        return s

    return Fused(opt.init, opt.update, apply, steps)


def test_the_stepper_is_chosen_from_the_optimizer_and_the_problem():
    opt = gd()
    sphere = get_objective("sphere").build(2)  # it has a compiled gradient
    assert type(stepper_for(opt, 2)) is Stepper
    assert type(stepper_for(opt, 2, sphere)) is Stepper  # no chunks without Fused.steps
    f = fused_like(opt)
    assert type(stepper_for(f, 2)) is FusedStepper
    chunked = fused_like(opt, steps=lambda *a: a[3])
    assert type(stepper_for(chunked, 2, sphere)) is ChunkStepper
    assert type(stepper_for(chunked, 2)) is FusedStepper  # the caller allows no chunks
    assert type(stepper_for(chunked, 1 << 17, sphere)) is FusedStepper  # large steps go to threads instead
    # a projection needs every point in Python: never chunks
    assert type(stepper_for(chunked, 2, sphere, project=lambda x: None)) is FusedStepper


@pytest.mark.parametrize("fused", [False, True])
def test_a_stepper_writes_the_point_and_the_squared_step(fused):
    opt = gd(0.25)
    stepper = stepper_for(fused_like(opt) if fused else opt, 2)
    x = np.array([[1.0, -2.0]])
    X, D = np.empty((3, 1, 2)), np.empty((3, 1))
    n, _ = stepper.advance(2.0 * x, opt.init(x), x, 0, X, D, 0, 3)
    assert n == 1
    assert X[0].tolist() == [[0.5, -1.0]] and x.tolist() == [[0.5, -1.0]]
    assert D[0].tolist() == [0.5**2 + 1.0**2]


def problem(project=None, iterations=20) -> Problem:
    obj = get_objective("sphere").build(2)
    return Problem(obj, gd(0.1), np.array([[3.0, -1.0], [0.5, 0.25]]), iterations, project=project)


def test_no_projection_is_the_unprojected_run():
    rows = []
    run(problem(), on_chunk=lambda c: rows.append(c.x.copy()))
    plain = []
    run(problem(project=lambda x: None), on_chunk=lambda c: plain.append(c.x.copy()))
    assert np.concatenate(rows).tobytes() == np.concatenate(plain).tobytes()


def test_the_projection_is_applied_after_every_step_before_the_row_is_recorded():
    def box(x):
        np.clip(x, 1.0, 5.0, out=x)

    rows = []
    results = run(problem(project=box), on_chunk=lambda c: rows.append(c.x.copy()))
    xs = np.concatenate(rows)
    assert (xs[1:] >= 1.0).all() and (xs[1:] <= 5.0).all()
    assert xs[0].tolist() == [[3.0, -1.0], [0.5, 0.25]]  # the start point is recorded as given
    np.testing.assert_allclose(results[0].final_x, [1.0, 1.0], atol=1e-6)
