"""The JSON records of a run or sweep folder (``summary.json``, ``meta.json``) read whole, as
resuming needs them: the caller says what to do when one cannot be read. A folder whose summary
says it was written in a newer format is refused before anything else of it is read. Also where
a folder's ``config.yaml`` is, and the folders its ``meta.json`` records for users' modules."""

from __future__ import annotations

import json
import os
from typing import Any

from ..errors import FormatVersionError
from .parts import newer_format


def read_record(folder: str, name: str) -> Any:
    """The parsed JSON file ``name`` of ``folder``; raises OSError or ValueError."""
    with open(os.path.join(folder, name), encoding="utf-8") as f:
        return json.load(f)


def read_summary(folder: str, label: str) -> dict[str, Any]:
    """``summary.json`` of ``folder`` (``label`` names it: ``run ID``); raises OSError or ValueError,
    and :class:`FormatVersionError` when it was written by a newer optrun."""
    summary = read_record(folder, "summary.json")
    if isinstance(summary, dict) and (newer := newer_format(summary)):
        raise FormatVersionError(f"{label}: {newer}")
    return summary


def read_meta(folder: str) -> Any:
    """The parsed ``meta.json`` of ``folder`` (checked after its summary); raises OSError or ValueError."""
    return read_record(folder, "meta.json")


def check_format(folder: str, label: str) -> None:
    """Refuse ``folder`` when its ``summary.json`` says it was written by a newer optrun
    (:class:`FormatVersionError`, as :func:`read_summary`), before anything of it is touched (a
    lock file made in it, say). A summary that cannot be read is left to the caller's own read."""
    try:
        read_summary(folder, label)
    except (OSError, ValueError):
        pass


def config_path(folder: str) -> str:
    """The path of a run's or sweep's ``config.yaml`` (what a resume reads its config from)."""
    return os.path.join(folder, "config.yaml")


MODULE_DIRS_KEY = "module_dirs"  # meta.json of a run or sweep: the folders user modules were searched in


def recorded_module_dirs(config_file: str | None) -> list[str]:
    """When ``config_file`` is a run's or sweep's own ``config.yaml``, the folders its ``meta.json``
    records for importing user modules (``module_dirs``; ``cwd`` for folders written before it
    existed); ``[]`` otherwise, when the record cannot be read, or when the folder's summary says it
    was written by a newer optrun (nothing else of it is read)."""
    if not config_file or os.path.basename(config_file) != "config.yaml" or not os.path.isfile(config_file):
        return []
    folder = os.path.dirname(os.path.abspath(config_file))
    try:
        summary = read_record(folder, "summary.json")
    except (OSError, ValueError):
        summary = None
    if isinstance(summary, dict) and newer_format(summary):
        return []
    try:
        meta = read_meta(folder)
    except (OSError, ValueError):
        return []
    if not isinstance(meta, dict):
        return []
    recorded = meta.get(MODULE_DIRS_KEY, [meta.get("cwd")])
    return [d for d in recorded if isinstance(d, str) and d] if isinstance(recorded, list) else []


def has_record(folder: str, name: str) -> bool:
    """Does ``folder`` hold the file ``name``?"""
    return os.path.isfile(os.path.join(folder, name))
