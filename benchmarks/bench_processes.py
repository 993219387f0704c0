"""Benchmarks 2-4: whole processes, timed from spawn to exit and reaped with ``wait4``.

2. The AMSGrad tutorial problem at 100,000 iterations: ``optrun run configs/amsgrad.yaml
   iterations=100000`` (full trace written) against the tutorial's own program
   (``tutorial_amsgrad.py``, its per-iteration line sent to a file).
3. Start-up: ``optrun --help`` and the 100-iteration ``optrun run configs/amsgrad.yaml`` against
   ``python -c "import numpy, click, yaml, rich"``, plus which heavy modules each command imports.
4. Peak memory (``ru_maxrss`` of the child) of a 1,000,000-iteration 2-D run against a
   1,000-iteration run.

Contenders are run interleaved, rotating the order every round, and compared by medians.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile

from bench_util import (
    REPO_ROOT,
    ProcResult,
    Table,
    child_env,
    fmt_ratio,
    fmt_time,
    interleaved,
    median,
    progress,
    run_process,
    sibling_executable,
    verdict,
)

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = "configs/amsgrad.yaml"
HEAVY = ("numpy", "matplotlib", "scipy", "numba", "pandas", "torch", "jax", "optax", "rich", "yaml", "click")
FORBIDDEN = {
    "--help": {"numpy", "matplotlib", "scipy", "numba", "pandas", "torch", "jax", "optax"},
    "run": {"matplotlib", "scipy", "numba", "pandas", "torch", "jax", "optax"},
}


def optrun_cmd() -> list[str]:
    """The ``optrun`` console script of the running interpreter's environment (what users type)."""
    exe = sibling_executable("optrun")
    return [exe] if exe else [sys.executable, "-m", "optrun"]


class Scratch:
    """A temporary folder for run folders and captured output, emptied between runs."""

    def __init__(self) -> None:
        self.root = tempfile.mkdtemp(prefix="optrun-bench-")

    def runs(self) -> str:
        path = os.path.join(self.root, "runs")
        shutil.rmtree(path, ignore_errors=True)
        return path

    def file(self, name: str) -> str:
        return os.path.join(self.root, name)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _checked(r: ProcResult, what: str, log: str) -> ProcResult:
    if r.returncode != 0:
        tail = ""
        try:
            with open(log, encoding="utf-8", errors="replace") as f:
                tail = f.read()[-500:]
        except OSError:
            pass
        raise RuntimeError(f"{what} exited with {r.returncode}: {tail.strip()}")
    return r


# ---------------------------------------------------------------------------- 2. the tutorial problem


