"""The JSON records of a run or sweep folder (``summary.json``, ``meta.json``) read whole, as
resuming needs them: the caller says what to do when one cannot be read. A folder whose summary
says it was written in a newer format is refused before anything else of it is read."""

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


def has_record(folder: str, name: str) -> bool:
    """Does ``folder`` hold the file ``name``?"""
    return os.path.isfile(os.path.join(folder, name))
