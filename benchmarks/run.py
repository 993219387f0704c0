"""Run every optrun benchmark (issues 9 and 16) and write the results as markdown.

    python benchmarks/run.py            # everything, about 10 minutes on 2 cores
    python benchmarks/run.py --quick    # d <= 1e6, few repeats, about 3 minutes
    python benchmarks/run.py --only kernels,startup --peer-python /tmp/benchvenv/bin/python

Prints each table on stdout as it is measured (progress on stderr) and writes all of them, with
the machine description and the issue-9 targets marked PASS/MISS, to
``benchmarks/results/local/latest.md`` (ignored by git; ``--output benchmarks/results/latest.md``
updates the committed record, on purpose only). Every ratio compares figures measured in this
one run. Peers (torch.optim, optax) are optional: they run in child processes of
``--peer-python`` (default: ``$OPTRUN_BENCH_PEER_PYTHON`` or this interpreter) and are skipped
with a note when not installed there.

Benchmarks (see each module's docstring for the method):
  kernels   bench_kernels.py  step time of every registered algorithm/variant vs the memory roof
  peers     bench_peers.py    torch.optim fused/foreach and optax under jit, same sizes
  tutorial  bench_processes.py  optrun run vs the tutorial's own program, 100,000 iterations
  startup   bench_processes.py  optrun --help / optrun run vs importing the four core packages
  memory    bench_processes.py  peak RSS of a 1,000,000- vs a 1,000-iteration run
  trace     bench_trace.py    trace writing cost per row
  whole     bench_whole.py    a whole run's iteration at d = 1e6, 1e7 vs its kernel plus its gradient;
                              setup and peak memory at d = 1e7 (issue 16)
  sweep     bench_sweep.py    the 10,000-member sweep: 2 vs 1 workers, cost per extra member, the
                              parent's serial part (printed on stdout, not in the results file)
  online    bench_online.py   reddi-online (issue 17): numpy vs numba step by step vs compiled chunks
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_util import Machine, Table, fmt_ratio, fmt_time, load_average, median, progress, verdict  # noqa: E402

SECTIONS = ("kernels", "peers", "tutorial", "startup", "memory", "trace", "whole", "sweep", "online")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    p.add_argument("--quick", action="store_true", help="d <= 1e6, few repeats (a smoke run of the suite)")
    p.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run (default: all of {','.join(SECTIONS)})",
    )
    p.add_argument(
        "--algorithms", default="", help="comma-separated algorithm names (default: every registered one)"
    )
    p.add_argument(
        "--peer-python",
        default=os.environ.get("OPTRUN_BENCH_PEER_PYTHON", sys.executable),
        help="interpreter with torch / jax+optax installed (default: $OPTRUN_BENCH_PEER_PYTHON or this one)",
    )
    p.add_argument(
        "--backends",
        default="",
        help="comma-separated kernel backends to time: numpy, numba (default: numpy, and "
        "numba when installed)",
    )
    p.add_argument("--sizes", default="", help="comma-separated d values, e.g. 1e6,1e7 (default: by mode)")
    p.add_argument(
        "--dtypes", default="float64,float32", help="comma-separated dtypes (default: float64,float32)"
    )
    p.add_argument(
        "--output",
        default=os.path.join(HERE, "results", "local", "latest.md"),
        help="markdown results file (default: benchmarks/results/local/latest.md, ignored by "
        "git; give benchmarks/results/latest.md to update the committed record)",
    )
    a = p.parse_args(argv)
    a.only = [s.strip() for s in a.only.split(",") if s.strip()]
    unknown = [s for s in a.only if s not in SECTIONS]
    if unknown:
        p.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    a.algorithms = {s.strip() for s in a.algorithms.split(",") if s.strip()} or None
    a.backends = [s.strip() for s in a.backends.split(",") if s.strip()] or None
    a.sizes = [int(float(s)) for s in a.sizes.split(",") if s.strip()] or None
    a.dtypes = [s.strip() for s in a.dtypes.split(",") if s.strip()]
    return a


class Report:
    """Collects the sections; prints each table as it comes and rewrites the file after each."""

    def __init__(self, path: str, header: list[str], machine: Machine):
        self.path, self.header, self.machine = path, header, machine
        self.headline = Table(
            "Issue 9 and 16 targets (this run)", ["figure", "measured", "target", "verdict"]
        )
        self.sections: list[tuple[str, list[Table | str]]] = []

    def section(self, title: str, *items: Table | str) -> None:
        self.sections.append((title, list(items)))
        print(f"\n## {title}\n", flush=True)
        for it in items:
            print((it.markdown() if isinstance(it, Table) else it) + "\n", flush=True)
        self.write()

    def write(self, final: bool = False) -> None:
        out = ["# optrun benchmarks: latest results", "", *self.header, "", "## Machine", ""]
        m = Table("", ["", ""])
        for k, v in self.machine.rows:
            m.add(k, v)
        if final:
            m.add("load average at end", load_average())
        out += [m.markdown(), "", "## " + self.headline.title, "", self.headline.markdown(), ""]
        for title, items in self.sections:
            out += [f"## {title}", ""]
            for it in items:
                if isinstance(it, Table):
                    if it.title:
                        out += [f"**{it.title}**", ""]
                    out += [it.markdown(), ""]
                else:
                    out += [it, ""]
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("\n".join(out))
        os.replace(tmp, self.path)


# ---------------------------------------------------------------------------- peers


def run_peers(
    python: str, algorithms: list[str], sizes: list[int], dtypes: list[str], rounds: int, sample_s: float
) -> tuple[dict, list[str], list[tuple[str, str]]]:
    """Time the peers in child processes; returns (times, notes, kernel-table columns)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    base = {
        "algorithms": algorithms,
        "sizes": sizes,
        "dtypes": dtypes,
        "rounds": rounds,
        "rounds_big": max(5, rounds * 2 // 3),
        "sample_s": sample_s,
    }
    runs = [("torch", {**base, "threads": 1, "modes": ["fused", "foreach"]})]
    if cores > 1:
        runs.append(("torch", {**base, "threads": cores, "modes": ["fused"]}))
    runs.append(("optax", base))
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(cores))
    env.setdefault("OPENBLAS_NUM_THREADS", "1")  # numpy's BLAS pool is idle here; keep it out of the way
    env.setdefault("XLA_FLAGS", "")
    times: dict[tuple[str, str, str, int], float] = {}
    what: dict[str, str] = {}
    notes: list[str] = []
    errors: dict[tuple[str, str], set[str]] = {}  # (peer without thread count, error) -> algorithms
    for lib, spec in runs:
        progress(f"peers: {lib} {spec.get('threads', '')} in {python}")
        try:
            p = subprocess.run(
                [python, os.path.join(HERE, "bench_peers.py"), lib, json.dumps(spec)],
                capture_output=True,
                text=True,
                env=env,
                timeout=3600,
            )
        except (OSError, subprocess.SubprocessError) as e:
            notes.append(f"{lib}: could not run {python}: {e}")
            continue
        if p.returncode != 0:
            notes.append(f"{lib}: the peer process failed ({p.stderr.strip().splitlines()[-1:]})")
        for line in p.stdout.splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if "skip" in rec:
                notes.append(f"{lib} skipped: {rec['skip']}")
            elif "info" in rec:
                notes.append(
                    f"{lib} settings: "
                    + ", ".join(f"{k} {v if v != '' else '(none)'}" for k, v in rec["info"].items())
                )
            elif "seconds" in rec:
                times[rec["lib"], rec["algorithm"], rec["dtype"], rec["d"]] = rec["seconds"]
                what[rec["lib"]] = what.get(rec["lib"], "") or rec["what"]
            elif "error" in rec:
                lib_name = re.sub(r"-\d+t$", "", rec["lib"])
                errors.setdefault((lib_name, rec["error"]), set()).add(rec["algorithm"])
    for (lib_name, err), algs in sorted(errors.items()):
        notes.append(f"{lib_name} not measured for {', '.join(sorted(algs))}: {err}")
    libs = sorted({k[0] for k in times}, key=lambda s: (not s.startswith("torch-fused"), s))
    labels = {"optax-jit": "optax jit"}

    def label(lib: str) -> str:
        return labels.get(lib) or re.sub(
            r" (\d+)t$", lambda m: f" {m[1]} thread{'s' if m[1] != '1' else ''}", lib.replace("-", " ")
        )

    cols = [(label(lib), lib) for lib in libs]
    notes.append(
        "Each peer library runs in its own process, one after another, so two thread pools never "
        f"share the {cores} cores: torch with torch.set_num_threads(1) and ({cores}), "
        "set_num_interop_threads(1); XLA with its default CPU pool (XLA_FLAGS as shown); numpy "
        "ufuncs are single-threaded."
    )
    return times, notes, cols


