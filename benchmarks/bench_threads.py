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
  three modes;
* ``tiles``: the whole fused step (``apply``) of gd, momentum and every AdaGrad and AMSGrad variant
  with the tile drivers before issue 16's target 3 (the kernel called per 32K-element tile, tiles
  at the page offset of ``x``) and now (kernel inlined, one-block tiles for gd and momentum, tiles
  off ``x``'s page offset), on one thread and on two, beside the one- and two-core roofs of
  ``bench_kernels`` (the same traffic, compiled, no hand-off).

    python benchmarks/bench_threads.py [rounds] [tiles]   # tiles: only the last table
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


def _old_apply(lo, hi, tile, sq, C, g, x, *rest):
    acc = np.zeros(g.shape[0])
    for a in range(lo, hi, tile.shape[1]):
        b = min(hi, a + tile.shape[1])
        kernel(a, b, tile, a, True, C, g, x, *rest)  # noqa: F821 (bound by tiles_before)
        sum_tile(b - a, tile, acc)  # noqa: F821
    sq[:] = acc


_OLD: dict[str, Callable] = {}  # kernel name -> its tile driver as before target 3
_OLD_TILES: dict[tuple, np.ndarray] = {}


def tiles_before(name: str) -> Callable[[], None]:
    """Put the tile driver of kernel ``name`` and its tiles back as they were before target 3;
    returns the function that restores them."""
    import types

    from numba import njit

    from optrun.backends import drivers as DR
    from optrun.backends import fused as F
    from optrun.backends import kernels as KN

    if name not in _OLD:
        scope = {"np": np, "kernel": getattr(KN, name), "sum_tile": DR.sum_tile}
        _OLD[name] = njit(error_model="numpy", nogil=True)(
            types.FunctionType(_old_apply.__code__, scope, name)
        )
    old, now_drive, now_tiles, cache = _OLD[name], DR.APPLY[name], F._tiles, _OLD_TILES

    def tiles(threads: int, S: int, kernel: str) -> np.ndarray:
        shape = (threads, S, max(1, (1 << 15) // (S * DR.SUM_BLOCK)) * DR.SUM_BLOCK)
        if shape not in cache:
            cache[shape] = np.empty(shape)
        return cache[shape]

    DR.APPLY[name], F._tiles = old, tiles

    def restore() -> None:
        DR.APPLY[name], F._tiles = now_drive, now_tiles

    return restore


def tiles(rounds: int, sizes=(10**6, 10**7)) -> Table:
    from optrun.optimizers import ALGORITHMS

    specs = [("gd", "standard"), ("momentum", "torch")] + [
        (a, v.name) for a in ("adagrad", "amsgrad") for v in ALGORITHMS[a].variants
    ]
    t = Table(
        "The fused step with the tile drivers before and after target 3, on one thread and on two",
        ["variant", "d", "before, 1 thread", "now, 1 thread", "now / before", "1-core roof",
         "before, 2 threads", "now, 2 threads", "now / before", "2-core roof", "before × 2-core roof",
         "now × 2-core roof"],
    )  # fmt: skip
    rng = np.random.default_rng(7)
    for d in sizes:
        g, x0 = rng.standard_normal(d), rng.standard_normal(d)
        for a, v in specs:
            progress(f"tiles {a}/{v} d={d:.0e}")
            t.add(f"{a}/{v}", *_tiles_row(ALGORITHMS[a].variant(v), g, x0, rounds))
    t.notes += [
        "Every figure is a median over rounds, all contenders interleaved in one process; ratios are "
        "medians of the per-round ratios. Roofs: bench_kernels.Roof.two_cores (the step's traffic in "
        "one compiled call per thread for all the steps of a sample: no per-step hand-off).",
        speedup_note(),
    ]
    return t


def _tiles_row(variant, g: np.ndarray, x0: np.ndarray, rounds: int) -> list[str]:
    import bench_kernels as K

    d = g.shape[-1]
    opt, lay = K.build_default(variant, "numba", d), K.state_layout(variant)
    x, sq = x0.copy(), np.empty(1)
    box, name = [opt.init(x)], _kernel_of(opt, g, x, sq)
    roof = K.Roof(g, x0, lay.k, len(lay.read_only))

    def run(n: int, threads: int, before: bool) -> None:
        restore = tiles_before(name) if before else None
        os.environ["OPTRUN_THREADS"] = str(threads)
        try:
            s = box[0]
            for k in range(n):
                s = opt.apply(g, s, x, k % 100 + 1, sq)
            box[0] = s
        finally:
            os.environ.pop("OPTRUN_THREADS")
            if restore:
                restore()

    fns: dict = {
        (th, b): functools.partial(run, threads=th, before=b) for th in (1, 2) for b in (True, False)
    }
    fns.update({(th, "roof"): roof.two_cores(th) for th in (1, 2)})
    with np.errstate(all="ignore"):
        for f in fns.values():
            f(2)
        n = max(2, int(0.03 / max(time_loop(fns[1, False], 2), 1e-7)))
        got = timed(fns, n, rounds)
    m = {k: median(v) for k, v in got.items()}

    def ratio(p, q) -> str:
        return f"{median([u / w for u, w in zip(got[p], got[q])]):.2f}×"

    return [
        K.fmt_d(d), fmt_time(m[1, True]), fmt_time(m[1, False]), ratio((1, False), (1, True)),
        fmt_time(m[1, "roof"]), fmt_time(m[2, True]), fmt_time(m[2, False]), ratio((2, False), (2, True)),
        fmt_time(m[2, "roof"]), ratio((2, True), (2, "roof")), ratio((2, False), (2, "roof")),
    ]  # fmt: skip


def _kernel_of(opt, g: np.ndarray, x: np.ndarray, sq: np.ndarray) -> str:
    """The name of the kernel ``opt.apply`` calls (one step on copies, with ``fused._call`` spied)."""
    from optrun.backends import fused as F

    seen, real = [], F._call
    F._call = lambda sq_, step, name, *a, **k: seen.append(name)
    try:
        xc = x.copy()
        opt.apply(g, opt.init(xc), xc, 1, sq)
    finally:
        F._call = real
    return seen[0]


def main(argv: list[str]) -> int:
    rounds = int(argv[0]) if argv else 7
    if "tiles" not in argv[1:]:
        print(handoff(rounds).markdown() + "\n")
        print(steps(rounds).markdown() + "\n")
    print(tiles(rounds).markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
