"""Finding and reading run folders: the reading half of the run-folder contract.

A run folder (README, "Run folder") holds ``config.yaml``, ``summary.json``, ``meta.json``,
and ``trace.csv`` and/or ``trace.jsonl`` (``trace.formats``; readers take either).
:func:`load_run` reads one into a :class:`Run` (plain dicts and, on demand, numpy columns of the
trace); :func:`list_runs` reads a runs folder newest first;
:func:`resolve_run` turns a RUN argument (a folder path, a unique id prefix, ``last``, ``-1``,
``-2`` ...) into a folder path.

Sweeps (:mod:`optrun.store.sweepstore` describes their folder) are read here too:
:func:`load_sweep` gives a :class:`Sweep` (the member table, the axes, member traces), and every
RUN argument may name one member of a sweep, as ``SWEEP/7`` (member number 7) or
``SWEEP:algorithm.alpha=0.01,seed=3`` (its axis values; a key may be shortened to its last part
when that is unambiguous, values are typed by YAML rules), where SWEEP is any selector.
:func:`resolve_run` turns a member address into ``<sweep folder>/<member>``, which
:func:`load_run` reads as a :class:`Run` whose config is the member's resolved config, whose
summary is the member's row and whose trace is the member's rows of its batch trace file.

Two things are reconciled on reading rather than trusted:

* ``status: running`` is what a live run writes. If the recorded process is gone, or its pid now
  belongs to another process (the kernel start time ``pid_start`` differs), the run died without
  a chance to say so and is reported ``crashed``. On another host the pid cannot be checked; a
  heartbeat (``updated_at``) older than :data:`STALE_SECONDS` counts as crashed there.
* The trace is streamed by the writer in whole-line blocks, so a crash leaves at most a partial
  last line: it is dropped. Anything else that does not parse is damage, reported with the file
  and line.

Reading strictly (the default) raises :class:`~optrun.errors.RunReadError` naming the run and the
problem; reading leniently (listings) returns a run whose status is ``damaged`` with a
``problem`` text instead, so one bad folder never hides the others.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import yaml

from ..errors import FormatVersionError, OptrunError, RunReadError, RunSelectionError
from .folder import FORMAT_VERSION, hostname, process_start_ticks

RUN_FILES = ("summary.json", "config.yaml", "meta.json", "trace.csv", "trace.jsonl")
TRACE_FILES = ("trace.csv", "trace.jsonl")  # a run writes one or both (trace.formats); readers take either
#: statuses whose run wrote its first rows before it ended: an empty trace file then is damage
WROTE_ROWS = ("completed", "diverged", "interrupted")
TRACE_BASE_COLUMNS = ("iteration", "f", "grad_norm", "step_norm")
STALE_SECONDS = 600.0  # a running run on another host with no heartbeat for this long is crashed
RELATIVE_RE = re.compile(r"^(?:last|-(\d+))$")
ID_TIME_RE = re.compile(r"^(\d{8}-\d{6})(?:\.(\d{1,6}))?")

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Run:
    """One run folder, read.

    ``config`` is the resolved config (``config.yaml``), ``summary`` the summary (``summary.json``)
    with its status reconciled (``running`` -> ``crashed`` when the process is gone; the written
    value is then kept as ``recorded_status`` and the reason as ``status_note``), ``meta`` the
    provenance (``meta.json``). A folder read leniently whose files are damaged has status
    ``damaged`` and the reason in ``problem`` (also ``summary["problem"]``).

    A sweep member (``kind == "member"``) has ``member`` (its number), ``sweep_path`` (the sweep
    folder), ``path`` = ``<sweep folder>/<member>`` (an address :func:`load_run` reads back) and
    ``id`` = ``<sweep id>/<member>``; ``meta`` is the sweep's.
    """

    path: str
    id: str
    config: dict[str, Any]
    summary: dict[str, Any]
    meta: dict[str, Any]
    problem: str | None = None
    _trace: dict[str, np.ndarray] | None = field(default=None, repr=False, compare=False)
    member: int | None = None
    sweep_path: str | None = None

    @property
    def kind(self) -> str:
        """``run`` for a run folder, ``member`` for one member of a sweep."""
        return "member" if self.member is not None else "run"

    @property
    def status(self) -> str:
        return str(self.summary.get("status", "damaged"))

    @property
    def algorithm(self) -> str | None:
        return self.summary.get("algorithm") or _get(self.config, "algorithm", "name")

    @property
    def variant(self) -> str | None:
        return self.summary.get("variant") or _get(self.config, "algorithm", "variant")

    @property
    def objective(self) -> str | None:
        return self.summary.get("objective") or _get(self.config, "objective", "name")

    @property
    def dim(self) -> int | None:
        return self.summary.get("dim") or _get(self.config, "objective", "dim")

    @property
    def f_min(self) -> float | None:
        """The objective's known optimal value f*, or ``None`` when it is not known."""
        return self.summary.get("f_min")

    def trace(self) -> dict[str, np.ndarray]:
        """The columns of ``trace.csv`` (or ``trace.jsonl`` when the run wrote only that, where
        non-finite numbers read as nan) by name: ``iteration`` (int64), ``f``, ``grad_norm``,
        ``step_norm`` and any ``x0 .. x{m-1}`` (float64; ``nan``/``inf`` kept as written).

        Floats were written as their shortest round-trip text, so values read back bit for bit. A
        partial last line (a run killed mid-write) is dropped; any other unparsable line raises
        :class:`~optrun.errors.RunReadError`. Read once, then cached.
        """
        if self._trace is None:
            if self.member is not None and self.sweep_path is not None:
                batch = self.summary.get("batch")
                if not isinstance(batch, int) or isinstance(batch, bool):  # never ran: no rows
                    self._trace = _empty_trace()
                else:
                    self._trace = read_batch_trace(self.sweep_path, batch, [self.member])[self.member]
            else:
                self._trace = read_trace(self.path, self.id)
        return self._trace

    def trace_frame(self):
        """The trace as a ``pandas.DataFrame`` (pandas is optional: ImportError when missing)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "Run.trace_frame() needs pandas (pip install pandas, or the pandas extra: pip install '.[pandas]'); Run.trace() "
                "gives the same columns as numpy arrays"
            ) from None
        return pd.DataFrame(self.trace())


def _get(d: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


# ------------------------------------------------------------------------------------ files


def _read_json(path: str, run_id: str, name: str, kind: str = "run") -> dict[str, Any]:
    what = f"{kind} {run_id}"
    try:
        with open(os.path.join(path, name), encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise RunReadError(f"{what}: {name} is missing") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RunReadError(f"{what}: cannot read {name}: {getattr(e, 'strerror', None) or e}") from None
    except json.JSONDecodeError as e:
        raise RunReadError(f"{what}: {name} is damaged (invalid JSON at line {e.lineno}: {e.msg})") from None
    if not isinstance(data, dict):
        raise RunReadError(f"{what}: {name} is damaged (a JSON object expected, found {type(data).__name__})")
    return data


def _read_parts(
    path: str, folder_id: str, kind: str, lenient: bool, check_summary: Any
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """summary.json, config.yaml and meta.json of a run or sweep folder, and what is wrong with them.

    Strict: the first problem raises :class:`RunReadError`. Lenient: a damaged file reads as ``{}``
    and its problem is listed. ``check_summary(summary)`` names damage inside a parsed summary.
    """
    parts: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for name in ("summary.json", "config.yaml", "meta.json"):
        try:
            parts[name] = (
                _read_config(path, folder_id, kind)
                if name == "config.yaml"
                else _read_json(path, folder_id, name, kind)
            )
        except RunReadError as e:
            if not lenient:
                raise
            parts[name] = {}
            problems.append(e.message.split(": ", 1)[1])
        if name == "summary.json" and (newer := newer_format(parts[name])):
            # nothing else of a newer format is read: its files may mean other things
            if not lenient:
                raise FormatVersionError(f"{kind} {folder_id}: {newer}")
            return {**parts, "config.yaml": {}, "meta.json": {}}, [newer]
    if "summary.json" not in " ".join(problems):
        bad = check_summary(parts["summary.json"])
        if bad:
            if not lenient:
                raise RunReadError(f"{kind} {folder_id}: summary.json is damaged ({bad})")
            problems.insert(0, f"summary.json is damaged ({bad})")
    return parts, problems


NEWER_FORMAT = "written by a newer optrun"  # how an unreadable folder's problem begins


def newer_format(summary: dict[str, Any]) -> str | None:
    """Why a folder whose ``summary.json`` says ``format_version`` N > :data:`FORMAT_VERSION`
    cannot be read here (None when it can: this or an older format, or none recorded)."""
    v = summary.get("format_version")
    if isinstance(v, int) and not isinstance(v, bool) and v > FORMAT_VERSION:
        return (
            f"{NEWER_FORMAT} (folder format {v}; this optrun reads format {FORMAT_VERSION} and older): "
            "upgrade optrun to read it (pip install -U optrun)"
        )
    return None


def _status_of(problem: str) -> str:
    """The status a listing shows for a folder with ``problem``: unreadable (a newer format) or damaged."""
    return "unreadable" if problem.startswith(NEWER_FORMAT) else "damaged"


def _read_config(path: str, run_id: str, kind: str = "run") -> dict[str, Any]:
    what = f"{kind} {run_id}"
    try:
        with open(os.path.join(path, "config.yaml"), encoding="utf-8") as f:
            data = yaml.load(f, Loader=_YAML_LOADER)
    except FileNotFoundError:
        raise RunReadError(f"{what}: config.yaml is missing") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RunReadError(f"{what}: cannot read config.yaml: {getattr(e, 'strerror', None) or e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise RunReadError(f"{what}: config.yaml is damaged (invalid YAML{where})") from None
    if not isinstance(data, dict):
        raise RunReadError(f"{what}: config.yaml is damaged (a mapping expected)")
    return data


def _empty_trace() -> dict[str, np.ndarray]:
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
        return _empty_trace()
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
        return _empty_trace()
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
        return {m: _empty_trace() for m in wanted or []}
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


# ------------------------------------------------------------------------------------ status


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def reconcile_status(summary: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """A copy of ``summary`` whose ``running`` status is checked against the recorded process.

    Same host: the run is ``crashed`` when its pid is gone or now names another process (its
    kernel start time differs from ``pid_start``). Other host: crashed when the heartbeat
    ``updated_at`` is older than :data:`STALE_SECONDS`. Otherwise the summary is returned as is.
    """
    if summary.get("status") != "running":
        return summary
    pid, started, host = summary.get("pid"), summary.get("pid_start"), summary.get("hostname")
    note = None
    if host in (None, hostname()):
        if isinstance(pid, int) and pid > 0:
            ticks = process_start_ticks(pid)
            if ticks is None:
                note = f"process {pid} that ran it is gone"
            elif isinstance(started, int) and ticks != started:
                note = f"process {pid} that ran it is gone (the pid now names another process)"
    else:
        beat = _parse_time(summary.get("updated_at") or summary.get("started_at"))
        now = now or datetime.now(timezone.utc)
        if beat is not None and (now - beat).total_seconds() > STALE_SECONDS:
            note = f"no heartbeat from host {host} since {summary.get('updated_at')}"
    if note is None:
        return summary
    return {**summary, "status": "crashed", "recorded_status": "running", "status_note": note}


# ------------------------------------------------------------------------------------ loading


SUMMARY_TYPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("status",), (str,)),
    **dict.fromkeys(
        (
            "id",
            "name",
            "algorithm",
            "variant",
            "objective",
            "hostname",
            "started_at",
            "updated_at",
            "ended_at",
            "stop_reason",
        ),
        (str, type(None)),
    ),
    **dict.fromkeys(
        ("iterations", "iterations_planned", "best_iteration", "dim", "pid", "pid_start"), (int, type(None))
    ),
    **dict.fromkeys(
        (
            "final_f",
            "best_f",
            "final_grad_norm",
            "f_min",
            "f_gap",
            "distance_to_optimum",
            "wall_time_s",
            "time_per_iteration_s",
        ),
        (int, float, type(None)),
    ),
    **dict.fromkeys(("final_x", "best_x"), (list, type(None))),
    "hits": (dict, type(None)),
}


def summary_problem(summary: dict[str, Any]) -> str | None:
    """What is wrong with a parsed summary's documented fields (``None`` when nothing is)."""
    if "status" not in summary:
        return "no status"
    for key, types in SUMMARY_TYPES.items():
        if key in summary:
            v = summary[key]
            if not isinstance(v, types) or isinstance(v, bool):
                return f"{key} is {json.dumps(v)[:40]}, expected {_type_words(types)}"
    return None


