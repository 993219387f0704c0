"""The Wilcoxon signed-rank test of paired samples (numpy only; scipy is not a runtime dependency).

Wilcoxon 1945, "Individual comparisons by ranking methods", Biometrics Bulletin 1(6):80-83;
Hollander, Wolfe and Chicken 2014, *Nonparametric Statistical Methods*, 3rd ed., section 3.1.

* Differences ``d_i = x_i - y_i`` of the ``n`` pairs. Zero differences are dropped (Wilcoxon's
  own rule; scipy.stats.wilcoxon's default ``zero_method='wilcox'``), leaving ``m`` of them. Their
  absolute values are ranked 1..m (ties get the average of the ranks they span);
  ``W+`` is the rank sum of the positive differences, ``W-`` of the negative ones
  (``W+ + W- = m (m + 1) / 2``); the statistic reported is ``min(W+, W-)``, as scipy's.
* Exact p-value (no ties, no zeros): under H0 each of the ``2^m`` sign patterns is equally likely,
  and the number with ``W+ = w`` is the coefficient of ``q^w`` in ``prod_{k=1..m} (1 + q^k)``.
  Two-sided: ``p = min(1, 2 min(P(W+ <= w), P(W+ >= w)))``.
* With ties or zeros in a small sample, the same sign-flip distribution of ``W+`` given the
  observed (average) ranks, enumerated exactly (``permutation``: ranks are multiples of 1/2, so
  twice them are integers and the counts are again a product of ``(1 + q^(2 r_i))``).
* Normal approximation otherwise: ``mu = m (m + 1) / 4``, with tie groups of sizes ``t_k``
  among the non-zero ``|d|``, ``sigma^2 = (m (m + 1) (2m + 1) - sum(t_k^3 - t_k) / 2) / 24``;
  ``z = (W+ - mu) / sigma`` without continuity correction (scipy's default ``correction=False``)
  and ``p = 2 (1 - Phi(|z|))``.

The choice of method follows scipy.stats.wilcoxon's ``method='auto'`` (scipy >= 1.13): with ``n``
the number of pairs (zeros included), the normal approximation when ``n > 50``; else ``exact``
when there are no ties and no zeros; else the sign-flip enumeration when ``n <= 13`` (scipy's
exhaustive permutation test); else the normal approximation. So results agree with
``scipy.stats.wilcoxon(x, y)`` (two-sided, defaults). A pair whose two values are both ``+inf``
(two diverged runs) is a zero difference; one ``+inf`` ranks above every finite difference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .stats import rankdata

EXACT_MAX_PAIRS = 50  # scipy's 'auto': exact (no ties, no zeros) up to this many pairs
ENUMERATE_MAX_PAIRS = 13  # scipy's 'auto': exhaustive sign flips (ties or zeros) up to this many


@dataclass(frozen=True)
class Wilcoxon:
    """The result of :func:`wilcoxon_signed_rank`.

    ``w_plus``/``w_minus``: rank sums of the pairs where ``x`` is larger / smaller;
    ``statistic = min(w_plus, w_minus)``; ``p_value`` two-sided; ``method`` ``exact``,
    ``permutation`` or ``normal``; ``n`` pairs of which ``zeros`` had equal values (dropped);
    ``z`` the normal score (``normal`` only). With lower values better, ``x`` is ahead when
    ``w_minus > w_plus``.
    """

    w_plus: float
    w_minus: float
    p_value: float
    method: str
    n: int
    zeros: int
    z: float | None = None

    @property
    def statistic(self) -> float:
        return min(self.w_plus, self.w_minus)


def signed_rank_counts(doubled_ranks: Sequence[int]) -> list[int]:
    """Counts of the ``2^m`` sign patterns by ``2 W+`` (index ``s`` = patterns with ``2 W+ = s``):
    the coefficients of ``prod_i (1 + q^(r_i))`` over the doubled ranks ``r_i`` (exact integers:
    int64 while the total ``2^m`` fits, Python integers beyond)."""
    size = sum(doubled_ranks) + 1
    if len(doubled_ranks) < 63:  # every count <= 2^m < 2^63: numpy, one slice add per rank
        poly = np.zeros(size, dtype=np.int64)
        poly[0] = 1
        top = 0
        for r in doubled_ranks:  # multiply by (1 + q^r)
            poly[r : top + r + 1] += poly[: top + 1].copy()
            top += r
        return poly.tolist()
    big = [0] * size
    big[0] = 1
    top = 0
    for r in doubled_ranks:
        for s in range(top, -1, -1):  # highest powers first
            big[s + r] += big[s]
        top += r
    return big


def paired_differences(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> np.ndarray:
    """``x - y`` pair by pair, with two equal values (two ``+inf`` included) a zero difference.
    Unequal lengths or NaN values raise ValueError."""
    a = np.asarray(x, dtype=np.float64).ravel()
    b = np.asarray(y, dtype=np.float64).ravel()
    if a.size != b.size:
        raise ValueError(f"the signed-rank test needs pairs: {a.size} values against {b.size}")
    if np.isnan(a).any() or np.isnan(b).any():
        raise ValueError("cannot rank NaN values")
    same = a == b
    return np.where(same, 0.0, a - np.where(same, 0.0, b))


def wilcoxon_signed_rank(
    x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, method: str = "auto"
) -> Wilcoxon:
    """Two-sided Wilcoxon signed-rank test of the pairs ``(x_i, y_i)`` (see the module docstring).

    ``method``: ``auto`` (scipy's rule), ``exact`` (the no-ties table on the rounded statistic,
    as scipy's forced ``exact``), ``permutation`` (every sign flip of the observed ranks) or
    ``normal``. Empty samples, unequal lengths or NaN raise ValueError. Every pair equal (no
    non-zero difference) gives ``p = 1``.
    """
    if method not in ("auto", "exact", "permutation", "normal"):
        raise ValueError(f"unknown method '{method}'; use auto, exact, permutation or normal")
    d = paired_differences(x, y)
    n = d.size
    if n == 0:
        raise ValueError("the signed-rank test needs at least one pair")
    nonzero = d[d != 0]
    m, zeros = nonzero.size, n - nonzero.size
    if m == 0:  # no pair differs: no evidence either way
        return Wilcoxon(0.0, 0.0, 1.0, method if method != "auto" else "exact", n, zeros)
    ranks, ties = rankdata(np.abs(nonzero))
    w_plus = float(ranks[nonzero > 0].sum())
    w_minus = m * (m + 1) / 2.0 - w_plus
    has_ties = bool((ties > 1).any())
    if method == "auto":
        if n > EXACT_MAX_PAIRS:
            method = "normal"
        elif not has_ties and zeros == 0:
            method = "exact"
        else:
            method = "permutation" if n <= ENUMERATE_MAX_PAIRS else "normal"
    if method == "normal":
        var = (m * (m + 1) * (2 * m + 1) - float(np.sum(ties.astype(np.float64) ** 3 - ties)) / 2.0) / 24.0
        z = (w_plus - m * (m + 1) / 4.0) / math.sqrt(var)
        p = min(1.0, math.erfc(abs(z) / math.sqrt(2.0)))  # 2 (1 - Phi(|z|))
        return Wilcoxon(w_plus, w_minus, p, "normal", n, zeros, z)
    if method == "exact":  # the no-ties table; a non-integral W+ rounded outwards, as scipy
        counts = signed_rank_counts(list(range(2, 2 * m + 1, 2)))[::2]  # by W+ = 0 .. m(m+1)/2
        below = sum(counts[: math.ceil(w_plus) + 1])
        above = sum(counts[math.floor(w_plus) :])
    else:
        doubled = [round(2.0 * r) for r in ranks.tolist()]
        counts = signed_rank_counts(doubled)
        s = round(2.0 * w_plus)
        below, above = sum(counts[: s + 1]), sum(counts[s:])
    p = min(1.0, 2.0 * min(below, above) / 2**m)
    return Wilcoxon(w_plus, w_minus, p, method, n, zeros)
