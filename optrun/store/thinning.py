"""The trace thinning and first target crossings shared by single runs and sweeps.

Thinning (``trace.every`` or ``trace.log_per_decade``) follows COCO's "anytime" logging
(Hansen et al., *COCO: performance assessment*, Optimization Methods and Software 36(1), 2021,
section 3): with ``log_per_decade: N`` the trace keeps iteration 0, the iterations t where
floor(N log10 t) increases (N = 10: 1, 2, 3, 4, 6, 7, 8, 10, 13, 16, 20, 26, ...), the
first row where f - f* <= 10^-k for k = 1..8, and each member's last row. A run of 10^6
iterations keeps about 6N + 10 rows, and still says exactly when it first reached each target.
"""

from __future__ import annotations

import math

import numpy as np

TARGETS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8)
TARGET_COLUMNS = tuple(f"hit_{t:.0e}".replace("e-0", "e-") for t in TARGETS)
TARGET_LABELS = tuple(c[len("hit_") :] for c in TARGET_COLUMNS)  # 1e-1 .. 1e-8


def hits_record(hits) -> dict[str, int | None]:
    """A run summary's ``hits``: ``{"1e-1": first iteration with f - f* <= 1e-1 or None, ...}``
    from one member's hits (-1: never), the same figures as a sweep's ``hit_`` columns."""
    return {label: (int(h) if h >= 0 else None) for label, h in zip(TARGET_LABELS, list(hits))}


class LogMarks:
    """The iterations ``t >= 1`` where ``floor(N log10 t)`` increases, plus 0, computed exactly.

    ``floor(N log10 t)`` first reaches ``j`` at ``t_j = min{t : t**N >= 10**j}``; the comparison
    is done in integers, so exact powers of ten are never lost to rounding in ``log10``.
    """

    def __init__(self, per_decade: int):
        self.n = int(per_decade)
        self.marks = [0]
        self._j = 0
        self._next = 1

    def _t(self, j: int) -> int:
        t = max(1, math.ceil(10 ** (j / self.n)))
        p = 10**j
        while t > 1 and (t - 1) ** self.n >= p:
            t -= 1
        while t**self.n < p:
            t += 1
        return t

    def mask(self, first: int, n: int) -> np.ndarray:
        """Boolean ``(n,)``: which of iterations ``first .. first + n - 1`` are marks."""
        last = first + n - 1
        while self._next <= last:
            if self._next != self.marks[-1]:
                self.marks.append(self._next)
            self._j += 1
            self._next = self._t(self._j)
        marks = np.asarray(self.marks, dtype=np.int64)
        lo, hi = np.searchsorted(marks, [first, last + 1])
        out = np.zeros(n, dtype=bool)
        out[marks[lo:hi] - first] = True
        return out


def first_crossings(
    f: np.ndarray, valid: np.ndarray, f_min: float, hits: np.ndarray, first: int
) -> np.ndarray:
    """Rows where a member first gets ``f - f* <= target`` for each of :data:`TARGETS`.

    ``f`` and ``valid`` are ``(n, S)`` (``valid``: the row belongs to the member's run); ``hits``
    ``(len(TARGETS), S)`` holds each member's first iteration per target (-1: not yet) and is
    updated in place. Returns the ``(n, S)`` mask of the rows that are first crossings.
    """
    n, S = f.shape
    cross = np.zeros((n, S), dtype=bool)
    if n == 0:
        return cross
    with np.errstate(invalid="ignore"):
        gap = np.where(valid, f - f_min, np.inf)
    gap[np.isnan(gap)] = np.inf
    for li, level in enumerate(TARGETS):
        todo = hits[li] < 0
        if not todo.any():
            continue
        below = gap[:, todo] <= level
        reached = below.any(axis=0)
        if not reached.any():
            continue
        cols = np.flatnonzero(todo)[reached]
        rows = np.argmax(below[:, reached], axis=0)
        hits[li, cols] = rows + first
        cross[rows, cols] = True
    return cross
