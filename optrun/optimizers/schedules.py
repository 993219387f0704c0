"""Learning-rate schedules for every algorithm (``algorithm.schedule`` in a config).

A schedule gives the learning rate ``lr(k)`` of the update that follows ``k`` completed steps
(``k = t - 1``; the first update uses ``lr(0)``), which is optax's ``count`` and torch's
``scheduler.step()``-after-``optimizer.step()`` convention. ``alpha`` is the algorithm's own
learning rate. Formulas (``floor`` when ``staircase`` is true):

============  ==================================================================================
constant      ``lr(k) = alpha``
exponential   ``lr(k) = alpha * decay_rate ** (k / decay_steps)``
              (optax.exponential_decay; torch ExponentialLR(gamma) is ``decay_steps: 1``)
inverse_time  ``lr(k) = alpha / (1 + decay_rate * (k / decay_steps))`` (Keras InverseTimeDecay)
inverse_sqrt  ``lr(k) = alpha / sqrt(k + 1)``: ``alpha_t = alpha / sqrt(t)``, ``t = 1, 2, ...``
              (the step size of Reddi, Kale & Kumar's analysis, ICLR 2018, theorem 4, and of
              Kingma & Ba's, ICLR 2015, theorem 4.1)
step          ``lr(k) = alpha * decay_rate ** floor(k / decay_steps)``
              (torch StepLR(step_size=decay_steps, gamma=decay_rate))
cosine        warm-up ``k < W``: ``lr(k) = (warmup_init - alpha) * (1 - k / W) + alpha``;
              then with ``c = min(k - W, D - W)``, ``a = alpha_min / alpha``:
              ``lr(k) = alpha * ((1 - a) * 0.5 * (1 + cos(pi * c / (D - W))) + a)``
              (optax.warmup_cosine_decay_schedule(warmup_init, alpha, W, D, alpha_min);
              without warm-up optax.cosine_decay_schedule; Loshchilov & Hutter, SGDR, ICLR 2017)
============  ==================================================================================

with ``D = decay_steps`` and ``W = warmup_steps``. Every algorithm's step is linear in its
learning rate (the decoupled weight decay of AdamW included), so a schedule is applied to any
optimizer by multiplying the step it returns by ``lr(k) / alpha`` (:func:`scheduled`). That is
the library's maths exactly; the extra multiplication rounds once more than torch or optax do,
a relative difference of about 1e-16 per step. One difference is not reproduced: optax calls
a schedule with its int32 step count, and jax promotes that with Python floats to float32, so
optax's scheduled learning rates are float32 values even under ``jax_enable_x64`` (up to 6e-8
relative away from the formula); optrun evaluates every schedule in float64 (tested against
optax's schedule functions called with a float64 count, and torch's StepLR/ExponentialLR).

A user optimizer's step is scaled by ``lr(k) / alpha`` with its ``alpha`` parameter, or by
``lr(k)`` computed with ``alpha = 1`` when it has none.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..params import Param
from . import transforms as T
from .base import Optimizer

_DECAY_STEPS = Param("decay_steps", None, "steps over which the rate decays", kind=int, low=1)
_STAIRCASE = Param("staircase", False, "decay in whole steps of decay_steps", kind=bool)

# name -> (parameters, names that have no default)
SCHEDULES: dict[str, tuple[tuple[Param, ...], tuple[str, ...]]] = {
    "constant": ((), ()),
    "exponential": (
        (
            Param("decay_rate", None, "factor per decay_steps steps", low=0.0, high=1.0, low_open=True),
            Param("decay_steps", 1, "steps per factor decay_rate", kind=int, low=1),
            _STAIRCASE,
        ),
        ("decay_rate",),
    ),
    "inverse_time": (
        (
            Param("decay_rate", None, "lr(k) = alpha / (1 + decay_rate * k / decay_steps)", low=0.0),
            Param("decay_steps", 1, "steps per unit of decay", kind=int, low=1),
            _STAIRCASE,
        ),
        ("decay_rate",),
    ),
    "inverse_sqrt": ((), ()),
    "step": (
        (
            _DECAY_STEPS,
            Param(
                "decay_rate", 0.1, "factor applied every decay_steps steps", low=0.0, high=1.0, low_open=True
            ),
        ),
        ("decay_steps",),
    ),
    "cosine": (
        (
            _DECAY_STEPS,
            Param("alpha_min", 0.0, "learning rate reached at decay_steps", low=0.0),
            Param("warmup_steps", 0, "linear warm-up steps before the cosine", kind=int, low=0),
            Param("warmup_init", 0.0, "learning rate at k = 0 when warming up", low=0.0),
        ),
        ("decay_steps",),
    ),
}

SUMMARIES = {
    "constant": "lr(k) = alpha",
    "exponential": "lr(k) = alpha * decay_rate ** (k / decay_steps)",
    "inverse_time": "lr(k) = alpha / (1 + decay_rate * (k / decay_steps))",
    "inverse_sqrt": "lr(k) = alpha / sqrt(k + 1), i.e. alpha / sqrt(t) for step t = 1, 2, ...",
    "step": "lr(k) = alpha * decay_rate ** floor(k / decay_steps)",
    "cosine": "linear warm-up from warmup_init over warmup_steps, then cosine from alpha to alpha_min at decay_steps",
}


def validate_schedule(raw: Any) -> dict[str, Any]:
    """Check an ``algorithm.schedule`` value and return it resolved (every default filled in).

    ``raw`` is a schedule name or a mapping with ``name`` and the schedule's keys. Raises
    ``ValueError("key: message")``; the key is ``""`` when the schedule itself is wrong.
    """
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict):  # ValueError by contract: config.py reports it with the key
        raise ValueError(  # noqa: TRY004
            f": must be a schedule name or a mapping such as {{name: cosine, decay_steps: 1000}}, not {raw!r}"
        )
    name = raw.get("name")
    if name not in SCHEDULES:
        raise ValueError(f"name: must be one of {', '.join(SCHEDULES)}, not {name!r}")
    params, required = SCHEDULES[name]
    valid = ("name",) + tuple(p.name for p in params)
    for key in raw:
        if key not in valid:
            raise ValueError(f"{key}: unknown key for the {name} schedule; valid keys: {', '.join(valid)}")
    out: dict[str, Any] = {"name": name}
    for p in params:
        if p.name not in raw:
            if p.name in required:
                raise ValueError(
                    f"{p.name}: is required by the {name} schedule "
                    f"(e.g. {{name: {name}, {p.name}: {_example(p.name)}}})"
                )
            out[p.name] = p.default
            continue
        try:
            out[p.name] = p.validate(raw[p.name])
        except ValueError as e:
            raise ValueError(f"{p.name}: {e}") from None
    if name == "cosine" and out["warmup_steps"] >= out["decay_steps"]:
        raise ValueError(
            f"warmup_steps: must be less than decay_steps ({out['decay_steps']}), not {out['warmup_steps']}"
        )
    return out


def _example(key: str) -> str:
    return {"decay_rate": "0.5", "decay_steps": "1000"}.get(key, "1")


def learning_rate(schedule: dict[str, Any], alpha) -> Callable[[int], Any]:
    """``lr(k)`` for a resolved schedule; ``alpha`` may be a float or an ``(S, 1)`` array."""
    name = schedule["name"]
    if name == "constant":
        return lambda k: alpha
    if name in ("exponential", "step"):
        rate, steps = schedule["decay_rate"], schedule["decay_steps"]
        stair = name == "step" or schedule["staircase"]

        def lr(k):
            p = math.floor(k / steps) if stair else k / steps
            return alpha * T.power(rate, p)

        return lr
    if name == "inverse_time":
        rate, steps, stair = schedule["decay_rate"], schedule["decay_steps"], schedule["staircase"]

        def lr(k):
            p = math.floor(k / steps) if stair else k / steps
            return alpha / (1.0 + rate * p)

        return lr
    if name == "inverse_sqrt":
        return lambda k: alpha / math.sqrt(k + 1)
    if name == "cosine":
        D, W = schedule["decay_steps"], schedule["warmup_steps"]
        a_min, w_init = schedule["alpha_min"], schedule["warmup_init"]
        a = (
            np.where(alpha == 0.0, 0.0, a_min / alpha)
            if isinstance(alpha, np.ndarray)
            else (0.0 if alpha == 0.0 else a_min / alpha)
        )

        def lr(k):
            if k < W:
                return (w_init - alpha) * (1.0 - k / W) + alpha
            c = min(float(k - W), float(D - W))
            cosine = 0.5 * (1.0 + math.cos(math.pi * c / (D - W)))
            return alpha * ((1.0 - a) * cosine + a)

        return lr
    raise ValueError(f"unknown schedule {name!r}")


def scheduled(
    optimizer: Optimizer, schedule: dict[str, Any] | None, alpha=1.0, in_place: bool = True
) -> Optimizer:
    """``optimizer`` with its step multiplied by ``lr(t - 1) / alpha`` (see the module doc).

    A missing or constant schedule returns ``optimizer`` unchanged (bit-identical steps).
    ``in_place`` scales the returned step buffer itself (built-in kernels own theirs); a user
    optimizer may return an array it keeps, so its step is scaled into a new array instead.
    """
    if not schedule or schedule["name"] == "constant":
        return optimizer
    lr = learning_rate(schedule, alpha)
    init, update = optimizer[0], optimizer[1]  # the scaled step has no fused apply

    def scaled_update(g, state, x, t):
        step, state = update(g, state, x, t)
        factor = lr(t - 1) / alpha
        if in_place:
            np.multiply(step, factor, out=step)
            return step, state
        return np.multiply(step, factor), state

    return Optimizer(init, scaled_update)
