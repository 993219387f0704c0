"""A large run's points (chunks of one row, :class:`optrun.backends.points.Points`): the same rows,
results and checkpoints as a run that keeps a chunk buffer of points, bit for bit.

A large ``d`` is imitated with ``MAX_CHUNK_ROWS = 1`` (a chunk of one row is what ``chunk_rows``
gives from d ~ 1.3e5 on); ``own_buffers`` lets the runner step out of place while the current
point is the best and reuse one gradient buffer (``Objective.evaluate_into``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from optrun import runner
from optrun.objectives import get_objective
from optrun.optimizers import get_algorithm
from optrun.runner import Problem, run


def sphere_into(d):
    """The built-in sphere with an ``evaluate_into`` (value, and the gradient into ``g``)."""
    obj = get_objective("sphere").build(d)

    def evaluate_into(x, g):
        np.multiply(x, 2.0, out=g)
        return np.vecdot(x, x)

    return (
        dataclasses.replace(obj, evaluate_into=evaluate_into)
        if _has_field(obj)
        else _Wrapped(obj, evaluate_into)
    )


def _has_field(obj) -> bool:
    return any(f.name == "evaluate_into" for f in dataclasses.fields(obj))


class _Wrapped:
    """The objective with an ``evaluate_into`` attribute (before ``Objective`` has the field)."""

    def __init__(self, obj, evaluate_into):
        self._obj, self.evaluate_into = obj, evaluate_into

    def __getattr__(self, name):
        return getattr(self._obj, name)


def build(name, backend="numpy", **params):
    variant = get_algorithm(name).variant(None)
    params = {**{p.name: p.default for p in variant.params}, **params}
    if backend == "numba":
        from optrun.backends.fused import fused_builder

        return fused_builder(variant.build)(**params)
    return variant.build(**params)


def collect(problem, **kw):
    rows = [[] for _ in range(problem.x0.shape[0])]

    def on_chunk(c):
        for s in range(len(rows)):
            for j in range(int(c.rows[s])):
                rows[s].append(
                    (
                        c.first_iteration + j,
                        c.f[j, s],
                        c.grad_norm[j, s],
                        c.step_norm[j, s],
                        c.x[j, s].tolist(),
                    )
                )

    return run(problem, on_chunk, **kw), rows


def same(a, b):
    (ra, rowsa), (rb, rowsb) = a, b
    assert rowsa == rowsb
    for x, y in zip(ra, rb):
        for f in dataclasses.fields(x):
            u, v = getattr(x, f.name), getattr(y, f.name)
            if isinstance(u, np.ndarray):
                np.testing.assert_array_equal(u, v, err_msg=f.name)
                assert u.shape == v.shape
            elif u == u:  # NaN compares unequal
                assert u == v, f.name


def both(monkeypatch, make_problem, **kw):
    """The run with chunk buffers, then with chunks of one row and the runner's own buffers."""
    want = collect(make_problem(False), **kw)
    monkeypatch.setattr(runner, "MAX_CHUNK_ROWS", 1)
    got = collect(make_problem(True), **kw)
    same(got, want)
    return got


X0 = np.array([[0.5, -0.25, 0.75]])

CASES = {
    # f decreasing every step: always out of place
    "amsgrad": (lambda: ("amsgrad", {"alpha": 0.05}), {}),
    # alpha 1: x(t) = (-1)^t x0, f constant: the best stays at row 0 while x is stepped in place
    "gd flip": (lambda: ("gd", {"alpha": 1.0}), {}),
    # overshoots then settles: the best moves back and forth between the two buffers
    "gd overshoot": (lambda: ("gd", {"alpha": 0.9}), {}),
    "diverges": (lambda: ("gd", {"alpha": 1000.0}), {}),
    "f target": (lambda: ("adagrad", {"alpha": 0.1}), {"f_target": 1e-3}),
    "grad norm": (lambda: ("adagrad", {"alpha": 0.1}), {"grad_norm_tol": 1e-2}),
}


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("case", CASES)
def test_one_row_chunks_change_no_number(monkeypatch, case, backend):
    if backend == "numba":
        pytest.importorskip("numba")
    make, stops = CASES[case]
    name, params = make()

    def problem(own):
        obj = sphere_into(3) if own else get_objective("sphere").build(3)
        return Problem(obj, build(name, backend, **params), X0.copy(), 60, own_buffers=own, **stops)

    (res,), _ = both(monkeypatch, problem)
    assert res.final_x.shape == res.best_x.shape == (3,)


def test_a_batch_copies_its_best_and_final_rows(monkeypatch):
    alphas = np.array([[0.1], [1.0], [1000.0], [0.9]])
    x0 = np.tile(X0, (4, 1))

    def problem(own):
        obj = sphere_into(3) if own else get_objective("sphere").build(3)
        return Problem(obj, build("gd", alpha=alphas), x0.copy(), 50, f_target=1e-6, own_buffers=own)

    results, _ = both(monkeypatch, problem)
    assert [r.stop_reason for r in results] == ["f_target", "iterations", "nonfinite", "f_target"]


def test_an_interrupted_run_and_its_resume_change_no_number(monkeypatch):
    """Checkpoints at an interrupt: the resumed run ends as the uninterrupted one, with the best
    point kept across the checkpoint."""
    monkeypatch.setattr(runner, "MAX_CHUNK_ROWS", 1)
    whole = collect(Problem(sphere_into(3), build("gd", alpha=0.9), X0.copy(), 40, own_buffers=True))
    cps, calls = [], []

    def stop():
        calls.append(1)
        return len(calls) > 17

    first = collect(
        Problem(sphere_into(3), build("gd", alpha=0.9), X0.copy(), 40, own_buffers=True),
        should_stop=stop,
        on_checkpoint=cps.append,
    )
    assert first[0][0].status == "interrupted" and cps[-1].iteration == 17
    np.testing.assert_array_equal(cps[-1].final_x, [first[1][0][-1][4]])
    rest = collect(
        Problem(sphere_into(3), build("gd", alpha=0.9), X0.copy(), 40, own_buffers=True), resume=cps[-1]
    )
    assert rest[1][0][0][0] == 18
    same((rest[0], [first[1][0] + rest[1][0]]), whole)


def test_the_start_point_is_stepped_in_place_only_when_given(monkeypatch):
    x0 = X0.copy()
    run(Problem(sphere_into(3), build("gd", alpha=0.1), x0, 5, own_buffers=True))
    assert (x0 == X0).all()
    run(Problem(sphere_into(3), build("gd", alpha=0.1), x0, 5, give_x0=True))
    assert not (x0 == X0).all()
