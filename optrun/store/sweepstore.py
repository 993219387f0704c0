"""Writing sweep folders.

Layout (documented in the README)::

    <runs>/<id>/config.yaml           resolved base config + the sweep block as explicit lists
    <runs>/<id>/meta.json             versions, command line, times (as a run's)
    <runs>/<id>/summary.json          {"kind": "sweep", "status", "members", "counts", "axes", "rows": [...]}
    <runs>/<id>/summary.csv           one row per member: member, batch, axis columns, summary fields
    <runs>/<id>/traces/batch-NNNN.csv member, iteration, f, grad_norm, step_norm, x0.. for that batch

One trace file per batch (not one folder per member) keeps a 10,000-member sweep to a handful of
files. A member's rows are those with its number in the file its summary row names.
"""

from __future__ import annotations

import csv
import io
import os
import time

import numpy as np

from .folder import FLUSH_BYTES, FLUSH_SECONDS, atomic_write_text

TARGETS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8)
TARGET_COLUMNS = tuple(f"hit_{t:.0e}".replace("e-0", "e-") for t in TARGETS)
ROW_FIELDS = ("status", "stop_reason", "iterations", "final_f", "best_f", "best_iteration", "f_gap",
              "distance_to_optimum", "final_grad_norm", "wall_time_s") + TARGET_COLUMNS + ("error",)


def trace_name(batch: int) -> str:
    return os.path.join("traces", f"batch-{batch:04d}.csv")


class BatchTraceWriter:
    """Streams the rows of one batch's members to ``traces/batch-NNNN.csv``."""

    def __init__(self, folder: str, batch: int, members: list[int], x_columns: int, every: int = 1):
        self.members = np.asarray(members, dtype=np.int64)
        self.m, self.every = x_columns, every
        os.makedirs(os.path.join(folder, "traces"), exist_ok=True)
        self.path = os.path.join(folder, trace_name(batch))
        tmp = self.path + ".partial"
        self._tmp = tmp
        self._fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        cols = ["member", "iteration", "f", "grad_norm", "step_norm"] + [f"x{i}" for i in range(x_columns)]
        self._parts = [",".join(cols) + "\n"]
        self._fmt = "%d,%d," + ",".join(["%r"] * (3 + x_columns)) + "\n"
        self._pending = 0
        self._last = time.monotonic()

    def add(self, first: int, f, gn, sn, x, rows: np.ndarray, ended: np.ndarray) -> None:
        """Rows of a runner chunk: ``f``/``gn``/``sn`` ``(n, S)``, ``x`` ``(n, S, d)``."""
        n = f.shape[0]
        if n == 0 or not rows.any():
            return
        its = np.arange(first, first + n)
        keep = np.arange(n)[:, None] < rows[None, :]  # (n, S)
        if self.every > 1:
            thin = (its % self.every == 0)[:, None] & keep
            last = np.zeros_like(keep)
            ends = np.flatnonzero(ended & (rows > 0))
            last[rows[ends] - 1, ends] = True
            keep = thin | last
        # member-major order within the chunk
        sel_s, sel_r = np.nonzero(keep.T)
        block = np.empty((len(sel_s), 3 + self.m))
        block[:, 0] = f[sel_r, sel_s]
        block[:, 1] = gn[sel_r, sel_s]
        block[:, 2] = sn[sel_r, sel_s]
        if self.m:
            block[:, 3:] = x[sel_r, sel_s, : self.m]
        mem = self.members[sel_s].tolist()
        it = its[sel_r].tolist()
        fmt = self._fmt
        self._parts.append("".join([fmt % (a, b, *r) for a, b, r in zip(mem, it, block.tolist())]))
        self._pending += len(mem) * (12 + 22 * (3 + self.m))
        if self._pending >= FLUSH_BYTES or time.monotonic() - self._last >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self._parts:
            data = memoryview("".join(self._parts).encode())
            while data:
                data = data[os.write(self._fd, data):]
            self._parts = []
        self._pending = 0
        self._last = time.monotonic()

    def close(self, complete: bool = True) -> None:
        """Flush; a batch's file gets its final name when it is closed (kept as .partial on a fault)."""
        try:
            self.flush()
        finally:
            os.close(self._fd)
        os.replace(self._tmp, self.path)


def write_summary_csv(path: str, columns: list[str], rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if r.get(c) is None else (repr(r[c]) if isinstance(r[c], float) else r[c])
                    for c in columns])
    atomic_write_text(path, buf.getvalue())