def _type_words(types: tuple[type, ...]) -> str:
    words = {str: "a string", int: "an integer", float: "a number", list: "a list", type(None): "null"}
    names = [words[t] for t in types if not (t is int and float in types)]
    return " or ".join(names)


def _has_run_files(path: str) -> bool:
    return any(os.path.isfile(os.path.join(path, name)) for name in RUN_FILES)


def _trace_progress(path: str) -> dict[str, Any]:
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


def _trace_tail_problem(path: str) -> str | None:
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


def default_runs_dir() -> str:
    """The runs folder the CLI uses without ``--runs-dir``: ``$OPTRUN_RUNS_DIR``, else ``runs``."""
    return os.environ.get("OPTRUN_RUNS_DIR") or "runs"


def _selected_path(path: str, runs_dir: str | None) -> str:
    """``path`` itself when it is a folder or a sweep member's address, else what the RUN
    selector ``path`` names in ``runs_dir`` (:func:`resolve_run`)."""
    if os.path.isdir(path):
        return path
    head, tail = os.path.split(os.path.normpath(path))
    if tail.isdigit() and os.path.isdir(head) and folder_kind(head) == "sweep":
        return path
    return resolve_run(path, runs_dir if runs_dir is not None else default_runs_dir())


def load_run(path: str, lenient: bool = False, runs_dir: str | None = None) -> Run:
    """Read the run folder at ``path``, or the run any RUN selector names, as the CLI takes it:
    ``load_run("last")``, ``load_run("-2", runs_dir="runs")``, an id prefix, ``SWEEP/7``,
    ``SWEEP:alpha=0.01,seed=3``. Selectors are resolved in ``runs_dir`` (default
    ``$OPTRUN_RUNS_DIR``, else ``runs``) by :func:`resolve_run`; an existing folder path wins.

    Strict (default): a missing or damaged ``summary.json``, ``config.yaml`` or ``meta.json``
    raises :class:`~optrun.errors.RunReadError` naming the run and the problem; a path that is
    not a run folder raises :class:`~optrun.errors.RunSelectionError`. Lenient: a damaged folder
    comes back with status ``damaged`` and the reason in ``problem``. The trace is read on
    demand by :meth:`Run.trace`.

    ``<sweep folder>/<N>`` (what :func:`resolve_run` gives for ``SWEEP/N`` and
    ``SWEEP:key=value``) reads member N of the sweep (:meth:`Sweep.member`); a sweep folder
    itself is not a run (:func:`load_sweep` reads it).
    """
    path = os.path.normpath(_selected_path(path, runs_dir))
    run_id = os.path.basename(os.path.abspath(path))
    if not os.path.isdir(path):
        head, tail = os.path.split(path)
        if tail.isdigit() and os.path.isdir(head) and folder_kind(head) == "sweep":
            return _cached_sweep(head).member(int(tail))
        what = "does not exist" if not os.path.exists(path) else "is a file, not a run folder"
        raise RunSelectionError(f"{path} {what}")
    if not _has_run_files(path):
        raise RunSelectionError(f"{path} is not a run folder (no summary.json, config.yaml or trace.csv)")
    if folder_kind(path) == "sweep":
        try:
            spec = _cached_sweep(path).example_selector()
        except OptrunError:  # a damaged sweep: its member numbers still name members
            spec = None
        raise RunSelectionError(
            f"{path} is a sweep, not one run: name a member as {run_id}/0"
            + (f" or {run_id}:{spec}" if spec else "")
            + " (load_sweep reads the whole sweep)"
        )
    parts, problems = _read_parts(path, run_id, "run", lenient, summary_problem)
    summary = parts["summary.json"]
    if not problems:
        damage = trace_damage(path, summary.get("status"))
        if damage is not None:
            if not lenient:
                raise RunReadError(f"run {run_id}: {damage}")
            problems.append(damage)
    if lenient and not problems:  # a listing reads no whole trace: its tail shows interleaved writers
        tail = _trace_tail_problem(path)
        problems += [tail] if tail else []
    if problems:
        problem = "; ".join(problems)
        recorded = summary.get("status")
        summary = {**summary, "status": _status_of(problem), "problem": problem}
        if isinstance(recorded, str) and recorded not in ("damaged", "unreadable"):
            summary["recorded_status"] = recorded
        return Run(path, run_id, parts["config.yaml"], summary, parts["meta.json"], problem)
    summary = reconcile_status(summary)
    if summary.get("status") in ("running", "crashed") and summary.get("final_f") is None:
        progress = _trace_progress(path)  # the trace is at least as recent as the last heartbeat
        beat = summary.get("iterations")
        if progress and (not isinstance(beat, int) or progress["iterations"] >= beat):
            summary = {**summary, **progress}
    return Run(path, run_id, parts["config.yaml"], summary, parts["meta.json"])


