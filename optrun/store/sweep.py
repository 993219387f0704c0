"""One sweep folder, read: :class:`Sweep` and :func:`read_sweep`.

A sweep folder (:mod:`optrun.store.sweepstore` describes it) holds the base config with its
``sweep:`` block, a summary with the member table, and one trace file per batch. A :class:`Sweep`
gives the table (as rows or numpy columns), the axes, members as :class:`~optrun.store.run.Run`
objects and their traces; members are found by their axis values as
:class:`~optrun.store.members.MemberSelection` says.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import OptrunError, RunReadError, RunSelectionError
from . import hooks
from .members import MemberSelection
from .parts import get_path, read_parts, summary_problem, with_problem
from .run import Run
from .status import reconcile_status
from .traces import WROTE_ROWS, batch_trace_file, empty_trace, read_batch_trace
from .values import json_value, table_column, value_key


@dataclass
class Sweep(MemberSelection):
    """One sweep folder, read (layout: :mod:`optrun.store.sweepstore`).

    ``config`` is the resolved base config with its ``sweep:`` block, ``summary`` the sweep's
    summary (status reconciled as a run's; the member table taken out into ``rows``), ``rows``
    one dict per member in member order (member, batch, the axis values by dotted key, status,
    final_f, best_f, f_gap, hit_1e-1 .. hit_1e-8, ...), ``axes`` the dotted keys swept.
    A running or crashed sweep has no member table yet (``rows`` is empty).
    """

    path: str
    id: str
    config: dict[str, Any]
    summary: dict[str, Any]
    meta: dict[str, Any]
    rows: list[dict[str, Any]]
    columns: list[str]
    problem: str | None = None
    _plan: Any = field(default=None, repr=False, compare=False)

    kind = "sweep"

    @property
    def status(self) -> str:
        return str(self.summary.get("status", "damaged"))

    @property
    def axes(self) -> list[str]:
        axes = self.summary.get("axes")
        if isinstance(axes, list) and all(isinstance(a, str) for a in axes):
            return list(axes)
        return []

    @property
    def size(self) -> int:
        """The number of members (planned: a running sweep has no rows yet)."""
        n = self.summary.get("members")
        return n if isinstance(n, int) and not isinstance(n, bool) else len(self.rows)

    @property
    def counts(self) -> dict[str, int]:
        """Members by status (from the table when there is one)."""
        if self.rows:
            out: dict[str, int] = {}
            for r in self.rows:
                s = str(r.get("status"))
                out[s] = out.get(s, 0) + 1
            return dict(sorted(out.items()))
        c = self.summary.get("counts")
        return dict(c) if isinstance(c, dict) else {}

    def _names(self, section: str) -> list[str]:
        names = self.summary.get(section)
        if isinstance(names, list) and names:
            return [str(n) for n in names]
        base = get_path(self.config, section, "name")
        return [str(base)] if base else []

    @property
    def algorithm(self) -> str | None:
        return ", ".join(self._names("algorithm")) or None

    @property
    def variants(self) -> list[str]:
        """The distinct algorithm variants its members run: recorded in the summary (sweeps
        written since it is), the base config's when no axis swaps the algorithm or its variant,
        else read from the members' resolved configs."""
        names = self.summary.get("variant")
        if isinstance(names, list) and names:
            return [str(n) for n in names]
        if isinstance(names, str):
            return [names]
        swaps = [a for a in self.axes if a in ("algorithm", "algorithm.name", "algorithm.variant")]
        if not swaps:
            base = get_path(self.config, "algorithm", "variant")
            return [str(base)] if base else []
        if not self.rows:
            return []
        try:
            configs = [self.member_config(i) for i in range(len(self.rows))]
        except (RunReadError, RunSelectionError):
            return []
        return sorted({str(v) for c in configs if (v := get_path(c, "algorithm", "variant"))})

    @property
    def variant(self) -> str | None:
        """The members' algorithm variant, ``mixed`` when they differ (:attr:`variants` lists
        them), ``None`` when unknown."""
        names = self.variants
        return None if not names else names[0] if len(names) == 1 else "mixed"

    @property
    def objective(self) -> str | None:
        return ", ".join(self._names("objective")) or None

    @property
    def dim(self) -> int | None:
        if any(a.startswith("objective") for a in self.axes):
            return None
        return get_path(self.config, "objective", "dim")

    def best_member(self, key: str = "final_f") -> dict[str, Any] | None:
        """The row with the lowest ``key`` (``None`` when no member has a value)."""
        best = None
        for r in self.rows:
            v = r.get(key)
            number = isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v)
            if number and (best is None or v < best[key]):
                best = r
        return best

    def member_config(self, i: int) -> dict[str, Any]:
        """Member ``i``'s resolved config: the base config with its axis values applied and
        validated: its sweep plan's member (``optrun.sweep.load_plan`` of the sweep's
        ``config.yaml``, handed to store by :mod:`optrun.store.hooks`), planned once per sweep."""
        self.require_rows()
        row = self.rows[i]
        if self._plan is None:
            try:
                plan = hooks.load_plan(os.path.join(self.path, "config.yaml"))
                index = {
                    tuple(value_key(a.get(k)) for k in self.axes): j for j, a in enumerate(plan.assignments)
                }
                self._plan = (plan, index)
            except OptrunError as e:
                self._plan = (None, e.message)
        plan, index = self._plan
        if plan is None:
            raise RunReadError(f"sweep {self.id}: its config.yaml no longer validates ({index})")
        j = index.get(tuple(value_key(row.get(k)) for k in self.axes))
        if j is None:
            raise RunReadError(
                f"sweep {self.id}: member {i}'s axis values are not in the sweep of "
                "its config.yaml (was the config edited?)"
            )
        return plan.members[j].to_dict()

    def member(self, i: int) -> Run:
        """Member ``i`` as a :class:`Run` (config, its row as summary, its trace on demand)."""
        self.require_rows()
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(self.rows):
            raise RunSelectionError(
                f"sweep {self.id} has members 0 to {len(self.rows) - 1}; there is no member {i}"
            )
        row = self.rows[i]
        bad = summary_problem(row)
        if bad:
            raise RunReadError(f"sweep {self.id}: summary.json is damaged (member {i}: {bad})")
        summary = {
            **row,
            "id": f"{self.id}/{i}",
            "kind": "member",
            "sweep": self.id,
            "member": i,
            "name": self.summary.get("name"),
        }
        return Run(
            os.path.join(self.path, str(i)),
            f"{self.id}/{i}",
            self.member_config(i),
            summary,
            self.meta,
            member=i,
            sweep_path=self.path,
        )

    def table(self) -> dict[str, np.ndarray]:
        """The member table as numpy columns by name (the columns of ``summary.csv``): whole
        numbers as int64 (float64 with NaN when some are missing, as targets never reached),
        numbers as float64, anything else (status, text) as object arrays."""
        cols = list(self.columns) or list(dict.fromkeys(k for r in self.rows for k in r))
        return {
            c: table_column([json_value(r.get(c)) if c in self.axes else r.get(c) for r in self.rows])
            for c in cols
        }

    def table_frame(self):
        """The member table as a ``pandas.DataFrame`` (pandas is optional: ImportError when missing)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "Sweep.table_frame() needs pandas (pip install pandas, or the pandas extra: pip install '.[pandas]'); Sweep.table() "
                "gives the same columns as numpy arrays"
            ) from None
        return pd.DataFrame(self.table())

    def traces(self, members: Sequence[int] | None = None) -> dict[int, dict[str, np.ndarray]]:
        """Traces of ``members`` (all by default) by member number, as :meth:`Run.trace` gives
        one; a member that never ran has empty columns. Each batch file is read once."""
        self.require_rows()
        wanted = range(len(self.rows)) if members is None else members
        by_batch: dict[int, list[int]] = {}
        out: dict[int, dict[str, np.ndarray]] = {}
        for m in wanted:
            b = self.rows[m].get("batch")
            if isinstance(b, int) and not isinstance(b, bool):
                by_batch.setdefault(b, []).append(m)
            else:
                out[m] = empty_trace()
        for b, ms in by_batch.items():
            out.update(read_batch_trace(self.path, b, ms))
        return {m: out[m] for m in wanted}


def _sweep_problem(summary: dict[str, Any]) -> str | None:
    if not isinstance(summary.get("status"), str):
        return "no status"
    rows = summary.get("rows", [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return "rows is not a list of member objects"
    for i, r in enumerate(rows):
        if r.get("member") != i:
            return f"row {i} is member {json.dumps(r.get('member'))[:20]}, expected {i}"
    axes = summary.get("axes", [])
    if not isinstance(axes, list) or not all(isinstance(a, str) for a in axes):
        return "axes is not a list of dotted keys"
    return None


def missing_batch_files(path: str, rows: list[dict[str, Any]]) -> dict[int, list[int]]:
    """Batches whose trace file (``traces/batch-NNNN.csv`` or its ``.partial``) is gone although
    a member ran in it (``completed``, ``diverged`` or ``interrupted``), with those members.
    (A batch that failed before it started, e.g. its objective would not build, wrote no file.)"""
    ran: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        b = r.get("batch")
        if isinstance(b, int) and not isinstance(b, bool) and r.get("status") in WROTE_ROWS:
            ran.setdefault(b, []).append(i)
    return {b: ms for b, ms in sorted(ran.items()) if not os.path.exists(batch_trace_file(path, b))}


def _members_text(ms: list[int]) -> str:
    return ", ".join(map(str, ms[:6])) + (f", ... ({len(ms)} members)" if len(ms) > 6 else "")


def read_sweep(path: str, lenient: bool = False) -> Sweep:
    """Read the sweep folder at ``path`` (a folder whose summary says ``"kind": "sweep"``).

    Strict (default): a damaged ``summary.json``, ``config.yaml`` or ``meta.json``, a newer format
    or a batch trace file gone raises :class:`~optrun.errors.RunReadError`. Lenient: status
    ``damaged`` (``unreadable``), the reason in ``problem`` and no member table.
    """
    sweep_id = os.path.basename(os.path.abspath(path))
    parts, problems = read_parts(path, sweep_id, "sweep", lenient, _sweep_problem)
    summary = parts["summary.json"]
    if not problems:
        gone = missing_batch_files(path, summary.get("rows") or [])
        if gone:
            b, ms = next(iter(gone.items()))
            more = f" and {len(gone) - 1} more batch files" if len(gone) > 1 else ""
            damage = (
                f"traces/batch-{b:04d}.csv is missing{more} (the traces of members "
                f"{_members_text(ms)}; optrun resume {sweep_id} reruns them)"
            )
            if not lenient:
                raise RunReadError(f"sweep {sweep_id}: {damage}")
            problems.append(damage)
    rows = summary.get("rows") if not problems else None
    columns = summary.get("columns")
    head = {k: v for k, v in summary.items() if k not in ("rows", "columns")}
    if problems:
        problem = "; ".join(problems)
        head = with_problem(head, problem)
        return Sweep(path, sweep_id, parts["config.yaml"], head, parts["meta.json"], [], [], problem)
    columns = [str(c) for c in columns] if isinstance(columns, list) else []
    return Sweep(
        path,
        sweep_id,
        parts["config.yaml"],
        reconcile_status(head),
        parts["meta.json"],
        list(rows or []),
        columns,
    )
