"""Sweep benchmark (issues 6 and 16): a 10,000-member sweep with two workers and one, its cost
per extra member, the parent's serial part, against the same runs one at a time, and the peak
memory of a 100,000-member sweep.

    python benchmarks/bench_sweep.py              # about 40 s on 2 cores
    python benchmarks/bench_sweep.py --quick      # 2,000 / 20,000 members, a 50-run sample
    python benchmarks/bench_sweep.py --base /path/to/other/checkout   # and a before/after table

Method:

* **sweep**: ``optrun run configs/amsgrad.yaml --sweep seed=0:10000 --quiet`` as a child process
  (the AMSGrad tutorial config: 2-D sphere, 100 iterations, every trace row written), timed from
  spawn to exit, so start-up, validation, the process pool, the traces (1,010,000 rows) and the
  summary table are all in the figure; the sweep's own ``wall_time_s`` (summary.json: from its
  folder's first file to its summary, no start-up or plan) is printed beside it. Median of
  ``--repeats`` rounds, each round timing 10,000 and 1,000 members with two workers and with
  ``--workers 1``, in rotating order, after one untimed warm-up sweep. The children may write
  bytecode (into a private ``PYTHONPYCACHEPREFIX``, as an installed package has its ``.pyc``
  files), although this machine sets ``PYTHONDONTWRITEBYTECODE=1``.
* **per extra member**: the slope between the 1,000- and the 10,000-member sweeps (two
  workers), (t(10,000) - t(1,000)) / 9,000: start-up and the pool's fixed cost cancel.
* **the parent's serial part**: measured in this process, piece by piece: the plan
  (``load_plan``), the parent's bookkeeping of the sweep (``execute_sweep`` fed by an executor
  that hands back batch results computed beforehand: the folder, the rows, the summary files),
  and the pickling of the jobs sent to the workers and of the rows they send back (both ends).
  Start-up (Python and the imports of a sweep's CLI process, timed from spawn to exit of a
  ``python -c "import ..."``) is its fixed cost, in the 1,000-member figure too.
* **a floor**: the fixed start, plus the plan, plus the trace text alone shared by two workers:
  a 1,000-member batch's numbers (read back from its file) laid out by the batch writer's
  formatter (``csv_lines``, orjson's shortest round-trip text cut into rows), once per 1,000
  members, in this process. The optimizer's arithmetic, the summary rows, the pickling and the
  summary files come on top: a sweep cannot take less on this machine with these files.
* **one at a time**: the same members through the public API in this process,
  ``optrun.execute(config, runs_dir)`` in a loop (each makes its own run folder, as
  ``optrun run`` does). Timing all 10,000 would take minutes, so a sample of ``--sample``
  members (the first seeds) is timed and the total is extrapolated linearly; the table says so.
* **memory**: ``ru_maxrss`` of the sweep's process tree (``wait4`` reports the largest of the CLI
  process and the pool workers it reaped), through the ``bench_rss.py`` middleman so that this
  process's own peak does not leak into the figure; for the 10,000- and the 100,000-member sweep.

Targets: issue 6, the 10,000-member sweep in under 5 s, at least 50 times faster than one at a
time; issue 16, at most 0.4 s with two workers, at most 35 µs per extra member, two workers at
least 1.7x faster than one.

Measured in one run (2026-12-06 08:32 UTC, commit 0f4f643, load 1.5-1.6 on the 2 cores: wall
times move by ±15% between rounds; results/sweep.md): two workers 633 ms, one 873 ms (1.38x;
1.60x on the sweep's own wall_time_s), 42.2 µs per extra member, CPU 1.07 s / 971 ms; the
parent's serial part 110 ms and its fixed start 157 ms; the floor (fixed start + plan + the trace
text of 1,010,000 rows halved) 353 ms, the text alone 35 µs per member; against main before
issue 16, interleaved: two workers 841 -> 610 ms, one 1.18 s -> 850 ms.
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
    interleaved,
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
# issue 16
TARGET_FAST_S = 0.4  # the 10,000-member sweep with two workers
TARGET_SLOPE_S = 35e-6  # per extra member
TARGET_SPEEDUP = 1.7  # two workers against one


def optrun_cmd() -> list[str]:
    exe = sibling_executable("optrun")
    return [exe] if exe else [sys.executable, "-m", "optrun"]


def sweep_once(
    members: int, workers: int | None, own_rss: bool = False, tree: str | None = None
) -> tuple[float, int, int, float, float]:
    """(wall seconds from spawn to exit, peak RSS KiB, trace rows, the sweep's own wall_time_s,
    CPU seconds of the CLI process and its workers) of one CLI sweep into a fresh runs folder;
    ``tree``: another checkout of optrun (``python -m optrun`` with it on ``PYTHONPATH``)."""
    import json

    runs = tempfile.mkdtemp(prefix="optrun-bench-sweep-")
    try:
        env = child_env()
        if tree:
            env["PYTHONPATH"] = tree
        head = [sys.executable, "-m", "optrun"] if tree else optrun_cmd()
        cmd = head + ["run", CONFIG, "--sweep", f"seed=0:{members}", "--runs-dir", runs, "--quiet"]
        if workers:
            cmd += ["--workers", str(workers)]
        r = run_process(cmd, own_rss=own_rss, cwd=runs, env=env)
        if r.returncode != 0:
            raise SystemExit(f"the sweep failed (exit {r.returncode}): {' '.join(cmd)}")
        (folder,) = os.listdir(runs)
        rows = 0
        for name in os.listdir(os.path.join(runs, folder, "traces")):
            with open(os.path.join(runs, folder, "traces", name), "rb") as f:
                rows += f.read().count(b"\n") - 1
        with open(os.path.join(runs, folder, "summary.json"), "rb") as f:
            inner = json.load(f)["wall_time_s"]
        return r.wall_s, r.maxrss_kib, rows, inner, r.cpu_s
    finally:
        shutil.rmtree(runs, ignore_errors=True)


class _Replay:
    """An executor that hands back batch results computed beforehand, at once: what is left of
    ``execute_sweep`` is the parent's own work."""

    workers = 2

    def __init__(self, results: dict[int, list]):
        self.rows = results

    def results(self, jobs, sig, stopped, progress=None):
        for job in jobs:  # fresh dicts, as unpickled ones are (the sweep takes keys out of them)
            yield job, [dict(r) for r in self.rows[job.batch]]


