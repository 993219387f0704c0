"""Shared helpers for the optrun benchmarks: timing, child processes, machine description, tables.

Only the standard library is imported here, so the child-process helpers can be used by scripts
that run in another interpreter (the peers' venv).
"""

from __future__ import annotations

import atexit
import gc
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def fmt_time(seconds: float | None) -> str:
    """``12.3 µs`` / ``4.56 ms`` / ``1.23 s`` with three significant digits; ``—`` for none."""
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def fmt_ratio(r: float | None) -> str:
    return "—" if r is None else f"{r:.2f}×"


def verdict(value: float | None, limit: float) -> str:
    """``PASS (≤ limit)`` or ``MISS (> limit)``: the issue-9 target printed next to a figure."""
    if value is None:
        return "—"
    return f"PASS (≤ {limit:g})" if value <= limit else f"MISS (> {limit:g})"


def bound_verdict(value: float | None, limit: float, bound: float | None) -> str:
    """:func:`verdict`, with ``BOUND`` between: a figure over ``limit`` that is within ``bound``,
    the ratio a kernel's own passes imply when the library's exact operation order (kept for
    bit-identity) forbids fewer passes."""
    return bounds_verdict(value, limit, {"its passes'": bound})


def bounds_verdict(value: float | None, limit: float, bounds: dict[str, float | None]) -> str:
    """:func:`verdict`, with ``BOUND`` between: a figure over ``limit`` that is within one of
    ``bounds`` (``{name: ratio}``, e.g. what a kernel's passes imply, or its in-cache arithmetic
    plus one roof), naming the tightest it is within; a MISS says by how much it exceeds each
    bound (a figure at its bound lands on either side by the noise). Bounds of at most ``limit``
    excuse nothing."""
    over = {k: b for k, b in bounds.items() if b is not None and b > limit}
    if value is None or value <= limit or not over:
        return verdict(value, limit)
    within = sorted((b, k) for k, b in over.items() if value <= b)
    if within:
        return f"BOUND (≤ {within[0][1]} {within[0][0]:.2f}×)"
    return (
        f"MISS (> {limit:g}, "
        + ", ".join(f"> {k} {b:.2f}× by {value / b - 1:.0%}" for k, b in over.items())
        + ")"
    )