def numba_installed() -> bool:
    """Is numba importable by the measured ``optrun`` (this interpreter's environment)?"""
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def tutorial(rounds: int, iterations: int = 100_000) -> Table:
    s = Scratch()
    env = child_env()
    run_cmd = [*optrun_cmd(), "run", CONFIG, f"iterations={iterations}"]
    tut_cmd = [sys.executable, os.path.join(HERE, "tutorial_amsgrad.py"), str(iterations)]
    variants = {"optrun": run_cmd}
    if numba_installed():  # the accelerated backend, its kernels compiled and cached by a warm-up run
        variants["optrun-numba"] = [*run_cmd, "backend=numba"]
    rows: dict[str, list[ProcResult]] = {name: [] for name in [*variants, "tutorial"]}

    def optrun_once(name: str):
        def once() -> float:
            log = s.file(f"{name}.out")
            r = _checked(
                run_process([*variants[name], "--runs-dir", s.runs()], log, str(REPO_ROOT), env, log),
                "optrun run",
                log,
            )
            rows[name].append(r)
            return r.wall_s

        return once

    def tutorial_once() -> float:
        out = s.file("tutorial.out")
        r = _checked(
            run_process(tut_cmd, out, str(REPO_ROOT), env, s.file("tutorial.err")),
            "tutorial_amsgrad.py",
            s.file("tutorial.err"),
        )
        rows["tutorial"].append(r)
        return r.wall_s

    try:
        progress(f"tutorial problem: {rounds} interleaved rounds of {iterations:,} iterations")
        if "optrun-numba" in variants:
            optrun_once("optrun-numba")()  # compiles and caches the kernels once
            rows["optrun-numba"].clear()
        walls = interleaved({**{n: optrun_once(n) for n in variants}, "tutorial": tutorial_once}, rounds)
        # the runs folder is emptied before each run: it holds the last run's folder
        trace_bytes = sum(
            os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(s.file("runs")) for f in fs
        )
        lines_bytes = os.path.getsize(s.file("tutorial.out"))
    finally:
        s.close()
    t_tut = median(walls["tutorial"])
    t = Table(
        f"The AMSGrad tutorial problem, {iterations:,} iterations, whole processes "
        f"({rounds} rounds, medians)",
        [
            "command",
            "wall",
            "per iteration",
            "CPU",
            "output written",
            "ratio to tutorial",
            "target (≤ 1.0; numba ≤ 0.3)",
        ],
    )
    for name, cmd in variants.items():
        t_opt = median(walls[name])
        ratio = t_opt / t_tut
        limit = 0.3 if name == "optrun-numba" else 1.0
        t.add(
            f"`optrun {' '.join(cmd[len(optrun_cmd()) :])}`",
            fmt_time(t_opt),
            fmt_time(t_opt / iterations),
            fmt_time(median([r.cpu_s for r in rows[name]])),
            f"{trace_bytes / 1e6:.1f} MB (run folder)",
            fmt_ratio(ratio),
            verdict(ratio, limit),
        )
    t.add(
        f"`python benchmarks/tutorial_amsgrad.py {iterations}` > file",
        fmt_time(t_tut),
        fmt_time(t_tut / iterations),
        fmt_time(median([r.cpu_s for r in rows["tutorial"]])),
        f"{lines_bytes / 1e6:.1f} MB (lines)",
        "1.00×",
        "",
    )
    t.notes.append(
        "optrun writes trace.csv and trace.jsonl (every iteration) plus config, meta and summary; "
        "the tutorial prints its '>%d f(%s) = %.5f' line per iteration to a file."
    )
    t.notes.append(
        "The shipped config sets eps: 0 (it reproduces the printed digits); the tutorial program "
        "adds 1e-8. Same operation count."
    )
    if "optrun-numba" not in variants:
        t.notes.append("numba is not installed here: the accelerated-backend row (target ≤ 0.3) is skipped.")
    return t


# ---------------------------------------------------------------------------- 3. start-up


def startup(rounds: int) -> tuple[Table, Table]:
    s = Scratch()
    env, env_nocache = child_env(), child_env(bytecode_cache=False)
    cmds = {
        "bare": [sys.executable, "-c", "import numpy, click, yaml, rich"],
        "help": [*optrun_cmd(), "--help"],
        "run": [*optrun_cmd(), "run", CONFIG],
        "run-nocache": [*optrun_cmd(), "run", CONFIG],
    }

    def once(name: str):
        def f() -> float:
            cmd = cmds[name] + (["--runs-dir", s.runs()] if name.startswith("run") else [])
            log = s.file(f"{name}.out")
            e = env_nocache if name.endswith("nocache") else env
            return _checked(run_process(cmd, log, str(REPO_ROOT), e, log), " ".join(cmd), log).wall_s

        return f

    try:
        progress(f"start-up: {rounds} interleaved rounds")
        interleaved({n: once(n) for n in cmds}, 1)  # warm the page cache and the bytecode cache
        walls = interleaved({n: once(n) for n in cmds}, rounds)
        imports = {
            "--help": _imports(["--help"], s, env),
            "run": _imports(["run", CONFIG, "--runs-dir", s.runs()], s, env),
        }
    finally:
        s.close()
    bare = median(walls["bare"])
    t = Table(
        f"CLI start-up ({rounds} interleaved rounds, medians)",
        ["command", "wall", "ratio to bare imports", "target"],
    )
    t.add('`python -c "import numpy, click, yaml, rich"`', fmt_time(bare), "1.00×", "")
    for name, label, limit in (
        ("help", "`optrun --help`", 1.3),
        ("run", f"`optrun run {CONFIG}` (100 iterations)", 1.6),
    ):
        m = median(walls[name])
        t.add(label, fmt_time(m), fmt_ratio(m / bare), verdict(m / bare, limit))
    m = median(walls["run-nocache"])
    t.add(
        f"`optrun run {CONFIG}` with PYTHONDONTWRITEBYTECODE=1 (no .pyc for optrun)",
        fmt_time(m),
        fmt_ratio(m / bare),
        "(for information)",
    )
    t.notes.append(
        "Bytecode cache on (PYTHONPYCACHEPREFIX in a private folder, warmed by one round) for all "
        "rows but the last; this machine's default PYTHONDONTWRITEBYTECODE=1 makes an editable "
        "install recompile optrun's modules at every start."
    )
    t2 = Table(
        "Heavy modules imported by each command (sys.modules at exit; -X importtime)",
        [
            "command",
            "heavy modules imported",
            "must not import",
            "check",
            "slowest top-level imports (cumulative)",
        ],
    )
    for name, (mods, slow) in imports.items():
        tops = {m.split(".")[0] for m in mods}
        got = [h for h in HEAVY if h in tops]
        bad = sorted(FORBIDDEN[name] & tops)
        t2.add(
            f"`optrun {name}`",
            ", ".join(got) or "—",
            ", ".join(sorted(FORBIDDEN[name])),
            "PASS" if not bad else "MISS: " + ", ".join(bad),
            ", ".join(f"{n} {us / 1000:.0f} ms" for n, us in slow),
        )
    return t, t2


