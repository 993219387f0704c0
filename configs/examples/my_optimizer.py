"""An example user optimizer for optrun: configs/examples/user-optimizer.yaml runs it.

The interface (see optrun/optimizers/base.py): a factory called with the config's algorithm
keys returns ``Optimizer(init, update)`` (or any object with ``init`` and ``update``):

    state = init(x)                         # x: float64 array (S, d), one run per row
    step, state = update(g, state, x, t)    # g: gradient at x, (S, d); t = 1, 2, ...
    x_next = x + step                       # step must have the shape of x

Hyperparameters arrive as numbers, or as (S, 1) arrays when a sweep varies them, so write the
update with broadcasting numpy operations and reduce over the last axis only.

This one is Lion (Chen et al., Symbolic Discovery of Optimization Algorithms, NeurIPS 2023):

    c = beta1 * m + (1 - beta1) * g
    x = x - alpha * (sign(c) + weight_decay * x)
    m = beta2 * m + (1 - beta2) * g
"""

from typing import NamedTuple

import numpy as np

from optrun.optimizers import Optimizer


class LionState(NamedTuple):
    m: np.ndarray  # (S, d) momentum


def lion(alpha=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    if np.any(np.asarray(alpha) <= 0):  # a number, or an (S, 1) array in a sweep
        raise ValueError(f"alpha must be positive, not {alpha}")

    def init(x):
        return LionState(m=np.zeros_like(x))

    def update(g, state, x, t):
        c = beta1 * state.m + (1.0 - beta1) * g
        step = -alpha * (np.sign(c) + weight_decay * x)
        m = beta2 * state.m + (1.0 - beta2) * g
        return step, LionState(m=m)

    return Optimizer(init, update)
