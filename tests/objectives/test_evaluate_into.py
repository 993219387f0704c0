"""``Objective.evaluate_into``: the built-ins (and their shifts and rotations) write the gradient
into the caller's buffer, with exactly the bits of ``value_and_grad``, and allocate nothing of size
``d`` once they have seen a shape (issue 16, target 1)."""

from __future__ import annotations

import threading
import tracemalloc

import numpy as np
import pytest

from optrun.objectives import OBJECTIVES
from optrun.objectives.transform import transform

ANY_D = [name for name, spec in OBJECTIVES.items() if spec.dims[1] is None]


def dims_of(name: str) -> list[int]:
    spec = OBJECTIVES[name]
    if spec.dims[1] is not None:
        return [spec.dims[0]]
    return [d for d in (1, 2, 5, 33) if spec.accepts_dim(d)]


CASES = [(name, d) for name in OBJECTIVES for d in dims_of(name)]


def variants(name: str, d: int) -> dict:
    obj = OBJECTIVES[name].build(d)
    return {
        "plain": obj,
        "shifted": transform(obj, shift=True, seed=4),
        "shifted+rotated": transform(obj, shift=True, rotate=True, seed=9),
    }


def points(obj, shape, seed):
    b = obj.bounds
    x = b[:, 0] + np.random.default_rng(seed).random(shape) * (b[:, 1] - b[:, 0])
    x[0] = obj.minima[0]  # a minimizer: zeros and exact cancellations in the first row
    return x


def same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype == np.float64 and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("name,d", CASES)
def test_evaluate_into_writes_the_bits_of_value_and_grad_into_the_given_buffer(name, d):
    for kind, obj in variants(name, d).items():
        assert obj.evaluate_into is not None, kind
        # (1, d) one run, (S, d) a batch, (n S, d) the runner's stacked members; twice each, in turn,
        # so that kept temporaries are reused across shapes and calls
        for rnd in range(2):
            for seed, rows in enumerate((1, 3, 12)):
                x = points(obj, (rows, d), seed=10 * rnd + seed)
                buf = np.full((rows, d), np.nan)
                address = buf.__array_interface__["data"][0]
                with np.errstate(all="ignore"):
                    f, g = obj.value_and_grad(x)
                    f2 = obj.evaluate_into(x, buf)
                assert buf.__array_interface__["data"][0] == address
                assert same_bits(f2, f), (kind, rows)
                assert same_bits(buf, g), (kind, rows)
                assert not np.shares_memory(f2, buf)


@pytest.mark.parametrize("name", ANY_D)
def test_a_later_call_does_not_change_an_earlier_result(name):
    """Temporaries are kept between calls, never the values handed back."""
    obj = OBJECTIVES[name].build(50)
    x1, x2 = points(obj, (4, 50), 1), points(obj, (4, 50), 2)
    g1, g2 = np.empty((4, 50)), np.empty((4, 50))
    f1 = obj.evaluate_into(x1, g1)
    keep_f1, keep_g1 = f1.copy(), g1.copy()
    obj.evaluate_into(x2, g2)
    assert same_bits(f1, keep_f1) and same_bits(g1, keep_g1)


