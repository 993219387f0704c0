"""The distance to the optimum of a large point is summed piece by piece, with the bits of the
plain ``np.sqrt(np.min(np.sum((x - m) ** 2, -1), -1))`` and no temporary of the point's size
(issue 16: at the end of a d = 1e7 run that temporary was the run's peak)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from optrun.objectives import get_objective
from optrun.objectives.base import BLOCKED_FROM, blocked_sums_agree, squared_distance


def plain(x, minima):
    diff = np.asarray(x)[..., None, :] - minima
    return np.sqrt(np.min(np.sum(diff * diff, axis=-1), axis=-1))


def awkward(rng, n):
    """Numbers of every magnitude: any change in the order of the additions shows in the bits."""
    return rng.standard_normal(n) * np.exp(rng.uniform(-30.0, 30.0, n))


def test_this_numpy_sums_rows_the_way_the_pieces_assume():
    assert blocked_sums_agree()


@pytest.mark.parametrize("piece", [128, 136, 1000, 4096])
def test_squared_distance_has_the_bits_of_np_sum(piece):
    rng = np.random.default_rng(piece)
    for n in [
        1,
        7,
        8,
        127,
        128,
        129,
        255,
        256,
        257,
        piece,
        piece + 1,
        2 * piece + 9,
        3 * piece - 1,
        10_007,
        65_543,
    ]:
        x, m = awkward(rng, n), awkward(rng, n)
        ref = np.sum((x - m) * (x - m))
        assert squared_distance(x, m, piece).tobytes() == ref.tobytes(), (n, piece)


def test_a_large_points_distance_has_the_plain_bits_and_no_temporary_of_its_size():
    d = BLOCKED_FROM + 1001
    rng = np.random.default_rng(5)
    x = awkward(rng, d)[None, :]
    obj = get_objective("rosenbrock").build(d)  # one minimizer, a broadcast view of ones
    ref = plain(x, np.ones((1, d)))
    tracemalloc.start()
    try:
        got = obj.distance_to_optimum(x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got.shape == (1,) and got.tobytes() == ref.tobytes()
    assert peak < 8 * d // 4  # a piece, not an array of d
    assert obj.distance_to_optimum(x[0]).tobytes() == plain(x[0], np.ones((1, d))).tobytes()


def test_several_points_and_minimizers_in_the_blocked_path():
    from dataclasses import replace

    d = BLOCKED_FROM
    rng = np.random.default_rng(6)
    minima = np.stack([awkward(rng, d), np.zeros(d), awkward(rng, d)])
    obj = replace(get_objective("sphere").build(d), minima=minima)
    x = np.stack([awkward(rng, d), awkward(rng, d)])
    assert obj.distance_to_optimum(x).tobytes() == plain(x, minima).tobytes()
