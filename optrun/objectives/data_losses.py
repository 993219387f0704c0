"""Learning objectives on a data set: least squares, logistic and softmax regression.

With ``n`` samples ``x_i`` (rows of ``X``, ``p`` features) the losses are means over the samples
plus ``(l2 / 2) ||W||^2`` over the weights only (an intercept is not regularised):

* ``least-squares``: ``(x_i . w + b - y_i)^2 / 2``;
* ``logistic``: ``log(1 + exp(-y_i (x_i . w + b)))`` with labels ``y_i`` in {-1, +1} (0/1 labels
  are read as -1/+1);
* ``softmax``: the cross-entropy ``logsumexp_k(z_ik) - z_{i, y_i}`` with ``z_i = x_i W + b``,
  ``W`` features x classes; labels are whole numbers, the classes the training set's labels.

The parameters are the matrix ``(p + intercept) x k`` (``k`` = 1 but for softmax; the intercept
is its last row) flattened row by row: ``d = (p + intercept) k``. :meth:`DataLoss.value_and_grad`
takes points ``(..., d)`` and computes blocks of members side by side as matrix products with the
one shared ``X`` (no copy per member), ``X`` taken in row blocks that stay in cache;
:meth:`DataLoss.batch_value_and_grad` gathers each member's minibatch rows and uses batched
matrix products, in chunks of members whose temporaries stay under :data:`BATCH_BYTES` (in cache);
:meth:`DataLoss.evaluate` (a test set's loss and accuracy) uses the blocks of ``value_and_grad``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from .base import LEARNING_KINDS
from .data import DataError, Dataset

KINDS = LEARNING_KINDS
#: full-data gradients: about this many weight columns (members x classes) side by side in one product
BLOCK_COLUMNS = 32
#: full-data gradients: the rows of ``X`` taken at a time (with their scores: about this many bytes)
BLOCK_ROWS_BYTES = 256 * 1024
#: minibatch gradients: the gathered rows (and scores) of a chunk of members, about this many bytes
BATCH_BYTES = 2 * 1024 * 1024


def block_members(X: np.ndarray, classes: int) -> int:
    """How many members :meth:`DataLoss.value_and_grad` computes side by side: fixed by the data's
    shape and number of classes alone (never by the number of points), which keeps a member's
    bits the same. One member when ``X`` has one sample or one feature: a product with a side of
    length 1 is a matrix-vector product, whose result depends on a column's position."""
    return 1 if min(X.shape) < 2 else max(1, BLOCK_COLUMNS // classes)


def targets(
    kind: str, data: Dataset, classes: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(y, classes)``: the targets as ``kind`` uses them (floats; -1/+1; class indices) and, for
    softmax, the sorted class labels (those of the training data, given as ``classes`` for a test
    set). Labels that do not fit the objective raise :class:`DataError` naming the sample."""
    y = data.y
    if kind == "least-squares":
        return y, None
    if kind == "logistic":
        values = set(np.unique(y).tolist())
        if not (values <= {0.0, 1.0} or values <= {-1.0, 1.0}):
            bad = next(
                i for i, v in enumerate(y) if v not in (-1.0, 0.0, 1.0) or (v == 0.0 and -1.0 in values)
            )
            raise DataError(
                f"{data.source}: sample {bad + 1} has label {y[bad]:g}; logistic labels are 0/1 or -1/+1"
            )
        if classes is None and len(values) < 2:
            raise DataError(f"{data.source}: every label is {y[0]:g}; a classifier needs two classes")
        return np.where(y > 0, 1.0, -1.0), None
    whole = np.floor(y) == y
    if not whole.all():
        bad = int(np.argmin(whole))
        raise DataError(
            f"{data.source}: sample {bad + 1} has label {y[bad]:g}; softmax labels are whole numbers"
        )
    if classes is None:
        classes = np.unique(y)
        if len(classes) < 2:
            raise DataError(f"{data.source}: every label is {y[0]:g}; a classifier needs two classes")
    idx = np.searchsorted(classes, y)
    known = (idx < len(classes)) & (classes[np.minimum(idx, len(classes) - 1)] == y)
    if not known.all():
        bad = int(np.argmin(known))
        raise DataError(
            f"{data.source}: sample {bad + 1} has label {y[bad]:g}, a class the training data lacks"
        )
    return idx.astype(np.float64), classes


@dataclass(frozen=True)
class DataLoss:
    """One learning objective on one data set (see the module docstring)."""

    kind: str
    X: np.ndarray  # (n, p), shared by every member
    y: np.ndarray  # (n,): targets, -1/+1 labels, or class indices
    l2: float = 0.0
    intercept: bool = True
    classes: int = 1

    @property
    def rows(self) -> int:
        return self.X.shape[1] + int(self.intercept)

    @property
    def dim(self) -> int:
        return self.rows * self.classes

    def scores(self, W: np.ndarray) -> np.ndarray:
        """``z = X W_f + b`` of parameter matrices ``W`` ``(S, rows, k)``: ``(S, n, k)``."""
        p = self.X.shape[1]
        Z = np.matmul(self.X, W[:, :p, :])
        if self.intercept:
            Z += W[:, p, None, :]
        return Z

    def losses(self, Z: np.ndarray, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample losses ``(S, m)`` of scores ``Z`` ``(S, m, k)`` and their derivatives in ``z``
        ``(S, m, k)``; the targets ``y`` are ``(m,)`` shared or ``(S, m)`` per member (default: all
        of the data's)."""
        y = self.y if y is None else y
        if self.kind == "least-squares":
            R = Z - y[..., None]
            return 0.5 * R[..., 0] ** 2, R
        if self.kind == "logistic":
            u = y * Z[..., 0]  # the margin: loss log(1 + exp(-u)), derivative -y sigmoid(-u)
            e = np.abs(u)
            np.negative(e, out=e)
            np.exp(e, out=e)
            loss = np.log1p(e)
            loss -= np.minimum(u, 0.0)
            d = np.where(u > 0, e, 1.0)
            e += 1.0
            d /= e
            d *= -y
            return loss, d[..., None]
        m = Z.max(axis=-1, keepdims=True)
        E = np.exp(Z - m)
        s = E.sum(axis=-1, keepdims=True)
        at = np.broadcast_to(y.astype(np.intp), Z.shape[:-1])[..., None]
        picked = np.take_along_axis(Z, at, axis=-1)[..., 0]
        loss = (np.log(s) + m)[..., 0] - picked
        E /= s
        np.put_along_axis(E, at, np.take_along_axis(E, at, axis=-1) - 1.0, axis=-1)
        return loss, E

    def value_and_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The regularised mean loss of every point of ``x`` ``(..., d)`` and its gradient.

        The members' weight matrices are laid side by side as the columns of one matrix, a block
        of :func:`block_members` members at a time (zero columns pad it to whole tiles of 8
        columns), and the samples are taken about :data:`BLOCK_ROWS_BYTES` of ``X`` and scores at
        a time: one matrix product gives a row block's scores for the block of members, the
        losses' derivatives are computed while they are in cache, a second product adds the row
        block's share of the gradient. ``X`` is read from memory once per block of members and no
        temporary grows with ``n``. The block has the same width whatever the number of points, so
        a member's result is the same bit for bit alone or anywhere in a sweep (a BLAS product's
        column does not depend on its position among whole tiles of columns: tested)."""
        x = np.asarray(x, dtype=np.float64)
        W = x.reshape(-1, self.rows, self.classes)
        f = np.empty(W.shape[0])
        G = np.empty_like(W)
        for lo, m, Wb, C in self._member_blocks(W):
            fb, Gb = self._full_block(Wb, C)
            f[lo : lo + m] = fb[:m]
            G[lo : lo + m] = Gb[:, : m * self.classes].reshape(self.rows, m, -1).transpose(1, 0, 2)
        self._add_l2(W, f, G)
        return f.reshape(x.shape[:-1]), G.reshape(x.shape)

    def _member_blocks(self, W: np.ndarray):
        """``(lo, m, Wb, C)``: members ``lo .. lo + m - 1`` of ``W`` ``(S, rows, k)`` side by side in
        the columns of ``Wb`` ``(rows, width)``, a block of ``C`` members padded with zero columns
        to whole 8-column tiles (one buffer, refilled for each block)."""
        S, k, C = W.shape[0], self.classes, block_members(self.X, self.classes)
        Wb = np.zeros((self.rows, -(-C * k // 8) * 8))
        for lo in range(0, S, C):
            m = min(C, S - lo)
            Wb[:, : m * k] = W[lo : lo + m].transpose(1, 0, 2).reshape(self.rows, m * k)
            Wb[:, m * k :] = 0.0
            yield lo, m, Wb, C

    def _row_blocks(self, width: int):
        """``(lo, hi)``: ``X`` in blocks of rows of about :data:`BLOCK_ROWS_BYTES` with their scores
        (``width`` columns), as even as can be, at least 8 rows each (or all ``n``)."""
        n, p = self.X.shape
        blocks = -(-n // max(8, BLOCK_ROWS_BYTES // (8 * (p + 4 * width))))
        return pairwise((n * np.arange(blocks + 1) // blocks).tolist())

    def _block_scores(self, Wb: np.ndarray, lo: int, hi: int) -> np.ndarray:
        p = self.X.shape[1]
        Z = self.X[lo:hi] @ Wb[:p]
        if self.intercept:
            Z += Wb[p]
        return Z

    def _full_block(self, Wb: np.ndarray, C: int) -> tuple[np.ndarray, np.ndarray]:
        """The unregularised mean loss ``(C,)`` of ``C`` members side by side (``Wb``
        ``(rows, width)``, member ``c``'s weights in columns ``c k`` to ``c k + k - 1``, zeros after
        the last) and its gradient, the same shape as ``Wb``, row block by row block."""
        n, p = self.X.shape
        k = self.classes
        total = np.zeros(C)
        G = np.zeros_like(Wb)
        R = np.zeros((0, Wb.shape[1]))
        for lo, hi in self._row_blocks(Wb.shape[1]):
            Z = self._block_scores(Wb, lo, hi)
            loss, dZ = self.losses(Z[:, : C * k].reshape(hi - lo, C, k), self.y[lo:hi, None])
            total += loss.sum(axis=0)
            if len(R) != hi - lo:
                R = np.zeros((hi - lo, Wb.shape[1]))
            R[:, : C * k] = dZ.reshape(hi - lo, C * k)
            G[:p] += self.X[lo:hi].T @ R
            if self.intercept:
                G[p] += R.sum(axis=0)
        return total / n, G / n

    def batch_value_and_grad(self, x: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Minibatch losses ``(S,)`` and gradients ``(S, d)`` of points ``x`` ``(S, d)``: member
        ``s``'s loss is the mean per-sample loss over the samples ``idx[s]`` (``idx`` ``(S, B)``,
        repeats allowed) plus ``(l2 / 2) ||W||^2``. The members' rows are gathered and multiplied
        in batched matrix products, in chunks of members whose temporaries stay under
        :data:`BATCH_BYTES` (so that they stay in cache); a member's result depends only on its own
        point and indices."""
        x = np.asarray(x, dtype=np.float64)
        idx = np.ascontiguousarray(idx, dtype=np.intp)
        S, B = idx.shape
        W = x.reshape(S, self.rows, self.classes)
        p = self.X.shape[1]
        step = max(1, BATCH_BYTES // (8 * B * (p + 3 * self.classes)))
        f = np.empty(S)
        G = np.empty_like(W)
        for lo in range(0, S, step):
            part = slice(lo, lo + step)
            Xb = self.X[idx[part]]  # (s, B, p)
            Z = np.matmul(Xb, W[part, :p, :])
            if self.intercept:
                Z += W[part, p, None, :]
            loss, R = self.losses(Z, self.y[idx[part]])
            loss.mean(axis=1, out=f[part])
            np.matmul(Xb.transpose(0, 2, 1), R, out=G[part, :p, :])
            if self.intercept:
                R.mean(axis=1, out=G[part, p, :])
        G[:, :p, :] /= B
        self._add_l2(W, f, G)
        return f, G.reshape(S, -1)

    def _add_l2(self, W: np.ndarray, f: np.ndarray, G: np.ndarray) -> None:
        """Add ``(l2 / 2) ||W_f||^2`` to ``f`` ``(S,)`` and ``l2 W_f`` to ``G`` ``(S, rows, k)``."""
        if self.l2:
            Wf = W[:, : self.X.shape[1], :]
            f += 0.5 * self.l2 * np.einsum("sjk,sjk->s", Wf, Wf)
            G[:, : self.X.shape[1], :] += self.l2 * Wf

    def evaluate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(loss, accuracy)`` of every point of ``x`` ``(..., d)`` on this (test) data set: the
        mean per-sample loss WITHOUT the ``l2`` term, and the fraction of samples classified right
        (``None`` for least squares); the scores are computed once for both, in the blocks of
        members and rows of :meth:`value_and_grad` (a member's bits do not depend on the others)."""
        x = np.asarray(x, dtype=np.float64)
        W = x.reshape(-1, self.rows, self.classes)
        n, k = self.X.shape[0], self.classes
        loss = np.empty(W.shape[0])
        right = None if self.kind == "least-squares" else np.empty(W.shape[0])
        for lo, m, Wb, C in self._member_blocks(W):
            total, hits = np.zeros(C), np.zeros(C)
            for a, b in self._row_blocks(Wb.shape[1]):
                Z = self._block_scores(Wb, a, b)[:, : C * k].reshape(b - a, C, k)
                total += self.losses(Z, self.y[a:b, None])[0].sum(axis=0)
                if right is not None:
                    hits += self._right(Z, self.y[a:b, None]).sum(axis=0)
            loss[lo : lo + m] = total[:m] / n
            if right is not None:
                right[lo : lo + m] = hits[:m] / n
        lead = x.shape[:-1]
        return loss.reshape(lead), None if right is None else right.reshape(lead)

    def _right(self, Z: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        """Which samples scores ``Z`` ``(..., m, k)`` classify right (targets as :meth:`losses`)."""
        y = self.y if y is None else y
        if self.kind == "logistic":
            return np.where(Z[..., 0] > 0, 1.0, -1.0) == y
        return np.argmax(Z, axis=-1) == y.astype(np.intp)

    def accuracy(self, x: np.ndarray) -> np.ndarray:
        """The fraction of samples each point of ``x`` classifies right (classification only)."""
        W = np.asarray(x, dtype=np.float64).reshape(-1, self.rows, self.classes)
        right = self._right(self.scores(W))
        return right.mean(axis=1).reshape(np.shape(x)[:-1])


def data_loss(
    kind: str, train: Dataset, l2: float = 0.0, intercept: bool = True
) -> tuple[DataLoss, np.ndarray | None]:
    """The objective ``kind`` on ``train`` and, for softmax, its class labels (for a test set)."""
    if kind not in KINDS:
        raise DataError(f"objective.name: a data objective is one of {', '.join(KINDS)}, not {kind!r}")
    y, classes = targets(kind, train)
    k = 1 if classes is None else len(classes)
    return DataLoss(kind, train.X, y, float(l2), bool(intercept), k), classes


def on_test(loss: DataLoss, test: Dataset, classes: np.ndarray | None) -> DataLoss:
    """The same objective (same parameters) on a test set."""
    y, _ = targets(loss.kind, test, classes if classes is not None else np.array([-1.0, 1.0]))
    return DataLoss(loss.kind, test.X, y, loss.l2, loss.intercept, loss.classes)
