"""optrun.compare.stats: quantiles with infinities, average ranks, and the Mann-Whitney U test against
hand-computed textbook values, brute-force enumeration and (when installed) scipy."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from optrun.compare.stats import mann_whitney_u, quantile, rankdata, u_distribution

# ------------------------------------------------------------------------------------ quantiles


@pytest.mark.parametrize("seed", range(5))
def test_quantile_matches_numpy_on_finite_samples(seed):
    rng = np.random.default_rng(seed)
    a = rng.lognormal(size=int(rng.integers(1, 40)))
    for q in (0.0, 0.25, 0.5, 0.75, 1.0, 0.37):
        assert quantile(a, q) == pytest.approx(np.percentile(a, 100 * q), rel=1e-15, abs=0)


def test_quantile_with_infinities_and_nan():
    # sorted [1, 2, inf, inf]: the median interpolates between 2 and inf -> inf (numpy gives nan)
    assert quantile([np.inf, 1.0, np.inf, 2.0], 0.5) == math.inf
    # [1, 2, 3, inf]: h = 0.75 * 3 = 2.25 -> between 3 and inf -> inf; q1: h = 0.75 -> 1.75
    assert quantile([1.0, 2.0, 3.0, np.inf], 0.75) == math.inf
    assert quantile([1.0, 2.0, 3.0, np.inf], 0.25) == 1.75
    assert quantile([5.0, np.nan, 1.0], 0.5) == 3.0  # NaN dropped
    assert math.isnan(quantile([], 0.5))


def test_rankdata_averages_ties():
    ranks, sizes = rankdata([3.0, 1.0, 2.0, 2.0, np.inf, 3.0, 2.0])
    # sorted: 1 | 2 2 2 | 3 3 | inf -> ranks 1 | 3 3 3 | 5.5 5.5 | 7
    assert ranks.tolist() == [5.5, 1.0, 3.0, 3.0, 7.0, 5.5, 3.0]
    assert sorted(sizes.tolist()) == [1, 1, 2, 3]
    with pytest.raises(ValueError, match="NaN"):
        rankdata([1.0, np.nan])


# ------------------------------------------------------------------------------------ exact distribution


def brute_u_counts(n1: int, n2: int) -> list[int]:
    """Counts of U over every choice of the first sample's ranks out of 1..n1+n2 (no ties)."""
    counts = [0] * (n1 * n2 + 1)
    for chosen in itertools.combinations(range(1, n1 + n2 + 1), n1):
        counts[sum(chosen) - n1 * (n1 + 1) // 2] += 1
    return counts


def test_u_distribution_by_hand():
    # n1 = n2 = 3: the 20 arrangements give U = 0..9 with counts 1,1,2,3,3,3,3,2,1,1
    assert u_distribution(3, 3) == [1, 1, 2, 3, 3, 3, 3, 2, 1, 1]
    assert u_distribution(1, 4) == [1, 1, 1, 1, 1]
    assert u_distribution(0, 5) == [1]


@pytest.mark.parametrize("n1, n2", [(4, 5), (2, 7), (6, 6), (7, 3), (1, 1)])
def test_u_distribution_matches_enumeration(n1, n2):
    counts = u_distribution(n1, n2)
    assert counts == brute_u_counts(n1, n2)
    assert sum(counts) == math.comb(n1 + n2, n1) and counts == counts[::-1]


def test_u_distribution_large_is_exact_integers():
    counts = u_distribution(40, 40)
    assert sum(counts) == math.comb(80, 40)  # > 2**53: exact only with integers


# ------------------------------------------------------------------------------------ the test


def test_textbook_separated_samples_exact():
    # x entirely below y: ranks of x are 1, 2, 3 -> R1 = 6, U1 = 6 - 6 = 0, U2 = 9.
    # P(U >= 9) = 1/C(6,3) = 1/20, two-sided p = 2/20 = 0.1
    r = mann_whitney_u([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert (r.u1, r.u2, r.method) == (0.0, 9.0, "exact")
    assert r.p_value == pytest.approx(0.1, rel=1e-15)
    assert r.prob_x_better == 1.0  # lower is better: x always wins


def test_textbook_interleaved_samples_exact():
    # x = 1, 3, 5 and y = 2, 4, 6: R1 = 9, U1 = 3, U2 = 6; P(U >= 6) = (3+2+1+1)/20 = 7/20, p = 0.7
    r = mann_whitney_u([1.0, 3.0, 5.0], [2.0, 4.0, 6.0])
    assert (r.u1, r.u2) == (3.0, 6.0)
    assert r.p_value == pytest.approx(0.7, rel=1e-15)


def test_textbook_ties_normal_approximation():
    # x = 1 2 2 3, y = 2 3 4 5 5. Pooled ranks: 1 -> 1; the three 2s -> 3; the two 3s -> 5.5;
    # 4 -> 7; the two 5s -> 8.5. R1 = 1 + 3 + 3 + 5.5 = 12.5, U1 = 12.5 - 10 = 2.5, U2 = 17.5.
    # Ties t = 3, 2, 2: sum(t^3 - t) = 24 + 6 + 6 = 36; n = 9.
    # var = 4*5/12 * (10 - 36/72) = 15.8333...; z = (17.5 - 10 - 0.5) / sqrt(var)
    r = mann_whitney_u([1.0, 2.0, 2.0, 3.0], [2.0, 3.0, 4.0, 5.0, 5.0])
    assert (r.u1, r.u2, r.method) == (2.5, 17.5, "normal")
    z = 7.0 / math.sqrt(20.0 / 12.0 * 9.5)
    assert r.z == pytest.approx(z, rel=1e-14)
    assert r.p_value == pytest.approx(2.0 * (1.0 - 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))), rel=1e-12)
    assert 0.078 < r.p_value < 0.079


def test_auto_method_rule():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=8), rng.normal(size=30)
    assert mann_whitney_u(a, b).method == "exact"  # one sample <= 8, no ties
    assert mann_whitney_u(rng.normal(size=9), rng.normal(size=9)).method == "normal"
    assert mann_whitney_u([1.0, 1.0, 2.0], [3.0, 4.0]).method == "normal"  # ties
    assert mann_whitney_u(a, b, method="normal").method == "normal"


def test_infinities_rank_last_and_equal_samples():
    r = mann_whitney_u([1.0, 2.0, 3.0], [np.inf, np.inf, 4.0])
    assert r.u1 == 0.0  # every x is below every y, diverged values included
    same = mann_whitney_u([2.0, 2.0, 2.0], [2.0, 2.0])
    assert same.p_value == 1.0 and same.u1 == 3.0


def test_bad_input():
    with pytest.raises(ValueError, match="at least one value"):
        mann_whitney_u([], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        mann_whitney_u([np.nan, 1.0], [1.0])
    with pytest.raises(ValueError, match="unknown method"):
        mann_whitney_u([1.0], [2.0], method="permutation")


def test_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(7)
    for _ in range(400):
        n1, n2 = (int(v) for v in rng.integers(1, 25, 2))
        if rng.random() < 0.5:  # heavy ties
            x, y = rng.integers(0, 5, n1).astype(float), rng.integers(0, 5, n2).astype(float)
        else:
            x, y = rng.normal(size=n1), rng.normal(0.7, size=n2)
        ours = mann_whitney_u(x, y)
        ref = stats.mannwhitneyu(x, y, alternative="two-sided")  # method='auto', continuity on
        assert ours.u1 == ref.statistic
        assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-12, abs=1e-300)
        forced = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic")
        assert mann_whitney_u(x, y, method="normal").p_value == pytest.approx(forced.pvalue, rel=1e-12)
