"""Order statistics for comparing sweeps: quantiles that tolerate infinities, and the
Mann-Whitney U test (numpy only; scipy is not a runtime dependency).

Mann-Whitney U (Mann and Whitney 1947, "On a test of whether one of two random variables is
stochastically larger than the other", Ann. Math. Statist. 18(1):50-60; Hollander, Wolfe and
Chicken 2014, *Nonparametric Statistical Methods*, 3rd ed., section 4.1):

* Pool the two samples and rank them (ties get the average of the ranks they span). With
  ``R1`` the rank sum of sample ``x`` (size ``n1``), ``U1 = R1 - n1 (n1 + 1) / 2`` counts the pairs
  ``(x_i, y_j)`` with ``x_i > y_j`` (a tie counts 1/2), and ``U2 = n1 n2 - U1``.
* Exact p-value (no ties, small samples): under H0 every one of the ``C(n1 + n2, n1)``
  arrangements of the pooled ranks is equally likely, and the number of arrangements with
  ``U = u`` is the coefficient of ``q^u`` in the Gaussian binomial coefficient
  ``[n1 + n2 choose n1]_q = prod_{i=1..n1} (1 - q^(n2 + i)) / (1 - q^i)`` (Andrews 1976, *The
  Theory of Partitions*, ch. 3). The distribution is symmetric about ``n1 n2 / 2``; the two-sided
  p-value is ``min(1, 2 P(U >= max(U1, U2)))``.
* Normal approximation otherwise: ``mu = n1 n2 / 2`` and, with tie groups of sizes ``t_k``,
  ``sigma^2 = n1 n2 / 12 * ((n + 1) - sum(t_k^3 - t_k) / (n (n - 1)))``;
  ``z = (max(U1, U2) - mu - 1/2) / sigma`` (continuity correction) and ``p = min(1, 2 (1 - Phi(z)))``.

The choice of method follows scipy.stats.mannwhitneyu's ``method='auto'``: exact when there are
no ties and one sample has at most 8 values, the normal approximation otherwise, so results agree
with scipy's defaults (``use_continuity=True``, ``alternative='two-sided'``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EXACT_MAX_SMALLER = 8  # scipy's 'auto': exact when min(n1, n2) <= 8 and there are no ties


def quantile(values: Sequence[float] | np.ndarray, q: float) -> float:
    """The ``q``-quantile (0 <= q <= 1) by linear interpolation between order statistics
    (Hyndman and Fan 1996, definition 7: numpy's and R's default), with ``+inf`` allowed:
    interpolating towards an infinite order statistic gives ``inf`` instead of ``nan``.
    NaN values are dropped; an empty sample gives ``nan``."""
    a = np.asarray(values, dtype=np.float64).ravel()
    a = np.sort(a[~np.isnan(a)])
    if a.size == 0:
        return math.nan
    h = (a.size - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, a.size - 1)
    below, above = float(a[lo]), float(a[hi])
    frac = h - lo
    if frac == 0.0 or below == above:
        return below
    if math.isinf(above) or math.isinf(below):
        return above if math.isinf(above) else below
    return below + (above - below) * frac


def rankdata(values: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks (1-based; tied values share the mean of the ranks they span) and the sizes
    of the tie groups (groups of one included). ``inf`` ranks above every finite value; NaN is
    refused (ValueError)."""
    a = np.asarray(values, dtype=np.float64).ravel()
    if np.isnan(a).any():
        raise ValueError("cannot rank NaN values")
    order = np.argsort(a, kind="mergesort")
    s = a[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    sizes = np.diff(np.r_[starts, s.size])
    mean_rank = starts + (sizes + 1) / 2.0  # ranks starts+1 .. starts+size, averaged
    ranks = np.empty(a.size)
    ranks[order] = np.repeat(mean_rank, sizes)
    return ranks, sizes


def u_distribution(n1: int, n2: int) -> list[int]:
    """Counts of the arrangements with ``U = 0 .. n1 n2`` (exact integers; they sum to
    ``C(n1 + n2, n1)``): the coefficients of the Gaussian binomial ``[n1 + n2 choose n1]_q``."""
    if n1 < 0 or n2 < 0:
        raise ValueError("sample sizes must be >= 0")
    if n1 > n2:
        n1, n2 = n2, n1
    size = n1 * n2 + 1
    poly = [0] * size
    poly[0] = 1
    for i in range(1, n1 + 1):
        # multiply by (1 - q^(n2 + i)), then divide by (1 - q^i): both exact on integers
        a = n2 + i
        for k in range(size - 1, a - 1, -1):
            poly[k] -= poly[k - a]
        for k in range(i, size):
            poly[k] += poly[k - i]
    return poly


@dataclass(frozen=True)
class MannWhitney:
    """The result of :func:`mann_whitney_u`.

    ``u1`` is the statistic of the first sample (pairs where it is *larger*, ties 1/2), ``u2`` of
    the second; ``p_value`` is two-sided; ``method`` is ``exact`` or ``normal``. With lower values
    better, ``prob_x_better = u2 / (n1 n2)`` estimates P(X < Y) + P(X = Y) / 2, the common-language
    effect size (McGraw and Wong 1992).
    """

    u1: float
    u2: float
    p_value: float
    method: str
    n1: int
    n2: int
    z: float | None = None

    @property
    def prob_x_better(self) -> float:
        return self.u2 / (self.n1 * self.n2)


def mann_whitney_u(
    x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, method: str = "auto"
) -> MannWhitney:
    """Two-sided Mann-Whitney U test of samples ``x`` and ``y`` (see the module docstring).

    ``method``: ``auto`` (exact when there are no ties and ``min(n1, n2) <= 8``), ``exact``
    (ties ignored, as scipy) or ``normal`` (tie-corrected, with continuity correction).
    ``+inf`` values (a diverged run) rank above every finite value. Empty samples or NaN values
    raise ValueError.
    """
    a = np.asarray(x, dtype=np.float64).ravel()
    b = np.asarray(y, dtype=np.float64).ravel()
    n1, n2 = a.size, b.size
    if n1 == 0 or n2 == 0:
        raise ValueError("the Mann-Whitney test needs at least one value in each sample")
    if method not in ("auto", "exact", "normal"):
        raise ValueError(f"unknown method '{method}'; use auto, exact or normal")
    ranks, ties = rankdata(np.concatenate([a, b]))
    u1 = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2.0)
    u2 = n1 * n2 - u1
    has_ties = bool((ties > 1).any())
    if method == "auto":
        method = "exact" if not has_ties and min(n1, n2) <= EXACT_MAX_SMALLER else "normal"
    big = max(u1, u2)
    if method == "exact":
        counts = u_distribution(n1, n2)
        k = math.ceil(big)  # U is an integer without ties; with ties (forced exact) round up
        tail = sum(counts[k:])
        p = min(1.0, 2.0 * tail / math.comb(n1 + n2, n1))
        return MannWhitney(u1, u2, p, "exact", n1, n2)
    n = n1 + n2
    mu = n1 * n2 / 2.0
    tie_term = float(np.sum(ties.astype(np.float64) ** 3 - ties)) / (n * (n - 1)) if n > 1 else 0.0
    var = n1 * n2 / 12.0 * ((n + 1) - tie_term)
    if var <= 0:  # every value equal: no evidence either way
        return MannWhitney(u1, u2, 1.0, "normal", n1, n2, 0.0)
    z = (big - mu - 0.5) / math.sqrt(var)
    p = min(1.0, math.erfc(z / math.sqrt(2.0)))  # 2 * (1 - Phi(z)) = erfc(z / sqrt 2)
    return MannWhitney(u1, u2, p, "normal", n1, n2, z)
