"""optrun.compare.wilcoxon: the signed-rank test against hand-computed values, brute-force
enumeration of sign patterns and scipy.stats.wilcoxon (many random cases: exact, the sign-flip
enumeration with ties and zeros, the normal approximation)."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

from optrun.compare.wilcoxon import paired_differences, signed_rank_counts, wilcoxon_signed_rank


def brute_counts(doubled_ranks: list[int]) -> list[int]:
    """Counts of 2 W+ over every sign pattern, by enumeration."""
    counts = [0] * (sum(doubled_ranks) + 1)
    for signs in itertools.product((0, 1), repeat=len(doubled_ranks)):
        counts[sum(r for r, s in zip(doubled_ranks, signs) if s)] += 1
    return counts


@pytest.mark.parametrize("ranks", [[2, 4, 6, 8, 10], [3, 3, 6, 10, 10, 14], [1], [], [5, 5, 5, 5]])
def test_sign_pattern_counts_match_enumeration(ranks):
    counts = signed_rank_counts(ranks)
    assert counts == brute_counts(ranks) and sum(counts) == 2 ** len(ranks)


def test_sign_pattern_counts_beyond_int64_are_exact():
    # 62 ranks in int64, the 63rd (2^63 patterns) in Python integers: one more factor (1 + q^126)
    below = signed_rank_counts(list(range(2, 125, 2)))
    above = signed_rank_counts(list(range(2, 127, 2)))
    shifted = [0] * 126 + below
    assert above == [a + b for a, b in zip([*below, *[0] * 126], shifted)]
    assert sum(above) == 2**63 and above == above[::-1]


def test_textbook_all_positive_differences_exact():
    # d = 1 2 3 4 5 (x above y on every pair): W+ = 15, W- = 0; only the all-plus of the 32 sign
    # patterns has W+ >= 15: two-sided p = 2/32
    r = wilcoxon_signed_rank([2.0, 4, 6, 8, 10], [1.0, 2, 3, 4, 5])
    assert (r.w_plus, r.w_minus, r.statistic, r.method, r.n, r.zeros) == (15.0, 0.0, 0.0, "exact", 5, 0)
    assert r.p_value == 2 / 32


def test_textbook_mixed_signs_exact():
    # d = -1, 2, 3, -4, 5, 6: ranks 1..6, W+ = 2+3+5+6 = 16, W- = 5. Sign patterns with W+ <= 5
    # (subsets of 1..6 summing to <= 5): {}, 1, 2, 3, 4, 5, 12, 13, 14, 23 -> 10; p = 2 * 10/64
    r = wilcoxon_signed_rank([-1.0, 2, 3, -4, 5, 6], [0.0] * 6)
    assert (r.w_plus, r.w_minus) == (16.0, 5.0)
    assert r.p_value == 2 * 10 / 64


def test_zeros_are_dropped_and_ties_averaged():
    # d = 0, 0, 1, -1, 2, 2, 2: zeros dropped (m = 5); |d| = 1 1 2 2 2 -> ranks 1.5 1.5 4 4 4;
    # W+ = 1.5 + 12 = 13.5, W- = 1.5. Ties and zeros, 7 pairs: the sign-flip enumeration
    r = wilcoxon_signed_rank([0.0, 3, 1, 0, 2, 2, 2], [0.0, 3, 0, 1, 0, 0, 0])
    assert (r.w_plus, r.w_minus, r.zeros, r.n, r.method) == (13.5, 1.5, 2, 7, "permutation")
    # 2 W+ over the 32 patterns of doubled ranks 3 3 8 8 8: P(2 W+ >= 27) = patterns with both 3s
    # and the three 8s (30) or one 3 and the three 8s (27): 1 + 2 = 3 -> p = 2 * 3/32
    assert r.p_value == 6 / 32


def test_normal_approximation_by_hand():
    # 60 pairs (> 50: normal), d = 1..60 with the sign of -1 on every third: no ties, no zeros
    d = np.array([(-1.0 if k % 3 == 0 else 1.0) * k for k in range(1, 61)])
    r = wilcoxon_signed_rank(d, np.zeros(60))
    w_plus = float(sum(k for k in range(1, 61) if k % 3))
    mu, var = 60 * 61 / 4, 60 * 61 * 121 / 24
    assert r.method == "normal" and r.w_plus == w_plus
    assert r.z == pytest.approx((w_plus - mu) / math.sqrt(var), rel=1e-14)
    assert r.p_value == pytest.approx(math.erfc(abs(r.z) / math.sqrt(2)), rel=1e-14)


def test_auto_rule_follows_scipy():
    rng = np.random.default_rng(3)
    x = rng.normal(size=50)
    assert wilcoxon_signed_rank(x, x + rng.normal(size=50)).method == "exact"  # <= 50, no ties
    assert wilcoxon_signed_rank(rng.normal(size=51), rng.normal(size=51)).method == "normal"
    tied = np.array([1.0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    assert wilcoxon_signed_rank(tied, np.zeros(13)).method == "permutation"  # ties, n <= 13
    assert wilcoxon_signed_rank(np.r_[tied, 13.0], np.zeros(14)).method == "normal"  # ties, n = 14
    assert wilcoxon_signed_rank([1.0, 2, 3], [1.0, 0, 0]).method == "permutation"  # a zero


def test_infinities_and_degenerate_samples():
    # two diverged runs (inf, inf) are a zero difference; one inf ranks above every finite |d|
    assert paired_differences([np.inf, 1.0], [np.inf, 3.0]).tolist() == [0.0, -2.0]
    r = wilcoxon_signed_rank([np.inf, 1.0, 2.0, 3.0], [1.0, 2.0, 4.0, 7.0])
    assert (r.w_plus, r.w_minus) == (4.0, 6.0)  # |d| = inf 1 2 4 -> ranks 4 1 2 3; + only the inf
    same = wilcoxon_signed_rank([1.0, 2.0, np.inf], [1.0, 2.0, np.inf])
    assert (same.p_value, same.zeros, same.statistic) == (1.0, 3, 0.0)


def test_bad_input():
    with pytest.raises(ValueError, match="at least one pair"):
        wilcoxon_signed_rank([], [])
    with pytest.raises(ValueError, match="needs pairs: 2 values against 1"):
        wilcoxon_signed_rank([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        wilcoxon_signed_rank([np.nan, 1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="unknown method"):
        wilcoxon_signed_rank([1.0], [2.0], method="zsplit")


def random_pairs(rng: np.random.Generator, n: int, kind: int) -> tuple[np.ndarray, np.ndarray]:
    """Continuous (no ties), heavily tied integers with zeros, or half the pairs equal (zeros)."""
    if kind == 0:
        return rng.normal(size=n), rng.normal(0.3, size=n)
    if kind == 1:
        return rng.integers(0, 4, n).astype(float), rng.integers(0, 4, n).astype(float)
    x = rng.lognormal(size=n)
    y = x.copy()
    moved = rng.random(n) < 0.5
    y[moved] = rng.lognormal(0.2, size=int(moved.sum()))
    return x, y


def brute_sign_flip_p(x: np.ndarray, y: np.ndarray) -> float:
    """The two-sided p of W+ over all 2^n sign flips of the pairs' differences (zeros dropped,
    average ranks): an independent transcription of the enumeration, by brute force."""
    d = x - y
    d = d[d != 0]
    order = np.argsort(np.abs(d), kind="stable")
    s = np.abs(d)[order]
    ranks = np.empty(d.size)
    i = 0
    while i < d.size:  # average ranks of tied runs
        j = i
        while j + 1 < d.size and s[j + 1] == s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    observed = ranks[d > 0].sum()
    flips = np.array(list(itertools.product((0.0, 1.0), repeat=d.size)))
    null = flips @ ranks
    return min(1.0, 2 * min(np.mean(null <= observed), np.mean(null >= observed)))


def test_against_scipy_on_many_random_cases():
    stats = pytest.importorskip("scipy.stats")
    import scipy

    if tuple(int(v) for v in scipy.__version__.split(".")[:2]) < (1, 13):
        pytest.skip("scipy < 1.13 chooses wilcoxon's method differently")
    rng = np.random.default_rng(17)
    seen: dict[str, int] = {}
    for _ in range(400):
        n = int(rng.integers(2, 14) if rng.random() < 0.3 else rng.integers(2, 70))  # <= 13: enumerated
        x, y = random_pairs(rng, n, int(rng.integers(0, 3)))
        ours = wilcoxon_signed_rank(x, y)
        seen[ours.method] = seen.get(ours.method, 0) + 1
        if ours.n == ours.zeros:
            continue  # every pair equal: scipy has no statistic (nan), ours says p = 1
        if ours.method == "permutation":
            assert ours.p_value == pytest.approx(brute_sign_flip_p(x, y), rel=1e-12)
            if seen["permutation"] > 25:
                continue  # scipy's permutation test takes about a second: 25 of them are enough
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy warns about ties and zeros for 'exact'
            ref = stats.wilcoxon(x, y)  # two-sided, zero_method='wilcox', correction=False, 'auto'
            asym = stats.wilcoxon(x, y, method="asymptotic")
            exact = stats.wilcoxon(x, y, method="exact")
        assert ours.statistic == ref.statistic
        assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-10, abs=0)
        normal = wilcoxon_signed_rank(x, y, method="normal")
        assert normal.p_value == pytest.approx(asym.pvalue, rel=1e-10, abs=0)
        assert -abs(normal.z) == pytest.approx(asym.zstatistic, rel=1e-12)
        forced = wilcoxon_signed_rank(x, y, method="exact")
        assert forced.p_value == pytest.approx(exact.pvalue, rel=1e-10, abs=0)
    assert min(seen.get(m, 0) for m in ("exact", "permutation", "normal")) >= 40, seen
