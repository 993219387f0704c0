"""Sweep benchmark (issue 6): a 10,000-member sweep as vectorized batches vs the same runs one at
a time, and the peak memory of a 100,000-member sweep.

    python benchmarks/bench_sweep.py              # about 20-30 s on 2 cores
    python benchmarks/bench_sweep.py --quick      # 2,000 / 20,000 members, a 50-run sample

Method:

* **sweep**: ``optrun run configs/amsgrad.yaml --sweep seed=0:10000 --quiet`` as a child process
  (the AMSGrad tutorial config: 2-D sphere, 100 iterations, every trace row written), timed from
  spawn to exit, so start-up, validation, the process pool, the traces (1,010,000 rows) and the
  summary table are all in the figure. Median of ``--repeats`` runs, with the default workers
  (one per core) and with ``--workers 1``, after one untimed warm-up sweep. The children may
  write bytecode (into a private ``PYTHONPYCACHEPREFIX``, as an installed package has its
  ``.pyc`` files), although this machine sets ``PYTHONDONTWRITEBYTECODE=1``.
* **one at a time**: the same members through the public API in this process,
  ``optrun.execute(config, runs_dir)`` in a loop (each makes its own run folder, as
  ``optrun run`` does). Timing all 10,000 would take minutes, so a sample of ``--sample``
  members (the first seeds) is timed and the total is extrapolated linearly; the table says so.
* **memory**: ``ru_maxrss`` of the sweep's process tree (``wait4`` reports the largest of the CLI
  process and the pool workers it reaped), through the ``bench_rss.py`` middleman so that this
  process's own peak does not leak into the figure; for the 10,000- and the 100,000-member sweep.

Targets (issue 6, this 2-core machine): the 10,000-member sweep in under 5 s, at least 50 times
faster than one at a time; memory bounded (traces are streamed per batch; what grows with the
member count is the summary table, about a kilobyte per member).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_util import (  # noqa: E402 - after the sys.path line above
    REPO_ROOT,
    Machine,
    Table,
    child_env,
    fmt_time,
    load_average,
    median,
    progress,
    run_process,
    sibling_executable,
    verdict,
)

CONFIG = str(REPO_ROOT / "configs" / "amsgrad.yaml")
TARGET_WALL_S = 5.0
TARGET_RATIO = 50.0


def optrun_cmd() -> list[str]:
    exe = sibling_executable("optrun")
    return [exe] if exe else [sys.executable, "-m", "optrun"]


def sweep_once(members: int, workers: int | None, own_rss: bool = False) -> tuple[float, int, int]:
    """(wall seconds, peak RSS KiB, trace rows) of one CLI sweep into a fresh runs folder."""
    runs = tempfile.mkdtemp(prefix="optrun-bench-sweep-")
    try:
        cmd = optrun_cmd() + ["run", CONFIG, "--sweep", f"seed=0:{members}", "--runs-dir", runs, "--quiet"]
        if workers:
            cmd += ["--workers", str(workers)]
        r = run_process(cmd, own_rss=own_rss, cwd=runs, env=child_env())
        if r.returncode != 0:
            raise SystemExit(f"the sweep failed (exit {r.returncode}): {' '.join(cmd)}")
        (folder,) = os.listdir(runs)
        rows = 0
        for name in os.listdir(os.path.join(runs, folder, "traces")):
            with open(os.path.join(runs, folder, "traces", name), "rb") as f:
                rows += sum(1 for _ in f) - 1
        return r.wall_s, r.maxrss_kib, rows
    finally:
        shutil.rmtree(runs, ignore_errors=True)


def one_at_a_time(sample: int) -> float:
    """Seconds per member, run alone through ``optrun.execute``."""
    from dataclasses import replace

    from optrun.config import load_config
    from optrun.execution.run import execute

    base = load_config(CONFIG)
    runs = tempfile.mkdtemp(prefix="optrun-bench-single-")
    old = os.getcwd()
    os.chdir(runs)
    try:
        execute(replace(base, seed=0), os.path.join(runs, "warm"))  # imports, caches
        t0 = time.perf_counter()
        for seed in range(sample):
            out = execute(replace(base, seed=seed), runs)
            assert out.exit_code == 0
        return (time.perf_counter() - t0) / sample
    finally:
        os.chdir(old)
        shutil.rmtree(runs, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="2,000 / 20,000 members and a 50-run sample")
    p.add_argument("--members", type=int, default=10_000, help="members of the timed sweep")
    p.add_argument("--large", type=int, default=100_000, help="members of the memory sweep")
    p.add_argument("--sample", type=int, default=200, help="members timed one at a time")
    p.add_argument("--repeats", type=int, default=3, help="timed sweeps per setting (median)")
    a = p.parse_args(argv)
    if a.quick:
        a.members, a.large, a.sample, a.repeats = 2_000, 20_000, 50, 1
    cores = os.cpu_count() or 1

    print(Table("Machine", ["", ""], [list(r) for r in Machine.describe().rows]).markdown() + "\n")

    progress(f"sweep of {a.members:,} members, default workers ({cores}) and --workers 1, {a.repeats}x")
    walls: dict[str, list[float]] = {"default": [], "1": []}
    rows = 0
    sweep_once(100, None)  # warm-up: fills the bytecode cache and the page cache
    for _ in range(a.repeats):  # interleaved, so a busy spell hits both settings
        for key, w in (("default", None), ("1", 1)):
            wall, _, rows = sweep_once(a.members, w)
            walls[key].append(wall)
    progress(f"{a.sample} members one at a time through optrun.execute")
    per_member = one_at_a_time(a.sample)
    alone_total = per_member * a.members

    t = Table(
        f"Sweep of {a.members:,} members (AMSGrad tutorial config, 2-D sphere, 100 iterations, "
        f"{rows:,} trace rows written)",
        ["how", "wall time", "members/s", "vs one at a time", "target"],
    )
    for key, label in (
        ("default", f"optrun run --sweep (workers = {cores})"),
        ("1", "optrun run --sweep --workers 1"),
    ):
        w = median(walls[key])
        ratio = alone_total / w
        target = (
            f"{verdict(w, TARGET_WALL_S)}; ratio {'PASS' if ratio >= TARGET_RATIO else 'MISS'} "
            f"(≥ {TARGET_RATIO:g}×)"
        )
        t.add(
            label, fmt_time(w), f"{a.members / w:,.0f}", f"{ratio:,.0f}×", target if key == "default" else ""
        )
    t.add(
        "one at a time, optrun.execute",
        f"{fmt_time(alone_total)} (extrapolated)",
        f"{1 / per_member:,.0f}",
        "1×",
        "",
    )
    runs = " / ".join(", ".join(fmt_time(x) for x in walls[k]) for k in ("default", "1"))
    t.notes += [
        f"sweep: median of {a.repeats} child processes each, from spawn to exit (runs: {runs})",
        (
            f"one at a time: {a.sample} members timed in this process ({fmt_time(per_member)} each, "
            f"a run folder each) and extrapolated linearly to {a.members:,}"
        ),
        f"load average after timing (1, 5, 15 min): {load_average()}",
    ]
    print(t.markdown() + "\n")

    progress(f"peak memory: {a.members:,} and {a.large:,} members")
    m = Table(
        "Peak memory of a sweep (ru_maxrss of the largest process: the CLI or a pool worker)",
        ["members", "wall time", "members/s", "peak RSS"],
    )
    peaks = []
    for n in (a.members, a.large):
        wall, kib, rows = sweep_once(n, None, own_rss=True)
        peaks.append(kib * 1024)
        m.add(f"{n:,}", fmt_time(wall), f"{n / wall:,.0f}", f"{kib / 1024:,.0f} MiB")
    m.notes += [
        f"growth: {(peaks[1] - peaks[0]) / (a.large - a.members):,.0f} bytes per additional member",
        (
            "traces are streamed to one file per batch (at most 1,024 members, bounded chunks); what "
            "grows with the member count is the plan (one resolved config per member) and the summary "
            "table (one row per member)"
        ),
    ]
    print(m.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
