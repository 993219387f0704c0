"""A large run allocates no d-sized array per step (issue 16): tracemalloc, which numpy reports its
array buffers to, sees no peak above what was allocated before the step, step after step.

Between two chunks handed on (a chunk is one step here) the traced peak is reset and read again:
a d-sized temporary anywhere in the step, the objective, the norms or the bookkeeping would show
as a peak at least 8 d bytes above the memory held before it, even if freed at once."""

from __future__ import annotations

import dataclasses
import tracemalloc

import numpy as np
import pytest

from optrun.backends import build_variant
from optrun.objectives import get_objective
from optrun.optimizers import get_algorithm
from optrun.runner import Problem, chunk_rows, run


def sphere_into(d):
    """The built-in sphere with an allocation-free ``evaluate_into``."""
    obj = get_objective("sphere").build(d)

    def evaluate_into(x, g):
        np.multiply(x, 2.0, out=g)
        return np.vecdot(x, x)

    if any(f.name == "evaluate_into" for f in dataclasses.fields(obj)):
        return dataclasses.replace(obj, evaluate_into=evaluate_into)
    return _With(obj, evaluate_into)


class _With:
    """The objective with an ``evaluate_into`` attribute (before ``Objective`` has the field)."""

    def __init__(self, obj, evaluate_into):
        self._obj, self.evaluate_into = obj, evaluate_into

    def __getattr__(self, name):
        return getattr(self._obj, name)


def peaks_per_step(problem) -> list[int]:
    """Traced bytes allocated above the held memory between consecutive chunks, per chunk (the
    steps and the bookkeeping of each chunk)."""
    out: list[int] = []
    held = [0]

    def on_chunk(c):
        peak = tracemalloc.get_traced_memory()[1]
        # after the first steps (lazily built buffers, compiled code), before the members end (their
        # final points are copied out then, once)
        if c.first_iteration > 3 and not c.ended.any():
            out.append(peak - held[0])
        tracemalloc.reset_peak()
        held[0] = tracemalloc.get_traced_memory()[0]

    tracemalloc.start()
    try:
        run(problem, on_chunk)
    finally:
        tracemalloc.stop()
    return out


@pytest.mark.parametrize("d", [100_000, 300_000])  # chunks of 2 rows and of 1 (no point buffer)
@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("name", ["amsgrad", "adagrad"])
def test_no_d_sized_allocation_per_step(name, backend, d):
    if backend == "numba":
        pytest.importorskip("numba")
    variant = get_algorithm(name).variant(None)
    params = {
        p.name: np.array([[p.default]]) if isinstance(p.default, float) else p.default for p in variant.params
    }
    x0 = np.random.default_rng(3).uniform(-1, 1, (1, d))
    problem = Problem(
        sphere_into(d), build_variant(variant, params, backend, d), x0, 30, own_buffers=True, give_x0=True
    )
    peaks = peaks_per_step(problem)
    assert len(peaks) >= 10
    assert max(peaks) < 8 * d // 4, (chunk_rows(1, d), peaks)


def test_the_check_sees_an_allocating_objective():
    """The same run with the objective's allocating value_and_grad: a fresh gradient every step."""
    d = 300_000
    variant = get_algorithm("adagrad").variant(None)
    params = {p.name: p.default for p in variant.params}
    x0 = np.random.default_rng(3).uniform(-1, 1, (1, d))
    problem = Problem(get_objective("sphere").build(d), build_variant(variant, params, "numpy", d), x0, 30)
    assert min(peaks_per_step(problem)) >= 8 * d // 2  # a fresh d-sized gradient each step


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_large_batch_copies_its_improved_rows_without_a_temporary(backend):
    """Three members of d = 1e5 (a chunk of one row): each step improves every member's best."""
    if backend == "numba":
        pytest.importorskip("numba")
    S, d = 3, 100_000
    variant = get_algorithm("adagrad").variant(None)
    params = {p.name: p.default for p in variant.params}
    params["alpha"] = np.array([[0.01], [0.02], [0.05]])
    x0 = np.random.default_rng(3).uniform(-1, 1, (S, d))
    problem = Problem(sphere_into(d), build_variant(variant, params, backend, d), x0, 30, own_buffers=True)
    assert chunk_rows(S, d) == 1
    peaks = peaks_per_step(problem)
    assert len(peaks) >= 10
    assert max(peaks) < 8 * d // 4, peaks
