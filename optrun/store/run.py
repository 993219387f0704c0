"""One run folder, read: :class:`Run` and :func:`read_run`.

A run folder (docs/formats.md) holds ``config.yaml``, ``summary.json``, ``meta.json`` and
``trace.csv`` and/or ``trace.jsonl``. :func:`read_run` reads the folder at a path; a RUN selector
(``last``, an id prefix, ``SWEEP/7``) is read by :func:`optrun.store.select.load_run`.

Reading strictly (the default) raises :class:`~optrun.errors.RunReadError` naming the run and the
problem; reading leniently (listings) returns a run whose status is ``damaged`` (``unreadable`` for a
newer format) with a ``problem`` text instead, so one bad folder never hides the others.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import RunReadError
from .parts import get_path, read_parts, summary_problem, with_problem
from .status import reconcile_status
from .traces import (
    empty_trace,
    read_batch_trace,
    read_trace,
    trace_damage,
    trace_progress,
    trace_tail_problem,
)


@dataclass
class Run:
    """One run folder, read.

    ``config`` is the resolved config (``config.yaml``), ``summary`` the summary (``summary.json``)
    with its status reconciled (``running`` -> ``crashed`` when the process is gone; the written
    value is then kept as ``recorded_status`` and the reason as ``status_note``), ``meta`` the
    provenance (``meta.json``). A folder read leniently whose files are damaged has status
    ``damaged`` and the reason in ``problem`` (also ``summary["problem"]``).

    A sweep member (``kind == "member"``) has ``member`` (its number), ``sweep_path`` (the sweep
    folder), ``path`` = ``<sweep folder>/<member>`` (an address
    :func:`~optrun.store.select.load_run` reads back) and
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
        return self.summary.get("algorithm") or get_path(self.config, "algorithm", "name")

    @property
    def variant(self) -> str | None:
        return self.summary.get("variant") or get_path(self.config, "algorithm", "variant")

    @property
    def objective(self) -> str | None:
        return self.summary.get("objective") or get_path(self.config, "objective", "name")

    @property
    def dim(self) -> int | None:
        return self.summary.get("dim") or get_path(self.config, "objective", "dim")

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
                    self._trace = empty_trace()
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


def read_run(path: str, lenient: bool = False) -> Run:
    """Read the run folder at ``path`` (a folder known to hold run files, not a sweep's).

    Strict (default): a missing or damaged ``summary.json``, ``config.yaml`` or ``meta.json``, or a
    newer format, raises :class:`~optrun.errors.RunReadError` naming the run and the problem.
    Lenient: such a folder comes back with status ``damaged`` (``unreadable``) and the reason in
    ``problem``. The trace is read on demand by :meth:`Run.trace`.
    """
    run_id = os.path.basename(os.path.abspath(path))
    parts, problems = read_parts(path, run_id, "run", lenient, summary_problem)
    summary = parts["summary.json"]
    if not problems:
        damage = trace_damage(path, summary.get("status"))
        if damage is not None:
            if not lenient:
                raise RunReadError(f"run {run_id}: {damage}")
            problems.append(damage)
    if lenient and not problems:  # a listing reads no whole trace: its tail shows interleaved writers
        tail = trace_tail_problem(path)
        problems += [tail] if tail else []
    if problems:
        problem = "; ".join(problems)
        summary = with_problem(summary, problem)
        return Run(path, run_id, parts["config.yaml"], summary, parts["meta.json"], problem)
    summary = reconcile_status(summary)
    if summary.get("status") in ("running", "crashed") and summary.get("final_f") is None:
        progress = trace_progress(path)  # the trace is at least as recent as the last heartbeat
        beat = summary.get("iterations")
        if progress and (not isinstance(beat, int) or progress["iterations"] >= beat):
            summary = {**summary, **progress}
    return Run(path, run_id, parts["config.yaml"], summary, parts["meta.json"])
