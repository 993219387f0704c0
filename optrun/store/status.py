"""Whether a folder that says ``status: running`` still runs.

``status: running`` is what a live run (or sweep) writes. If the recorded process is gone, or its
pid now belongs to another process (the kernel start time ``pid_start`` differs), it died without
a chance to say so and is reported ``crashed``. On another host the pid cannot be checked; a
heartbeat (``updated_at``) older than :data:`STALE_SECONDS` counts as crashed there.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .folder import hostname, process_start_ticks

STALE_SECONDS = 600.0  # a running run on another host with no heartbeat for this long is crashed


def parse_time(text: Any) -> datetime | None:
    """An ISO 8601 time as an aware datetime (UTC when it names no zone); ``None`` if it is not one."""
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
        beat = parse_time(summary.get("updated_at") or summary.get("started_at"))
        now = now or datetime.now(timezone.utc)
        if beat is not None and (now - beat).total_seconds() > STALE_SECONDS:
            note = f"no heartbeat from host {host} since {summary.get('updated_at')}"
    if note is None:
        return summary
    return {**summary, "status": "crashed", "recorded_status": "running", "status_note": note}
