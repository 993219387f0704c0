"""Bounds that are one pair for every dimension (issue 16): a :class:`UniformBounds`, the tuple
``(pair,) * d`` in behaviour, holding no ``d`` references; the same config.yaml as before."""

from __future__ import annotations

import pickle
import tracemalloc

import numpy as np
import pytest

from optrun.config import UniformBounds, load_config, uniform_bounds, validate
from optrun.problem import bounds_array, start_point


def test_uniform_bounds_behave_as_the_tuple_of_pairs():
    pair = (-1.5, 2.0)
    u, t = UniformBounds(pair, 5), (pair,) * 5
    assert len(u) == 5 and u == t and t == u and (t != u) is False and hash(u) == hash(t)
    assert u[0] is u[-5] and u[4] == pair and list(u) == list(t) and tuple(u) == t
    assert u[1:3] == t[1:3] and u[::2] == t[::2] and len(u[7:]) == 0
    with pytest.raises(IndexError):
        u[5]
    with pytest.raises(IndexError):
        u[-6]
    assert u != (pair,) * 4 and u != ((-1.5, 2.5),) * 5 and u != UniformBounds((0.0, 1.0), 5)
    assert u.count(pair) == 5 and u.count((0.0, 1.0)) == 0 and u.index(pair) == 0
    assert {u: 1}[t] == 1  # equal objects are one dictionary key
    assert pickle.loads(pickle.dumps(u)) == u
    assert np.array(u).tolist() == [list(pair)] * 5
    assert uniform_bounds(u) and not uniform_bounds(UniformBounds(pair, 0))


def test_one_pair_for_a_large_dimension_holds_no_reference_per_dimension(configs_dir):
    load_config(str(configs_dir / "amsgrad.yaml"))  # modules and caches loaded before measuring
    tracemalloc.start()
    try:
        c = load_config(str(configs_dir / "amsgrad.yaml"), ["objective.dim=1000000", "bounds=[-2.0, 3.0]"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000  # a tuple of a million references alone is 8 MB
    assert isinstance(c.bounds, UniformBounds) and len(c.bounds) == 10**6 and c.bounds[0] == (-2.0, 3.0)
    b = bounds_array(c.bounds)
    assert b.shape == (10**6, 2) and b.strides[0] == 0 and not b.flags.writeable
    x0 = start_point(c, bounds=b)
    assert x0.shape == (10**6,) and (x0 >= -2.0).all() and (x0 <= 3.0).all()


def test_config_yaml_is_the_same_as_with_a_tuple_of_pairs(configs_dir):
    c = load_config(str(configs_dir / "rosenbrock.yaml"), ["objective.dim=4", "bounds=[-2.0, 2.0]"])
    assert isinstance(c.bounds, UniformBounds)
    as_tuple = validate({**c.to_dict(), "bounds": [[-2.0, 2.0]] * 4}, source="x.yaml")
    assert as_tuple.bounds == c.bounds and not isinstance(as_tuple.bounds, UniformBounds)
    assert c.to_yaml() == as_tuple.to_yaml() and "bounds: [-2.0, 2.0]\n" in c.to_yaml()
    # the default box of a built-in (no bounds given) is one pair too
    d = load_config(str(configs_dir / "rosenbrock.yaml"), ["objective.dim=3"])
    assert d.bounds == ((-2.048, 2.048),) * 3


def test_explicit_start_outside_uniform_bounds_is_noted(configs_dir):
    from optrun.config import start_outside_bounds

    c = load_config(str(configs_dir / "amsgrad.yaml"), ["bounds=[-1.0, 1.0]", "start=[0.5, 3.0]"])
    assert isinstance(c.bounds, UniformBounds)
    assert "x1 = 3" in start_outside_bounds(c)
