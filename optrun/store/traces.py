"""Reading trace files: a run's ``trace.csv`` or ``trace.jsonl``, a sweep batch's ``traces/batch-NNNN.csv``.

The trace is streamed by the writer in whole-line blocks, so a crash leaves at most a partial last
line: it is dropped. Anything else that does not parse (or iterations that stop increasing: two
writers interleaved, a file spliced) is damage, raised as :class:`~optrun.errors.RunReadError`
with the file and line. Listings look at file sizes and the file's tail only
(:func:`trace_damage`, :func:`trace_progress`, :func:`trace_tail_problem`): cheap however long the trace.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import RunReadError

TRACE_FILES = ("trace.csv", "trace.jsonl")  # a run writes one or both (trace.formats); readers take either
#: statuses whose run wrote its first rows before it ended: an empty trace file then is damage
WROTE_ROWS = ("completed", "diverged", "interrupted")
TRACE_BASE_COLUMNS = ("iteration", "f", "grad_norm", "step_norm")


def empty_trace() -> dict[str, np.ndarray]:
    """The columns of a trace with no rows: ``iteration`` (int64) and ``f``, ``grad_norm``, ``step_norm``."""
    return {c: np.empty(0, dtype=np.int64 if c == "iteration" else np.float64) for c in TRACE_BASE_COLUMNS}


def _read_text(path: str, what: str, name: str) -> str:
    """A trace file's complete lines (a partial last line is a write cut short: dropped)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise RunReadError(f"{what}: {name} is missing") from None
    except OSError as e:
        raise RunReadError(f"{what}: cannot read {name}: {e.strerror or e}") from None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise RunReadError(f"{what}: {name} is damaged (not a text file)") from None
    return text[: text.rfind("\n") + 1]


def _parse_columns(
    header: str, body: str, base: tuple[str, ...], what: str, name: str
) -> dict[str, np.ndarray]:
    """Columns of a CSV body under ``header`` whose first columns must be ``base``; integer
    columns (``member``, ``iteration``) as int64, the others float64."""
    columns = header.strip().split(",")
    if tuple(columns[: len(base)]) != base or len(set(columns)) != len(columns):
        raise RunReadError(
            f"{what}: {name} is damaged (header {header.strip()[:60]!r}, expected {','.join(base)},x0,...)"
        )
    if body.strip():
        try:
            data = np.loadtxt(io.StringIO(body), delimiter=",", dtype=np.float64, ndmin=2)
        except ValueError:
            raise RunReadError(f"{what}: {name} is damaged ({_first_bad_line(body, len(columns))})") from None
        if data.shape[1] != len(columns):
            raise RunReadError(
                f"{what}: {name} is damaged ({data.shape[1]} values per row, header names {len(columns)})"
            )
    else:
        data = np.empty((0, len(columns)))
    out: dict[str, np.ndarray] = {}
    for j, c in enumerate(columns):
        col = data[:, j]
        if c in ("member", "iteration"):
            if not np.all(np.isfinite(col)) or np.any(col != np.round(col)):
                raise RunReadError(f"{what}: {name} is damaged (an {c} is not a whole number)")
            out[c] = col.astype(np.int64)
        else:
            out[c] = np.ascontiguousarray(col)
    return out


def trace_file(path: str) -> str:
    """The trace file a reader takes: ``trace.csv``, else ``trace.jsonl`` (``trace.formats:
    [jsonl]``); ``trace.csv`` when neither exists (so the error names it)."""
    for name in TRACE_FILES:
        if os.path.exists(os.path.join(path, name)):
            return name
    return TRACE_FILES[0]


def read_trace(path: str, run_id: str | None = None) -> dict[str, np.ndarray]:
    """Columns of ``path/trace.csv`` (or of ``trace.jsonl`` when the run wrote only that) by name
    (see :meth:`Run.trace`)."""
    run_id = run_id or os.path.basename(os.path.normpath(path))
    what = f"run {run_id}"
    name = trace_file(path)
    if not os.path.exists(os.path.join(path, name)):
        raise RunReadError(f"{what}: trace.csv is missing (and there is no trace.jsonl)")
    text = _read_text(os.path.join(path, name), what, name)
    if not text:  # no complete line yet: a run that has not flushed its first block
        return empty_trace()
    if name == "trace.jsonl":
        return _increasing(_parse_json_lines(text, what, name), what, name, 1)
    header, _, body = text.partition("\n")
    cols = _parse_columns(header, body, TRACE_BASE_COLUMNS, what, name)
    return _increasing(cols, what, name, 2)


