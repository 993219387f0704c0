"""Passes a kernel skips when a hyperparameter makes them change nothing change no bit.

Each kernel below skips a pass for some values: AdaGrad (optax) its zero mask when no member's
accumulator can be 0, RMSProp (torch) the copy of a step computed aside when no member has
momentum, Adam (optax) the ``+ eps_root`` when it is 0, SGD with momentum the ``* (1 - 0)`` when
dampening is 0, Adam and AMSGrad (paper) their ``max(den, TINY)`` when eps > 0. A batch in which
another member needs the full pass runs every member through it, so member 0 of such a batch is
the full computation and the same member run alone the shortened one: the two must agree to the
last bit. The gradient has zero and negative-zero coordinates, where a skipped ``+ 0.0`` or
``* 1.0`` could show (``-0.0 + 0.0`` is ``+0.0``).
"""

from __future__ import annotations

import numpy as np
import pytest

from optrun.optimizers import get_algorithm

H = np.diag([1.0, 4.0, 25.0, 100.0, 1.0, 1.0]) + 0.3
H[4:, :] = 0.0  # the last two gradient coordinates are constant
X0 = np.array([0.9, -0.4, 0.3, -0.2, 0.5, -0.5])


def grad(x):
    g = (H * x[..., None, :]).sum(-1) - 1.0
    g[..., 4] = 0.0
    g[..., 5] = -0.0
    return g


def run(opt, x0, steps=60):
    x = np.array(x0, dtype=float)
    state = opt.init(x)
    for t in range(1, steps + 1):
        step, state = opt.update(grad(x), state, x, t)
        x = x + step
    return x


CASES = [
    # (algorithm, variant, hyperparameter, the value with the pass skipped, one that needs it)
    ("adagrad", "optax", "initial_accumulator_value", 0.1, 0.0),
    ("rmsprop", "torch", "momentum", 0.0, 0.9),
    ("adam", "optax", "eps_root", 0.0, 1e-8),
    ("amsgrad", "optax", "eps_root", 0.0, 1e-8),
    ("nadam", "optax", "eps_root", 0.0, 1e-8),
    ("momentum", "torch", "dampening", 0.0, 0.1),
    ("adam", "paper", "eps", 1e-8, 0.0),  # max(den, TINY) only when some member has eps = 0
    ("amsgrad", "paper", "eps", 1e-8, 0.0),
]


@pytest.mark.parametrize("algo,variant,name,skip,full", CASES)
def test_a_skipped_pass_changes_no_bit(algo, variant, name, skip, full):
    v = get_algorithm(algo).variant(variant)
    params = {p.name: p.default for p in v.params}
    alone = run(v.build(**{**params, name: skip}), X0)
    batch = run(v.build(**{**params, name: np.array([[skip], [full]])}), np.stack([X0, X0]))
    assert np.isfinite(alone).all()
    assert np.array_equal(alone, batch[0])
    assert np.array_equal(np.signbit(alone), np.signbit(batch[0]))
    if full != skip:  # the other member really took another path
        assert not np.array_equal(batch[0], batch[1])


def test_adagrad_optax_still_zeroes_a_coordinate_whose_sum_is_zero():
    """From an accumulator of 0 and eps 0, a coordinate whose gradient is always 0 takes no step
    (optax scales it by 0, where ``1 / sqrt(0) * 0`` would be NaN), alone and next to a member
    starting at 0.1."""
    v = get_algorithm("adagrad").variant("optax")
    params = {**{p.name: p.default for p in v.params}, "eps": 0.0}
    with np.errstate(divide="ignore"):  # 1 / sqrt(0): the masked coordinates
        alone = run(v.build(**{**params, "initial_accumulator_value": 0.0}), X0)
        batch = run(
            v.build(**{**params, "initial_accumulator_value": np.array([[0.0], [0.1]])}), np.stack([X0, X0])
        )
    assert alone[4] == X0[4] and alone[5] == X0[5]
    assert np.array_equal(batch[0], alone)
