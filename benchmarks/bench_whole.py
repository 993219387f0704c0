"""Issue 16, target 1: a whole ``optrun run`` iteration at large d against its kernel plus its gradient.

    python benchmarks/bench_whole.py            # d = 1e6 and 1e7, about 2 minutes on 2 cores
    python benchmarks/bench_whole.py --quick    # d = 1e6 only
    python benchmarks/bench_whole.py --optrun /work/wt/base16   # another checkout's optrun
    python benchmarks/bench_whole.py --setup-only               # setup at d = 1e7 alone, ~30 s

For sphere and Rosenbrock, AMSGrad and AdaGrad (the tutorial configs), the numba and the numpy
backend, at each d:

* **whole**: one real run through the public API (``load_config`` with overrides, then
  ``optrun.execution.run.execute``, exactly what ``optrun run`` calls, trace and summary written);
  a :class:`Reporter` timestamps each row handed on, and the figure is the median time between
  consecutive rows after the first two (every row is its own chunk at these d), so start-up,
  setup and the final write are excluded.
* **kernel**: the optimizer step the runner pays for, alone: ``apply`` (numba's fused step, with
  the step norm) or ``update`` then ``x += step`` (numpy), on the optimizer ``optrun run`` builds.
* **gradient**: the objective's gradient into a preallocated buffer (``evaluate_into`` when the
  objective has one; else ``value_and_grad``, which allocates, as at commits before issue 16).
* **ratio** whole / (kernel + gradient), PASS when at most 1.3 (the runner adds at most 30%).

Kernel and gradient run on their own arrays between two iterations of the run (from the
reporter's callback, whose time is taken out of the run's), so every iteration is measured right
beside the parts it is compared with; the ratio is the median of those per-iteration ratios.
The machine is shared: rerun a MISS near the limit before believing it.
Then, at d = 1e7 (1e6 with ``--quick``): **setup**, from ``execute()`` being called to the first
row handed on (config already loaded: building the problem, the folder, the state, the first
gradient), target under 0.5 s at d = 1e7; and **peak memory**: each configuration run in a child
process (``bench_rss.py``) and its peak RSS less that of the same run at d = 2, against the
bytes of the arrays the algorithm and the objective need: ``x``, the gradient, the optimizer
state arrays that carry information between steps (AMSGrad 3, AdaGrad 1) and the objective's own
temporaries (what its ``evaluate_into`` keeps, measured here with tracemalloc: Rosenbrock's
``x_{i+1} - x_i^2`` and its neighbour terms, sphere none), target at most 1.3x. The best point
(a second point buffer: the run reports it) is counted in a second ratio, "+ best x"; a
kernel's scratch fields and anything else the run holds count against it.

Only public names that exist before and after issue 16 are used (``evaluate_into`` and the
fused ``apply`` are looked up with ``getattr``), so the same script measures an older checkout.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

if __name__ == "__main__" and "--optrun" in sys.argv:  # before optrun is imported anywhere
    sys.path.insert(0, os.path.abspath(sys.argv[sys.argv.index("--optrun") + 1]))

from bench_util import Table, fmt_ratio, fmt_time, median, progress, verdict  # noqa: E402

LIMIT = 1.3
SETUP_LIMIT_S = 0.5
CONFIGS = {"amsgrad": "configs/amsgrad.yaml", "adagrad": "configs/adagrad.yaml"}
#: state arrays that carry information from one step to the next (bench_kernels' ``k``)
PERSISTENT = {"amsgrad": 3, "adagrad": 1}


def overrides(objective: str, d: int, backend: str, iterations: int) -> list[str]:
    return [
        f"objective={objective}",
        f"objective.dim={d}",
        "bounds=[-1.0, 1.0]",
        f"iterations={iterations}",
        f"backend={backend}",
    ]


def config(algorithm: str, objective: str, d: int, backend: str, iterations: int):
    from optrun.config import load_config

    path = os.path.join(os.path.dirname(HERE), CONFIGS[algorithm])
    return load_config(path, overrides(objective, d, backend, iterations))


class Clock:
    """A reporter that timestamps each row handed on (a chunk: one row at these d) and, between
    two rows, runs ``between()`` (one kernel step and one gradient on separate arrays), whose own
    time is taken out of the run's: each iteration of the run is measured right beside one of the
    parts it is compared with, under the same load."""

    def __init__(self, between) -> None:
        self.between = between
        self.rows: list[tuple[int, float, float]] = []  # (iteration, entered, left)

    def start(self, run_id, path, config) -> None:
        pass

    def progress(self, iteration, total, f, best_f) -> None:
        entered = time.perf_counter()
        if self.rows:  # not before the first row: the first step is the setup's
            self.between()
        self.rows.append((iteration, entered, time.perf_counter()))

    def iterations(self, lines) -> None:
        pass

    def finish(self, outcome) -> None:
        pass


def whole(cfg, runs: str, between) -> tuple[list[float], float]:
    """(seconds of each iteration of a real run after the first two, seconds from execute() to its
    first row)."""
    from optrun.execution.run import execute

    clock = Clock(between)
    t0 = time.perf_counter()
    out = execute(cfg, runs, clock)
    if out.summary.get("status") != "completed":
        raise RuntimeError(f"the run ended {out.summary.get('status')}: {out.summary.get('error')}")
    rows = clock.rows
    steps = [(e1 - l0) / (i1 - i0) for (i0, _, l0), (i1, e1, _) in itertools.pairwise(rows[2:]) if i1 > i0]
    shutil.rmtree(out.path, ignore_errors=True)
    return steps, rows[0][1] - t0


class Parts:
    """The optimizer step alone and the gradient into a buffer alone, on their own arrays: one of
    each per call, their times appended to ``kernel`` and ``gradient``."""

    def __init__(self, cfg) -> None:
        import numpy as np

        from optrun.problem import build_single

        objective, optimizer, x0 = build_single(cfg)
        self.x = np.array(x0, dtype=np.float64)
        self.g = np.empty_like(self.x)
        self.g[...] = objective.value_and_grad(self.x)[1]
        self.objective, self.optimizer = objective, optimizer
        self.into = getattr(objective, "evaluate_into", None)
        self.apply = getattr(optimizer, "apply", None)
        self.state = optimizer.init(self.x)
        self.sq = np.empty(self.x.shape[0])
        self.t = 0
        self.kernel: list[float] = []
        self.gradient: list[float] = []

    def __call__(self) -> None:
        import numpy as np

        x, g = self.x, self.g
        self.t = self.t % 100 + 1  # bias corrections stay far from subnormal numbers
        with np.errstate(all="ignore"):
            t0 = time.perf_counter()
            if self.apply is not None:
                self.state = self.apply(g, self.state, x, self.t, self.sq)
            else:
                step, self.state = self.optimizer.update(g, self.state, x, self.t)
                np.add(x, step, out=x)
            t1 = time.perf_counter()
            if self.into is not None:
                self.into(x, g)
            else:  # an objective without evaluate_into (before issue 16): its allocating call
                self.objective.value_and_grad(x)
            t2 = time.perf_counter()
        self.kernel.append(t1 - t0)
        self.gradient.append(t2 - t1)


def speed_table(ds: list[int], runs: str) -> tuple[Table, list[float]]:
    t = Table(
        "Whole `optrun run` iteration vs kernel + gradient into a buffer (issue 16, target 1)",
        ["d", "objective", "algorithm", "backend", "whole", "kernel", "gradient", "sum", "ratio", "target"],
    )
    setups = []
    for d in ds:
        iterations = 24 if d >= 10**7 else 60
        for objective in ("sphere", "rosenbrock"):
            for algorithm in ("amsgrad", "adagrad"):
                for backend in ("numba", "numpy"):
                    progress(f"whole: d={d:g} {objective} {algorithm} {backend}")
                    cfg = config(algorithm, objective, d, backend, iterations)
                    parts = Parts(cfg)
                    steps, setup = whole(cfg, runs, parts)
                    del parts.state, parts.x, parts.g
                    if d == max(ds):
                        setups.append(setup)
                    n = min(len(steps), len(parts.kernel) - 1)
                    ks, gs = parts.kernel[1:][-n:], parts.gradient[1:][-n:]
                    ratios = [w_ / (k_ + g_) for w_, k_, g_ in zip(steps[-n:], ks, gs)]
                    w, k, g, r = median(steps), median(ks), median(gs), median(ratios)
                    t.add(
                        f"{d:.0e}",
                        objective,
                        algorithm,
                        backend,
                        fmt_time(w),
                        fmt_time(k),
                        fmt_time(g),
                        fmt_time(k + g),
                        fmt_ratio(r),
                        verdict(r, LIMIT),
                    )
    t.notes.append(
        "whole: median time of one iteration of a run (between two rows handed on); kernel: "
        "`apply` (numba) or `update` + `x += step` (numpy); gradient: `evaluate_into` into a "
        "preallocated buffer (`value_and_grad` where the objective has none); each kernel step and "
        "gradient is measured between two iterations of the run; ratio: median of the per-iteration "
        "ratios whole / (kernel + gradient measured beside it)"
    )
    return t, setups


CHILD = """
import json, shutil, sys, tempfile
sys.path[:0] = json.loads(sys.argv[1])
import bench_whole as B
cfg = B.config(*json.loads(sys.argv[2]))
from optrun.execution.run import execute
runs = tempfile.mkdtemp()
try:
    print(json.dumps(execute(cfg, runs).summary.get("status")))
