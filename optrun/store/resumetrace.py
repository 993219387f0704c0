"""A run's trace files cut back to a checkpoint before it is resumed, and the target hits of a
checkpoint written before checkpoints held them, recovered from the trace."""

from __future__ import annotations

import json
import os

import numpy as np

from .files import write_text
from .thinning import TARGETS


def truncate_trace(path: str, last_iteration: int, json_lines: bool) -> int | None:
    """Keep the header and the complete rows up to ``last_iteration``; returns the rows kept
    (``None`` when the run does not write this file: ``trace.formats``)."""
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] != "":
        lines = lines[:-1]  # a partial last line from a crash
    lines = [ln for ln in lines if ln]
    head = [] if json_lines else lines[:1]
    body = lines if json_lines else lines[1:]
    kept = []
    for ln in body:
        it = json.loads(ln)["iteration"] if json_lines else int(ln.split(",", 1)[0])
        if it > last_iteration:
            break
        kept.append(ln)
    write_text(path, "".join(x + "\n" for x in head + kept))
    return len(kept)


def recorded_hits(path: str, f_min: float, upto: int) -> np.ndarray:
    """First recorded iteration at each target, for a checkpoint written before checkpoints held
    their hits: exact when every row up to it was recorded (or ``log_per_decade``, which keeps
    first crossings); with ``trace.every`` the first recorded row at or after the crossing."""
    from .traces import read_trace

    tr = read_trace(path)
    keep = tr["iteration"] <= upto
    its, gap = tr["iteration"][keep], tr["f"][keep] - f_min
    out = np.full((len(TARGETS), 1), -1, dtype=np.int64)
    for li, level in enumerate(TARGETS):
        below = np.flatnonzero(gap <= level)
        if below.size:
            out[li, 0] = its[below[0]]
    return out