STARTUP = (
    "import optrun.cli, optrun.cli.run, optrun.execution.sweep, optrun.sweep, concurrent.futures.process"
)


def startup_s(rounds: int) -> float:
    """Seconds from spawn to exit of a Python that imports what a sweep's CLI process imports
    (median of ``rounds``): the fixed start of every sweep, before its plan."""
    times = []
    for _ in range(rounds):
        r = run_process([sys.executable, "-c", STARTUP], env=child_env())
        times.append(r.wall_s)
    return median(times)


def parent_serial(members: int, rounds: int) -> dict[str, float]:
    """Seconds of the parent's serial work for a sweep of ``members`` (medians of ``rounds``):
    the plan, the bookkeeping of execute_sweep, pickling the jobs and the rows (both ends)."""
    import pickle

    from optrun.execution.batch import BatchJob, run_batch
    from optrun.execution.sweep import execute_sweep
    from optrun.sweep import load_plan, make_batches
    from optrun.sweep.batches import batch_configs

    runs = tempfile.mkdtemp(prefix="optrun-bench-parent-")
    try:
        plan = load_plan(CONFIG, [], [f"seed=0:{members}"])
        batches = make_batches(plan.members)
        jobs = [BatchJob(runs, b, idx, batch_configs(plan, idx)) for b, idx in enumerate(batches)]
        results = {j.batch: run_batch(*j, should_stop=lambda: False) for j in jobs}
        shutil.rmtree(os.path.join(runs, "traces"))

        def t_plan() -> float:
            t0 = time.perf_counter()
            load_plan(CONFIG, [], [f"seed=0:{members}"])
            return time.perf_counter() - t0

        def t_sweep() -> float:
            where = tempfile.mkdtemp(dir=runs)
            t0 = time.perf_counter()
            execute_sweep(plan, where, executor=_Replay(results))
            t = time.perf_counter() - t0
            shutil.rmtree(where)
            return t

        def t_pickle() -> float:
            t0 = time.perf_counter()
            for j in jobs:  # the pool pickles each job in the parent and unpickles it in a worker
                pickle.loads(pickle.dumps(tuple(j), pickle.HIGHEST_PROTOCOL))  # as the pool does
            for rows in results.values():  # and the rows back
                pickle.loads(pickle.dumps(rows, pickle.HIGHEST_PROTOCOL))
            return time.perf_counter() - t0

        times = interleaved({"plan": t_plan, "sweep": t_sweep, "pickle": t_pickle}, rounds)
        return {k: median(v) for k, v in times.items()}
    finally:
        shutil.rmtree(runs, ignore_errors=True)