finally:
    shutil.rmtree(runs, ignore_errors=True)
"""


def peak_rss_kib(args: list, extra_path: list[str]) -> int:
    """Peak RSS of a child running one configuration (through bench_rss.py: its own figure)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "rss.json")
        cmd = [sys.executable, os.path.join(HERE, "bench_rss.py"), out, sys.executable, "-c", CHILD]
        cmd += [json.dumps([HERE, *extra_path]), json.dumps(args)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(out, encoding="utf-8") as f:
            return json.load(f)["maxrss_kib"]


def objective_scratch(objective: str, d: int) -> float:
    """Arrays of d the objective's ``evaluate_into`` keeps for its temporaries (tracemalloc, on a
    fresh objective; 0 for an objective without ``evaluate_into``, whose call allocates instead)."""
    import tracemalloc

    import numpy as np

    from optrun.objectives import get_objective

    obj = get_objective(objective).build(d)
    into = getattr(obj, "evaluate_into", None)
    if into is None:
        return 0.0
    x = np.random.default_rng(0).uniform(-1.0, 1.0, (1, d))
    g = np.empty_like(x)
    tracemalloc.start()
    try:
        into(x, g)
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return round(kept / (8 * d), 2)


def memory_table(d: int, extra_path: list[str]) -> Table:
    t = Table(
        f"Peak memory of `optrun run` at d = {d:.0e} (5 iterations) vs the arrays it needs",
        [
            "objective",
            "algorithm",
            "backend",
            "peak RSS above d = 2",
            "needed",
            "ratio",
            "target",
            "needed + best x",
            "ratio",
            "target",
        ],
    )
    for objective in ("sphere", "rosenbrock"):
        scratch = objective_scratch(objective, d)
        for algorithm in ("amsgrad", "adagrad"):
            for backend in ("numba", "numpy"):
                progress(f"memory: d={d:g} {objective} {algorithm} {backend}")
                small = peak_rss_kib([algorithm, objective, 2, backend, 5], extra_path)
                big = peak_rss_kib([algorithm, objective, d, backend, 5], extra_path)
                arrays = 2 + PERSISTENT[algorithm] + scratch
                needed = arrays * 8 * d
                extra = (big - small) * 1024
                r, rb = extra / needed, extra / (needed + 8 * d)
                t.add(
                    objective,
                    algorithm,
                    backend,
                    f"{extra / 2**20:.0f} MiB ({extra / (8 * d):.1f} arrays)",
                    f"{needed / 2**20:.0f} MiB ({arrays:g} arrays)",
                    fmt_ratio(r),
                    verdict(r, LIMIT),
                    f"{arrays + 1:g} arrays",
                    fmt_ratio(rb),
                    verdict(rb, LIMIT),
                )
    t.notes.append(
        "needed: x, the gradient, the optimizer state arrays that carry information between steps "
        "and the objective's own temporaries (what its evaluate_into keeps, measured with "
        "tracemalloc); + best x: the best point too, which the run reports (a second point buffer)"
    )
    return t


def setup_table(d: int, runs: str, rounds: int = 3) -> Table:
    """Setup alone (``--setup-only``): each configuration's execute() to its first row, ``rounds``
    times after a d = 2 run of it (imports and compiled code out of the figure)."""
    t = Table(
        f"Setup at d = {d:.0e}: execute() called to the first row handed on ({rounds} runs each)",
        ["objective", "algorithm", "backend", "median", "max", "target"],
    )
    for objective in ("sphere", "rosenbrock"):
        for algorithm in ("amsgrad", "adagrad"):
            for backend in ("numba", "numpy"):
                progress(f"setup: d={d:g} {objective} {algorithm} {backend}")
                whole(config(algorithm, objective, 2, backend, 3), runs, lambda: None)
                cfg = config(algorithm, objective, d, backend, 3)
                times = [whole(cfg, runs, lambda: None)[1] for _ in range(rounds)]
                m = median(times)
                t.add(
                    objective,
                    algorithm,
                    backend,
                    fmt_time(m),
                    fmt_time(max(times)),
                    verdict(m, SETUP_LIMIT_S),
                )
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="d = 1e6 only")
    ap.add_argument("--optrun", help="a checkout whose optrun to measure (put first on sys.path)")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory table")
    ap.add_argument("--setup-only", action="store_true", help="only the setup of every configuration")
    a = ap.parse_args()
    ds = [10**6] if a.quick else [10**6, 10**7]
    extra_path = [os.path.abspath(a.optrun)] if a.optrun else []
    import optrun

    print(f"optrun from {os.path.dirname(optrun.__file__)}\n")
    runs = tempfile.mkdtemp()
    try:
        if a.setup_only:
            print(setup_table(max(ds), runs).markdown())
            return
        speed, setups = speed_table(ds, runs)
        print(speed.markdown() + "\n")
        s = Table(
            f"Setup at d = {max(ds):.0e}: execute() called to the first row handed on",
            ["runs", "median", "max", "target"],
        )
        s.add(
            len(setups),
            fmt_time(median(setups)),
            fmt_time(max(setups)),
            verdict(median(setups), SETUP_LIMIT_S),
        )
        print(s.markdown() + "\n")
        if not a.no_memory:
            print(memory_table(max(ds), extra_path).markdown())
    finally:
        shutil.rmtree(runs, ignore_errors=True)


if __name__ == "__main__":
    main()