def interleaved(fns: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Call every function once per round, rotating the order each round; collect what each returns.

    Rotating the order spreads slow drifts of the machine (other processes, frequency) evenly
    over the contenders, so their ratio is measured under the same conditions.
    """
    names = list(fns)
    out: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        k = r % len(names)
        for n in names[k:] + names[:k]:
            out[n].append(fns[n]())
    return out


def time_loop(body: Callable[[int], None], n: int) -> float:
    """Seconds per call of ``body(n)`` divided by ``n`` (per inner iteration), gc off while timing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        body(n)
        return (time.perf_counter() - t0) / n
    finally:
        if enabled:
            gc.enable()


@dataclass
class ProcResult:
    wall_s: float
    returncode: int
    maxrss_kib: int  # ru_maxrss of the child (Linux: KiB)
    cpu_s: float  # user + system CPU time of the child


def run_process(
    cmd: Sequence[str],
    stdout_path: str | None = None,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
    stderr_path: str | None = None,
    own_rss: bool = False,
) -> ProcResult:
    """Run ``cmd`` as a whole process; wall time from spawn to reap, its own rusage via ``wait4``.

    ``stdout``/``stderr`` go to the given files (or /dev/null): a pipe would make the parent's
    reading part of the measurement. The ``maxrss_kib`` of a direct child includes this
    process's own peak (see ``bench_rss.py``); with ``own_rss`` the command is started through
    that small middleman and the figure is the command's own (the wall time then includes the
    middleman's start, ~20 ms).
    """
    if own_rss:
        import json
        import tempfile

        fd, rss_json = tempfile.mkstemp(suffix=".json", prefix="optrun-bench-rss-")
        os.close(fd)
        try:
            r = run_process(
                [sys.executable, str(Path(__file__).with_name("bench_rss.py")), rss_json, *cmd],
                stdout_path,
                cwd,
                env,
                stderr_path,
            )
            with open(rss_json, encoding="utf-8") as f:
                got = json.load(f)
        finally:
            os.unlink(rss_json)
        return ProcResult(r.wall_s, got["returncode"], int(got["maxrss_kib"]), float(got["cpu_s"]))
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL  # noqa: SIM115 - closed in the finally below
    err = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        t0 = time.perf_counter()
        p = subprocess.Popen(list(cmd), stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)  # reaped here; keep Popen from waiting again
    finally:
        for f in (out, err):
            if f is not subprocess.DEVNULL:
                f.close()
    return ProcResult(wall, p.returncode, int(ru.ru_maxrss), ru.ru_utime + ru.ru_stime)


def sibling_executable(name: str) -> str | None:
    """The console script ``name`` installed next to the running interpreter, if any."""
    p = Path(sys.executable).parent / name
    return str(p) if p.exists() else None


# ---------------------------------------------------------------------------- the machine


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.lower().startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def mem_total_gib() -> float | None:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return None


def cache_sizes() -> str:
    """``L1d 32K, L2 1024K, L3 32768K`` from sysfs for cpu0 (empty when unavailable)."""
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    parts = []
    for idx in sorted(base.glob("index*")):
        kind = _read(str(idx / "type")).strip()
        if kind == "Instruction":
            continue
        level = _read(str(idx / "level")).strip()
        size = _read(str(idx / "size")).strip()
        if level and size:
            parts.append(f"L{level}{'d' if kind == 'Data' else ''} {size}")
    return ", ".join(parts)


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def git_describe() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"
    return f"{head}{' (working tree modified)' if dirty else ''}" if head else "?"


@dataclass
class Machine:
    """What the figures were measured on (written at the top of the results file)."""

    rows: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def describe(cls, extra: Sequence[tuple[str, str]] = ()) -> Machine:
        import numpy as np

        try:
            usable = len(os.sched_getaffinity(0))
        except AttributeError:
            usable = os.cpu_count() or 0
        mem = mem_total_gib()
        rows = [
            ("date (UTC)", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")),
            ("CPU", cpu_model()),
            ("cores", f"{os.cpu_count()} logical, {usable} usable by this process"),
            ("caches", cache_sizes() or "?"),
            ("RAM", f"{mem:.1f} GiB" if mem else "?"),
            ("OS", platform.platform()),
            ("Python", f"{platform.python_version()} ({sys.executable})"),
            ("numpy", np.__version__),
            ("optrun commit", git_describe()),
            ("load average at start (1, 5, 15 min)", load_average()),
        ]
        return cls(rows + list(extra))


# ---------------------------------------------------------------------------- tables


@dataclass
class Table:
    """A titled table printed as aligned markdown, both on stdout and into the results file."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append(["" if c is None else str(c) for c in cells])

    def markdown(self) -> str:
        widths = [len(c) for c in self.columns]
        for r in self.rows:
            widths = [max(w, len(c)) for w, c in zip(widths, r)]

        def line(cells: Sequence[str]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

        out = [line(self.columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        out += [line(r) for r in self.rows]
        text = "\n".join(out)
        if self.notes:
            text += "\n\n" + "\n".join(f"- {n}" for n in self.notes)
        return text


def progress(msg: str) -> None:
    """A line for the person watching (stderr), so stdout carries only the tables."""
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


_PYCACHE: str | None = None


def child_env(bytecode_cache: bool = True) -> dict[str, str]:
    """The environment of the measured processes.

    With ``bytecode_cache`` (what a user's machine does) Python may write ``.pyc`` files, into a
    private folder (``PYTHONPYCACHEPREFIX``) kept for this benchmark run, so nothing is written
    into the source tree; the first (warm-up) run fills it. This machine sets
    ``PYTHONDONTWRITEBYTECODE=1``, under which an editable install recompiles every optrun
    module at each start (about 80 ms here): measured separately, not hidden.
    """
    global _PYCACHE
    env = dict(os.environ)
    env.pop("OPTRUN_RUNS_DIR", None)
    env["NO_COLOR"] = "1"
    if bytecode_cache:
        if _PYCACHE is None:
            _PYCACHE = tempfile.mkdtemp(prefix="optrun-bench-pycache-")
            atexit.register(shutil.rmtree, _PYCACHE, True)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = _PYCACHE
    return env
