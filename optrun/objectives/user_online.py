"""A user's online objective: ``objective: {function: "pkg.mod:f", online: true, minima: [x*]}``.

Calling convention: ``f(x, t)`` takes a float64 array ``x`` of shape ``(S, d)`` (one member's
point per row; a fresh copy) and the round ``t`` (an int, 1, 2, ...), and returns
``(values, gradients)``: ``f_t`` at each row, shape ``(S,)``, and its gradient, ``(S, d)``. It is
vectorized over members: a sweep calls it once per round for a whole batch. Round ``t``'s
gradient is taken at the point after ``t - 1`` steps. ``minima`` (one point) is ``x*``, the point
regret is measured against; without it the trace has no regret columns. A function that needs
randomness should derive it from ``t`` and the point alone, or it breaks "a member alone equals
the member in a sweep" (the built-in ``reddi-stochastic`` draws from each member's own stream).

Failures are :class:`~optrun.errors.UserCodeError` naming the function, as for every user
function (:mod:`.user`): an exception inside it, a call over ``timeout_s``, a result of the wrong
shape. The function is called at the start point (round 1) and on a batch of two points when the
objective is built, so a wrong shape is reported before any run folder exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import OptrunError, UserCodeError
from ..signals import Interrupt, call_user
from .base import Objective, OnlineFunction
from .user import check_start, first_line, load_callable, probe_points

CONVENTION = "f(x, t) with x of shape (S, d) must return (values of shape (S,), gradients of shape (S, d))"


class OnlineUserFunction:
    """``f(x, t)`` called with the user-code protections, its result checked every call."""

    def __init__(self, fn, ref: str, dim: int, timeout_s: float | None):
        self.fn, self.ref, self.dim, self.timeout_s = fn, ref, dim, timeout_s
        self.what = f"online function '{ref}'"

    def _fail(self, message: str) -> UserCodeError:
        return UserCodeError(f"{self.what} {message}")

    def __call__(self, x: np.ndarray, t: int, u: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        S = x.shape[0]
        try:
            out = call_user(self.fn, x.copy(), int(t), timeout_s=self.timeout_s, what=self.what)
        except (OptrunError, Interrupt):
            raise
        except BaseException as e:  # noqa: BLE001 - user code may raise anything: one line
            raise self._fail(f"raised {type(e).__name__} at round {t}: {first_line(e)}") from None
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise self._fail(f"returned {type(out).__name__}; {CONVENTION}")
        try:
            f = np.asarray(out[0], dtype=np.float64)
            g = np.asarray(out[1], dtype=np.float64)
        except (TypeError, ValueError):
            raise self._fail(f"returned something that is not numbers; {CONVENTION}") from None
        if f.shape != (S,) or g.shape != (S, self.dim):
            raise self._fail(
                f"returned shapes {f.shape} and {g.shape} for {S} point(s) of dimension {self.dim} "
                f"at round {t}; {CONVENTION}"
            )
        return f, g


def online_function_objective(
    name: str,
    dim: int,
    params: dict[str, Any],
    bounds: np.ndarray,
    start: np.ndarray | None = None,
    source: str | None = None,
    recorded: Sequence[str] = (),
) -> Objective:
    """The objective of ``{function: ..., online: true}``, checked at the start point (round 1)
    and on a batch of two points."""
    ref = params["function"]
    fn = OnlineUserFunction(
        load_callable(ref, "online function", source, recorded), ref, dim, params.get("timeout_s")
    )
    pts = probe_points(bounds, start)
    with np.errstate(all="ignore"):
        fn(pts[:2], 1)
        f, g = fn(pts[:1], 1)
    check_start(fn.what, f, g, pts[0], f"the gradient of {fn.what}")

    def first_round(x: np.ndarray):  # f_1: the fixed function a start check or a picture looks at
        lead = x.shape[:-1]
        f1, g1 = fn(x.reshape(-1, dim), 1)
        return f1.reshape(lead), g1.reshape(x.shape)

    minima = params.get("minima")
    return Objective(
        name=name,
        dim=dim,
        value_and_grad=first_round,
        bounds=np.asarray(bounds, dtype=np.float64).reshape(dim, 2),
        minima=np.asarray(minima if minima else np.zeros((0, dim)), dtype=np.float64).reshape(-1, dim),
        f_min=None,
        info={"params": dict(params), "gradient": "user", "evaluations_per_gradient": 0, "vectorized": True},
        online=OnlineFunction(fn, 0),
    )