# ------------------------------------------------------------------------------------ sweeps


_KIND_RE = re.compile(rb'"kind"\s*:\s*"([A-Za-z_]+)"')
_SWEEP_CACHE: dict[str, tuple[tuple[int, int], Sweep]] = {}
_SWEEP_CACHE_SIZE = 4


def folder_kind(path: str) -> str:
    """``sweep`` when ``path/summary.json`` says ``"kind": "sweep"``, else ``run``.

    Sweep summaries write ``kind`` near the top, so only the head of a large file is read."""
    try:
        with open(os.path.join(path, "summary.json"), "rb") as f:
            head = f.read(4096)
            m = _KIND_RE.search(head)
            if m is None and len(head) == 4096:
                m = _KIND_RE.search(head + f.read())
    except OSError:
        return "run"
    return m.group(1).decode() if m else "run"


def json_value(v: Any) -> Any:
    """A member-table cell as its value: dict and list axis values are stored as JSON text."""
    if isinstance(v, str) and v[:1] in ("{", "["):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def value_key(v: Any) -> str:
    """A canonical text of an axis value, for matching a plan's assignments to table rows."""
    return json.dumps(json_value(v), sort_keys=True, default=str)


def same_value(cell: Any, value: Any) -> bool:
    """Does the member-table ``cell`` hold ``value``? Numbers compare by value (3 == 3.0, and
    to 1e-9 relative so a typed 0.1 finds a stored 0.1), JSON-encoded mappings by content."""
    cell = json_value(cell)
    num = (int, float)
    if (
        isinstance(cell, num)
        and isinstance(value, num)
        and not isinstance(cell, bool)
        and not isinstance(value, bool)
    ):
        return cell == value or math.isclose(cell, value, rel_tol=1e-9, abs_tol=0.0)
    if isinstance(cell, str) and not isinstance(value, str) and value is not None:
        return cell == _show(value)
    return cell == value


