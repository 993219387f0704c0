"""Thinning: which points of a long curve or search path are worth drawing.

A 100,000-iteration run plots in bounded time because at most a few thousand points per series
are kept, chosen so that what the eye reads survives: the ends, the early iterations, the
envelope of oscillations and spikes (curves), the places where the search moves (paths).
"""

from __future__ import annotations

import numpy as np

THIN_BUDGET = 2000  # points kept per path or curve (before the few always-kept extras)


def _log_spaced(n: int, k: int) -> np.ndarray:
    """About ``k`` distinct indices in ``[0, n)``, evenly spaced in ``log(1 + i)``."""
    return np.unique(np.round(np.expm1(np.linspace(0.0, np.log(n), k))).astype(np.int64).clip(0, n - 1))


def thin_curve(values: np.ndarray, budget: int = THIN_BUDGET) -> np.ndarray:
    """Sorted indices of the points of a curve worth drawing; all of them when ``n <= budget``.

    Otherwise the union of: the first and last point; ``budget/4`` indices log-spaced in the
    iteration number (the early iterations, where curves fall fastest); ``budget/4`` evenly
    spaced; and, in each of ``budget/4`` equal buckets, the points where the curve is lowest
    and highest, so oscillations and spikes keep their envelope (the min/max decimation of
    time-series plotting); plus the first and last finite point and the first non-finite one,
    where a run diverges. At most about ``budget + 4`` indices, whatever ``n``.
    """
    v = np.asarray(values, dtype=float)
    n = len(v)
    if n <= budget:
        return np.arange(n)
    q = max(budget // 4, 1)
    parts = [np.array([0, n - 1]), _log_spaced(n, q), np.linspace(0, n - 1, q).round().astype(np.int64)]
    edges = np.linspace(0, n, q + 1).astype(np.int64)
    finite = np.isfinite(v)
    if finite.any():
        w = np.where(finite, v, np.nan)
        starts = edges[:-1]
        lo = np.fmin.reduceat(w, starts)
        hi = np.fmax.reduceat(w, starts)
        bucket = np.repeat(np.arange(q), np.diff(edges))
        with np.errstate(invalid="ignore"):
            is_lo = w == lo[bucket]
            is_hi = w == hi[bucket]
        # the first index in each bucket that attains the bucket's min (max)
        for hit in (is_lo, is_hi):
            idx = np.flatnonzero(hit)
            if idx.size:
                _, first = np.unique(bucket[idx], return_index=True)
                parts.append(idx[first])
        fi = np.flatnonzero(finite)
        parts.append(fi[[0, -1]])
    bad = np.flatnonzero(~finite)
    if bad.size:
        parts.append(bad[:1])
    return np.unique(np.concatenate(parts))


def thin_path(xy: np.ndarray, budget: int = THIN_BUDGET) -> np.ndarray:
    """Sorted indices of the points of a search path worth drawing; all when ``n <= budget``.

    Otherwise the union of: first and last point; ``3 budget/4`` points evenly spaced in arc length
    along the path (where the search moves, it keeps points; where it creeps near a minimum, it
    drops them); ``budget/4`` log-spaced in the iteration number (the first steps, which
    decide where the search goes); and, when these coincide, enough evenly spaced iterations to
    fill the budget. At most about ``budget + 2`` indices, whatever ``n``.
    ``xy`` must be finite (cut a diverging path at its first non-finite point first).
    """
    p = np.asarray(xy, dtype=float)
    n = len(p)
    if n <= budget:
        return np.arange(n)
    early = max(budget // 4, 1)
    along = max(budget - early, 1)
    parts = [np.array([0, n - 1]), _log_spaced(n, early)]
    seg = np.sqrt(np.sum(np.diff(p, axis=0) ** 2, axis=1))
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] > 0:
        targets = np.linspace(0.0, s[-1], along)
        parts.append(np.searchsorted(s, targets, side="left").clip(0, n - 1))
    else:
        parts.append(np.linspace(0, n - 1, along).round().astype(np.int64))
    idx = np.unique(np.concatenate(parts))
    if len(idx) < budget:  # samples that coincided: fill up the budget evenly in iteration
        idx = np.unique(
            np.concatenate([idx, np.linspace(0, n - 1, budget - len(idx)).round().astype(np.int64)])
        )
    return idx
