"""A blocked step keeps its scratch in one slice-sized buffer per field, shared by the slices.

A state's ``SCRATCH`` fields (``tmp``, ``geff``, ...) are written before they are read in every
step, so each slice of :func:`optrun.optimizers.blocked.blocked` can use the same small buffer,
which stays in cache instead of streaming a d-sized array to memory and back. That the numbers
do not change is tested in tests/backends/test_backends.py (blocked vs whole, bit for bit, in
slices of 64 elements, every variant and branch); here: the declarations name real fields, and
the d-sized scratch arrays are left untouched by a blocked step.
"""

from __future__ import annotations

import numpy as np
import pytest

from optrun.optimizers import ALGORITHMS, get_algorithm
from optrun.optimizers.blocked import blocked

VARIANTS = [(a.name, v.name) for a in ALGORITHMS.values() for v in a.variants]


def build(algo, variant):
    v = get_algorithm(algo).variant(variant)
    params = {p.name: p.default for p in v.params}
    for p in v.params:  # the weight-decay branch writes geff: switch it on where there is one
        if p.name == "weight_decay":
            params[p.name] = 0.01
    return v.build(**params)


@pytest.mark.parametrize("algo,variant", VARIANTS)
def test_scratch_declarations_name_fields_other_than_the_step(algo, variant):
    opt = build(algo, variant)
    x = np.ones(8)
    state = opt.init(x)
    scratch = getattr(type(state), "SCRATCH", ())
    assert set(scratch) <= set(state._fields)
    step, _ = opt.update(np.full(8, 0.5), state, x, 1)
    assert not any(step is getattr(state, k) for k in scratch)


@pytest.mark.parametrize("algo,variant", VARIANTS)
def test_blocked_slices_share_a_small_scratch(algo, variant):
    opt = build(algo, variant)
    sliced = blocked(opt, block=256, min_elements=0, min_width=1)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 1000))
    state = sliced.init(x)
    scratch = getattr(type(state), "SCRATCH", ())
    for k in scratch:
        getattr(state, k)[...] = 7  # a mark no kernel writes (True in a bool mask)
    marked = {k: getattr(state, k).copy() for k in scratch}
    with np.errstate(all="ignore"):
        for t in range(1, 4):
            step, state = sliced.update(rng.standard_normal(x.shape), state, x, t)
            np.add(x, step, out=x)
    assert np.isfinite(x).all()
    for k in scratch:
        assert np.array_equal(getattr(state, k), marked[k]), f"{algo}/{variant}: the d-sized {k} was written"
