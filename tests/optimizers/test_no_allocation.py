"""A numpy kernel's step allocates no array of the problem's size once its state exists.

Every built-in kernel keeps its buffers in its state and updates them with ``out=`` ufuncs
(:mod:`optrun.optimizers.transforms`); an 80 MB temporary per step at d = 1e7 would cost a pass
of page faults on top of the kernel's own passes. ``tracemalloc`` sees numpy's array buffers,
so the peak it records over a few steps after warm-up bounds what one step allocates at once.
Checked for every variant at its defaults, with every optional branch switched on, as a batch of
``(S, 1)`` hyperparameters, and as the numpy backend runs it (cache-blocked, with a schedule).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from optrun.backends import build_variant
from optrun.optimizers import ALGORITHMS, get_algorithm
from optrun.optimizers.blocked import blocked

VARIANTS = [(a.name, v.name) for a in ALGORITHMS.values() for v in a.variants]
D = 100_000
S = 3


def defaults(v) -> dict:
    return {p.name: p.default for p in v.params}


def branches_on(v) -> dict:
    """Every optional term computed: zero-default numbers (weight decay, lr_decay, ...) made
    positive, flags (centered, nesterov, ...) true, a null momentum given a value."""
    params = defaults(v)
    for p in v.params:
        if p.kind is bool:
            params[p.name] = True
        elif p.default is None and p.nullable:
            params[p.name] = p.validate(0.5)
        elif p.kind is float and p.default == 0 and p.name != "initial_accumulator_value":
            params[p.name] = p.validate(0.01)
    return params


def batched(v) -> dict:
    """Every float hyperparameter an ``(S, 1)`` array of distinct member values."""
    params = defaults(v)
    for p in v.params:
        if p.kind is float and p.default is not None:
            base = p.default if p.default != 0 else 0.01
            vals = [base, base * 0.5, 0.3] if p.high == 1.0 else [base, base * 0.5, base * 2.0]
            params[p.name] = np.array([p.validate(x) for x in vals]).reshape(S, 1)
    return params


def peak_bytes_per_step(opt, shape, warm: int = 3, steps: int = 3) -> int:
    """The most memory allocated at once over ``steps`` steps taken after ``warm`` steps."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape)
    g = rng.standard_normal(shape)
    state = opt.init(x)
    with np.errstate(all="ignore"):
        for t in range(1, warm + 1):
            step, state = opt.update(g, state, x, t)
            np.add(x, step, out=x)
        del step
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            for t in range(warm + 1, warm + steps + 1):
                step, state = opt.update(g, state, x, t)
                np.add(x, step, out=x)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return peak - base


def assert_no_d_sized_block(opt, shape, what):
    # A temporary of a quarter of the problem's float64s fails. Allowed: Python objects and
    # numpy's own iterator buffer (8,192 elements, 64 KiB, taken per call whatever d is) that
    # a ufunc with a scalar operand over a non-contiguous (S, b) slice borrows.
    peak = peak_bytes_per_step(opt, shape)
    assert peak < 2 * D, f"{what}: a step allocated {peak:,} bytes at once (d = {D:,})"


@pytest.mark.parametrize("algo,variant", VARIANTS)
def test_a_step_allocates_no_d_sized_array(algo, variant):
    v = get_algorithm(algo).variant(variant)
    assert_no_d_sized_block(v.build(**defaults(v)), (D,), f"{algo}/{variant} defaults")
    assert_no_d_sized_block(v.build(**branches_on(v)), (D,), f"{algo}/{variant} every branch")


@pytest.mark.parametrize("algo,variant", VARIANTS)
def test_a_batched_step_allocates_no_d_sized_array(algo, variant):
    v = get_algorithm(algo).variant(variant)
    assert_no_d_sized_block(v.build(**batched(v)), (S, D // S), f"{algo}/{variant} batch")


@pytest.mark.parametrize("algo,variant", VARIANTS)
def test_the_numpy_backend_step_allocates_no_d_sized_array(algo, variant):
    """As ``optrun run`` builds it (schedule included), and cut into slices as above
    ``MIN_ELEMENTS`` (forced here at d = 1e5 with smaller thresholds)."""
    v = get_algorithm(algo).variant(variant)
    schedule = {"name": "exponential", "decay_rate": 0.5, "decay_steps": 10, "staircase": False}
    opt = build_variant(v, branches_on(v), "numpy", D, schedule)
    assert_no_d_sized_block(opt, (D,), f"{algo}/{variant} numpy backend")
    sliced = blocked(v.build(**batched(v)), block=1 << 12, min_elements=1 << 10)
    assert_no_d_sized_block(sliced, (S, D // S), f"{algo}/{variant} blocked batch")


def test_the_check_sees_a_d_sized_temporary():
    """The measure is not blind: a kernel returning ``g * -alpha`` as a fresh array fails it."""

    def update(g, s, x, t):
        return g * -0.1, s

    from optrun.optimizers.base import Optimizer

    with pytest.raises(AssertionError, match="allocated"):
        assert_no_d_sized_block(Optimizer(lambda x: (), update), (D,), "fresh")
