"""A built-in objective's gradient: allocated per call (``value_and_grad``) against written into
the caller's buffer (``evaluate_into``), at large d (issue 16, target 1).

    flock /tmp/bench.lock python benchmarks/bench_objectives.py [--dims 1e6,1e7] [--rounds 9]

Each call of one round is timed alone, the contenders in rotating order (``interleaved``), and
the table prints medians and the ratio of the medians measured in this run. A "pass" is one
streaming read or write of d float64 at the copy speed measured here (``np.copyto``), so the
last column says how many memory passes a call costs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_util import Table, fmt_ratio, fmt_time, interleaved, load_average, median

from optrun.objectives import get_objective


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(name: str, d: int, rounds: int) -> dict[str, float]:
    obj = get_objective(name).build(d)
    x = np.random.default_rng(0).uniform(-1.0, 1.0, (1, d))
    g = np.empty_like(x)
    copy_src, copy_dst = np.empty_like(x), np.empty_like(x)
    f0 = obj.evaluate_into(x, g)  # the first call allocates its temporaries
    f1, g1 = obj.value_and_grad(x)
    assert f0.tobytes() == f1.tobytes() and g.tobytes() == g1.tobytes()
    fns = {
        "value_and_grad": lambda: timed(lambda: obj.value_and_grad(x)),
        "evaluate_into": lambda: timed(lambda: obj.evaluate_into(x, g)),
        "copy": lambda: timed(lambda: np.copyto(copy_dst, copy_src)),
    }
    times = interleaved(fns, rounds)
    return {k: median(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dims", default="1e6,1e7")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--objectives", default="sphere,rosenbrock")
    args = ap.parse_args()
    dims = [int(float(v)) for v in args.dims.split(",")]
    table = Table(
        "gradient into a buffer vs allocated (one row (1, d), per call)",
        ["objective", "d", "value_and_grad", "evaluate_into", "ratio", "passes (into)", "passes (alloc)"],
    )
    for name in args.objectives.split(","):
        for d in dims:
            m = measure(name, d, args.rounds)
            one_pass = m["copy"] / 2.0  # a copy reads d floats and writes d floats
            table.add(
                name,
                f"{d:.0e}",
                fmt_time(m["value_and_grad"]),
                fmt_time(m["evaluate_into"]),
                fmt_ratio(m["value_and_grad"] / m["evaluate_into"]),
                f"{m['evaluate_into'] / one_pass:.1f}",
                f"{m['value_and_grad'] / one_pass:.1f}",
            )
    print(f"medians of {args.rounds} interleaved rounds; load average {load_average()}")
    print(table.markdown())


if __name__ == "__main__":
    main()
