"""``note:`` texts printed before a run or sweep starts about its trace: how large its files will
be, and which settings would shrink them."""

from __future__ import annotations

import math

import numpy as np

from ..config import RunConfig

TRACE_NOTE_BYTES = 300e6  # warn before a run or sweep whose trace files would pass this
# bytes per recorded number, about: its text and separator (JSON Lines: its key and quotes too);
# measured on 2-D and 10-D Rosenbrock traces of 100,000 rows (18.4-18.7 and 25.3-27.1)
TRACE_BYTES_PER_VALUE = {"csv": 19, "jsonl": 26}
TRACE_NOTE_TARGET = 100e6  # the size the note's trace.every suggestion aims at


def trace_rows(config: RunConfig) -> int:
    """How many trace rows a run that uses its whole budget records, about."""
    t = config.trace
    if t.log_per_decade:
        return int(t.log_per_decade * np.log10(max(config.iterations, 1))) + 10
    return config.iterations // t.every + 1


def trace_notes(configs: list[RunConfig], sweep: bool = False) -> list[str]:
    """``note:`` texts about the trace before a run or sweep starts: its size (see
    :func:`trace_size_note`), and for a sweep asked for JSON Lines only, that sweeps write CSV."""
    notes = [n for n in [trace_size_note(configs, sweep)] if n]
    if sweep and any("csv" not in c.trace.formats for c in configs):
        notes.append(
            "a sweep writes its traces as CSV batch files (traces/batch-NNNN.csv); "
            "trace.formats applies to single runs"
        )
    return notes


def trace_size_note(configs: list[RunConfig], sweep: bool = False) -> str | None:
    """A ``note:`` text when the trace files of these runs (a sweep's members) would take more
    than :data:`TRACE_NOTE_BYTES` (rows x columns x bytes per number, per file), with the settings
    that would shrink it (only those that are not already in force)."""
    rows = total = 0
    sizes: dict[tuple, tuple[int, int]] = {}  # (rows, bytes) by the sections they depend on
    for c in configs:
        key = (id(c.trace), id(c.objective), c.iterations)  # (the configs are alive: ids stay theirs)
        size = sizes.get(key)
        if size is None:
            formats = ("csv",) if sweep else c.trace.formats  # a sweep writes CSV batch files
            n = trace_rows(c)
            per = (4 + sweep + c.trace.x_columns(c.dim)) * sum(TRACE_BYTES_PER_VALUE[f] for f in formats)
            size = sizes[key] = (n, n * per)
        rows += size[0]
        total += size[1]
    if total <= TRACE_NOTE_BYTES:
        return None
    c = configs[0]
    files = "CSV batch files" if sweep else " and ".join(f"trace.{f}" for f in c.trace.formats)
    fix = []
    if not c.trace.log_per_decade:
        every = c.trace.every * max(2, math.ceil(total / TRACE_NOTE_TARGET))
        per_run = 10 * len(str(max(c.iterations, 1))) + 10
        fix += [
            f"trace.log_per_decade: 10 keeps about {per_run:,} rows per run and every target crossing",
            f"trace.every: {every:,} keeps one row in {every:,} (about {total * c.trace.every / every / 1e6:,.0f} MB)",
        ]
    if c.trace.x_columns(c.dim):
        fix.append("trace.x: none leaves out the x columns")
    if not sweep and len(c.trace.formats) > 1:
        fix.append("trace.formats: [csv] writes one file")
    return f"the trace will take about {total / 1e6:,.0f} MB ({rows:,} rows, {files})" + (
        f"; {'; '.join(fix)}" if fix else ""
    )
