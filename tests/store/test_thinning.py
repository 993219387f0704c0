"""Trace thinning (``trace.log_per_decade``): COCO-style log-spaced rows plus every first crossing
of f - f* <= 1e-1 .. 1e-8 plus the last row, in the sweep writer and the single-run writer.

References: the marks by exact integer arithmetic (``floor(N log10 t)`` is the number of decimal
digits of ``t**N``, minus one), crossings by ``argmax`` over the full, unthinned sequence.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from optrun.cli import cli
from optrun.config import load_config
from optrun.store.folder import TraceWriter
from optrun.store.sweepstore import BatchTraceWriter
from optrun.store.thinning import TARGETS, LogMarks

CHUNK = 1024  # rows per runner chunk at S = 1..3, d = 2 (runner.chunk_rows)


def marks_by_digits(per_decade: int, upto: int) -> list[int]:
    """0 and every t in 1..upto where floor(N log10 t) (= digits of t**N, minus 1) increases."""
    out, prev = [0], -1
    for t in range(1, upto + 1):
        k = len(str(t**per_decade)) - 1
        if k > prev:
            out.append(t)
        prev = k
    return out


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 20])
def test_log_marks_are_exact(n):
    upto = 20_000
    want = marks_by_digits(n, upto)
    lm = LogMarks(n)
    got = [
        first + i
        for first in range(0, upto + 1, 997)  # odd chunking: marks split across chunks
        for i in np.flatnonzero(lm.mask(first, min(997, upto + 1 - first))).tolist()
    ]
    assert got == want


def test_log_marks_ten_per_decade_by_hand():
    lm = LogMarks(10)
    got = np.flatnonzero(lm.mask(0, 1001)).tolist()
    assert got == [
        0,
        1,
        2,
        3,
        4,
        6,
        7,
        8,
        10,
        13,
        16,
        20,
        26,
        32,
        40,
        51,
        64,
        80,
        100,
        126,
        159,
        200,
        252,
        317,
        399,
        502,
        631,
        795,
        1000,
    ]
    assert [t for t in got if t in (10, 100, 1000)] == [10, 100, 1000]  # exact powers of ten are marks


def synthetic(T: int) -> tuple[np.ndarray, np.ndarray]:
    """f for 3 members over iterations 0..T (f* = 0): member 0 decays to ~1e-9 at T, member 1
    decays fast and stops at 300,000, member 2 wanders near 1 and never reaches a target."""
    t = np.arange(T + 1, dtype=np.float64)
    f = np.empty((T + 1, 3))
    f[:, 0] = 0.7 * np.exp(-t * 2.1e-5)
    f[:, 1] = 3.0 * np.exp(-t * 8.0e-5)
    f[:, 2] = 1.0 + 0.5 * np.sin(t / 1000.0)
    stop = np.array([T, 300_000, T])
    return f, stop


def feed(writer_add, f: np.ndarray, stop: np.ndarray, members: int) -> None:
    """Hand ``f`` to a writer in runner-sized chunks with the runner's rows/ended bookkeeping."""
    T = f.shape[0] - 1
    for first in range(0, T + 1, CHUNK):
        n = min(CHUNK, T + 1 - first)
        rows = np.clip(stop[:members] - first + 1, 0, n)
        ended = (stop[:members] >= first) & (stop[:members] < first + n)
        fc = f[first : first + n, :members]
        x = np.repeat(fc[:, :, None], 2, axis=2)
        writer_add(first, fc, fc * 2, fc * 0.5, x, rows, ended)


def log_marks(n: int, upto: int) -> list[int]:
    return np.flatnonzero(LogMarks(n).mask(0, upto + 1)).tolist()


def reference_hits(f: np.ndarray, stop: np.ndarray) -> np.ndarray:
    out = np.full((len(TARGETS), f.shape[1]), -1)
    for s in range(f.shape[1]):
        fs = f[: stop[s] + 1, s]
        for li, lv in enumerate(TARGETS):
            below = fs <= lv
            out[li, s] = int(np.argmax(below)) if below.any() else -1
    return out


def test_a_million_iterations_leave_a_small_batch_trace_that_knows_when_it_hit_1e_6(tmp_path):
    T = 1_000_000
    f, stop = synthetic(T)
    w = BatchTraceWriter(str(tmp_path), 0, [5, 6, 7], x_columns=2, log_per_decade=10, f_min=0.0)
    feed(w.add, f, stop, 3)
    w.close()
    path = tmp_path / "traces" / "batch-0000.csv"
    assert path.stat().st_size < 20_000  # vs about 130 MB for every row
    with open(path, newline="") as fh:
        recs = list(csv.DictReader(fh))
    ref = reference_hits(f, stop)
    assert np.array_equal(w.hits, ref)
    assert ref[5, 0] > 500_000 and ref[5, 1] > 0 and ref[5, 2] == -1  # 1e-6: late, early, never
    marks = set(log_marks(10, T))  # checked against marks_by_digits above
    for s, member in enumerate((5, 6, 7)):
        its = [int(r["iteration"]) for r in recs if r["member"] == str(member)]
        fs = [float(r["f"]) for r in recs if r["member"] == str(member)]
        crossings = {int(h) for h in ref[:, s] if h >= 0}
        assert its == sorted({t for t in marks if t <= stop[s]} | crossings | {int(stop[s])})
        assert len(its) <= 61 + 8 + 1
        # 'when did it reach 1e-6' from the thinned trace alone: the first row at or below it
        first_below = next((t for t, v in zip(its, fs) if v <= 1e-6), None)
        assert first_below == (ref[5, s] if ref[5, s] >= 0 else None)
        assert fs == f[its, s].tolist()  # the kept rows are the true values, bit for bit


