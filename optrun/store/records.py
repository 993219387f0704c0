"""The JSON records of a run or sweep folder (``summary.json``, ``meta.json``) read whole, as
resuming needs them: the caller says what to do when one cannot be read."""

from __future__ import annotations

import json
import os
from typing import Any


def read_record(folder: str, name: str) -> Any:
    """The parsed JSON file ``name`` of ``folder``; raises OSError or ValueError."""
    with open(os.path.join(folder, name), encoding="utf-8") as f:
        return json.load(f)


def has_record(folder: str, name: str) -> bool:
    """Does ``folder`` hold the file ``name``?"""
    return os.path.isfile(os.path.join(folder, name))
