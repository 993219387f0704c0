"""Finding and reading run folders: the reading half of the run-folder contract.

A run folder (README, "Run folder") holds ``config.yaml``, ``summary.json``, ``meta.json``,
``trace.csv`` and ``trace.jsonl``. :func:`load_run` reads one into a :class:`Run` (plain dicts
and, on demand, numpy columns of the trace); :func:`list_runs` reads a runs folder newest first;
:func:`resolve_run` turns a RUN argument (a folder path, a unique id prefix, ``last``, ``-1``,
``-2`` ...) into a folder path.

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
import os
import re
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import yaml

from ..errors import RunReadError, RunSelectionError
from .folder import process_start_ticks

RUN_FILES = ("summary.json", "config.yaml", "meta.json", "trace.csv")
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
    """

    path: str
    id: str
    config: dict[str, Any]
    summary: dict[str, Any]
    meta: dict[str, Any]
    problem: str | None = None
    _trace: dict[str, np.ndarray] | None = field(default=None, repr=False, compare=False)

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
        """The columns of ``trace.csv`` by name: ``iteration`` (int64), ``f``, ``grad_norm``,
        ``step_norm`` and any ``x0 .. x{m-1}`` (float64; ``nan``/``inf`` kept as written).

        Floats were written as shortest round-trip reprs, so values read back bit for bit. A
        partial last line (a run killed mid-write) is dropped; any other unparsable line raises
        :class:`~optrun.errors.RunReadError`. Read once, then cached.
        """
        if self._trace is None:
            self._trace = read_trace(self.path, self.id)
        return self._trace

    def trace_frame(self):
        """The trace as a ``pandas.DataFrame`` (pandas is optional: ImportError when missing)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("Run.trace_frame() needs pandas (pip install pandas); Run.trace() "
                              "gives the same columns as numpy arrays") from None
        return pd.DataFrame(self.trace())


def _get(d: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


# ------------------------------------------------------------------------------------ files


def _read_json(path: str, run_id: str, name: str) -> dict[str, Any]:
    try:
        with open(os.path.join(path, name), encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise RunReadError(f"run {run_id}: {name} is missing") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RunReadError(f"run {run_id}: cannot read {name}: {getattr(e, 'strerror', None) or e}") from None
    except json.JSONDecodeError as e:
        raise RunReadError(f"run {run_id}: {name} is damaged (invalid JSON at line {e.lineno}: "
                           f"{e.msg})") from None
    if not isinstance(data, dict):
        raise RunReadError(f"run {run_id}: {name} is damaged (a JSON object expected, "
                           f"found {type(data).__name__})")
    return data


def _read_config(path: str, run_id: str) -> dict[str, Any]:
    try:
        with open(os.path.join(path, "config.yaml"), encoding="utf-8") as f:
            data = yaml.load(f, Loader=_YAML_LOADER)
    except FileNotFoundError:
        raise RunReadError(f"run {run_id}: config.yaml is missing") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RunReadError(f"run {run_id}: cannot read config.yaml: "
                           f"{getattr(e, 'strerror', None) or e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise RunReadError(f"run {run_id}: config.yaml is damaged (invalid YAML{where})") from None
    if not isinstance(data, dict):
        raise RunReadError(f"run {run_id}: config.yaml is damaged (a mapping expected)")
    return data


def read_trace(path: str, run_id: str | None = None) -> dict[str, np.ndarray]:
    """Columns of ``path/trace.csv`` by name (see :meth:`Run.trace`)."""
    run_id = run_id or os.path.basename(os.path.normpath(path))
    try:
        with open(os.path.join(path, "trace.csv"), "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise RunReadError(f"run {run_id}: trace.csv is missing") from None
    except OSError as e:
        raise RunReadError(f"run {run_id}: cannot read trace.csv: {e.strerror or e}") from None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise RunReadError(f"run {run_id}: trace.csv is damaged (not a text file)") from None
    cut = text.rfind("\n")
    text = text[: cut + 1]  # a partial last line is a write cut short: drop it
    if not text:  # no complete line yet: a run that has not flushed its first block
        return {c: np.empty(0, dtype=np.int64 if c == "iteration" else np.float64)
                for c in TRACE_BASE_COLUMNS}
    header, _, body = text.partition("\n")
    columns = header.strip().split(",")
    if tuple(columns[:4]) != TRACE_BASE_COLUMNS or len(set(columns)) != len(columns):
        raise RunReadError(f"run {run_id}: trace.csv is damaged (header {header.strip()[:60]!r}, "
                           f"expected {','.join(TRACE_BASE_COLUMNS)},x0,...)")
    if body.strip():
        try:
            data = np.loadtxt(io.StringIO(body), delimiter=",", dtype=np.float64, ndmin=2)
        except ValueError:
            raise RunReadError(f"run {run_id}: trace.csv is damaged ({_first_bad_line(body, len(columns))})"
                               ) from None
        if data.shape[1] != len(columns):
            raise RunReadError(f"run {run_id}: trace.csv is damaged ({data.shape[1]} values per row, "
                               f"header names {len(columns)})")
    else:
        data = np.empty((0, len(columns)))
    its = data[:, 0]
    if not np.all(np.isfinite(its)) or np.any(its != np.round(its)):
        raise RunReadError(f"run {run_id}: trace.csv is damaged (an iteration is not a whole number)")
    out: dict[str, np.ndarray] = {"iteration": its.astype(np.int64)}
    for j, c in enumerate(columns[1:], start=1):
        out[c] = np.ascontiguousarray(data[:, j])
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
    if host in (None, socket.gethostname()):
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
    **dict.fromkeys(("id", "name", "algorithm", "variant", "objective", "hostname", "started_at",
                     "updated_at", "ended_at", "stop_reason"), (str, type(None))),
    **dict.fromkeys(("iterations", "iterations_planned", "best_iteration", "dim", "pid", "pid_start"),
                    (int, type(None))),
    **dict.fromkeys(("final_f", "best_f", "final_grad_norm", "f_min", "f_gap", "distance_to_optimum",
                     "wall_time_s", "time_per_iteration_s"), (int, float, type(None))),
    **dict.fromkeys(("final_x", "best_x"), (list, type(None))),
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


def load_run(path: str, lenient: bool = False) -> Run:
    """Read the run folder at ``path``.

    Strict (default): a missing or damaged ``summary.json``, ``config.yaml`` or ``meta.json``
    raises :class:`~optrun.errors.RunReadError` naming the run and the problem; a path that is
    not a run folder raises :class:`~optrun.errors.RunSelectionError`. Lenient: a damaged folder
    comes back with status ``damaged`` and the reason in ``problem``. The trace is read on
    demand by :meth:`Run.trace`.
    """
    path = os.path.normpath(path)
    run_id = os.path.basename(os.path.abspath(path))
    if not os.path.isdir(path):
        what = "does not exist" if not os.path.exists(path) else "is a file, not a run folder"
        raise RunSelectionError(f"{path} {what}")
    if not _has_run_files(path):
        raise RunSelectionError(f"{path} is not a run folder (no summary.json, config.yaml or trace.csv)")
    parts: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for name, reader in (("summary.json", lambda: _read_json(path, run_id, "summary.json")),
                         ("config.yaml", lambda: _read_config(path, run_id)),
                         ("meta.json", lambda: _read_json(path, run_id, "meta.json"))):
        try:
            parts[name] = reader()
        except RunReadError as e:
            if not lenient:
                raise
            parts[name] = {}
            problems.append(e.message.split(": ", 1)[1])
    summary = parts["summary.json"]
    if "summary.json" not in " ".join(problems):
        bad = summary_problem(summary)
        if bad:
            if not lenient:
                raise RunReadError(f"run {run_id}: summary.json is damaged ({bad})")
            problems.insert(0, f"summary.json is damaged ({bad})")
    if problems:
        problem = "; ".join(problems)
        recorded = summary.get("status")
        summary = {**summary, "status": "damaged", "problem": problem}
        if isinstance(recorded, str) and recorded != "damaged":
            summary["recorded_status"] = recorded
        return Run(path, run_id, parts["config.yaml"], summary, parts["meta.json"], problem)
    return Run(path, run_id, parts["config.yaml"], reconcile_status(summary), parts["meta.json"])


def sort_key(run: Run) -> tuple[float, str]:
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


def list_runs(runs_dir: str) -> list[Run]:
    """Every run folder in ``runs_dir``, newest first (by ``started_at``, then id).

    Read leniently: damaged folders are listed with status ``damaged``, dead ``running`` runs as
    ``crashed``. A missing runs folder is an empty list. Folders of other kinds (a summary with
    ``kind`` other than ``run``) are skipped.
    """
    runs = [load_run(p, lenient=True) for p in _run_folders(runs_dir)]
    runs = [r for r in runs if r.summary.get("kind", "run") == "run"]
    runs.sort(key=sort_key, reverse=True)
    return runs


# ------------------------------------------------------------------------------------ selecting


def relative_index(selector: str) -> int | None:
    """``last`` -> 1, ``-N`` -> N (the N-th newest run), anything else -> ``None``."""
    m = RELATIVE_RE.match(selector)
    if not m:
        return None
    return int(m.group(1)) if m.group(1) else 1


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def resolve_run(selector: str, runs_dir: str) -> str:
    """The folder a RUN argument names.

    In order: an existing run folder path; a relative selector (``last`` = ``-1`` the newest run,
    ``-2`` the one before, ... as ``optrun runs`` lists them); an exact run id; a unique prefix of
    a run id in ``runs_dir``. Raises :class:`~optrun.errors.RunSelectionError` when nothing
    matches, when a prefix is ambiguous (listing the candidates) or when the path is not a run.
    """
    sel = selector.strip()
    if not sel:
        raise RunSelectionError("an empty RUN selector: give a run folder, an id prefix, last or -1")
    if os.path.isdir(sel) and _has_run_files(sel):
        return os.path.normpath(sel)
    n = relative_index(sel)
    if n is not None:
        runs = list_runs(runs_dir)
        if n == 0:
            raise RunSelectionError("'-0' names no run: -1 (or last) is the newest, -2 the one before")
        if n > len(runs):
            held = f"holds {len(runs)} run{'s' * (len(runs) != 1)}" if runs else "holds no runs"
            raise RunSelectionError(f"'{sel}' asks for the {_ordinal(n)} newest run but {runs_dir} {held}")
        return runs[n - 1].path
    if os.sep in sel or (os.altsep and os.altsep in sel) or os.path.exists(sel):
        if os.path.isdir(sel):
            raise RunSelectionError(f"{sel} is not a run folder (no summary.json, config.yaml or trace.csv)")
        if os.path.exists(sel):
            raise RunSelectionError(f"{sel} is a file, not a run folder")
        if os.sep in sel:
            raise RunSelectionError(f"no run folder {sel}")
    folders = {os.path.basename(p): p for p in _run_folders(runs_dir)}
    if sel in folders:
        return folders[sel]
    matches = sorted((i for i in folders if i.startswith(sel)), reverse=True)
    if len(matches) == 1:
        return folders[matches[0]]
    if len(matches) > 1:
        shown = ", ".join(matches[:8]) + (f", ... ({len(matches)} in all)" if len(matches) > 8 else "")
        raise RunSelectionError(f"'{sel}' matches {len(matches)} runs in {runs_dir}: {shown}; "
                                "give more characters of the id")
    if not folders:
        raise RunSelectionError(f"no run matches '{sel}': {runs_dir} holds no runs "
                                "(set --runs-dir or OPTRUN_RUNS_DIR to the folder that does)")
    raise RunSelectionError(f"no run matches '{sel}' in {runs_dir} (optrun runs lists them; "
                            "a RUN is a folder, an id prefix, last or -1, -2, ...)")


def select_run(selector: str, runs_dir: str) -> Run:
    """:func:`resolve_run` then a strict :func:`load_run`."""
    return load_run(resolve_run(selector, runs_dir))