def test_single_run_writer_thins_the_same_way(tmp_path):
    T = 1_000_000
    f, stop = synthetic(T)
    w = TraceWriter(str(tmp_path), 2, log_per_decade=10, f_min=0.0)

    def add(first, fc, gc, sc, x, rows, ended):
        m = int(rows[0])
        if m:
            w.add(first, fc[:m, 0], gc[:m, 0], sc[:m, 0], x[:m, 0], last=bool(ended[0]))

    feed(add, f, stop, 1)
    w.close()
    with open(tmp_path / "trace.csv", newline="") as fh:
        recs = list(csv.DictReader(fh))
    jl = [json.loads(ln) for ln in (tmp_path / "trace.jsonl").read_text().splitlines()]
    its = [int(r["iteration"]) for r in recs]
    ref = reference_hits(f, stop)[:, :1]
    assert np.array_equal(w.hits, ref)
    assert its == sorted(set(log_marks(10, T)) | {int(h) for h in ref[:, 0] if h >= 0} | {T})
    assert [r["iteration"] for r in jl] == its and w.rows_written == len(its) <= 70
    assert next(t for t, r in zip(its, recs) if float(r["f"]) <= 1e-6) == ref[5, 0]
    # without a known optimum: marks and the last row only
    (tmp_path / "x").mkdir()
    w = TraceWriter(str(tmp_path / "x"), 0, log_per_decade=3)
    w.add(0, f[:2001, 0], f[:2001, 0], f[:2001, 0], f[:2001, :2], last=True)
    w.close()
    its = [int(ln.split(",")[0]) for ln in (tmp_path / "x" / "trace.csv").read_text().splitlines()[1:]]
    assert its == marks_by_digits(3, 2000) + [2000]


# ------------------------------------------------------------------------------ through the CLI


THIN = {
    "name": "thin",
    "objective": "sphere",
    "start": [0.6, 0.8],
    "algorithm": {"name": "gd", "alpha": 2.5e-4},
    "iterations": 20_000,
    "trace": {"log_per_decade": 5, "checkpoint_s": None},
    "sweep": {"algorithm.alpha": [2.5e-4, 5e-4]},
}


def run_sweep(tmp_path: Path, data: dict, label: str) -> Path:
    cfg = tmp_path / f"{label}.yaml"
    cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    res = CliRunner().invoke(cli, ["run", str(cfg), "--runs-dir", str(tmp_path / label), "--quiet"])
    assert res.exit_code == 0, res.output
    (folder,) = (tmp_path / label).iterdir()
    return folder


def test_thinned_sweep_answers_like_the_full_one(tmp_path):
    thin = run_sweep(tmp_path, THIN, "thin")
    full = run_sweep(tmp_path, {**THIN, "trace": {"checkpoint_s": None}}, "full")
    assert yaml.safe_load((thin / "config.yaml").read_text())["trace"]["log_per_decade"] == 5

    def load(folder):
        with open(folder / "traces" / "batch-0000.csv", newline="") as fh:
            recs = list(csv.DictReader(fh))
        with open(folder / "summary.csv", newline="") as fh:
            table = list(csv.DictReader(fh))
        return recs, table

    (trows, ttable), (frows, ftable) = load(thin), load(full)
    hits = [f"hit_1e-{k}" for k in range(1, 9)]
    assert [[r[h] for h in hits] for r in ttable] == [[r[h] for h in hits] for r in ftable]
    assert all(r[h] for r in ftable for h in hits)  # both members reach 1e-8 inside the budget
    for m in ("0", "1"):
        full_m = {r["iteration"]: r for r in frows if r["member"] == m}
        thin_m = [r for r in trows if r["member"] == m]
        assert len(full_m) == 20_001 and len(thin_m) < 40
        assert all(r == full_m[r["iteration"]] for r in thin_m)  # kept rows are the full trace's rows
        assert thin_m[-1]["iteration"] == "20000"
        row = next(r for r in ftable if r["member"] == m)
        for k in range(1, 9):  # the first thinned row at or below 1e-k is the full trace's first one
            first = next(r["iteration"] for r in thin_m if float(r["f"]) <= 10.0**-k)
            assert first == row[f"hit_1e-{k}"]


@pytest.mark.parametrize(
    "trace, words",
    [
        ({"log_per_decade": 0}, "trace.log_per_decade: must be between 1 and 100, not 0"),
        ({"log_per_decade": 101}, "must be between 1 and 100"),
        ({"log_per_decade": "ten"}, "must be a whole number"),
        ({"log_per_decade": 10, "every": 5}, "give it or trace.every, not both"),
    ],
)
def test_bad_log_per_decade(tmp_path, trace, words):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"objective": "sphere", "algorithm": "gd", "trace": trace}))
    res = CliRunner().invoke(cli, ["run", str(cfg), "--runs-dir", str(tmp_path / "runs")])
    assert res.exit_code == 2 and words in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_log_per_decade_resolves_and_defaults_to_off(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("objective: sphere\nalgorithm: gd\n")
    assert load_config(str(cfg)).trace.log_per_decade is None
    c = load_config(str(cfg), ["trace.log_per_decade=4"])
    assert c.trace.log_per_decade == 4 and c.to_dict()["trace"]["log_per_decade"] == 4
