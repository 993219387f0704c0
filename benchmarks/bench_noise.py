"""Gradient noise benchmark (issue 17): a 1,000-member sweep on a 10-D sphere, 1,000 steps, with
Gaussian gradient noise against the same sweep without noise.

    python benchmarks/bench_noise.py              # about a minute on 2 cores
    python benchmarks/bench_noise.py --quick      # 200 members, 3 rounds

Method: ``optrun run CONFIG --sweep seed=0:N --workers W`` as a child process, per backend (numpy,
numba), with and without ``objective.noise: {std: 0.1}``, in rotating order after one untimed
warm-up of each; the figure is the sweep's own ``wall_time_s`` (summary.json: the plan, the
batches, the traces and the summary table; no interpreter start-up), median of ``--repeats``
rounds. Every member draws its noise from its own seeded stream, a block of rows per member at
a time (``optrun.objectives.rounds.MemberStreams``), never a Python call per member per step.

Target: with noise at most 1.5x the same sweep without noise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

BASE = {
    "name": "noise-bench",
    "objective": {"name": "sphere", "dim": 10},
    "bounds": [-1.0, 1.0],
    "algorithm": {"name": "adam", "alpha": 0.01},
    "iterations": 1000,
    "trace": {"every": 100},
}


def optrun_bin() -> str:
    here = Path(sys.executable).parent / "optrun"
    return str(here) if here.exists() else "optrun"


def sweep_seconds(config: Path, members: int, workers: int, runs: Path) -> float:
    """The sweep's own wall_time_s, from its summary.json."""
    out = subprocess.run(
        [optrun_bin(), "run", str(config), "--sweep", f"seed=0:{members}", "--workers", str(workers),
         "--runs-dir", str(runs), "--format", "json", "--quiet"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    path = json.loads(out.stdout.strip().splitlines()[-1])["path"]
    return float(json.loads(Path(path, "summary.json").read_text())["wall_time_s"])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--members", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--workers", type=int, default=1, help="pool workers (default 1: no pool noise)")
    p.add_argument("--backends", default="numpy,numba")
    p.add_argument("--quick", action="store_true", help="200 members, 3 rounds")
    a = p.parse_args(argv)
    if a.quick:
        a.members, a.repeats = 200, 3
    backends = a.backends.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        configs = {}
        for backend in backends:
            for noisy in (False, True):
                cfg = {**BASE, "backend": backend}
                if noisy:
                    cfg["objective"] = {**BASE["objective"], "noise": {"std": 0.1}}
                path = work / f"{backend}-{'noise' if noisy else 'exact'}.yaml"
                path.write_text(yaml.safe_dump(cfg, sort_keys=False))
                configs[backend, noisy] = path
        for path in configs.values():  # warm-up: numba's cache, the page cache
            sweep_seconds(path, min(a.members, 50), a.workers, work / "runs")
        times: dict[tuple[str, bool], list[float]] = {k: [] for k in configs}
        order = list(configs)
        for r in range(a.repeats):
            for k in order[r % len(order) :] + order[: r % len(order)]:
                times[k].append(sweep_seconds(configs[k], a.members, a.workers, work / "runs"))
    print(f"# Gradient noise: {a.members} members x 1,000 steps, 10-D sphere, adam, {a.workers} worker(s)")
    print(f"# median of {a.repeats} rounds (the sweep's own wall_time_s); load {os.getloadavg()[0]:.2f}")
    print()
    print("| backend | without noise | with noise (std 0.1) | ratio | target |")
    print("|---|---|---|---|---|")
    for backend in backends:
        exact = statistics.median(times[backend, False])
        noisy = statistics.median(times[backend, True])
        ratio = noisy / exact
        verdict = "PASS" if ratio <= 1.5 else "MISS"
        print(f"| {backend} | {exact:.3f} s | {noisy:.3f} s | {ratio:.2f}x | <= 1.5x {verdict} |")


if __name__ == "__main__":
    main()
