"""Writing sweep folders.

Layout (documented in docs/formats.md)::

    <runs>/<id>/config.yaml           resolved base config + the sweep block as explicit lists
    <runs>/<id>/meta.json             versions, command line, times (as a run's)
    <runs>/<id>/summary.json          {"kind": "sweep", "status", "members", "counts", "axes",
                                       "columns", "rows": [...]}
    <runs>/<id>/summary.csv           one row per member: member, batch, axis columns, summary fields
    <runs>/<id>/traces/batch-NNNN.csv member, iteration, f, grad_norm, step_norm, x0.. for that batch

One trace file per batch (not one folder per member) keeps a 10,000-member sweep to a handful of
files. A member's rows are those with its number in the file its summary row names; within a file
the rows come a runner chunk at a time, member by member inside each chunk.

The thinning rules and target crossings shared with single runs are in :mod:`optrun.store.thinning`.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import math
import os
import time

import numpy as np
import orjson

from .files import atomic_open, write_npz
from .folder import FLUSH_BYTES, FLUSH_SECONDS, atomic_write_json, atomic_write_text, jsonable
from .rows import PIECE_NUMBERS, csv_lines, int_texts
from .thinning import TARGET_COLUMNS, TARGETS, LogMarks, first_crossings

ROW_FIELDS = (
    (
        "status",
        "stop_reason",
        "iterations",
        "final_f",
        "best_f",
        "best_iteration",
        "f_gap",
        "distance_to_optimum",
        "final_grad_norm",
        "wall_time_s",
    )
    + TARGET_COLUMNS
    + ("error",)
)


class SweepFolder:
    """The whole files of a sweep folder being written: ``config.yaml``, the meta record, the head
    of ``summary.json`` while the sweep starts (:func:`write_summary` writes it with its rows)."""

    def __init__(self, path: str):
        self.path = path

    def write_config(self, text: str) -> None:
        """``config.yaml``: the resolved base config with the sweep block."""
        atomic_write_text(os.path.join(self.path, "config.yaml"), text)

    def write_meta(self, meta: dict, resuming: bool = False) -> None:
        """``meta.json``, or ``meta.resume.json`` for a resume (the first meta record is kept)."""
        atomic_write_json(os.path.join(self.path, "meta.resume.json" if resuming else "meta.json"), meta)

    def write_head(self, summary: dict) -> None:
        """``summary.json`` without rows (a sweep starting: its status and what it runs)."""
        atomic_write_json(os.path.join(self.path, "summary.json"), summary)


def trace_name(batch: int) -> str:
    return os.path.join("traces", f"batch-{batch:04d}.csv")


def points_name(batch: int) -> str:
    """A batch's final and best points when they are too large for the summary (see
    :func:`write_points`)."""
    return os.path.join("traces", f"points-{batch:04d}.npz")


def write_points(folder: str, batch: int, members, final_x, best_x) -> str:
    """``traces/points-NNNN.npz`` (written whole under a temporary name): ``members`` ``(S,)``,
    ``final_x`` and ``best_x`` ``(S, d)``, for members whose points are too large for the summary
    rows; returns the file's path relative to the sweep folder (the rows' ``x_file``)."""
    name = points_name(batch)
    arrays = {"members": np.asarray(members, dtype=np.int64), "final_x": final_x, "best_x": best_x}
    write_npz(os.path.join(folder, name), arrays)
    return name


def batch_files(folder: str, batch: int) -> dict[str, bytes]:
    """The files a batch wrote under ``folder`` (its trace, its points file), by their path relative
    to the sweep folder: what a batch run on another machine hands back (see :func:`put_batch_files`)."""
    out = {}
    for name in (trace_name(batch), points_name(batch)):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            with open(path, "rb") as f:
                out[name.replace(os.sep, "/")] = f.read()
    return out


def put_batch_files(folder: str, files: dict[str, bytes]) -> None:
    """Write the files of :func:`batch_files` into the sweep ``folder``, each whole under a
    temporary name and then renamed (a reader never sees half a trace)."""
    for name, data in files.items():
        path = os.path.join(folder, *name.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with atomic_open(path, "wb") as f:
            f.write(data)


# ------------------------------------------------------------------------------ batch traces


class BatchTraceWriter:
    """Streams the rows of one batch's members to ``traces/batch-NNNN.csv``.

    Floats are written as their shortest round-trip text (:mod:`optrun.store.rows`, as a single
    run's ``trace.csv``), so a member's rows read back bit for bit. ``hits`` (``(len(TARGETS), S)``)
    collects each member's first iteration with ``f - f* <= target`` when ``f_min`` is known,
    whatever the thinning.
    """

    def __init__(
        self,
        folder: str,
        batch: int,
        members: list[int],
        x_columns: int,
        every: int = 1,
        log_per_decade: int | None = None,
        f_min: float | None = None,
        extra: tuple[str, ...] = (),
    ):
        self.members = np.asarray(members, dtype=np.int64)
        self.m, self.every, self.e = x_columns, every, len(extra)
        self.marks = LogMarks(log_per_decade) if log_per_decade else None
        self.f_min = f_min
        self.hits = np.full((len(TARGETS), len(members)), -1, dtype=np.int64)
        os.makedirs(os.path.join(folder, "traces"), exist_ok=True)
        self.path = os.path.join(folder, trace_name(batch))
        self._tmp = self.path + ".partial"
        self._fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        cols = ["member", "iteration", "f", "grad_norm", "step_norm", *extra] + [
            f"x{i}" for i in range(x_columns)
        ]
        self._member_texts = int_texts(self.members)  # b"7," per member, made once
        self._parts = [(",".join(cols) + "\n").encode()]
        self._pending = 0
        self._last = time.monotonic()
        self.rows_written = 0

    def add(self, first: int, f, gn, sn, x, rows: np.ndarray, ended: np.ndarray, extra: tuple = ()) -> None:
        """Rows of a runner chunk: ``f``/``gn``/``sn`` and the ``extra`` columns ``(n, S)``, ``x``
        ``(n, S, d)``."""
        n = f.shape[0]
        if n == 0 or not rows.any():
            return
        keep = np.arange(n)[:, None] < rows[None, :]  # (n, S): the member's own rows
        cross = first_crossings(f, keep, self.f_min, self.hits, first) if self.f_min is not None else None
        if self.marks is not None or self.every > 1:
            if self.marks is not None:
                thin = self.marks.mask(first, n)[:, None] & keep
                if cross is not None:
                    thin |= cross
            else:
                thin = (np.arange(first, first + n) % self.every == 0)[:, None] & keep
            ends = np.flatnonzero(ended & (rows > 0))
            thin[rows[ends] - 1, ends] = True
            keep = thin
        # member-major order within the chunk
        S = keep.shape[1]
        columns, at = (f, gn, sn, *extra), 3 + self.e  # the first x column
        block = np.empty((int(np.count_nonzero(keep)), at + self.m))
        its = int_texts(np.arange(first, first + n))  # b"12," per row of the chunk
        if len(block) == n * S:  # every row kept (the common case): transposes, no gathers
            cube = block.reshape(S, n, at + self.m)  # a view: block is new and contiguous
            for j, a in enumerate(columns):
                cube[:, :, j] = a.T
            if self.m:
                cube[:, :, at:] = x[:, :, : self.m].transpose(1, 0, 2)
            heads = (np.repeat(self._member_texts, n), np.tile(its, S))
        else:
            sel_s, sel_r = np.nonzero(keep.T)
            for j, a in enumerate(columns):
                block[:, j] = a[sel_r, sel_s]
            if self.m:
                block[:, at:] = x[sel_r, sel_s, : self.m]
            heads = (self._member_texts[sel_s], its[sel_r])
        self.rows_written += len(block)
        step = max(1, PIECE_NUMBERS // (5 + self.e + self.m))  # pieces that stay in the CPU's cache
        finite = bool(np.isfinite(block).all())  # (else each piece looks for its non-finite rows)
        for a in range(0, len(block), step):
            text = csv_lines([h[a : a + step].tolist() for h in heads], block[a : a + step], finite)
            self._parts.append(text)
            self._pending += len(text)
            if self._pending >= FLUSH_BYTES:
                self.flush()
        if time.monotonic() - self._last >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Append the pending lines; a write that fails (a full disk) is cut back off the file, so
        it always ends with a whole line."""
        if self._parts:
            data = memoryview(b"".join(self._parts))
            start = os.lseek(self._fd, 0, os.SEEK_END)
            try:
                while data:
                    data = data[os.write(self._fd, data) :]
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, start)
                raise
            self._parts = []
        self._pending = 0
        self._last = time.monotonic()

    def close(self) -> None:
        """Flush, close, and give the file its final name (also after a failure or an interruption:
        it holds the batch's rows up to there). A killed process leaves ``batch-NNNN.csv.partial``."""
        try:
            self.flush()
        finally:  # a flush that failed (a full disk) left whole lines: the file still gets its name
            os.close(self._fd)
            os.replace(self._tmp, self.path)