def test_threads_evaluating_one_objective_at_once_get_their_own_temporaries():
    obj = transform(OBJECTIVES["rosenbrock"].build(2000), shift=True, seed=1)
    xs = [points(obj, (2, 2000), seed) for seed in range(4)]
    want = [obj.value_and_grad(x) for x in xs]
    wrong = []

    def work(i):
        g = np.empty((2, 2000))
        for _ in range(60):
            f = obj.evaluate_into(xs[i], g)
            if not (same_bits(f, want[i][0]) and same_bits(g, want[i][1])):
                wrong.append(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def largest_block_after_warm_up(obj, x, calls=9):
    g = np.empty(x.shape)
    obj.evaluate_into(x, g)  # the first call may allocate its temporaries
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(calls):
            obj.evaluate_into(x, g)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", ANY_D)
@pytest.mark.parametrize("kind", ["plain", "shifted"])
@pytest.mark.parametrize("rows", [1, 3])
def test_no_array_of_d_floats_is_allocated_after_the_first_call(name, kind, rows):
    d = 100_000
    obj = OBJECTIVES[name].build(d)
    if kind == "shifted":
        obj = transform(obj, shift=True, seed=2)
    x = points(obj, (rows, d), seed=3)
    peak = largest_block_after_warm_up(obj, x)
    assert peak < d * 8 / 4, f"{name} ({kind}, {rows} rows) allocated {peak} bytes per call"


@pytest.mark.parametrize("name", ["sphere", "rosenbrock", "griewank"])  # the others: as plain above
def test_a_rotation_allocates_no_array_of_d_floats_after_the_first_call(name):
    """Rotations go up to d = 2000 (a d x d matrix): at d = 1500, half a vector is the bound (small
    arrays of one value per row and numpy's bookkeeping take about 5 KB)."""
    d = 1500
    obj = transform(OBJECTIVES[name].build(d), shift=True, rotate=True, seed=2)
    peak = largest_block_after_warm_up(obj, points(obj, (1, d), seed=3), calls=3)
    assert peak < d * 8 / 2, f"{name} (rotated) allocated {peak} bytes per call"


def test_value_and_grad_still_allocates_a_new_gradient_each_call():
    """The check above can fail: the allocating path, measured the same way, is over the bound."""
    d = 100_000
    obj = OBJECTIVES["sphere"].build(d)
    x = points(obj, (1, d), seed=3)
    obj.value_and_grad(x)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        obj.value_and_grad(x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak >= d * 8


@pytest.mark.parametrize("name", [n for n, spec in OBJECTIVES.items() if spec.dims == (2, 2)])
def test_two_dimensional_functions_write_both_columns(name):
    obj = OBJECTIVES[name].build(2)
    x = points(obj, (1000, 2), seed=5)
    g = np.full((1000, 2), np.nan)
    obj.evaluate_into(x, g)
    assert same_bits(g, obj.value_and_grad(x)[1])


def test_user_objectives_have_no_evaluate_into_even_when_shifted():
    """A user's function allocates its own gradient: the runner keeps calling value_and_grad."""
    from optrun.objectives.resolve import build

    user = build("mine", 3, {"expression": "x0**2 + x1*x2"}, bounds=np.tile([-1.0, 1.0], (3, 1)))
    shifted = transform(user, shift=True, seed=1)
    assert user.evaluate_into is None and shifted.evaluate_into is None
    x = np.random.default_rng(0).random((4, 3))
    f, g = shifted.value_and_grad(x)
    f0, g0 = user.value_and_grad(x - np.array(shifted.info["shift"]))
    assert same_bits(f, f0) and same_bits(g, g0)


@pytest.mark.parametrize("rows", [1, 3])
@pytest.mark.parametrize("name", ["rosenbrock", "styblinski-tang", "levy"])
def test_blocks_of_columns_of_any_width_give_the_bits_of_one_block(name, rows, monkeypatch):
    """These kernels work through the columns in cache-sized blocks (rosenbrock passes 200 t[lo - 1]
    from one block to the next): blocks of any width give the bits of a single block."""
    import optrun.objectives.scratch as scratch

    d = 41
    obj = OBJECTIVES[name].build(d)
    x = points(obj, (rows, d), seed=8)
    monkeypatch.setattr(scratch, "BLOCK", 1 << 40)
    f, g = obj.value_and_grad(x)
    for block in (1, 2, 3 * rows, 7 * rows, 40 * rows):
        monkeypatch.setattr(scratch, "BLOCK", block)
        buf = np.empty((rows, d))
        assert same_bits(obj.evaluate_into(x, buf), f) and same_bits(buf, g), block
        f2, g2 = obj.value_and_grad(x)
        assert same_bits(f2, f) and same_bits(g2, g), block