def _imports(args: list[str], s: Scratch, env: dict[str, str]) -> tuple[list[str], list[tuple[str, int]]]:
    out, err = s.file("modules.json"), s.file("importtime.txt")
    cmd = [sys.executable, "-X", "importtime", os.path.join(HERE, "bench_imports.py"), out, *args]
    _checked(run_process(cmd, s.file("imports.out"), str(REPO_ROOT), env, err), " ".join(cmd), err)
    with open(out, encoding="utf-8") as f:
        mods = json.load(f)
    return mods, _slowest_imports(err)


def _slowest_imports(path: str, n: int = 5) -> list[tuple[str, int]]:
    """Packages by cumulative import time from ``-X importtime`` output (µs).

    A package's time is the sum of the cumulative times of its outermost imports (those not
    nested inside another import of the same package), wherever they happen, so numpy imported
    lazily inside an optrun module still shows as numpy.
    """
    entries: list[tuple[int, str, int]] = []  # (depth, package, cumulative µs), in output order
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("import time:") or "|" not in line:
                continue
            parts = line[len("import time:") :].split("|")
            if len(parts) != 3 or not parts[1].strip().isdigit():
                continue
            name = parts[2].rstrip("\n")
            depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
            entries.append((depth, name.strip().split(".")[0], int(parts[1])))
    cum: dict[str, int] = {}
    stack: list[tuple[int, str]] = []  # enclosing imports; the output is post-order, so read it reversed
    for depth, pkg, us in reversed(entries):
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if all(p != pkg for _, p in stack):
            cum[pkg] = cum.get(pkg, 0) + us
        stack.append((depth, pkg))
    return sorted(cum.items(), key=lambda kv: -kv[1])[:n]


# ---------------------------------------------------------------------------- 4. peak memory


def memory(big: int = 1_000_000, small: int = 1_000, small_rounds: int = 3) -> Table:
    s = Scratch()
    env = child_env()
    res: dict[int, list[ProcResult]] = {big: [], small: []}

    def once(n: int):
        def f() -> float:
            log = s.file("mem.out")
            cmd = [*optrun_cmd(), "run", CONFIG, f"iterations={n}", "--quiet", "--runs-dir", s.runs()]
            r = _checked(run_process(cmd, log, str(REPO_ROOT), env, log, own_rss=True), " ".join(cmd), log)
            res[n].append(r)
            return r.wall_s

        return f

    try:
        progress(f"peak memory: {big:,} vs {small:,} iterations")
        for _ in range(small_rounds):
            once(small)()
        once(big)()
    finally:
        s.close()
    rss_small = median([r.maxrss_kib for r in res[small]])
    rss_big = max(r.maxrss_kib for r in res[big])
    ratio = rss_big / rss_small
    t = Table(
        "Peak memory of a 2-D run (ru_maxrss of the optrun process, started through bench_rss.py)",
        ["command", "peak RSS", "wall", "ratio to 1,000 iterations", "target ≤ 1.2"],
    )
    t.add(
        f"`optrun run {CONFIG} iterations={small}`",
        f"{rss_small / 1024:.1f} MiB",
        fmt_time(median([r.wall_s for r in res[small]])),
        "1.00×",
        "",
    )
    t.add(
        f"`optrun run {CONFIG} iterations={big}`",
        f"{rss_big / 1024:.1f} MiB",
        fmt_time(res[big][0].wall_s),
        fmt_ratio(ratio),
        verdict(ratio, 1.2),
    )
    return t
