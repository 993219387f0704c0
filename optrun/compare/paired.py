"""Two configurations tested across seeds: paired by seed when their members share their seeds,
independent samples otherwise.

Members that differ only in algorithm or hyperparameters but have the same ``seed`` start from
the same random point and, on a noisy objective, draw the same noise (common random numbers): the
seed is a block, and the difference within a pair is free of the seed's luck. Such groups are
compared by the Wilcoxon signed-rank test of the pairs (:mod:`optrun.compare.wilcoxon`), which is
far more sensitive than the Mann-Whitney U test of the two samples when the seed moves both
values alike (Law 2015, *Simulation Modeling and Analysis*, 5th ed., section 11.2: common random
numbers). The rule (:func:`seed_pairs`):

* both configurations solve the same problem and each member has a seed (the sweep's ``seed``
  axis), the seeds of each side distinct, and the two sides have the SAME set of seeds: every
  member has a partner. Then the test is paired, pair by pair in seed order;
* the sides share some seeds but not all (a sweep still running, a side with more seeds), or a
  side repeats a seed: not every member has a partner, so the samples are taken as independent
  (Mann-Whitney) and a note says why, rather than dropping members silently;
* no shared seed, no seed axis, or two problems: independent samples, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..store.values import value_key
from .groups import GroupStats, TestResult, mann_whitney_verdict, verdict_line
from .metrics import fmt_number
from .wilcoxon import paired_differences, wilcoxon_signed_rank


@dataclass(frozen=True)
class Pairing:
    """``pairs``: (index in a, index in b) by seed, ascending, or ``None`` (not paired);
    ``note``: why two groups that share seeds are not paired (``None`` when nothing to say)."""

    pairs: list[tuple[int, int]] | None
    note: str | None = None


def _seed_order(seeds: Sequence[object]) -> list[str]:
    return [value_key(s) for s in seeds]


def seed_pairs(a: GroupStats, b: GroupStats) -> Pairing:
    """How ``a``'s and ``b``'s members pair up by seed (see the module docstring)."""
    if a.seeds is None or b.seeds is None or a.problem != b.problem:
        return Pairing(None)
    ka, kb = _seed_order(a.seeds), _seed_order(b.seeds)
    shared = set(ka) & set(kb)
    if not shared:
        return Pairing(None)
    if len(set(ka)) < len(ka) or len(set(kb)) < len(kb):
        return Pairing(
            None,
            f"{a.label} and {b.label}: a seed repeats within a side, so members cannot be paired "
            "by seed: Mann-Whitney test of independent samples",
        )
    if set(ka) != set(kb):
        return Pairing(
            None,
            f"{a.label} and {b.label} share {len(shared)} of their seeds ({a.n} and {b.n} members): "
            "not every member has a partner, so they are not paired by seed: Mann-Whitney test of "
            "independent samples",
        )
    where_b = {k: j for j, k in enumerate(kb)}
    ints = all(isinstance(s, int) and not isinstance(s, bool) for s in a.seeds)
    order = sorted(range(len(ka)), key=lambda i: a.seeds[i] if ints else ka[i])
    return Pairing([(i, where_b[ka[i]]) for i in order])


def wilcoxon_verdict(
    a: GroupStats, b: GroupStats, pairs: Sequence[tuple[int, int]], alpha: float, metric_label: str
) -> TestResult:
    """The Wilcoxon signed-rank test of ``a``'s values against ``b``'s, paired by ``pairs``,
    and its one-line verdict."""
    x = a.values[[i for i, _ in pairs]]
    y = b.values[[j for _, j in pairs]]
    res = wilcoxon_signed_rank(x, y)
    d = paired_differences(x, y)
    n = len(pairs)
    wins_a, wins_b = int(np.sum(d < 0)), int(np.sum(d > 0))
    pa = (wins_a + 0.5 * (n - wins_a - wins_b)) / n
    better = None
    if res.p_value < alpha and res.w_plus != res.w_minus:
        better = a.label if res.w_minus > res.w_plus else b.label
    first, second, wins = (b, a, wins_b) if better == b.label else (a, b, wins_a)
    ties = n - wins_a - wins_b
    figures = (
        f"median {fmt_number(first.median)} vs {fmt_number(second.median)}, {n} pairs by seed, "
        f"{first.label} lower on {wins} of {n}"
        + (f" ({ties} equal)" if ties else "")
        + f"; Wilcoxon signed-rank min(W+, W-) = {res.statistic:g} ({res.method})"
    )
    line = verdict_line(a, b, first, second, better, metric_label, res.p_value, alpha, figures, "paired, ")
    return TestResult(
        a.label,
        b.label,
        dict(a.key),
        a.n,
        b.n,
        a.median,
        b.median,
        None,
        res.p_value,
        res.method,
        pa,
        alpha,
        better,
        line,
        test="wilcoxon",
        n_pairs=n,
        w_plus=res.w_plus,
        w_minus=res.w_minus,
    )


def verdict(a: GroupStats, b: GroupStats, alpha: float, metric_label: str, notes: list[str]) -> TestResult:
    """The test of ``a`` against ``b``: Wilcoxon signed-rank when they pair by seed, Mann-Whitney
    U otherwise (with a note in ``notes`` when shared seeds could not all be paired)."""
    pairing = seed_pairs(a, b)
    if pairing.note and pairing.note not in notes:
        notes.append(pairing.note)
    if pairing.pairs is None:
        return mann_whitney_verdict(a, b, alpha, metric_label)
    return wilcoxon_verdict(a, b, pairing.pairs, alpha, metric_label)