def _show(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


_SPEC_SPLIT = re.compile(r",(?=\s*[A-Za-z_][A-Za-z0-9_.]*\s*=)")


def parse_member_spec(text: str, source: str = "member selector") -> list[tuple[str, Any]]:
    """``algorithm.alpha=0.01,seed=3`` -> ``[("algorithm.alpha", 0.01), ("seed", 3)]``.

    Values are typed by YAML rules (as overrides are); a value may itself hold commas
    (``objective={name: rosenbrock, dim: 10}``): the text is split only before ``KEY=``."""
    return [(k, v) for k, v, _ in parse_pairs(text, source)]


def parse_pairs(
    text: str, source: str, example: str = "SWEEP:algorithm.alpha=0.01,seed=3"
) -> list[tuple[str, Any, str]]:
    """:func:`parse_member_spec` keeping each value's text too (its digits set the precision a
    number is matched at); ``example`` shows the form in the error for a part that is not KEY=VALUE.
    Member selectors and ``optrun plot --where`` read their conditions with it."""
    from ..configio import parse_yaml
    from ..errors import ConfigError

    pairs: list[tuple[str, Any, str]] = []
    for part in _SPEC_SPLIT.split(text):
        key, sep, raw = part.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not key or not raw:
            raise RunSelectionError(f"{source}: '{part.strip()}' is not KEY=VALUE (e.g. {example})")
        try:
            value, _ = parse_yaml(raw, source)
        except ConfigError as e:
            raise RunSelectionError(f"{source}: {e.detail}") from None  # its source and line once
        pairs.append((key, value, raw))
    return pairs


_DECIMAL_RE = re.compile(r"[-+]?(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE][-+]?\d+)?")


def significant_digits(text: str) -> int | None:
    """The significant digits a decimal number's text gives (``0.0316228`` -> 6, ``1e-3`` -> 1,
    ``0.10`` -> 2); ``None`` for any other text."""
    m = _DECIMAL_RE.fullmatch(text.strip())
    if m is None:
        return None
    digits = "".join(g or "" for g in m.groups()).lstrip("0")
    return max(len(digits), 1)


def rounds_to(cell: Any, value: float, digits: int) -> bool:
    """Is the number ``cell`` equal to ``value`` once rounded to ``digits`` significant digits?"""
    cell = json_value(cell)
    if not isinstance(cell, (int, float)) or isinstance(cell, bool) or not math.isfinite(cell):
        return False
    return f"{float(cell):.{digits - 1}e}" == f"{value:.{digits - 1}e}"


def value_label(value: Any, values: Sequence[Any] = ()) -> str:
    """The text to print for an axis value, short and safe to paste back into a selector.

    A float prints with 6 significant digits (``0.0316228`` for 0.03162277660168379), which a
    selector matches at its own precision; when another of ``values`` (the axis's values) prints
    the same, the shortest round-trip text (``repr``) is printed instead, so the label names one
    value. Mappings print as JSON, booleans and null as YAML does."""
    value = json_value(value)
    if isinstance(value, float) and math.isfinite(value):
        short = f"{value:g}"
        others = {
            float(json_value(v))
            for v in values
            if isinstance(json_value(v), (int, float)) and not isinstance(json_value(v), bool)
        }
        if any(f"{o:g}" == short for o in others if o != value):
            return repr(value)
        return short
    return _show(value)


def _column(values: list[Any]) -> np.ndarray:
    """A member-table column: int64 when every value is a whole number, float64 (NaN for
    missing) when every value is a number or missing, otherwise an object array."""
    nums = [v for v in values if v is not None]
    if nums and all(isinstance(v, int) and not isinstance(v, bool) for v in nums):
        if len(nums) == len(values):
            return np.array(values, dtype=np.int64)
        return np.array([math.nan if v is None else float(v) for v in values])
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in nums):
        return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@dataclass
