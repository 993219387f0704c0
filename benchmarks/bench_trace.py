"""Benchmark 5: cost per trace row of :class:`optrun.store.folder.TraceWriter` for a 2-D run.

Rows are handed over in chunks the size the runner uses for one 2-D member
(:func:`optrun.runner.chunk_rows`), with full-precision random floats, so every value prints with
its shortest round-trip repr of ~18 characters (the worst case; a converged run prints shorter
numbers). The time includes formatting both files (CSV and JSON Lines), the writes and ``close``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_util import Table, fmt_time, median, progress, verdict

TARGET_US = 2.0


def trace_rows(rows: int, rounds: int, d: int = 2) -> Table:
    from optrun.runner import chunk_rows
    from optrun.store.folder import TraceWriter

    k = chunk_rows(1, d)
    rng = np.random.default_rng(5)
    f, gn, sn = (rng.random(k) for _ in range(3))
    x = rng.standard_normal((k, d))
    times, sizes = [], 0
    progress(f"trace writer: {rounds} rounds of {rows:,} rows in chunks of {k}")
    for _ in range(rounds):
        folder = tempfile.mkdtemp(prefix="optrun-bench-trace-")
        try:
            t0 = time.perf_counter()
            w = TraceWriter(folder, d)
            for first in range(0, rows, k):
                n = min(k, rows - first)
                w.add(first, f[:n], gn[:n], sn[:n], x[:n], last=first + n >= rows)
            w.close()
            times.append((time.perf_counter() - t0) / rows)
            sizes = sum(p.stat().st_size for p in Path(folder).iterdir())
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    per_row = median(times)
    t = Table(
        f"Trace writing, 2-D run ({rounds} rounds, medians)",
        ["rows", "chunk (rows)", "per row", "rows/s", "bytes per row (csv + jsonl)", "target ≤ 2 µs"],
    )
    t.add(
        f"{rows:,}",
        k,
        fmt_time(per_row),
        f"{1 / per_row:,.0f}",
        f"{sizes / rows:.0f}",
        verdict(per_row * 1e6, TARGET_US),
    )
    return t