def peers_table(results, times: dict, cols: list[tuple[str, str]]) -> Table:
    from bench_kernels import fmt_d

    t = Table(
        "Peers: step time and ratio to the roof (same arrays moved as the optrun kernel)",
        ["algorithm", "dtype", "d", "roof", *[c for label, _ in cols for c in (label, "× roof")]],
    )
    seen = set()
    for r in results:
        key = (r.algorithm, r.dtype, r.d)
        if r.error or key in seen or not any((lib, *key) in times for _, lib in cols):
            continue
        seen.add(key)
        cells = []
        for _, lib in cols:
            s = times.get((lib, *key))
            cells += [fmt_time(s), fmt_ratio(s / r.roof_s) if s else "—"]
        t.add(r.algorithm, r.dtype, fmt_d(r.d), fmt_time(r.roof_s), *cells)
    return t


# ---------------------------------------------------------------------------- main

#: algorithms whose numba step must be at most torch's fused step on all cores (issue 16)
TORCH_TARGET = ("adagrad", "amsgrad")


def headline_row(hl: Table, r, big: int, fused: list[tuple[str, str]], peer_times: dict) -> None:
    """The headline row of one float64 kernel figure: numba rows at d >= 1e6 against the roof of
    the cores they run on (and torch fused on all cores for AdaGrad and AMSGrad), numpy rows at
    the largest d against the one-core roof or their in-cache floor + one roof."""
    import bench_kernels as K

    measured = f"{fmt_time(r.step_s)} = {fmt_ratio(r.ratio)} 1-core roof ({fmt_time(r.roof_s)})"
    if r.ratio2 is not None:
        measured += f", {fmt_ratio(r.ratio2)} 2-core roof ({fmt_time(r.roof2_s)})"
    if r.traffic and r.backend == "numpy":
        measured += f" ({r.traffic.calls} calls moving {r.traffic.arrays} arrays: its passes imply {r.passes_bound:.2f}×)"
    if r.floor_bound is not None:
        measured += f"; in-cache floor {fmt_ratio(r.floor_ratio)}, floor + roof {fmt_ratio(r.floor_bound)}"
    vs_torch = None
    for label, lib in fused:
        p = peer_times.get((lib, r.algorithm, r.dtype, r.d))
        if p:
            measured += f"; {fmt_ratio(r.step_s / p)} {label} ({fmt_time(p)})"
            if not lib.endswith("-1t"):
                vs_torch = r.step_s / p
    if r.backend == "numba":
        ok = r.target()
        target = "≤ 1.15× the roof of its cores"
        if r.algorithm in TORCH_TARGET:
            target += "; ≤ 1.0× torch fused on all cores"
            ok += f"; vs torch fused {verdict(vs_torch, 1.0) if vs_torch else '(not measured)'}"
        hl.add(f"{r.algorithm}/{r.variant} step, numba, float64, d={K.fmt_d(r.d)}", measured, target, ok)
        return
    hl.add(
        f"{r.algorithm}/{r.variant} step, numpy, float64, d={K.fmt_d(big)}",
        measured,
        "≤ 3× roof at d = 1e7 (or BOUND: within its in-cache floor + roof)",
        r.target() if big >= 10**7 else "(d = 1e7 not run)",
    )