def _plain(v):
    """A JSON value: non-finite floats become null (lists too)."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


_CSV_SPECIAL = (",", '"', "\r", "\n")  # characters that make csv.writer quote a field


#: a row handed back by a batch may carry its ROW_FIELDS cells as summary.csv text under this key
#: (formatted where the batch ran, in parallel): the sweep takes it out before keeping the row
ROW_CELLS = "row_cells"


def summary_lines(columns: list[str], rows: list[dict]) -> str:
    """The lines ``csv.writer(f, lineterminator="\\n")`` writes for ``rows`` (``columns`` of each,
    a missing key, None and a non-finite float as an empty cell), formatted a column at a time:
    a column of one plain type goes through one ``map`` call instead of the writer's per-field
    work (the summary of 100,000 members is written by the parent while nothing else runs)."""
    if not rows:
        return ""
    if len(columns) < 2:  # (a row of one empty cell is written '""')
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(
            [[_plain_text(r.get(c)) for c in columns] for r in rows]
        )
        return out.getvalue()
    return "\n".join(summary_cells(columns, rows)) + "\n"


def summary_cells(columns: list[str], rows: list[dict]) -> list[str]:
    """Each row's cells of ``columns`` (at least two) as summary.csv text, without the newline."""
    cells = [_column_texts(list(map(dict.get, rows, itertools.repeat(c)))) for c in columns]
    return list(map(",".join, zip(*cells)))