def trace_text_s(members: int, rounds: int) -> float:
    """Seconds to format the trace text of ``members`` members and nothing else (median of
    ``rounds``): a 1,000-member batch's numbers, read back from its file, laid out as the batch
    writer does (:func:`optrun.store.rows.csv_lines`, pieces of the same size), ``members / 1,000``
    times; checked against the file's bytes. The workers' share of the floor."""
    import numpy as np

    from optrun.execution.batch import run_batch
    from optrun.store.rows import PIECE_NUMBERS, csv_lines, int_texts
    from optrun.sweep import load_plan
    from optrun.sweep.batches import batch_configs

    runs = tempfile.mkdtemp(prefix="optrun-bench-text-")
    try:
        idx = list(range(1000))
        run_batch(
            runs,
            0,
            idx,
            batch_configs(load_plan(CONFIG, [], ["seed=0:1000"]), idx),
            should_stop=lambda: False,
        )
        with open(os.path.join(runs, "traces", "batch-0000.csv"), "rb") as f:
            want = f.read().split(b"\n", 1)[1]
    finally:
        shutil.rmtree(runs, ignore_errors=True)
    table = np.loadtxt(want.decode().splitlines(), delimiter=",", ndmin=2)
    heads = [int_texts(table[:, j].astype(np.int64)).tolist() for j in (0, 1)]
    block = np.ascontiguousarray(table[:, 2:])
    step = max(1, PIECE_NUMBERS // block.shape[1])

    def text() -> bytes:
        return b"".join(
            csv_lines([h[a : a + step] for h in heads], block[a : a + step])
            for a in range(0, len(block), step)
        )

    assert text() == want, "the floor's text is not the batch's"
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(max(1, members // 1000)):
            text()
        times.append(time.perf_counter() - t0)
    return median(times)


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


def timed_sweeps(big: int, small: int, repeats: int) -> dict[tuple[int, int], list[tuple[float, ...]]]:
    """(spawn-to-exit, the sweep's own wall_time_s, CPU seconds) of each sweep, by (members,
    workers): rounds of the four settings in rotating order, so a busy spell hits each of them."""
    settings = [(big, 2), (big, 1), (small, 2), (small, 1)]
    out: dict[tuple[int, int], list[tuple[float, ...]]] = {k: [] for k in settings}
    for r in range(repeats):
        for members, w in settings[r % 4 :] + settings[: r % 4]:
            wall, _, _, inner, cpu = sweep_once(members, w)
            out[(members, w)].append((wall, inner, cpu))
    return out


def issue16_table(
    a, cores: int, walls, rows: int, parent: dict[str, float], startup: float, text: float
) -> Table:
    """The sweep with two workers and one, the slope per member, the parent's serial part."""
    big, small = a.members, a.small
    med = {k: median([x[0] for x in v]) for k, v in walls.items()}
    inner = {k: median([x[1] for x in v]) for k, v in walls.items()}
    cpu = {k: median([x[2] for x in v]) for k, v in walls.items()}
    speedup = med[(big, 1)] / med[(big, 2)]
    slope = (med[(big, 2)] - med[(small, 2)]) / (big - small)
    t = Table(
        f"Issue 16: the {big:,}-member sweep ({rows:,} trace rows written) with two workers and one",
        ["figure", "value", "target"],
    )
    t.add(
        f"{big:,} members, 2 workers (spawn to exit)",
        fmt_time(med[(big, 2)]),
        verdict(med[(big, 2)], TARGET_FAST_S),
    )
    t.add(f"{big:,} members, 1 worker (spawn to exit)", fmt_time(med[(big, 1)]), "")
    t.add(
        "2 workers vs 1 (ratio of the medians)",
        f"{speedup:.2f}×",
        f"{'PASS' if speedup >= TARGET_SPEEDUP else 'MISS'} (≥ {TARGET_SPEEDUP:g}×)",
    )
    t.add(
        f"per extra member, slope {small:,} -> {big:,} (2 workers)",
        fmt_time(slope),
        f"{'PASS' if slope <= TARGET_SLOPE_S else 'MISS'} (≤ {TARGET_SLOPE_S * 1e6:g} µs)",
    )
    t.add(
        f"{small:,} members, 2 workers / 1 worker",
        f"{fmt_time(med[(small, 2)])} / {fmt_time(med[(small, 1)])}",
        "",
    )
    t.add(
        f"the sweep's own wall_time_s, {big:,} members, 2 / 1 workers",
        f"{fmt_time(inner[(big, 2)])} / {fmt_time(inner[(big, 1)])} ({inner[(big, 1)] / inner[(big, 2)]:.2f}×)",
        "",
    )
    t.add(
        f"CPU time of all processes, {big:,} members, 2 / 1 workers",
        f"{fmt_time(cpu[(big, 2)])} / {fmt_time(cpu[(big, 1)])}; "
        f"per extra member {fmt_time((cpu[(big, 1)] - cpu[(small, 1)]) / (big - small))} (1 worker)",
        "",
    )
    serial = sum(parent.values())
    t.add(
        f"the parent's serial part, {big:,} members",
        f"{fmt_time(serial)} (plan {fmt_time(parent['plan'])}, bookkeeping and summary "
        f"{fmt_time(parent['sweep'])}, pickling {fmt_time(parent['pickle'])})",
        "",
    )
    t.add("and its fixed start: Python and the imports of a sweep (spawn to exit)", fmt_time(startup), "")
    floor = startup + parent["plan"] + text / 2
    t.add(
        "a floor for 2 workers: the fixed start + the plan + the trace text alone, halved",
        f"{fmt_time(floor)} (the text of {rows:,} rows: {fmt_time(text)}, {fmt_time(text / big)} per member)",
        "a lower bound (the arithmetic, rows, pickling and summary come on top)",
    )
    runs = "; ".join(f"{m:,}x{w}: " + ", ".join(fmt_time(x[0]) for x in walls[(m, w)]) for (m, w) in walls)
    t.notes += [
        f"medians of {a.repeats} rounds (spawn to exit; runs: {runs})",
        "the parent's serial part is measured in this process (medians of 5), see the module's docstring",
        "CPU time: user + system of the CLI process and the workers it reaped (wait4), less sensitive "
        "than wall time to other processes on the machine",
        f"cores: {cores}; load average after timing (1, 5, 15 min): {load_average()}",
    ]
    return t


def before_after(base: str, members: int, repeats: int) -> Table:
    """The sweep with this tree and with ``base`` (another checkout), interleaved."""
    this = "this tree"
    out: dict[tuple[str, int], list[tuple[float, ...]]] = {}
    sweep_once(100, 2, tree=base)  # warm-up of the other tree's bytecode
    for r in range(repeats):
        for who, tree in ((this, None), (base, base))[:: 1 if r % 2 == 0 else -1]:
            for w in (2, 1):
                wall, _, _, inner, cpu = sweep_once(members, w, tree=tree)
                out.setdefault((who, w), []).append((wall, inner, cpu))
    t = Table(
        f"Before and after: the {members:,}-member sweep with {base} and with this tree (interleaved)",
        ["tree", "2 workers", "1 worker", "2 vs 1", "CPU, 2 / 1 workers"],
    )
    for who in (base, this):
        m = {w: median([x[0] for x in out[(who, w)]]) for w in (2, 1)}
        c = {w: median([x[2] for x in out[(who, w)]]) for w in (2, 1)}
        t.add(
            who, fmt_time(m[2]), fmt_time(m[1]), f"{m[1] / m[2]:.2f}×", f"{fmt_time(c[2])} / {fmt_time(c[1])}"
        )
    t.notes.append(f"medians of {repeats} rounds, spawn to exit; load average after: {load_average()}")
    return t


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="2,000 / 20,000 members and a 50-run sample")
    p.add_argument("--members", type=int, default=10_000, help="members of the timed sweep")
    p.add_argument("--small", type=int, default=1_000, help="members of the sweep the slope starts at")
    p.add_argument("--large", type=int, default=100_000, help="members of the memory sweep")
    p.add_argument("--sample", type=int, default=200, help="members timed one at a time")
    p.add_argument("--repeats", type=int, default=3, help="timed rounds per setting (median)")
    p.add_argument("--base", help="also time the sweep with this other checkout of optrun (before/after)")
    a = p.parse_args(argv)
    if a.quick:
        a.members, a.small, a.large, a.sample, a.repeats = 2_000, 200, 20_000, 50, 1
    cores = os.cpu_count() or 1

    print(Table("Machine", ["", ""], [list(r) for r in Machine.describe().rows]).markdown() + "\n")

    progress(f"sweeps of {a.members:,} and {a.small:,} members, 2 workers and --workers 1, {a.repeats}x")
    sweep_once(100, None)  # warm-up: fills the bytecode cache and the page cache
    walls = timed_sweeps(a.members, a.small, a.repeats)
    _, _, rows, _, _ = sweep_once(a.small, 2)
    rows = rows * a.members // a.small
    progress("the parent's serial part, in this process")
    parent = parent_serial(a.members, 5)
    startup = startup_s(5)
    text = trace_text_s(a.members, 5)
    print(issue16_table(a, cores, walls, rows, parent, startup, text).markdown() + "\n")

    if a.base:
        progress(f"before and after: {a.base} and this tree, {a.repeats}x")
        print(before_after(a.base, a.members, a.repeats).markdown() + "\n")

    progress(f"{a.sample} members one at a time through optrun.execute")
    per_member = one_at_a_time(a.sample)
    alone_total = per_member * a.members

    t = Table(
        f"Sweep of {a.members:,} members (AMSGrad tutorial config, 2-D sphere, 100 iterations, "
        f"{rows:,} trace rows written) against the same runs one at a time",
        ["how", "wall time", "members/s", "vs one at a time", "target"],
    )
    for w, label in ((2, "optrun run --sweep --workers 2"), (1, "optrun run --sweep --workers 1")):
        wall = median([x[0] for x in walls[(a.members, w)]])
        ratio = alone_total / wall
        target = (
            f"{verdict(wall, TARGET_WALL_S)}; ratio {'PASS' if ratio >= TARGET_RATIO else 'MISS'} "
            f"(≥ {TARGET_RATIO:g}×)"
        )
        t.add(label, fmt_time(wall), f"{a.members / wall:,.0f}", f"{ratio:,.0f}×", target if w == 2 else "")
    t.add(
        "one at a time, optrun.execute",
        f"{fmt_time(alone_total)} (extrapolated)",
        f"{1 / per_member:,.0f}",
        "1×",
        "",
    )
    t.notes += [
        f"sweep: the medians above (spawn to exit, {a.repeats} rounds)",
        (
            f"one at a time: {a.sample} members timed in this process ({fmt_time(per_member)} each, "
            f"a run folder each) and extrapolated linearly to {a.members:,}"
        ),
    ]
    print(t.markdown() + "\n")

    progress(f"peak memory: {a.members:,} and {a.large:,} members")
    m = Table(
        "Peak memory of a sweep (ru_maxrss of the largest process: the CLI or a pool worker)",
        ["members", "wall time", "members/s", "peak RSS"],
    )
    peaks = []
    for n in (a.members, a.large):
        wall, kib, _, _, _ = sweep_once(n, None, own_rss=True)
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
