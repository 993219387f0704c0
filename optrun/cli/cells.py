"""What a run's or sweep's summary values read as in a table cell (``optrun runs`` and ``show``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..text import plural


def as_number(v: Any) -> float | None:
    """A summary value as a number, or ``None`` (missing, or damaged into something else)."""
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def fmt_g(v: Any) -> str:
    v = as_number(v)
    return "-" if v is None else f"{v:.6g}"


def fmt_wall(v: Any) -> str:
    from ..compare import fmt_seconds

    return fmt_seconds(as_number(v))


def algorithm_text(run) -> str:
    """``name/variant``; a sweep's names with their one variant, or ``/mixed`` when its members
    run different variants (``optrun show SWEEP`` and the JSON list them)."""
    a, v = run.algorithm, run.variant
    if not a:
        return "-"
    return f"{a}/{v}" if v and v != "default" else str(a)


def count_text(items: Sequence[Any]) -> str:
    """``3 runs``, ``2 sweeps``, ``2 runs and 1 sweep``: what a listing holds, by kind."""
    runs = sum(1 for r in items if r.kind != "sweep")
    sweeps = len(items) - runs
    parts = [plural(n, word) for n, word in ((runs, "run"), (sweeps, "sweep")) if n]
    return " and ".join(parts) or "0 runs"


def iterations_text(run) -> str:
    s = run.summary
    it, planned = s.get("iterations"), s.get("iterations_planned")
    it = it if isinstance(it, int) and not isinstance(it, bool) else None
    if run.status in ("running", "crashed") and isinstance(planned, int) and not isinstance(planned, bool):
        return f"{it or 0:,}/{planned:,}"
    return "-" if it is None else f"{it:,}"


def members_text(sweep) -> str:
    counts = sweep.counts
    if not counts:
        return f"{sweep.size:,}"
    parts = ", ".join(f"{n:,} {s}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    return (
        f"{sweep.size:,}: {parts}"
        if len(counts) > 1 or sum(counts.values()) != sweep.size
        else f"{sweep.size:,} {next(iter(counts))}"
    )
