"""Listing a runs folder: every run and sweep folder in it, newest first.

Read leniently (a damaged folder is listed ``damaged``, a newer format ``unreadable``, a dead
``running`` run ``crashed``), and fast: each folder's small files are read once, its trace only
by size and tail.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from typing import Any, NamedTuple

from ..errors import RunSelectionError
from .names import has_run_files
from .parts import folder_kind, read_heads
from .run import Run, read_run
from .status import parse_time
from .sweep import Sweep, read_sweep

ID_TIME_RE = re.compile(r"^(\d{8}-\d{6})(?:\.(\d{1,6}))?")


def sort_key(run: Run | Sweep) -> tuple[float, str]:
    """Start time (``started_at``, else the time in the id, else the folder's mtime), then id."""
    t = parse_time(run.summary.get("started_at")) or parse_time(run.meta.get("started_at"))
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


def run_folders(runs_dir: str) -> list[str]:
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
        if not name.startswith(".") and os.path.isdir(p) and has_run_files(p):
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
    for p, k in _folders(runs_dir):
        if kind is None or k == kind:
            entries.append(read_sweep(p, lenient=True) if k == "sweep" else read_run(p, lenient=True))
    entries.sort(key=sort_key, reverse=True)
    return entries


def _folders(runs_dir: str) -> list[tuple[str, str]]:
    """The run and sweep folders of ``runs_dir`` (paths normalized) with their kinds."""
    found = [(os.path.normpath(p), folder_kind(p)) for p in run_folders(runs_dir)]
    return [(p, k) for p, k in found if k in ("run", "sweep")]


class Listed(NamedTuple):
    """A folder of a listing, as far as its order needs: its summary and meta as a lenient read
    gives them (``{}`` when damaged; meta ``{}`` for a newer format), no config, no trace."""

    path: str
    id: str
    kind: str
    summary: dict[str, Any]
    meta: dict[str, Any]


def newest_first(runs_dir: str) -> list[Listed]:
    """The folders :func:`list_runs` gives, in its order, from their summaries and metas alone:
    what ``last``, ``-1``, ``-2`` ... need, without parsing every config."""
    entries = []
    for p, k in _folders(runs_dir):
        folder_id = os.path.basename(os.path.abspath(p))
        entries.append(Listed(p, folder_id, k, *read_heads(p, folder_id, k)))
    entries.sort(key=sort_key, reverse=True)
    return entries