def _increasing(cols: dict[str, np.ndarray], what: str, name: str, first_line: int) -> dict[str, np.ndarray]:
    """``cols`` when its iterations increase; else the trace is damaged (two writers interleaved,
    a file spliced): :class:`~optrun.errors.RunReadError` naming the file and line."""
    problem = _order_problem(cols["iteration"], first_line)
    if problem:
        raise RunReadError(f"{what}: {name} is damaged ({problem})")
    return cols


def _parse_json_lines(text: str, what: str, name: str) -> dict[str, np.ndarray]:
    """Columns of a ``trace.jsonl`` text (whole lines): the keys of its first object, in order;
    ``null`` (a non-finite number: JSON has no spelling for them) reads as nan."""
    import orjson

    lines = text.splitlines()
    try:
        rows = orjson.loads("[" + ",".join(line for line in lines if line.strip()) + "]")
    except orjson.JSONDecodeError:
        for n, line in enumerate(lines, start=1):
            try:
                orjson.loads(line)
            except orjson.JSONDecodeError:
                raise RunReadError(f"{what}: {name} is damaged (line {n} is not JSON)") from None
        raise RunReadError(f"{what}: {name} is damaged") from None
    if not rows:
        return empty_trace()
    columns = list(rows[0]) if isinstance(rows[0], dict) else []
    if tuple(columns[: len(TRACE_BASE_COLUMNS)]) != TRACE_BASE_COLUMNS:
        raise RunReadError(
            f"{what}: {name} is damaged (line 1 has the keys {','.join(columns)[:60]!r}, "
            f"expected {','.join(TRACE_BASE_COLUMNS)},x0,...)"
        )
    for n, r in enumerate(rows, start=1):
        if not isinstance(r, dict) or list(r) != columns:
            raise RunReadError(f"{what}: {name} is damaged (line {n} does not have the keys of line 1)")
    out: dict[str, np.ndarray] = {}
    for c in columns:
        values = [r[c] for r in rows]
        if c == "iteration":
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                raise RunReadError(f"{what}: {name} is damaged (an iteration is not a whole number)")
            out[c] = np.array(values, dtype=np.int64)
        else:
            try:
                out[c] = np.array([math.nan if v is None else v for v in values], dtype=np.float64)
            except (TypeError, ValueError):
                raise RunReadError(f"{what}: {name} is damaged (a {c} value is not a number)") from None
    return out


def trace_damage(path: str, status: Any) -> str | None:
    """What is wrong with a run folder's trace files given its status (``None``: nothing seen).

    A run that ended ``completed``, ``diverged`` or ``interrupted`` wrote its header and first
    rows before it ended, so an empty trace file (or none at all) is damage, not "no rows yet".
    Only file sizes are looked at: cheap enough for every listing."""
    if status not in WROTE_ROWS:
        return None
    sizes = {}
    for name in TRACE_FILES:
        try:
            sizes[name] = os.path.getsize(os.path.join(path, name))
        except OSError:
            continue
    if not sizes:
        return "trace.csv is missing (and there is no trace.jsonl)"
    for name, size in sizes.items():
        if size == 0:
            return f"{name} is damaged (empty, but the run is {status})"
    return None


def _order_problem(iterations: np.ndarray, first_line: int) -> str | None:
    """Where a trace's iterations stop increasing (two writers interleaved, a file spliced), or
    None; ``first_line`` is the file line of the first value."""
    bad = np.flatnonzero(np.diff(iterations) <= 0)
    if not bad.size:
        return None
    j = int(bad[0]) + 1
    return (
        f"line {first_line + j}: iteration {iterations[j]} after {iterations[j - 1]}; "
        "iterations must increase"
    )


def batch_trace_file(sweep_path: str, batch: int) -> str:
    """``traces/batch-NNNN.csv`` of a sweep, or its ``.partial`` file while (or if never) closed."""
    path = os.path.join(sweep_path, "traces", f"batch-{batch:04d}.csv")
    if not os.path.exists(path) and os.path.exists(path + ".partial"):
        return path + ".partial"
    return path


