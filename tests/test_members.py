"""The runner's per-member bookkeeping (optrun/runner.py, ``Members``): the vectorized stop rules,
best and final points agree with a member-by-member reference, and closing a chunk costs the same
number of Python calls for 10 members as for 10,000 (no loop over members)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from optrun.runner import COMPLETED, DIVERGED, RUNNING, Members


class Reference:
    """Member by member, as the runner did before it was vectorized."""

    def __init__(self, S, d, target, gtol):
        self.S, self.target, self.gtol = S, target, gtol
        self.status = np.full(S, RUNNING, dtype=np.int8)
        self.reason = ["iterations"] * S
        self.last_row = np.zeros(S, dtype=np.int64)
        self.final_f, self.final_g = np.full(S, np.nan), np.full(S, np.nan)
        self.final_x, self.best_x = np.full((S, d), np.nan), np.full((S, d), np.nan)
        self.best_f, self.best_it = np.full(S, np.inf), np.zeros(S, dtype=np.int64)

    def close(self, first, f, gn, sn, xs):
        n = len(f)
        alive = self.status == RUNNING
        bad = ~(np.isfinite(f) & np.isfinite(gn) & np.isfinite(sn))
        hit = np.zeros_like(bad)
        if self.target is not None:
            hit |= f <= self.target
        if self.gtol is not None:
            hit |= gn <= self.gtol
        event = (bad | hit) & alive
        rows = np.where(alive, n, 0)
        ended = np.zeros(self.S, dtype=bool)
        for s in np.flatnonzero(event.any(axis=0)):
            r = int(np.argmax(event[:, s]))
            rows[s], ended[s] = r + 1, True
            if bad[r, s]:
                self.status[s], self.reason[s] = DIVERGED, "nonfinite"
            else:
                self.status[s] = COMPLETED
                on_target = self.target is not None and f[r, s] <= self.target
                self.reason[s] = "f_target" if on_target else "grad_norm"
        for s in np.flatnonzero(rows):
            m = int(rows[s])
            fs = f[:m, s]
            ok = np.isfinite(fs)
            if ok.any():
                i = int(np.argmin(np.where(ok, fs, np.inf)))
                if fs[i] < self.best_f[s]:
                    self.best_f[s], self.best_it[s] = fs[i], first + i
                    self.best_x[s] = xs[i, s]
            self.last_row[s] = first + m - 1
            self.final_f[s], self.final_g[s] = f[m - 1, s], gn[m - 1, s]
            self.final_x[s] = xs[m - 1, s]
        return rows, ended


def chunk(rng, n, S, d, awkward):
    f = rng.standard_normal((n, S)) ** 2
    gn, sn = rng.random((n, S)), rng.random((n, S))
    xs = rng.standard_normal((n, S, d))
    if awkward:  # non-finite values, ties, values on the stop thresholds
        f[rng.random((n, S)) < 0.02] = np.nan
        f[rng.random((n, S)) < 0.01] = np.inf
        sn[rng.random((n, S)) < 0.01] = -np.inf
        f[rng.random((n, S)) < 0.05] = 0.25
        gn[rng.random((n, S)) < 0.01] = 1e-3
    return f, gn, sn, xs


@pytest.mark.parametrize("target,gtol", [(None, None), (0.01, None), (None, 1e-3), (0.25, 0.002)])
@pytest.mark.parametrize("awkward", [False, True])
def test_members_agree_with_the_member_by_member_reference(target, gtol, awkward):
    rng = np.random.default_rng(7)
    S, d = 60, 3
    new, ref = Members(S, d, target, gtol), Reference(S, d, target, gtol)
    first = 0
    for n in (1, 9, 17, 5):
        f, gn, sn, xs = chunk(rng, n, S, d, awkward)
        want_rows, want_ended = ref.close(first, f, gn, sn, xs)
        c = new.close(first, f, gn**2, sn**2, xs, at_end=False)  # close roots the squared norms
        np.testing.assert_array_equal(c.rows, want_rows)
        np.testing.assert_array_equal(c.ended, want_ended)
        first += n
    np.testing.assert_array_equal(new.status, ref.status)
    assert new.reason.tolist() == ref.reason
    for name in ("last_row", "final_f", "final_g", "final_x", "best_f", "best_it", "best_x"):
        np.testing.assert_array_equal(getattr(new, name), getattr(ref, name), err_msg=name)
    results = new.results(interrupted=True)
    assert [r.iterations for r in results] == ref.last_row.tolist()
    for r, st in zip(results, ref.status):
        assert r.status == {RUNNING: "interrupted", COMPLETED: "completed", DIVERGED: "diverged"}[st]
    if awkward:
        assert (ref.status == DIVERGED).any()


def python_calls(fn, *args, **kw) -> int:
    """How many Python-level function calls ``fn(*args, **kw)`` makes."""
    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(count)
    try:
        fn(*args, **kw)
    finally:
        sys.setprofile(None)
    return calls


def test_closing_a_chunk_makes_as_many_python_calls_for_10_members_as_for_10000():
    counts = {}
    for S in (10, 10_000):
        rng = np.random.default_rng(1)
        m = Members(S, 2, f_target=0.01, grad_norm_tol=None)
        calls = []
        for first in (0, 20):
            f, gn, sn, xs = chunk(rng, 20, S, 2, awkward=False)
            f += 0.02  # above the target, but in every chunk some members diverge, some reach it
            f[3 + first // 10, first // 10 :: 4] = np.nan
            f[7, 1 + first // 10 :: 4] = 0.001
            calls.append(python_calls(m.close, first, f, gn, sn, xs, at_end=first > 0))
        assert (m.status == DIVERGED).sum() == (m.status == COMPLETED).sum() == S // 2
        counts[S] = calls
    assert counts[10] == counts[10_000]
    assert max(counts[10]) < 100