def _column_texts(values: list) -> list[str]:
    """The csv.writer text of each cell of a column (see :func:`summary_lines`)."""
    types = set(map(type, values))
    if types == {int}:
        return list(map(str, values))
    if types == {type(None)}:  # a column no member has (error; a target never reached)
        return [""] * len(values)
    if types == {int, type(None)}:  # a target some members reached
        return ["" if v is None else str(v) for v in values]
    if types == {float} and all(map(math.isfinite, values)):
        return list(map(repr, values))  # csv.writer writes floats with repr
    strings = [v for v in values if type(v) is str] if str in types else []
    if types <= {int, float, str, type(None)} and not any(c in "\x00".join(strings) for c in _CSV_SPECIAL):
        return list(values) if types == {str} else [_plain_text(v) for v in values]
    out = io.StringIO()  # anything else (quoting, bools, numpy scalars): the writer itself, a cell at a time
    w = csv.writer(out, lineterminator="\n")
    isfinite = math.isfinite
    texts = []
    for v in values:
        out.seek(0)
        out.truncate()
        w.writerow(["" if v is None or (isinstance(v, float) and not isfinite(v)) else v, ""])
        texts.append(out.getvalue()[:-2])  # the cell, without the empty cell's comma and the newline
    return texts


def _plain_text(v: int | float | str | None) -> str:
    if v is None:
        return ""
    if type(v) is float:
        return repr(v) if math.isfinite(v) else ""
    return v if type(v) is str else str(v)


def _streamed(path: str):
    """A text file written piece by piece under a temporary name, renamed over ``path`` at the end
    (:func:`optrun.store.files.atomic_open`): readers see the old file or the whole new one, and
    memory holds one piece at a time."""
    return atomic_open(path, "w", newline="", buffering=1 << 20)


def write_summary(
    folder: str,
    summary: dict,
    columns: list[str],
    rows: list[dict],
    cells: list[str | None] | None = None,
    lead: int = 0,
) -> None:
    """``summary.csv`` (``columns``, one line per member), then ``summary.json`` (``summary`` plus
    ``columns`` and ``rows``, compact), both streamed: 100,000 members never need the whole text
    in memory. ``cells[i]``, when given, is row i's text of ``columns[lead:]`` (a batch formatted
    it: :data:`ROW_CELLS`), or None (the row is formatted here)."""
    with _streamed(os.path.join(folder, "summary.csv")) as f:
        csv.writer(f, lineterminator="\n").writerow(columns)
        for i in range(0, len(rows), 1000):
            part = rows[i : i + 1000]
            done = cells[i : i + 1000] if cells is not None else [None] * len(part)
            if None in done or lead < 2:
                f.write(summary_lines(columns, part))
            else:  # the row's first columns here, the others as the batch formatted them
                f.write("\n".join(map("{},{}".format, summary_cells(columns[:lead], part), done)) + "\n")
    head = json.dumps({**jsonable(summary), "columns": columns}, separators=(",", ":"), allow_nan=False)
    # in bytes: orjson's UTF-8 goes to the file as it is (the json module's text is ASCII)
    with atomic_open(os.path.join(folder, "summary.json"), "wb", buffering=1 << 20) as f:
        f.write((head[:-1] + ',"rows":[').encode())
        for i in range(0, len(rows), 1000):
            chunk = rows[i : i + 1000]
            try:  # orjson writes non-finite floats as null
                part = orjson.dumps(chunk, option=orjson.OPT_SERIALIZE_NUMPY)
            except orjson.JSONEncodeError:  # an integer beyond 64 bits (a swept value): the json module
                part = json.dumps(
                    [{k: _plain(v) for k, v in r.items()} for r in chunk],
                    separators=(",", ":"),
                    allow_nan=False,
                ).encode()
            if i:
                f.write(b",")
            f.write(memoryview(part)[1:-1])
        f.write(b"]}\n")
