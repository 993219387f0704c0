"""The objective interface: vectorized value and gradient over arrays of shape ``(..., d)``.

A built-in test function is declared once as an :class:`ObjectiveSpec` (formula, reference,
dimensions, default bounds, hyperparameters, known minima) and instantiated for a dimension and
parameters as an :class:`Objective`, which is what the runner uses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..params import Param
from .scratch import Kernel, gradient_pair

ValueAndGrad = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
EvaluateInto = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class OnlineFunction:
    """The functions ``f_t`` of an online objective, rounds ``t = 1, 2, ...``.

    ``value_and_grad(x, t, u)`` maps ``(S, d)`` points to ``f_t`` of each row, ``(S,)``, and its
    gradient, ``(S, d)``. ``u`` is ``(S, draws)``: round ``t``'s uniforms in [0, 1) from each
    member's own random stream (None when ``draws`` is 0), so that a member's sequence of
    functions is its own whatever batch it runs in (see :mod:`optrun.objectives.rounds`).
    """

    value_and_grad: Callable[[np.ndarray, int, np.ndarray | None], tuple[np.ndarray, np.ndarray]]
    draws: int = 0


@dataclass(frozen=True)
class Objective:
    """A concrete objective of fixed dimension ``dim``.

    ``value_and_grad(x)`` maps ``(..., d)`` to ``((...), (..., d))``. ``minima`` holds every
    known global minimizer as rows of a ``(k, d)`` array (empty when unknown) and ``f_min`` the
    optimal value (``None`` when unknown). ``bounds`` is the ``(d, 2)`` default box, read-only (a
    broadcast view of one pair when every coordinate shares it: copy it to write into it).

    ``info`` describes how the objective was built: ``params`` (its config keys), ``gradient``
    (``analytic`` for built-ins, ``user`` for a user's gradient function, ``automatic`` for an
    expression differentiated exactly, ``finite-differences``) and ``evaluations_per_gradient``
    (extra objective evaluations one gradient costs: 0, or ``2 d`` for central differences).

    ``evaluate_into(x, g)``, when not None, returns the same ``f`` as ``value_and_grad(x)`` and
    writes the same gradient, bit for bit, into ``g`` (``x``'s shape, C-contiguous float64, not
    overlapping ``x``), allocating nothing of size ``d`` once it has seen ``x``'s shape (built-ins
    and their shifts and rotations; see :mod:`.scratch`).

    ``online``, when not None, makes this an online objective: round ``t``'s gradient is
    ``f_t``'s (:class:`OnlineFunction`), taken at the point after ``t - 1`` steps, and regret is
    measured against ``minima[0]``. ``value_and_grad`` is then the average function (what a
    contour or a start check looks at).
    """

    name: str
    dim: int
    value_and_grad: ValueAndGrad
    bounds: np.ndarray
    minima: np.ndarray
    f_min: float | None
    info: dict[str, Any] = field(default_factory=dict)
    evaluate_into: EvaluateInto | None = None
    online: OnlineFunction | None = None
    #: a learning problem on data (:class:`optrun.objectives.data_rounds.Learning`): its
    #: minibatches and test set; ``value_and_grad`` is then the full training loss
    learning: Any = None

    def value(self, x: np.ndarray) -> np.ndarray:
        return self.value_and_grad(x)[0]

    def gradient(self, x: np.ndarray) -> np.ndarray:
        return self.value_and_grad(x)[1]

    def distance_to_optimum(self, x: np.ndarray) -> np.ndarray | None:
        """Euclidean distance from each point of ``x`` (``(..., d)``) to the nearest known minimizer."""
        if self.minima.size == 0:
            return None
        x = np.asarray(x)
        d = x.shape[-1]
        if d >= BLOCKED_FROM and x.dtype == np.float64 and blocked_sums_agree():  # no temporary of d
            rows = x.reshape(-1, d)
            sq = np.array([[squared_distance(r, m) for m in self.minima] for r in rows])
            return np.sqrt(np.min(sq.reshape(x.shape[:-1] + (len(self.minima),)), axis=-1))
        diff = np.subtract(x[..., None, :], self.minima, dtype=np.float64)
        np.multiply(diff, diff, out=diff)  # squared in place: one temporary of x's size, not two
        return np.sqrt(np.min(np.sum(diff, axis=-1), axis=-1))


#: points of at least this many coordinates have their distances summed piece by piece
#: the learning objectives on data (:mod:`.data_config`): named here so that telling a config of
#: one apart imports nothing of theirs
LEARNING_KINDS = ("least-squares", "logistic", "softmax")


def learning_columns(kind: str, tested: bool) -> tuple[str, ...]:
    """The trace columns a learning problem of ``kind`` adds with test data (``tested``): the test
    loss, and the accuracy of a classifier."""
    if not tested:
        return ()
    return ("test_loss",) if kind == "least-squares" else ("test_loss", "test_accuracy")


BLOCKED_FROM = 1 << 20
PIECE = 1 << 15


def squared_distance(x: np.ndarray, m: np.ndarray, piece: int = PIECE) -> np.float64:
    """``np.sum((x - m) ** 2)`` of two 1-D float64 arrays, bit for bit, through one buffer of
    ``piece`` numbers instead of a temporary of their size. numpy sums a contiguous row pairwise
    (the halves cut at a multiple of 8, down to blocks of 128), so the row's sum is rebuilt from
    the sums of the same halves, down to parts of at most ``piece`` numbers that numpy sums
    itself (``blocked_sums_agree`` checks that this numpy does so)."""
    buf = np.empty(min(piece, len(x)))

    def part(lo: int, hi: int) -> np.float64:
        n = hi - lo
        if n <= piece:
            b = buf[:n]
            np.subtract(x[lo:hi], m[lo:hi], out=b)
            np.multiply(b, b, out=b)
            return np.add.reduce(b)
        h = n // 2
        h -= h % 8
        return part(lo, lo + h) + part(lo + h, hi)

    return part(0, len(x))


@functools.cache
def blocked_sums_agree() -> bool:
    """Does :func:`squared_distance` give this numpy's ``np.sum`` bits? Checked once, on numbers of
    every magnitude where the order of the additions shows (else the distance takes a temporary)."""
    rng = np.random.default_rng(16)
    for n, piece in ((5 * PIECE + 13, PIECE), (4099, 128), (1000, 256)):
        x = rng.standard_normal(n) * np.exp(rng.uniform(-30.0, 30.0, n))
        m = rng.standard_normal(n)
        diff = np.subtract(x[None, None, :], m[None, :], dtype=np.float64)
        np.multiply(diff, diff, out=diff)
        if np.sum(diff, axis=-1)[0, 0].tobytes() != squared_distance(x, m, piece).tobytes():
            return False
    return True


@dataclass(frozen=True)
class ObjectiveSpec:
    """A built-in test function, before a dimension is chosen.

    ``make(dim, **params)`` returns the kernel ``(x, g, take) -> f`` of :mod:`.scratch` (the one
    implementation behind ``value_and_grad`` and ``evaluate_into``); ``bounds(dim)`` the default
    ``(d, 2)`` box; ``minima(dim, **params)`` the ``(k, d)`` known minimizers and ``f_min(dim,
    **params)`` the optimal value. ``dims`` is ``(min_d, max_d)`` with ``max_d`` ``None`` for
    any dimension from ``min_d`` up.
    """

    name: str
    summary: str
    formula: str
    reference: str
    make: Callable[..., Kernel]
    bounds: Callable[[int], np.ndarray]
    minima: Callable[..., np.ndarray]
    f_min: Callable[..., float | None]
    dims: tuple[int, int | None] = (1, None)
    default_dim: int = 2
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    f_min_text: str | None = None  # f* in words when it depends on d, e.g. "-39.16616570377142 d"
    minima_text: str | None = None  # the minimizers in words, e.g. "x_i = 1 for all i"
    #: an online objective's ``online(dim, **params) -> OnlineFunction`` (``make`` is then the
    #: average of its functions); None for a fixed function
    online: Callable[..., OnlineFunction] | None = None

    def accepts_dim(self, d: int) -> bool:
        lo, hi = self.dims
        return d >= lo and (hi is None or d <= hi)

    def dims_text(self) -> str:
        lo, hi = self.dims
        if hi is None:
            return f"d >= {lo}"
        return f"d = {lo}" if lo == hi else f"{lo} <= d <= {hi}"

    def build(self, dim: int, **params: Any) -> Objective:
        minima = np.asarray(self.minima(dim, **params), dtype=float).reshape(-1, dim)
        value_and_grad, evaluate_into = gradient_pair(self.make(dim, **params))
        return Objective(
            name=self.name,
            dim=dim,
            value_and_grad=value_and_grad,
            evaluate_into=evaluate_into,
            bounds=np.asarray(self.bounds(dim), dtype=float).reshape(dim, 2),
            minima=minima,
            f_min=self.f_min(dim, **params),
            info={"params": dict(params), "gradient": "analytic", "evaluations_per_gradient": 0},
            online=None if self.online is None else self.online(dim, **params),
        )


def box(lo: float, hi: float) -> Callable[[int], np.ndarray]:
    """Default bounds ``[lo, hi]`` in every coordinate: a read-only ``(d, 2)`` broadcast view of the
    one pair (a copy per coordinate costs 160 MB and a quarter of a second at d = 1e7; every
    consumer reads it, and one that must write copies it)."""
    pair = np.array([float(lo), float(hi)])
    pair.flags.writeable = False
    return lambda d: np.broadcast_to(pair, (d, 2))


def same_everywhere(v: float, d: int) -> np.ndarray:
    """The one minimizer ``x_i = v`` for all ``i`` as a read-only ``(1, d)`` broadcast view (no
    array of d numbers held for the run's life)."""
    return np.broadcast_to(np.float64(v), (1, d))


def origin(d: int, **_: Any) -> np.ndarray:
    return same_everywhere(0.0, d)


def zero(d: int, **_: Any) -> float:
    return 0.0


def ones(d: int, **_: Any) -> np.ndarray:
    return same_everywhere(1.0, d)


def points(*pts: tuple[float, ...]) -> Callable[..., np.ndarray]:
    """Fixed minimizers of a fixed-dimension function."""
    arr = np.array(pts, dtype=float)
    return lambda d, **_: arr


def constant(v: float) -> Callable[..., float]:
    return lambda d, **_: float(v)
