"""Issue 18: members per second of a sweep on the local process pool and on a two-worker Dask
``LocalCluster`` (``--executor dask``), on the same sweeps.

(a) cheap: 10,000 members of AMSGrad on the 2-D sphere, 100 iterations (ten batches of 1,000):
    the distributed path's overhead shows (tasks, pickled configs and rows, trace bytes sent back
    to the client, which writes them).
(b) slow: a user objective that computes for about 1 ms a call (a busy loop), 4 batches of 32
    members (one per algorithm; the two alphas share a batch), 300 iterations: the work spreads
    over the workers.

Method: ``execute_sweep`` in this process, each path in turn, the order rotated every repeat
(:func:`bench_util.interleaved`), the fastest repeat kept; both paths use two workers (the pool's
processes, the cluster's worker processes with one thread each). The cluster is started once,
before the timings (its start-up is printed apart); the pool forks its workers at each sweep, as
``optrun run`` does. Each sweep writes a full sweep folder (traces every row) in a temporary folder.

    python benchmarks/bench_dask.py            # about a minute
    python benchmarks/bench_dask.py --quick    # about 20 s
    flock /tmp/bench.lock python benchmarks/bench_dask.py   # on a shared machine
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import yaml
from bench_util import Table, fmt_ratio, fmt_time, interleaved, progress

WORKERS = 2
SLOW_MODULE = """\
import time
import numpy as np

def f(x):
    end = time.perf_counter() + 0.001  # about 1 ms of work a call (one call: every member's point)
    while time.perf_counter() < end:
        pass
    return np.sum(x * x * (1 + np.arange(x.shape[-1])), axis=-1)

def g(x):
    return 2 * x * (1 + np.arange(x.shape[-1]))
"""


def plans(folder: str, quick: bool) -> dict[str, object]:
    """The two sweeps (``quick``: a fifth of the cheap one, half the slow one's iterations)."""
    from optrun.sweep import load_plan

    with open(os.path.join(folder, "benchslow.py"), "w") as f:
        f.write(SLOW_MODULE)
    cheap = os.path.join(folder, "cheap.yaml")
    with open(cheap, "w") as f:
        yaml.safe_dump(
            {
                "name": "cheap",
                "objective": "sphere",
                "bounds": [[-1.0, 1.0], [-1.0, 1.0]],
                "algorithm": {"name": "amsgrad", "alpha": 0.01},
                "iterations": 100,
            },
            f,
        )
    slow = os.path.join(folder, "slow.yaml")
    with open(slow, "w") as f:
        yaml.safe_dump(
            {
                "name": "slow",
                "objective": {"function": "benchslow:f", "gradient": "benchslow:g"},
                "bounds": [[-1.0, 1.0]] * 4,
                "algorithm": {"name": "adam", "alpha": 0.01},
                "iterations": 100 if quick else 300,
            },
            f,
        )
    n = 2000 if quick else 10_000
    return {
        f"(a) cheap: {n:,} members, 2-D": load_plan(cheap, (), (f"seed=0:{n}",)),
        "(b) slow: 128 members, ~1 ms a call": load_plan(
            slow,
            (),
            ("algorithm.name=adam,amsgrad,adagrad,nesterov", "algorithm.alpha=0.01,0.02", "seed=0:16"),
        ),
    }


def timed(plan, executor, scratch: str) -> float:
    """Seconds for one sweep of ``plan`` (``executor`` None: the local pool of WORKERS)."""
    from optrun.execution.sweep import execute_sweep

    out = tempfile.mkdtemp(dir=scratch)
    t = time.perf_counter()
    res = execute_sweep(plan, out, workers=WORKERS, executor=executor)
    wall = time.perf_counter() - t
    if res.summary["counts"] != {"completed": len(plan.members)}:
        raise SystemExit(f"bench_dask: the sweep did not complete: {res.summary['counts']}")
    shutil.rmtree(out)
    return wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sweeps, fewer repeats")
    args = ap.parse_args()
    try:
        import distributed
    except ImportError:
        print("bench_dask: needs dask[distributed]: pip install 'optrun[dask]'")
        return 2
    from optrun.execution.dask_executor import DaskExecutor

    repeats = 2 if args.quick else 3
    scratch = tempfile.mkdtemp(prefix="bench-dask-")
    try:
        sweeps = plans(scratch, args.quick)
        t = time.perf_counter()
        cluster = distributed.LocalCluster(
            n_workers=WORKERS,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=50,
        )
        started = time.perf_counter() - t
        try:
            with DaskExecutor(cluster.scheduler_address) as ex:
                table = Table(
                    "Sweeps on the local pool and on a two-worker LocalCluster",
                    ["sweep", "local pool", "members/s", "dask (2 workers)", "members/s", "dask/local"],
                )
                for name, plan in sweeps.items():
                    progress(f"bench_dask: {name}")
                    timed(plan, ex, scratch)  # the workers import what a batch needs, once
                    times = interleaved(
                        {
                            "local": lambda p=plan: timed(p, None, scratch),
                            "dask": lambda p=plan: timed(p, ex, scratch),
                        },
                        repeats,
                    )
                    local, dask = min(times["local"]), min(times["dask"])
                    n = len(plan.members)
                    table.add(
                        name,
                        fmt_time(local),
                        f"{n / local:,.0f}",
                        fmt_time(dask),
                        f"{n / dask:,.0f}",
                        fmt_ratio(dask / local),
                    )
                    spread = {k: max(v) / min(v) for k, v in times.items()}
                    progress(
                        f"  spread of the repeats (slowest/fastest): {spread['local']:.2f} local, "
                        f"{spread['dask']:.2f} dask"
                    )
        finally:
            cluster.close()
        print(
            f"LocalCluster of {WORKERS} worker processes started in {fmt_time(started)} (not in the timings)"
        )
        print(table.markdown())
        print("dask/local: the sweep's wall time on the cluster over the local pool's (>1: slower)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
