"""The rounds of a learning problem: minibatch gradients, and the full training loss and the test
set's loss and accuracy at the recorded rows.

With ``batch_size`` B the optimizer's gradient at row ``r`` is the minibatch gradient on the B
samples of that row's minibatch. Each member draws its minibatches from its own stream, seeded by
its ``seed`` alone (``SeedSequence([seed, BATCH_STREAM])``, as the noise streams of
:mod:`.rounds`): a member run alone draws what it draws inside any sweep, and members that share a
seed see the same minibatches (common random numbers: Adam and AMSGrad compared on the same data
order). Sampling is

* ``shuffle``: epochs, each a fresh permutation of the training samples cut into ``ceil(n / B)``
  minibatches (the last one shorter when B does not divide n); one permutation of ``n`` indices is
  kept per distinct seed (4 n bytes each);
* ``replace``: B indices drawn uniformly with replacement, independently at every row.

The full training loss (the trace's ``f``) and its gradient norm cost a pass over the data: they
are computed at the rows the trace keeps (every ``trace.every`` rows, and the last row) and are
NaN at the others, which no stop rule, best point or target crossing looks at (:meth:`evaluated`).
Without ``batch_size`` (the whole data set, deterministic) the full gradient is the step's
gradient and ``f`` is known at every row. With test data the trace adds ``test_loss`` (the mean
per-sample loss on the test set, no ``l2`` term) and, for a classifier, ``test_accuracy``, at the
same rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import Objective, learning_columns
from .data_losses import DataLoss
from .rounds import MemberStreams, Rounds, member_generators

BATCH_STREAM = 0x62617463  # the purpose of a member's minibatch stream ("batc")
SAMPLING = ("shuffle", "replace")
#: the trace rows of a long minibatch run by default: at most this many (and one a epoch at most)
DEFAULT_ROWS = 200


@dataclass(frozen=True)
class Learning:
    """What a learning objective adds to a plain one: the training and test losses and how its
    minibatches are drawn (``batch_size`` None: the whole training set at every step)."""

    train: DataLoss
    test: DataLoss | None = None
    batch_size: int | None = None
    sampling: str = "shuffle"

    @property
    def columns(self) -> tuple[str, ...]:
        """The trace columns the test set adds."""
        return learning_columns(self.train.kind, self.test is not None)


def full_batch(batch_size: int | None, n: int) -> bool:
    """Is a minibatch of ``batch_size`` the whole training set of ``n`` samples?"""
    return batch_size is None or batch_size >= n


def default_every(batch_size: int | None, n: int, iterations: int) -> int:
    """``trace.every`` when a config leaves it out: every row without minibatches (``f`` is
    free); with them, once an epoch (``ceil(n / B)`` steps) or ``iterations / DEFAULT_ROWS``
    steps, whichever is longer: the full loss costs one pass over the data each time, so the
    evaluations cost at most one more pass an epoch."""
    if full_batch(batch_size, n):
        return 1
    return max(math.ceil(n / batch_size), math.ceil(iterations / DEFAULT_ROWS), 1)


class ReplaceBatches:
    """Minibatches of ``B`` indices in ``[0, n)`` drawn with replacement: ``row(r)`` ``(S, B)``."""

    def __init__(self, seeds: Sequence[int], n: int, B: int):
        def fill(gen: np.random.Generator, out: np.ndarray) -> None:
            out[...] = gen.integers(0, n, out.shape)

        self.streams = MemberStreams(seeds, B, fill, BATCH_STREAM, dtype=np.intp)

    def row(self, r: int) -> np.ndarray:
        return self.streams.row(r)


class EpochBatches:
    """Minibatches cut from one permutation of ``[0, n)`` per epoch: ``row(r)`` is the ``(S, B')``
    indices of row ``r`` (``B' < B`` for the last minibatch of an epoch when ``B`` does not divide
    ``n``). Members that share a seed share the permutation, kept once."""

    def __init__(self, seeds: Sequence[int], n: int, B: int):
        unique, self.member = np.unique(np.asarray(seeds, dtype=np.int64), return_inverse=True)
        self.gens = member_generators(unique.tolist(), BATCH_STREAM)
        self.n, self.B, self.steps = n, B, math.ceil(n / B)
        self.perm = np.empty((len(unique), n), dtype=np.int32 if n < 2**31 else np.int64)
        self.same = len(unique) == len(self.member) and bool((self.member == np.arange(len(unique))).all())
        self.epoch = -1

    def row(self, r: int) -> np.ndarray:
        epoch, j = divmod(r, self.steps)
        if epoch < self.epoch:
            raise ValueError(f"row {r} of a minibatch stream was asked for after epoch {self.epoch}")
        while self.epoch < epoch:  # (a resumed run draws the epochs before its own and drops them)
            for gen, out in zip(self.gens, self.perm):
                out[...] = gen.permutation(self.n)
            self.epoch += 1
        part = self.perm[:, j * self.B : (j + 1) * self.B]
        return part.astype(np.intp) if self.same else part[self.member].astype(np.intp)


class DataRounds(Rounds):
    """:class:`.rounds.Rounds` for a learning problem (see the module doc): minibatch gradients
    (with gradient noise on top when configured), the full loss at the recorded rows."""

    def __init__(
        self,
        objective: Objective,
        noise: dict[str, Any] | None,
        seeds: Sequence[int],
        d: int,
        every: int,
        iterations: int,
    ):
        super().__init__(objective, noise, seeds, d)
        learning: Learning = objective.learning
        self.learning, self.columns = learning, learning.columns
        self.every, self.T = every, iterations
        n, B = learning.train.X.shape[0], learning.batch_size
        self.batches = None
        if not full_batch(B, n):
            kind = EpochBatches if learning.sampling == "shuffle" else ReplaceBatches
            self.batches = kind(seeds, n, B)
        self.settled = -1  # an interrupted run's last row, evaluated although not on the grid

    def on_grid(self, row: int) -> bool:
        return row % self.every == 0 or row == self.T or row == self.settled

    def evaluated(self, first: int, n: int) -> np.ndarray | None:
        """Which of rows ``first .. first + n - 1`` have the full loss (None: all of them)."""
        if self.batches is None:
            return None
        rows = np.arange(first, first + n)
        return (rows % self.every == 0) | (rows == self.T) | (rows == self.settled)

    def observe(self, x: np.ndarray, row: int, f_out, g2_out, extra_out: Sequence) -> np.ndarray:
        """Row ``row`` at ``x``: the full loss and gradient norm into ``f_out``, ``g2_out`` and the
        test columns into ``extra_out`` on the grid (NaN elsewhere); returns the minibatch
        gradient (the full one without minibatches), noisy when configured."""
        grid = self.on_grid(row)
        g = self._evaluate(x, f_out, g2_out, extra_out, grid)
        if self.batches is not None:
            _, g = self.learning.train.batch_value_and_grad(x, self.batches.row(row))
        return g if self.noise is None else self._noisy(g, row)

    def _evaluate(self, x: np.ndarray, f_out, g2_out, extra_out: Sequence, grid: bool) -> np.ndarray | None:
        g = None
        if grid or self.batches is None:
            f, g = self.learning.train.value_and_grad(x)
            f_out[...] = f
            np.vecdot(g, g, out=g2_out)
        else:
            f_out.fill(np.nan)
            g2_out.fill(np.nan)
        if extra_out:
            if grid:
                loss, accuracy = self.learning.test.evaluate(x)
                extra_out[0][...] = loss
                if accuracy is not None:
                    extra_out[1][...] = accuracy
            else:
                for col in extra_out:
                    col.fill(np.nan)
        return g

    def settle(self, x: np.ndarray, row: int, f_out, g2_out, extra_out: Sequence) -> None:
        """Evaluate row ``row`` at ``x`` fully when it is off the grid: the last row of a run
        interrupted there, which its summary reports."""
        if self.on_grid(row):
            return
        self.settled = row
        self._evaluate(x, f_out, g2_out, extra_out, True)


__all__ = [
    "BATCH_STREAM",
    "DEFAULT_ROWS",
    "SAMPLING",
    "DataRounds",
    "EpochBatches",
    "Learning",
    "ReplaceBatches",
    "default_every",
    "full_batch",
]
