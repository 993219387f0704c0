"""The helper team's hand-off (:mod:`optrun.threads`): what splitting one step over two threads costs.

    python benchmarks/bench_threads.py [rounds]      # needs numba; about 30 s

Times, interleaved in one process (medians of ``rounds``):

* a trivial ``nogil`` kernel (``a[lo:hi] += 1`` over 2,000 elements) called on one thread, and
  split over the team as it is now (helpers watching between steps for ``SPIN_US``, the caller
  taking the shares no helper has started), watching only, and as before issue 16 (sleeping on
  the condition variable, each helper running its own share): the difference to one thread is
  the hand-off, paid on every large numba step;
* the same with a gap between two steps (a busy Python loop standing in for the runner's work:
  objective, trace), to show which gaps the spin window covers;
* the fused gd and AMSGrad steps at d = 1e6 and 1e7, on one thread and on the team in those
  three modes.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable

import numpy as np
from bench_util import Table, fmt_time, interleaved, median, progress, time_loop
from numba import njit

from optrun import threads as T


@njit(nogil=True, cache=True)
def touch(lo, hi, a):
    for j in range(lo, hi):
        a[j] += 1.0


def busy(us: float) -> None:
    end = time.perf_counter() + us * 1e-6
    while time.perf_counter() < end:
        pass


#: the team's modes compared: now (watching, the caller takes unstarted shares), watching only, and
#: as before issue 16 (sleeping on the condition variable, each helper runs its own share)
KEYS = ("new", "spin", "sleep")
MODES = ("team now", "team, watching, no taking", "team as before (sleeping)")


def speedup_note() -> str:
    import bench_kernels as K

    x = K.parallel_speedup(2)
    return (
        f"two threads ran a compute-bound loop {x:.2f}× faster than one here (about 2× on an idle machine)."
    )


def timed(fns: dict[str, Callable[[int], None]], n: int, rounds: int) -> dict[str, list[float]]:
    """Seconds per inner step of each ``fns[k](n)``, interleaved over ``rounds``."""
    return interleaved({k: functools.partial(time_loop, f, n) for k, f in fns.items()}, rounds)


def split_runs(team: T.Team, fn: Callable, calls: list[tuple], gap_us: float) -> dict[str, Callable]:
    """``n`` steps of ``fn`` with a busy gap before each: on one thread, and on the team with its
    helpers spinning or only sleeping."""
    spin = team.spin
    whole = (calls[0][0], calls[-1][1], *calls[0][2:])

    def one(n: int) -> None:
        for _ in range(n):
            busy(gap_us)
            fn(*whole)

    def on_team(n: int, watch: bool, steal: bool = True) -> None:
        team.spin, team.steal = (spin if watch else None), steal
        try:
            for _ in range(n):
                busy(gap_us)
                team.run(fn, calls)
        finally:
            team.spin, team.steal = spin, True

    return {
        "one": one,
        "new": functools.partial(on_team, watch=True),
        "spin": functools.partial(on_team, watch=True, steal=False),
        "sleep": functools.partial(on_team, watch=False, steal=False),
    }


def handoff(rounds: int, gaps=(0.0, 20.0, 50.0, 200.0, 1000.0)) -> Table:
    team, d = T.team(2), 2000
    a = np.zeros(d)
    calls = [(0, d // 2, a), (d // 2, d, a)]
    t = Table(
        f"Hand-off: one call split over the team (trivial kernel, d = {d:,}), time per step minus the gap",
        ["gap", "1 thread", *MODES, *[f"hand-off, {m}" for m in MODES]],
    )
    for gap in gaps:
        progress(f"hand-off, gap {gap:g} us")
        got = timed(split_runs(team, touch, calls, gap), 2000 if gap < 100 else 300, rounds)
        m = {k: median(v) - gap * 1e-6 for k, v in got.items()}
        t.add(
            f"{gap:g} µs",
            *[fmt_time(m[k]) for k in ("one", *KEYS)],
            *[fmt_time(m[k] - m["one"]) for k in KEYS],
        )
    t.notes += [
        f"watch window {T.SPIN_US:g} µs, a yield every {T.YIELD_EVERY} rounds; a gap is a busy Python "
        "loop holding the GIL, as the runner's own work between two steps does.",
        "hand-off = team − 1 thread (the kernel's work is ~1 µs; 'team now' mostly runs both shares on "
        "the caller, which takes the helper's share when the helper has not started it).",
        speedup_note(),
    ]
    return t


def fused_runs(team: T.Team, opt, g: np.ndarray, x: np.ndarray) -> dict[str, Callable]:
    """``n`` fused steps (``apply``) on one thread (``OPTRUN_THREADS=1``) and on the team,
    spinning or only sleeping."""
    spin, box, sq = team.spin, [opt.init(x)], np.empty(1)

    def run(n: int, threads: int, watch: bool = True, steal: bool = True) -> None:
        team.spin, team.steal = (spin if watch else None), steal
        os.environ["OPTRUN_THREADS"] = str(threads)  # read by every step
        try:
            s = box[0]
            for k in range(n):
                s = opt.apply(g, s, x, k % 100 + 1, sq)
            box[0] = s
        finally:
            os.environ.pop("OPTRUN_THREADS")
            team.spin, team.steal = spin, True

    return {
        "one": functools.partial(run, threads=1),
        "new": functools.partial(run, threads=2),
        "spin": functools.partial(run, threads=2, steal=False),
        "sleep": functools.partial(run, threads=2, watch=False, steal=False),
    }


def steps(rounds: int, sizes=(10**6, 10**7), algorithms=("gd", "amsgrad")) -> Table:
    import bench_kernels as K

    from optrun.optimizers import ALGORITHMS

    team = T.team(2)
    t = Table(
        "Fused numba steps on one thread and on the team (apply: x += step and its squared norm)",
        ["algorithm", "d", "1 thread", *MODES, "before / now"],
    )
    rng = np.random.default_rng(5)
    for d in sizes:
        g = rng.standard_normal(d)
        for name in algorithms:
            opt = K.build_default(ALGORITHMS[name].variant(None), "numba", d)
            fns = fused_runs(team, opt, g, rng.standard_normal(d))
            for f in fns.values():
                f(2)
            n = max(3, int(0.02 / max(time_loop(fns["spin"], 3), 1e-7)))
            progress(f"steps {name} d={d:.0e}")
            got = timed(fns, n, rounds)
            m = {k: median(v) for k, v in got.items()}
            ratio = median([b / a for a, b in zip(got["new"], got["sleep"])])
            t.add(name, K.fmt_d(d), *[fmt_time(m[k]) for k in ("one", *KEYS)], f"{ratio:.2f}×")
    t.notes += [
        "before / now: team as before issue 16 (sleeping, helpers run their own shares) over the team as "
        "now, median of the per-round ratios (> 1: faster now).",
        speedup_note(),
    ]
    return t


def main(argv: list[str]) -> int:
    rounds = int(argv[0]) if argv else 7
    print(handoff(rounds).markdown() + "\n")
    print(steps(rounds).markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