class Sweep:
    """One sweep folder, read (layout: :mod:`optrun.store.sweepstore`).

    ``config`` is the resolved base config with its ``sweep:`` block, ``summary`` the sweep's
    summary (status reconciled as a run's; the member table taken out into ``rows``), ``rows``
    one dict per member in member order (member, batch, the axis values by dotted key, status,
    final_f, best_f, f_gap, hit_1e-1 .. hit_1e-8, ...), ``axes`` the dotted keys swept.
    A running or crashed sweep has no member table yet (``rows`` is empty).
    """

    path: str
    id: str
    config: dict[str, Any]
    summary: dict[str, Any]
    meta: dict[str, Any]
    rows: list[dict[str, Any]]
    columns: list[str]
    problem: str | None = None
    _plan: Any = field(default=None, repr=False, compare=False)

    kind = "sweep"

    @property
    def status(self) -> str:
        return str(self.summary.get("status", "damaged"))

    @property
    def axes(self) -> list[str]:
        axes = self.summary.get("axes")
        if isinstance(axes, list) and all(isinstance(a, str) for a in axes):
            return list(axes)
        return []

    @property
    def size(self) -> int:
        """The number of members (planned: a running sweep has no rows yet)."""
        n = self.summary.get("members")
        return n if isinstance(n, int) and not isinstance(n, bool) else len(self.rows)

    @property
    def counts(self) -> dict[str, int]:
        """Members by status (from the table when there is one)."""
        if self.rows:
            out: dict[str, int] = {}
            for r in self.rows:
                s = str(r.get("status"))
                out[s] = out.get(s, 0) + 1
            return dict(sorted(out.items()))
        c = self.summary.get("counts")
        return dict(c) if isinstance(c, dict) else {}

    def _names(self, section: str) -> list[str]:
        names = self.summary.get(section)
        if isinstance(names, list) and names:
            return [str(n) for n in names]
        base = _get(self.config, section, "name")
        return [str(base)] if base else []

    @property
    def algorithm(self) -> str | None:
        return ", ".join(self._names("algorithm")) or None

    @property
    def variants(self) -> list[str]:
        """The distinct algorithm variants its members run: recorded in the summary (sweeps
        written since it is), the base config's when no axis swaps the algorithm or its variant,
        else read from the members' resolved configs."""
        names = self.summary.get("variant")
        if isinstance(names, list) and names:
            return [str(n) for n in names]
        if isinstance(names, str):
            return [names]
        swaps = [a for a in self.axes if a in ("algorithm", "algorithm.name", "algorithm.variant")]
        if not swaps:
            base = _get(self.config, "algorithm", "variant")
            return [str(base)] if base else []
        if not self.rows:
            return []
        try:
            configs = [self.member_config(i) for i in range(len(self.rows))]
        except (RunReadError, RunSelectionError):
            return []
        return sorted({str(v) for c in configs if (v := _get(c, "algorithm", "variant"))})

    @property
    def variant(self) -> str | None:
        """The members' algorithm variant, ``mixed`` when they differ (:attr:`variants` lists
        them), ``None`` when unknown."""
        names = self.variants
        return None if not names else names[0] if len(names) == 1 else "mixed"

    @property
    def objective(self) -> str | None:
        return ", ".join(self._names("objective")) or None

    @property
    def dim(self) -> int | None:
        if any(a.startswith("objective") for a in self.axes):
            return None
        return _get(self.config, "objective", "dim")

    def best_member(self, key: str = "final_f") -> dict[str, Any] | None:
        """The row with the lowest ``key`` (``None`` when no member has a value)."""
        best = None
        for r in self.rows:
            v = r.get(key)
            number = isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v)
            if number and (best is None or v < best[key]):
                best = r
        return best

    # ---------------------------------------------------------------- axes and members

    def axis_key(self, key: str) -> str:
        """The dotted axis key ``key`` names: itself, its last part(s) (``alpha`` for
        ``algorithm.alpha``) when unambiguous, or a section for its name (``algorithm`` for
        ``algorithm.name``). :class:`~optrun.errors.RunSelectionError` otherwise."""
        axes = self.axes
        if key in axes:
            return key
        found = [a for a in axes if a.endswith("." + key) or a == key + ".name"]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise RunSelectionError(
                f"'{key}' matches the axes {', '.join(found)} of sweep {self.id}: give the full dotted key"
            )
        listed = ", ".join(axes) if axes else "none"
        raise RunSelectionError(f"sweep {self.id} has no axis '{key}' (its axes: {listed})")

    def example_selector(self) -> str | None:
        """A selector of member 0 by its axis values (``alpha=0.001,seed=0``): one that this
        sweep's axes take, for messages; ``None`` when the sweep has no rows or axes, or a value
        is a mapping or a list (``SWEEP/0`` says it better)."""
        if not self.rows or not self.axes:
            return None
        parts = []
        for a in self.axes:
            v = json_value(self.rows[0].get(a))
            if isinstance(v, (dict, list)):
                return None
            short = a[: -len(".name")] if a.endswith(".name") else a.rsplit(".", 1)[-1]  # as compare labels
            try:
                short = short if self.axis_key(short) == a else a
            except RunSelectionError:
                short = a
            parts.append(f"{short}={value_label(v, self.axis_values(a))}")
        return ",".join(parts)

    def axis_values(self, key: str) -> list[Any]:
        """The distinct values of axis ``key`` in member order."""
        key = self.axis_key(key)
        seen: dict[str, Any] = {}
        for r in self.rows:
            seen.setdefault(value_key(r.get(key)), json_value(r.get(key)))
        return list(seen.values())

    def _require_rows(self) -> None:
        if self.rows:
            return
        if self.status == "running":
            why = "is still running: its member table is written when it ends"
        elif self.status == "damaged":
            why = f"is damaged ({self.problem})"
        else:
            why = f"is {self.status} and has no member table (optrun resume {self.id} finishes it)"
        raise RunSelectionError(f"sweep {self.id} {why}")

    def _labels(self, key: str, values: Sequence[Any]) -> str:
        """Values of axis ``key`` as a selector would name them, the first dozen."""
        every = self.axis_values(key)
        shown = ", ".join(value_label(x, every) for x in values[:12])
        return shown + (f", ... ({len(values)} values)" if len(values) > 12 else "")

    def _matching(self, key: str, value: Any, raw: str | None) -> tuple[list[bool], str]:
        """Which rows hold ``value`` on axis ``key``, and how ``key=value`` is said.

        Exactly (numbers to 1e-9 relative) first; failing that a number written with decimals is
        matched at its own precision, so a label printed with 6 significant digits
        (``alpha=0.0316228``) selects the value 0.03162277660168379. That must name one value of
        the axis: several raise :class:`~optrun.errors.RunSelectionError`."""
        said = f"{key}={raw if raw is not None else _show(value)}"
        hit = [same_value(r.get(key), value) for r in self.rows]
        digits = significant_digits(raw) if raw is not None else None
        if any(hit) or digits is None or not isinstance(value, float) or not math.isfinite(value):
            return hit, said
        hit = [rounds_to(r.get(key), value, digits) for r in self.rows]
        near = list(dict.fromkeys(value_key(r.get(key)) for r, h in zip(self.rows, hit) if h))
        if len(near) > 1:
            vals = [json_value(json.loads(v)) for v in near]
            raise RunSelectionError(
                f"{said} matches {len(near)} values of {key} in sweep {self.id} at the "
                f"{digits} digit{'s' * (digits != 1)} given ({self._labels(key, vals)}): "
                "give more digits"
            )
        return hit, said

    def select_members(self, spec: str | dict[str, Any]) -> list[int]:
        """The numbers of every member whose axis values match ``spec`` (``"alpha=0.01"``,
        ``"algorithm=adam,alpha=0.1"`` or a mapping), in member order: one member, or a whole
        configuration (all its seeds), or any subset of the sweep.

        Keys may be shortened as :meth:`axis_key` says; numbers match exactly or, failing that, at
        the precision written (see :meth:`_matching`). No match raises
        :class:`~optrun.errors.RunSelectionError` in one line saying which values exist."""
        self._require_rows()
        source = f"sweep {self.id}"
        if isinstance(spec, str):
            triples = parse_pairs(spec, source)
        else:
            triples = [(k, v, None) for k, v in spec.items()]
        if not triples:
            example = self.example_selector()
            raise RunSelectionError(
                f"{source}: give axis values, e.g. {self.id}:{example}"
                if example
                else f"{source}: give a member number, e.g. {self.id}/0"
            )
        masks, said = [], []
        for k, v, raw in triples:
            key = self.axis_key(k)
            hit, text = self._matching(key, v, raw)
            if not any(hit):
                raise RunSelectionError(
                    f"no member of sweep {self.id} has {text}; {key} takes "
                    f"{self._labels(key, self.axis_values(key))}"
                )
            masks.append((key, hit))
            said.append(text)
        rows = [r for i, r in enumerate(self.rows) if all(h[i] for _, h in masks)]
        if not rows:
            # each value exists, not together: which values the last key takes with the others
            key, _ = masks[-1]
            rest = [i for i in range(len(self.rows)) if all(h[i] for _, h in masks[:-1])]
            vals = list(
                {value_key(self.rows[i].get(key)): json_value(self.rows[i].get(key)) for i in rest}.values()
            )
            raise RunSelectionError(
                f"no member of sweep {self.id} has {','.join(said)} (each value exists, "
                f"not together); with {','.join(said[:-1])}, {key} takes "
                f"{self._labels(key, vals)}"
            )
        return [int(r["member"]) for r in rows]

    def find(self, spec: str | dict[str, Any]) -> int:
        """The number of the one member whose axis values match ``spec`` (``"alpha=0.01,seed=3"``
        or a mapping; see :meth:`select_members`). No match or several:
        :class:`~optrun.errors.RunSelectionError` saying which values exist or which axes still
        tell the matches apart."""
        found = self.select_members(spec)
        if len(found) == 1:
            return found[0]
        hits = [self.rows[m] for m in found]
        pairs = parse_member_spec(spec, f"sweep {self.id}") if isinstance(spec, str) else list(spec.items())
        wanted = [(self.axis_key(k), v) for k, v in pairs]
        said = ",".join(f"{k}={_show(v)}" for k, v in wanted)
        given = {k for k, _ in wanted}
        varying = [a for a in self.axes if a not in given and len({value_key(r.get(a)) for r in hits}) > 1]
        members = ", ".join(str(r["member"]) for r in hits[:8]) + (", ..." if len(hits) > 8 else "")
        more = f": add {', '.join(a + '=...' for a in varying)} to pick one" if varying else ""
        raise RunSelectionError(
            f"{len(hits)} members of sweep {self.id} have {said} (members {members}){more}"
        )

    def member_config(self, i: int) -> dict[str, Any]:
        """Member ``i``'s resolved config: the base config with its axis values applied and
        validated (:func:`optrun.sweep.load_plan` of the sweep's ``config.yaml``)."""
        self._require_rows()
        row = self.rows[i]
        if self._plan is None:
            from ..errors import OptrunError
            from ..sweep import load_plan

            try:
                plan = load_plan(os.path.join(self.path, "config.yaml"))
                index = {
                    tuple(value_key(a.get(k)) for k in self.axes): j for j, a in enumerate(plan.assignments)
                }
                self._plan = (plan, index)
            except OptrunError as e:
                self._plan = (None, e.message)
        plan, index = self._plan
        if plan is None:
            raise RunReadError(f"sweep {self.id}: its config.yaml no longer validates ({index})")
        j = index.get(tuple(value_key(row.get(k)) for k in self.axes))
        if j is None:
            raise RunReadError(
                f"sweep {self.id}: member {i}'s axis values are not in the sweep of "
                "its config.yaml (was the config edited?)"
            )
        return plan.members[j].to_dict()

    def member(self, i: int) -> Run:
        """Member ``i`` as a :class:`Run` (config, its row as summary, its trace on demand)."""
        self._require_rows()
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(self.rows):
            raise RunSelectionError(
                f"sweep {self.id} has members 0 to {len(self.rows) - 1}; there is no member {i}"
            )
        row = self.rows[i]
        bad = summary_problem(row)
        if bad:
            raise RunReadError(f"sweep {self.id}: summary.json is damaged (member {i}: {bad})")
        summary = {
            **row,
            "id": f"{self.id}/{i}",
            "kind": "member",
            "sweep": self.id,
            "member": i,
            "name": self.summary.get("name"),
        }
        return Run(
            os.path.join(self.path, str(i)),
            f"{self.id}/{i}",
            self.member_config(i),
            summary,
            self.meta,
            member=i,
            sweep_path=self.path,
        )

    def table(self) -> dict[str, np.ndarray]:
        """The member table as numpy columns by name (the columns of ``summary.csv``): whole
        numbers as int64 (float64 with NaN when some are missing, as targets never reached),
        numbers as float64, anything else (status, text) as object arrays."""
        cols = list(self.columns) or list(dict.fromkeys(k for r in self.rows for k in r))
        return {
            c: _column([json_value(r.get(c)) if c in self.axes else r.get(c) for r in self.rows])
            for c in cols
        }

    def table_frame(self):
        """The member table as a ``pandas.DataFrame`` (pandas is optional: ImportError when missing)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "Sweep.table_frame() needs pandas (pip install pandas, or the pandas extra: pip install '.[pandas]'); Sweep.table() "
                "gives the same columns as numpy arrays"
            ) from None
        return pd.DataFrame(self.table())

    def traces(self, members: Sequence[int] | None = None) -> dict[int, dict[str, np.ndarray]]:
        """Traces of ``members`` (all by default) by member number, as :meth:`Run.trace` gives
        one; a member that never ran has empty columns. Each batch file is read once."""
        self._require_rows()
        wanted = range(len(self.rows)) if members is None else members
        by_batch: dict[int, list[int]] = {}
        out: dict[int, dict[str, np.ndarray]] = {}
        for m in wanted:
            b = self.rows[m].get("batch")
            if isinstance(b, int) and not isinstance(b, bool):
                by_batch.setdefault(b, []).append(m)
            else:
                out[m] = _empty_trace()
        for b, ms in by_batch.items():
            out.update(read_batch_trace(self.path, b, ms))
        return {m: out[m] for m in wanted}


def _sweep_problem(summary: dict[str, Any]) -> str | None:
    if not isinstance(summary.get("status"), str):
        return "no status"
    rows = summary.get("rows", [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return "rows is not a list of member objects"
    for i, r in enumerate(rows):
        if r.get("member") != i:
            return f"row {i} is member {json.dumps(r.get('member'))[:20]}, expected {i}"
    axes = summary.get("axes", [])
    if not isinstance(axes, list) or not all(isinstance(a, str) for a in axes):
        return "axes is not a list of dotted keys"
    return None


def missing_batch_files(path: str, rows: list[dict[str, Any]]) -> dict[int, list[int]]:
    """Batches whose trace file (``traces/batch-NNNN.csv`` or its ``.partial``) is gone although
    a member ran in it (``completed``, ``diverged`` or ``interrupted``), with those members.
    (A batch that failed before it started, e.g. its objective would not build, wrote no file.)"""
    ran: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        b = r.get("batch")
        if isinstance(b, int) and not isinstance(b, bool) and r.get("status") in WROTE_ROWS:
            ran.setdefault(b, []).append(i)
    return {b: ms for b, ms in sorted(ran.items()) if not os.path.exists(batch_trace_file(path, b))}


def _members_text(ms: list[int]) -> str:
    return ", ".join(map(str, ms[:6])) + (f", ... ({len(ms)} members)" if len(ms) > 6 else "")


def load_sweep(path: str, lenient: bool = False, runs_dir: str | None = None) -> Sweep:
    """Read the sweep folder at ``path``, or the sweep a selector names (``last``, ``-2``, an id
    prefix, resolved in ``runs_dir`` as :func:`load_run` does); strict or lenient as
    :func:`load_run`.

    A path that is a run folder or not a folder raises :class:`~optrun.errors.RunSelectionError`;
    a damaged ``summary.json``, ``config.yaml`` or ``meta.json`` raises
    :class:`~optrun.errors.RunReadError` (lenient: status ``damaged``, reason in ``problem``).
    """
    if not os.path.isdir(path):
        path = resolve_run(path, runs_dir if runs_dir is not None else default_runs_dir())
    path = os.path.normpath(path)
    sweep_id = os.path.basename(os.path.abspath(path))
    if not os.path.isdir(path):
        what = "does not exist" if not os.path.exists(path) else "is a file, not a sweep folder"
        raise RunSelectionError(f"{path} {what}")
    if folder_kind(path) != "sweep":
        raise RunSelectionError(f'{path} is not a sweep folder (its summary.json has no "kind": "sweep")')
    parts, problems = _read_parts(path, sweep_id, "sweep", lenient, _sweep_problem)
    summary = parts["summary.json"]
    if not problems:
        gone = missing_batch_files(path, summary.get("rows") or [])
        if gone:
            b, ms = next(iter(gone.items()))
            more = f" and {len(gone) - 1} more batch files" if len(gone) > 1 else ""
            damage = (
                f"traces/batch-{b:04d}.csv is missing{more} (the traces of members "
                f"{_members_text(ms)}; optrun resume {sweep_id} reruns them)"
            )
            if not lenient:
                raise RunReadError(f"sweep {sweep_id}: {damage}")
            problems.append(damage)
    rows = summary.get("rows") if not problems else None
    columns = summary.get("columns")
    head = {k: v for k, v in summary.items() if k not in ("rows", "columns")}
    if problems:
        problem = "; ".join(problems)
        recorded = head.get("status")
        head = {**head, "status": _status_of(problem), "problem": problem}
        if isinstance(recorded, str) and recorded not in ("damaged", "unreadable"):
            head["recorded_status"] = recorded
        return Sweep(path, sweep_id, parts["config.yaml"], head, parts["meta.json"], [], [], problem)
    columns = [str(c) for c in columns] if isinstance(columns, list) else []
    return Sweep(
        path,
        sweep_id,
        parts["config.yaml"],
        reconcile_status(head),
        parts["meta.json"],
        list(rows or []),
        columns,
    )


def _cached_sweep(path: str) -> Sweep:
    """:func:`load_sweep`, remembered while ``summary.json`` is unchanged (resolving then loading
    ``SWEEP/7`` and ``SWEEP/8`` reads and plans the sweep once)."""
    key = os.path.abspath(path)
    try:
        st = os.stat(os.path.join(key, "summary.json"))
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError:
        return load_sweep(path)
    hit = _SWEEP_CACHE.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    sweep = load_sweep(path)
    _SWEEP_CACHE[key] = (stamp, sweep)
    while len(_SWEEP_CACHE) > _SWEEP_CACHE_SIZE:
        _SWEEP_CACHE.pop(next(iter(_SWEEP_CACHE)))
    return sweep


def sort_key(run: Run | Sweep) -> tuple[float, str]:
    """Start time (``started_at``, else the time in the id, else the folder's mtime), then id."""
    t = _parse_time(run.summary.get("started_at")) or _parse_time(run.meta.get("started_at"))
    if t is None:
        m = ID_TIME_RE.match(run.id)
        if m:
            try:
                t = datetime.strptime(m.group(1), "%Y%m%d-%H%M%S").replace(tzinfo=timezone.utc)
                t = t.replace(microsecond=int((m.group(2) or "0").ljust(6, "0")))
            except ValueError:
                t = None
    if t is not None:
        return t.timestamp(), run.id
    try:
        return os.path.getmtime(run.path), run.id
    except OSError:
        return 0.0, run.id


def _run_folders(runs_dir: str) -> list[str]:
    """Sub-folders of ``runs_dir`` that hold run files (hidden folders skipped)."""
    if not os.path.exists(runs_dir):
        return []
    if not os.path.isdir(runs_dir):
        raise RunSelectionError(f"the runs folder {runs_dir} is a file, not a folder")
    try:
        names = os.listdir(runs_dir)
    except OSError as e:
        raise RunSelectionError(f"cannot read the runs folder {runs_dir}: {e.strerror}") from None
    out = []
    for name in names:
        p = os.path.join(runs_dir, name)
        if not name.startswith(".") and os.path.isdir(p) and _has_run_files(p):
            out.append(p)
    return out


def list_runs(runs_dir: str, kind: str | None = None) -> list[Run | Sweep]:
    """Every run and sweep folder in ``runs_dir``, newest first (by ``started_at``, then id).

    ``kind`` keeps only ``"run"`` folders (:class:`Run`) or only ``"sweep"`` folders
    (:class:`Sweep`); both have ``kind``, ``id``, ``path``, ``status``, ``summary``, ``config``,
    ``algorithm``, ``objective`` and ``problem``. Read leniently: damaged folders are listed with
    status ``damaged``, dead ``running`` runs and sweeps as ``crashed``. A missing runs folder is
    an empty list. Folders of other kinds are skipped.
    """
    if kind not in (None, "run", "sweep"):
        raise ValueError(f"kind must be None, 'run' or 'sweep', not {kind!r}")
    entries: list[Run | Sweep] = []
    for p in _run_folders(runs_dir):
        k = folder_kind(p)
        if k not in ("run", "sweep") or (kind is not None and k != kind):
            continue
        entries.append(load_sweep(p, lenient=True) if k == "sweep" else load_run(p, lenient=True))
    entries.sort(key=sort_key, reverse=True)
    return entries


# ------------------------------------------------------------------------------------ selecting


def relative_index(selector: str) -> int | None:
    """``last`` -> 1, ``-N`` -> N (the N-th newest run), anything else -> ``None``."""
    m = RELATIVE_RE.match(selector)
    if not m:
        return None
    return int(m.group(1)) if m.group(1) else 1


def _kinds_text(kinds: Sequence[str]) -> str:
    """``3 runs``, ``2 runs and 1 sweep``: folders counted by kind."""
    sweeps = sum(1 for k in kinds if k == "sweep")
    parts = [
        f"{n:,} {word}{'s' * (n != 1)}" for n, word in ((len(kinds) - sweeps, "run"), (sweeps, "sweep")) if n
    ]
    return " and ".join(parts) or "0 runs"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


_MEMBER_AXES_RE = re.compile(r"^(?P<head>[^:]+?):(?P<spec>\s*[A-Za-z_][A-Za-z0-9_.]*\s*=.*)$", re.DOTALL)
_MEMBER_NUMBER_RE = re.compile(r"^(?P<head>.+)/(?P<n>\d+)/?$")


def _split_member(sel: str, runs_dir: str) -> tuple[str, int | None, str | None] | None:
    """``SWEEP/7`` -> (sweep folder, 7, None); ``SWEEP:key=value,...`` -> (sweep folder, None,
    the spec); ``None`` when ``sel`` has neither form."""
    m = _MEMBER_AXES_RE.match(sel)
    number = None
    if m is None:
        m = _MEMBER_NUMBER_RE.match(sel)
        if m is None or os.path.exists(sel):
            return None
        number = int(m.group("n"))
    head = m.group("head")
    path = resolve_run(head, runs_dir)
    if not os.path.isdir(path) or folder_kind(path) != "sweep":
        raise RunSelectionError(
            f"'{sel}' names a member of a sweep, but '{head}' is the run "
            f"{os.path.basename(path)}, not a sweep"
        )
    return path, number, (None if number is not None else m.group("spec"))


def _member_address(sel: str, runs_dir: str) -> str | None:
    """``SWEEP/7`` or ``SWEEP:key=value,...`` -> ``<sweep folder>/<member>``; ``None`` when
    ``sel`` has neither form."""
    split = _split_member(sel, runs_dir)
    if split is None:
        return None
    path, number, spec = split
    sweep = _cached_sweep(path)
    if number is None:
        number = sweep.find(spec)
    else:
        sweep._require_rows()
        if number >= len(sweep.rows):
            raise RunSelectionError(
                f"sweep {sweep.id} has members 0 to {len(sweep.rows) - 1}; there is no member {number}"
            )
    return os.path.join(path, str(number))


@dataclass
class MemberGroup:
    """Several members of one sweep named by one selector: ``SWEEP:algorithm=adam,alpha=0.1`` is
    a whole configuration (all its seeds), ``SWEEP:algorithm=adam`` every member running Adam.

    ``members`` are member numbers in member order, ``spec`` the axis values as given. ``id``,
    ``path`` and ``kind`` (``"group"``) read like a run's; ``rows`` are the members' table rows."""

    sweep: Sweep
    members: list[int]
    spec: str

    kind = "group"

    @property
    def id(self) -> str:
        return f"{self.sweep.id}:{self.spec}"

    @property
    def path(self) -> str:
        return self.sweep.path

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [self.sweep.rows[m] for m in self.members]


def select_members(sweep: Sweep, spec: str | dict[str, Any]) -> list[int]:
    """The member numbers of ``sweep`` whose axis values match ``spec`` (the text after
    ``SWEEP:``, e.g. ``"algorithm=adam,alpha=0.1"``, or a mapping), in member order.

    One member, a configuration (all its seeds) or any subset: what ``optrun compare`` and
    ``optrun plot`` draw for ``SWEEP:...``. Keys may be shortened (``alpha`` for
    ``algorithm.alpha``, ``algorithm`` for ``algorithm.name``); values are typed by YAML and a
    number matches exactly or at the precision written (``alpha=0.0316228``, as compare prints
    it, selects 0.03162277660168379). Nothing matching, an unknown axis, or a number that
    matches several values at its precision raises :class:`~optrun.errors.RunSelectionError`
    (one line naming the values that exist)."""
    return sweep.select_members(spec)


def resolve_run(selector: str, runs_dir: str) -> str:
    """The folder a RUN argument names (a run's or a sweep's), or a sweep member's address.

    In order: an existing run or sweep folder path; a sweep member, ``SWEEP/7`` or
    ``SWEEP:alpha=0.01,seed=3`` with SWEEP any selector (gives ``<sweep folder>/7``, which
    :func:`load_run` reads); a relative selector (``last`` = ``-1`` the newest run or sweep,
    ``-2`` the one before, ... as ``optrun runs`` lists them); an exact id; a unique prefix of an
    id in ``runs_dir``. Raises :class:`~optrun.errors.RunSelectionError` when nothing matches,
    when a prefix is ambiguous (listing the candidates), when the path is not a run, or when a
    member address matches no member or several.
    """
    sel = selector.strip()
    if not sel:
        raise RunSelectionError("an empty RUN selector: give a run folder, an id prefix, last or -1")
    if os.path.isdir(sel) and _has_run_files(sel):
        return os.path.normpath(sel)
    member = _member_address(sel, runs_dir)
    if member is not None:
        return member
    n = relative_index(sel)
    if n is not None:
        runs = list_runs(runs_dir)
        if n == 0:
            raise RunSelectionError("'-0' names no run: -1 (or last) is the newest, -2 the one before")
        if n > len(runs):
            held = f"holds {_kinds_text([r.kind for r in runs])}" if runs else "holds no runs"
            raise RunSelectionError(f"'{sel}' asks for the {_ordinal(n)} newest run but {runs_dir} {held}")
        return runs[n - 1].path
    if os.sep in sel or (os.altsep and os.altsep in sel) or os.path.exists(sel):
        if os.path.isdir(sel):
            raise RunSelectionError(f"{sel} is not a run folder (no summary.json, config.yaml or trace.csv)")
        if os.path.exists(sel):
            raise RunSelectionError(f"{sel} is a file, not a run folder")
        if os.sep in sel:
            raise RunSelectionError(f"no run folder {sel}: it does not exist")
    folders = {os.path.basename(p): p for p in _run_folders(runs_dir)}
    if sel in folders:
        return folders[sel]
    matches = sorted((i for i in folders if i.startswith(sel)), reverse=True)
    if not matches:  # the short label compare and plot print: name-hash, the end of the id
        matches = sorted((i for i in folders if i.endswith("-" + sel)), reverse=True)
    if len(matches) == 1:
        return folders[matches[0]]
    if len(matches) > 1:
        shown = ", ".join(matches[:8]) + (f", ... ({len(matches)} in all)" if len(matches) > 8 else "")
        kinds = _kinds_text([folder_kind(folders[m]) for m in matches])
        raise RunSelectionError(
            f"'{sel}' matches {kinds} in {runs_dir}: {shown}; give more characters of the id"
        )
    if not folders:
        raise RunSelectionError(
            f"no run matches '{sel}': {runs_dir} holds no runs "
            "(set --runs-dir or OPTRUN_RUNS_DIR to the folder that does)"
        )
    raise RunSelectionError(
        f"no run matches '{sel}' in {runs_dir} (optrun runs lists them; "
        "a RUN is a folder, an id prefix, last or -1, -2, ...)"
    )


def select_run(selector: str, runs_dir: str) -> Run:
    """:func:`resolve_run` then a strict :func:`load_run` (a run or a sweep member)."""
    return load_run(resolve_run(selector, runs_dir))


def select(selector: str, runs_dir: str, groups: bool = False) -> Run | Sweep | MemberGroup:
    """:func:`resolve_run` then a strict :func:`load_sweep` for a sweep, :func:`load_run` otherwise.

    With ``groups``, ``SWEEP:key=value,...`` matching several members gives a
    :class:`MemberGroup` of them (one member is still a :class:`Run`); without, it is an error."""
    if groups:
        split = _split_member(selector.strip(), runs_dir)
        if split is not None and split[2] is not None:
            sweep = _cached_sweep(split[0])
            found = sweep.select_members(split[2])
            if len(found) > 1:
                spec = ", ".join(part.strip() for part in _SPEC_SPLIT.split(split[2]))
                return MemberGroup(sweep, found, spec)
            return load_run(os.path.join(split[0], str(found[0])))
    path = resolve_run(selector, runs_dir)
    if os.path.isdir(path) and folder_kind(path) == "sweep":
        return load_sweep(path)
    return load_run(path)


def split_groups(chosen: Sequence[Any]) -> tuple[list[Any], dict[str, set[int]]]:
    """``chosen`` (what :func:`select` returned with ``groups=True``) with each
    :class:`MemberGroup` replaced by its sweep, and per such sweep the members the groups name
    (a sweep also named whole is not narrowed): what ``plot_sweeps(..., only=...)`` draws."""
    whole = {c.id for c in chosen if getattr(c, "kind", None) == "sweep"}
    only: dict[str, set[int]] = {}
    for c in chosen:
        if getattr(c, "kind", None) == "group" and c.sweep.id not in whole:
            only.setdefault(c.sweep.id, set()).update(c.members)
    return [c.sweep if getattr(c, "kind", None) == "group" else c for c in chosen], only
