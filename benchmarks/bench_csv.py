"""Issue 19: reading an MNIST-sized CSV file (60,000 rows x 785 columns: a label and 784 pixels).

The file is made here (seeded): pixels 0..255 with four in five of them 0, as in MNIST's CSV
exports, about 110 MB. Two readers on the same file, in one process, alternating:

* before: :func:`optrun.objectives.data.csv_cells` over the whole file, the cell-by-cell reader
  (``csv`` and ``float`` per field) that ``read_csv`` was before this benchmark;
* after: :func:`optrun.objectives.data.read_csv`, line count then ``np.loadtxt`` in chunks.

Both must give the same bits; the table prints each one's best time, rows per second and the
ratio.

    python benchmarks/bench_csv.py              # 60,000 rows, about a minute
    python benchmarks/bench_csv.py --rows 10000 # a quick look
    flock /tmp/bench.lock python benchmarks/bench_csv.py   # on a shared machine
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_util import Table, fmt_ratio, fmt_time, progress

from optrun.objectives.data import Dataset, csv_cells, read_csv


def make_file(path: str, rows: int, floats: bool = False, seed: int = 0) -> None:
    """MNIST's shape: pixels 0..255, four in five 0; ``floats``: standardised pixels ``%.6g``."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(1, 256, size=(rows, 784)) * (rng.random((rows, 784)) < 0.2)
    labels = rng.integers(0, 10, size=(rows, 1))
    if floats:
        pixels = (pixels - 25.5) / 60.0
    with open(path, "w") as fh:
        fh.write("label," + ",".join(f"pixel{j}" for j in range(784)) + "\n")
        for lo in range(0, rows, 5000):
            for label, row in zip(labels[lo : lo + 5000, 0], pixels[lo : lo + 5000]):
                fh.write(f"{label}," + ",".join(format(v, ".6g" if floats else "d") for v in row) + "\n")


def before(path: str) -> Dataset:
    with open(path, newline="", encoding="utf-8") as fh:
        lines = fh.readlines()
    header = next(csv.reader(lines[:1]))
    values = csv_cells(path, header, lines[1:])
    return Dataset(np.ascontiguousarray(values[:, 1:]), values[:, 0].copy(), path, tuple(header[1:]))


def after(path: str) -> Dataset:
    return read_csv(Path(path), "label")


def timed(fn, path: str) -> tuple[float, Dataset]:
    t0 = time.perf_counter()
    d = fn(path)
    return time.perf_counter() - t0, d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=60_000)
    ap.add_argument("--repeats", type=int, default=2, help="rounds of (before, after), order alternating")
    ap.add_argument(
        "--floats", action="store_true", help="pixels written as decimals (%%.6g), not whole numbers"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mnist-like.csv")
        progress(f"writing {args.rows:,} x 785 CSV ...")
        make_file(path, args.rows, args.floats)
        size = os.path.getsize(path)
        times: dict[str, list[float]] = {"before": [], "after": []}
        got = {}
        for r in range(args.repeats):
            order = ("before", "after") if r % 2 == 0 else ("after", "before")
            for name in order:
                progress(f"round {r + 1}: {name}")
                t, d = timed(before if name == "before" else after, path)
                times[name].append(t)
                got[name] = d
        same = np.array_equal(got["before"].X, got["after"].X) and np.array_equal(
            got["before"].y, got["after"].y
        )
        best = {k: min(v) for k, v in times.items()}
        kind = "decimals" if args.floats else "whole numbers"
        print(
            f"CSV reader: {args.rows:,} rows x 785 columns of {kind}, {size / 1e6:,.1f} MB; same bits: {same}"
        )
        table = Table(
            "CSV reader",
            ["reader", "best", "all rounds", "rows/s", "MB/s"],
        )
        for k in ("before", "after"):
            rounds = " ".join(fmt_time(t) for t in times[k])
            table.add(
                k, fmt_time(best[k]), rounds, f"{args.rows / best[k]:,.0f}", f"{size / 1e6 / best[k]:,.1f}"
            )
        table.notes.append(
            f"speed-up (before / after, best of each): {fmt_ratio(best['before'] / best['after'])}"
        )
        print(table.markdown())


if __name__ == "__main__":
    main()