def read_batch_trace(
    sweep_path: str, batch: int, members: Sequence[int] | None = None
) -> dict[int, dict[str, np.ndarray]]:
    """The rows of each member in a sweep's ``traces/batch-NNNN.csv``, by member number, as
    :meth:`Run.trace` columns (the ``member`` column dropped, rows in file order, which is
    iteration order). ``members`` picks some (absent ones get empty columns); ``None`` gives all.

    A few members are picked out by the line prefix before parsing, so reading one member of a
    4,096-member batch does not parse the others' rows.
    """
    sweep_id = os.path.basename(os.path.normpath(sweep_path))
    path = batch_trace_file(sweep_path, batch)
    what, name = f"sweep {sweep_id}", os.path.relpath(path, sweep_path)
    text = _read_text(path, what, name)
    wanted = None if members is None else [int(m) for m in members]
    if not text:
        return {m: empty_trace() for m in wanted or []}
    header, _, body = text.partition("\n")
    base = ("member",) + TRACE_BASE_COLUMNS
    if wanted is not None and len(wanted) <= 8:
        prefixes = tuple(f"{m}," for m in wanted)
        picked = [line for line in body.split("\n") if line.startswith(prefixes)]
        try:
            cols = _parse_columns(header, "\n".join(picked) + "\n" if picked else "", base, what, name)
        except RunReadError:
            _parse_columns(header, body, base, what, name)  # the same damage, with its true line number
            raise
    else:
        cols = _parse_columns(header, body, base, what, name)
    member = cols.pop("member")
    order = np.argsort(member, kind="stable")
    found, starts = np.unique(member[order], return_index=True)
    ends = np.r_[starts[1:], order.size]
    keep = None if wanted is None else set(wanted)
    out: dict[int, dict[str, np.ndarray]] = {}
    for m, a, b in zip(found.tolist(), starts.tolist(), ends.tolist()):
        if keep is None or m in keep:
            idx = order[a:b]
            its = cols["iteration"][idx]
            back = np.flatnonzero(np.diff(its) <= 0)
            if back.size:  # two writers interleaved, a file spliced: refused as a run's trace is
                j = int(back[0]) + 1
                raise RunReadError(
                    f"{what}: {name} is damaged (member {m}: iteration {its[j]} after "
                    f"{its[j - 1]}; iterations must increase)"
                )
            out[m] = {c: v[idx] for c, v in cols.items()}
    for m in wanted or []:
        if m not in out:
            out[m] = {c: v[:0] for c, v in cols.items()}
    return out


def _first_bad_line(body: str, width: int) -> str:
    """Where and why the trace body does not parse (the slow path, taken only on damage)."""
    for n, line in enumerate(body.split("\n"), start=2):  # line 1 is the header
        if not line.strip():
            continue
        values = line.split(",")
        if len(values) != width:
            return f"line {n} has {len(values)} values, the header names {width}"
        for v in values:
            try:
                float(v)
            except ValueError:
                return f"line {n}: {v.strip()[:20]!r} is not a number"
    return "unparsable rows"


def trace_progress(path: str) -> dict[str, Any]:
    """How far a running or crashed run got, from the last complete line of its trace.csv
    (read from the end: cheap however long the trace). Empty when there is nothing to read."""
    name = trace_file(path)
    try:
        with open(os.path.join(path, name), "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 65536))
            tail = f.read().decode("utf-8", "replace")
    except OSError:
        return {}
    lines = tail.split("\n")[:-1]  # drop the partial (or empty) text after the last newline
    for line in reversed(lines):
        try:
            if name == "trace.jsonl":
                row = json.loads(line)
                it, fval = int(row["iteration"]), row["f"]
                fval = math.nan if fval is None else float(fval)
            else:
                cells = line.split(",")
                it, fval = int(cells[0]), float(cells[1])
        except (ValueError, IndexError, KeyError, TypeError):
            continue
        return {"iterations": it, "final_f": fval, "progress_from": name}
    return {}


def trace_tail_problem(path: str) -> str | None:
    """Whether the last complete rows of trace.csv (up to 16 kB) have increasing iterations."""
    try:
        with open(os.path.join(path, "trace.csv"), "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 16384))
            lines = f.read().decode("ascii", "replace").split("\n")[1 if size > 16384 else 0 : -1]
    except OSError:
        return None
    its = [int(c) for c in (ln.split(",", 1)[0] for ln in lines) if c.isdigit()]
    problem = _order_problem(np.array(its, dtype=np.int64), 0) if len(its) > 1 else None
    return "trace.csv is damaged (iterations do not increase)" if problem else None
