"""Where a large run keeps its points: the current one, the best so far and each member's last.

A run whose chunks are a single row (``d`` large: :func:`optrun.runner.chunk_rows` is 1) has no
chunk buffer of points: a chunk's row is the current point itself, handed on as a view, and the
runner's per-member bookkeeping tracks no coordinates. :class:`Points` keeps the best and final
points instead, without copying ``d`` numbers per step:

* best: with one member whose optimizer keeps no reference to ``x`` (``alternate``), when the
  current point is the best so far the next step is written out of place into a second buffer
  (``x + step``, the same bits as in place), so the best point stays where it is and nothing is
  copied; when it is not, the step is taken in place. Otherwise (several members, or a user's
  optimizer) a member's row is copied when it improves.
* final: a member's point is copied once, when it ends (a stop rule, the budget, an interrupt).

This module imports no numba.
"""

from __future__ import annotations

import numpy as np


class Points:
    """The current point ``x`` (``(S, d)``) of a run stepped one row per chunk, and where its best
    and final points are. :meth:`closed` is called after each chunk's stop rules. Nothing
    d-sized is allocated before it is needed (a copied row, the second buffer)."""

    def __init__(self, x: np.ndarray, alternate: bool):
        self.x = x
        self.alternate = alternate and x.shape[0] == 1
        self.spare: np.ndarray | None = None  # the other buffer of an alternating run
        self.best_in: np.ndarray | None = None  # alternating: the array that holds the best point
        self.best: np.ndarray | None = None  # not alternating: the best rows, copied
        self.final: np.ndarray | None = None  # the rows of the members that ended, copied
        self.best_f = np.full(x.shape[0], np.inf)

    def target(self) -> np.ndarray | None:
        """The buffer the next step writes into: None (in place) unless ``x`` is the best point."""
        if self.best_in is not self.x:
            return None
        if self.spare is None:
            self.spare = np.empty_like(self.x)
        return self.spare

    def stepped(self, out: np.ndarray | None) -> np.ndarray:
        """The current point after a step written into ``out`` (None: in place)."""
        if out is not None:
            self.spare, self.x = self.x, out
        return self.x

    def closed(self, best_f: np.ndarray, ended: np.ndarray) -> None:
        """After a chunk (the row at ``x``) was closed: ``best_f`` the members' best values now,
        ``ended`` the members whose last row it was."""
        better = best_f < self.best_f
        if better.any():
            self.best_f[better] = best_f[better]
            if self.alternate:
                self.best_in = self.x
            else:
                self._copy("best", better)
        if ended.any() and not (self.alternate and ended.all()):
            self._copy("final", ended)

    def _copy(self, name: str, rows: np.ndarray) -> None:
        """Rows ``rows`` of ``x`` into the points ``name``, one at a time: no temporary (a
        member's row is d numbers; a chunk of one row means d is large)."""
        into = self._rows(name)
        for s in np.flatnonzero(rows):
            into[s] = self.x[s]

    def _rows(self, name: str) -> np.ndarray:
        rows = getattr(self, name)
        if rows is None:
            rows = np.full(self.x.shape, np.nan)
            setattr(self, name, rows)
        return rows

    def best_rows(self) -> np.ndarray:
        """The ``(S, d)`` best points (NaN where a member has none)."""
        if self.alternate and self.best_in is not None:
            return self.best_in
        return self._rows("best")

    def final_rows(self, running: np.ndarray) -> np.ndarray:
        """The ``(S, d)`` final points: the current point for the members still ``running`` and,
        one member alternating, for the member that ended (the run stepped no further)."""
        if self.alternate and self.final is None:
            return self.x
        out = self._rows("final")
        if running.any():
            out = out.copy()
            out[running] = self.x[running]
        return out

    def restore(
        self, best_f: np.ndarray, best_x: np.ndarray, final_x: np.ndarray, running: np.ndarray
    ) -> None:
        """Continue from a checkpoint's best values and points (copied); ``running``: its members
        that had not ended (their final point is still to come)."""
        self.best_f[:] = best_f
        if not running.all():
            self._rows("final")[:] = final_x
        if self.alternate:
            self.best_in = np.array(best_x, dtype=np.float64) if np.isfinite(best_f).any() else None
        else:
            self._rows("best")[:] = best_x
