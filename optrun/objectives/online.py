"""Online objectives: a function ``f_t`` per round, the problems of Reddi, Kale and Kumar (2018).

Reddi, Kale and Kumar, "On the Convergence of Adam and Beyond" (ICLR 2018), sections 3 and 5,
show linear functions on ``[-1, 1]`` on which Adam's iterates go to the worst point, ``x = +1``,
while AMSGrad's go to the optimum ``x* = -1``: a rare large gradient that pays for many small
ones of the other sign. Each round's function is ``f_t(x) = a_t x`` with

- ``reddi-online``: ``a_t = large`` when ``t mod period = phase``, else ``-small`` (the paper's
  section 5: 1010, 10, 101, 1);
- ``reddi-stochastic``: ``a_t = large`` with probability ``prob``, else ``-small``, drawn from the
  member's own random stream (the paper's stochastic version: 1010, 10, 0.01);
- ``reddi-theorem1``: ``a_t = C`` when ``t mod 3 = 1``, else ``-1`` (the paper's Theorem 1, C > 2).

Their average slope is positive with the defaults, so the best fixed point ``x*`` is ``-1``
(``+1`` when parameters make the average slope negative). The fixed function an online objective
shows where one is needed (a start check, ``optrun objectives``) is the average one,
``f(x) = mean(a_t) x``; a run takes round ``t``'s gradient from ``f_t``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..params import Param
from .base import ObjectiveSpec, OnlineFunction, box

REFERENCE = 'Reddi, Kale & Kumar 2018, "On the Convergence of Adam and Beyond" (ICLR)'


def _linear_kernel(slope: float):
    """The average function ``f(x) = slope * x`` of a 1-D online objective, as a kernel."""

    def kernel(x, g, take):
        g[...] = slope
        return slope * x[..., 0]

    return kernel


@dataclass(frozen=True)
class LinearRounds(OnlineFunction):
    """``f_t(x) = a_t x`` on one coordinate: the gradient ``a_t`` does not depend on ``x``, so a
    chunk of rounds can be computed before the steps that take them.

    ``slopes(t, u)`` is ``a_t`` for an int array of rounds ``t`` (shape ``(n, 1)``) and their
    uniforms ``u`` (``(n, S, draws)``, None when ``draws`` is 0): an ``(n, S)`` or ``(n, 1)``
    array holding the very numbers ``value_and_grad`` uses round by round (``large`` or
    ``-small``, chosen by the same comparisons), so that ``a * x`` gives its bits."""

    slopes: Callable[[np.ndarray, np.ndarray | None], np.ndarray] | None = None


def _linear_rounds(large: float, small: float, big: Callable, draws: int) -> LinearRounds:
    """``f_t(x) = a_t x`` (``x`` of shape ``(S, 1)``) with ``a_t = large`` where ``big(t, u)`` is
    true, else ``-small``; ``big`` is one bool for every member unless the round draws numbers.
    ``big`` is elementwise: it also takes an array of rounds and their draws (the slopes)."""

    def value_and_grad(x: np.ndarray, t: int, u: np.ndarray | None):
        if draws:  # a slope per member
            a = np.where(big(t, u), large, -small)
            return a * x[:, 0], a[:, None].copy()
        a = large if big(t, u) else -small  # one slope for every member: a Python float
        return x[:, 0] * a, np.full(x.shape, a)

    def slopes(t: np.ndarray, u: np.ndarray | None) -> np.ndarray:
        return np.where(big(t, u), large, -small)

    return LinearRounds(value_and_grad, draws, slopes)


def _optimum(slope: float) -> np.ndarray:
    return np.array([[-1.0 if slope >= 0 else 1.0]])


# reddi-online ---------------------------------------------------------------------------------


def _online_slope(large: float = 1010.0, small: float = 10.0, period: int = 101, phase: int = 1) -> float:
    return (large - small * (period - 1)) / period


def _online(d: int, large: float = 1010.0, small: float = 10.0, period: int = 101, phase: int = 1):
    at = phase % period
    return _linear_rounds(large, small, lambda t, u: t % period == at, 0)


_SLOPES = (
    Param("large", 1010.0, "the slope of the rare round", low=0.0, low_open=True),
    Param("small", 10.0, "minus the slope of the other rounds", low=0.0, low_open=True),
)

REDDI_ONLINE = ObjectiveSpec(
    name="reddi-online",
    summary="online: a rare large slope against frequent small ones (Adam goes to x = +1)",
    formula="f_t(x) = large x if t mod period = phase (mod period), else -small x   (t = 1, 2, ...)",
    reference=REFERENCE + ", section 5 (synthetic online experiment)",
    make=lambda d, **p: _linear_kernel(_online_slope(**p)),
    bounds=box(-1.0, 1.0),
    minima=lambda d, **p: _optimum(_online_slope(**p)),
    f_min=lambda d, **p: None,
    dims=(1, 1),
    default_dim=1,
    params=_SLOPES
    + (
        Param("period", 101, "rounds per cycle", kind=int, low=1),
        Param("phase", 1, "the round of each cycle with the large slope (t mod period)", kind=int, low=0),
    ),
    minima_text="x* = -1 (+1 when large < small (period - 1))",
    f_min_text="none (online)",
    online=_online,
)


# reddi-stochastic -----------------------------------------------------------------------------


def _stochastic_slope(large: float = 1010.0, small: float = 10.0, prob: float = 0.01) -> float:
    return prob * large - (1.0 - prob) * small


def _stochastic(d: int, large: float = 1010.0, small: float = 10.0, prob: float = 0.01):
    return _linear_rounds(large, small, lambda t, u: u[..., 0] < prob, 1)


REDDI_STOCHASTIC = ObjectiveSpec(
    name="reddi-stochastic",
    summary="stochastic: the large slope with probability prob, from the member's own stream",
    formula="f_t(x) = large x with probability prob, else -small x   (one uniform draw per round)",
    reference=REFERENCE + ", section 5 (synthetic stochastic experiment)",
    make=lambda d, **p: _linear_kernel(_stochastic_slope(**p)),
    bounds=box(-1.0, 1.0),
    minima=lambda d, **p: _optimum(_stochastic_slope(**p)),
    f_min=lambda d, **p: None,
    dims=(1, 1),
    default_dim=1,
    params=_SLOPES + (Param("prob", 0.01, "probability of the large slope", low=0.0, high=1.0),),
    minima_text="x* = -1 (+1 when prob large < (1 - prob) small)",
    f_min_text="none (online)",
    online=_stochastic,
)


# reddi-theorem1 -------------------------------------------------------------------------------


def _theorem1(d: int, C: float = 3.0):
    return _linear_rounds(C, 1.0, lambda t, u: t % 3 == 1, 0)


REDDI_THEOREM1 = ObjectiveSpec(
    name="reddi-theorem1",
    summary="online: Theorem 1's sequence, on which Adam's average regret stays (2C - 4) / 3",
    formula="f_t(x) = C x if t mod 3 = 1, else -x   (C > 2)",
    reference=REFERENCE + ", Theorem 1",
    make=lambda d, C=3.0: _linear_kernel((C - 2.0) / 3.0),
    bounds=box(-1.0, 1.0),
    minima=lambda d, **p: _optimum(1.0),
    f_min=lambda d, **p: None,
    dims=(1, 1),
    default_dim=1,
    params=(Param("C", 3.0, "the slope of every third round (the paper's C)", low=2.0, low_open=True),),
    minima_text="x* = -1",
    f_min_text="none (online)",
    online=_theorem1,
)

SPECS = (REDDI_ONLINE, REDDI_STOCHASTIC, REDDI_THEOREM1)