def whole_section(report: Report, hl: Table, quick: bool) -> None:
    """Issue 16, target 1: a whole run's iteration against its kernel plus its gradient, the
    setup at the largest d and the peak memory (:mod:`bench_whole`)."""
    import shutil
    import tempfile

    import bench_whole as W

    ds = [10**6] if quick else [10**6, 10**7]
    runs = tempfile.mkdtemp()
    try:
        speed, setups = W.speed_table(ds, runs)
    finally:
        shutil.rmtree(runs, ignore_errors=True)
    setup = Table(
        f"Setup at d = {max(ds):.0e}: execute() called to the first row handed on",
        ["runs", "median", "max", "target"],
    )
    setup.add(
        len(setups), fmt_time(median(setups)), fmt_time(max(setups)), verdict(median(setups), W.SETUP_LIMIT_S)
    )
    memory = W.memory_table(max(ds), [])
    report.section("6. A whole run at large d", speed, setup, memory)
    hl.add(
        f"setup at d = {max(ds):.0e}", fmt_time(median(setups)), f"< {W.SETUP_LIMIT_S} s", setup.rows[0][3]
    )


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    quick = a.quick
    t_start = time.perf_counter()
    sizes = a.sizes or ([10**3, 10**5, 10**6] if quick else [10**3, 10**5, 10**6, 10**7])
    dtypes = a.dtypes
    rounds = 5 if quick else 11
    sample_s = 0.003 if quick else 0.01
    machine = Machine.describe()
    cmd = "python benchmarks/run.py" + (" --quick" if quick else "")
    header = [
        f"Produced by `{cmd}` ({'quick' if quick else 'full'} mode). Every ratio compares figures "
        "measured in this run. The machine is shared with other engineers' test runs, so expect "
        "noise of ±10-20% on single figures; ratios of interleaved measurements are steadier."
    ]
    report = Report(a.output, header, machine)
    hl = report.headline

    results = []
    if "kernels" in a.only:
        import bench_kernels as K

        backends = a.backends or K.available_backends()
        threads = K.split_threads("numba", 10**7) if "numba" in backends else 1
        speedups = [K.parallel_speedup(threads)] if threads > 1 else []
        results = K.measure(sizes, dtypes, rounds, sample_s, a.algorithms, backends)
        if speedups:
            speedups.append(K.parallel_speedup(threads))
        peer_times, peer_notes, cols = {}, [], []
        if "peers" in a.only:
            algs = sorted({r.algorithm for r in results})
            peer_times, peer_notes, cols = run_peers(a.peer_python, algs, sizes, dtypes, rounds, sample_s)
        allocs = K.allocations(only=a.algorithms)
        kt = K.kernel_table(results, peer_times, cols)
        if speedups and None not in speedups:
            got = " and ".join(f"{x:.2f}×" for x in speedups)
            kt.notes.append(
                f"{threads} threads ran a compute-bound loop {got} faster than one thread (before and after "
                f"the table): about {threads}× on an idle machine, near 1× while other processes hold the "
                "cores, when no two-core figure here is representative."
            )
            hl.add(
                f"speed-up of {threads} threads on a compute-bound loop (before, after the kernel table)",
                got,
                f"about {threads}× (a check of the machine, not a target)",
                "",
            )
        items: list = [kt, K.layout_table(results, allocs)]
        if "peers" in a.only:
            pt = peers_table(results, peer_times, cols)
            pt.notes += peer_notes
            items.append(pt)
        report.section("1. Kernel step time", *items)
        big = max(sizes)
        fused = [(label, lib) for label, lib in cols if lib.startswith("torch-fused")]
        for r in results:
            numba_row = r.backend == "numba" and r.d >= 10**6
            if r.error or r.dtype != "float64" or not (r.d == big or numba_row):
                continue
            headline_row(hl, r, big, fused, peer_times)
        ok = [al for al in allocs if not al.error]
        bad = [
            f"{al.algorithm}/{al.variant} ({al.peak_bytes / (al.d * 8):.1f} arrays)"
            for al in ok
            if al.peak_bytes >= al.d * 4
        ]
        hl.add(
            "kernels allocating d-sized temporaries per step (d = 1e5)",
            f"{len(bad)} of {len(ok)}" + (": " + ", ".join(bad) if bad else ""),
            "none",
            "PASS" if not bad else "MISS",
        )
    if "tutorial" in a.only:
        import bench_processes as P

        t = P.tutorial(3 if quick else 5)
        report.section("2. The tutorial problem", t)
        hl.add("optrun run / tutorial script, 100,000 iterations", t.rows[0][5], "≤ 1.0", t.rows[0][6])
        if "backend=numba" in t.rows[1][0]:
            hl.add(
                "optrun run backend=numba / tutorial script, 100,000 iterations",
                t.rows[1][5],
                "≤ 0.3",
                t.rows[1][6],
            )
    if "startup" in a.only:
        import bench_processes as P

        t1, t2 = P.startup(5 if quick else 15)
        report.section("3. CLI start-up", t1, t2)
        hl.add("`optrun --help` / bare imports", t1.rows[1][2], "≤ 1.3", t1.rows[1][3])
        hl.add("`optrun run` (100 it.) / bare imports", t1.rows[2][2], "≤ 1.6", t1.rows[2][3])
        for row in t2.rows:
            hl.add(f"{row[0]} imports none of: {row[2]}", row[1], "only what is used", row[3])
    if "memory" in a.only:
        import bench_processes as P

        t = P.memory()
        report.section("4. Peak memory", t)
        hl.add("peak RSS, 1,000,000 / 1,000 iterations", t.rows[1][3], "≤ 1.2", t.rows[1][4])
    if "trace" in a.only:
        import bench_trace as B

        t = B.trace_rows(50_000 if quick else 200_000, 3 if quick else 5)
        report.section("5. Trace writing", t)
        hl.add("trace row, 2-D run", t.rows[0][2], "≤ 2 µs", t.rows[0][5])
    if "whole" in a.only:
        whole_section(report, hl, quick)
    if "sweep" in a.only:
        import bench_sweep as SW

        progress("the 10,000-member sweep (bench_sweep.py --quick in quick mode)")
        SW.main(["--quick"] if quick else [])
    if "online" in a.only:
        import bench_online as O

        loop, command = O.tables(quick)
        report.section("7. Online objectives", loop, command)
        hl.add(
            f"reddi-online, {command.rows[0][1]} rounds, optrun run backend=numba",
            command.rows[0][2],
            "a few seconds",
            "",
        )
    report.write(final=True)
    print("\n## " + hl.title + "\n\n" + hl.markdown(), flush=True)
    progress(f"done in {time.perf_counter() - t_start:.0f} s; results in {a.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
