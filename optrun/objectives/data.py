"""Data sets for learning problems: CSV, NPZ and libsvm/svmlight files read into dense arrays.

A :class:`Dataset` is a feature matrix ``X`` of shape ``(n, p)`` (C-contiguous float64, finite)
and a target vector ``y`` of shape ``(n,)``. Every problem with a file or a value raises
:class:`DataError`, whose message is one line naming the file, the problem and where it is
(line and column when there is one), e.g. ``train.csv: line 7, column 'age': 'abc' is not a
number``.

The file's format is its suffix: ``.csv`` (a header row; the target is the column named by
``target``, every other column is a feature), ``.npz`` (arrays ``X`` and ``y``), anything else
libsvm/svmlight text (``label index:value ...``, indices from 1, or from 0 when some row uses
index 0; sparse rows are read into a dense array, refused above ``max_bytes``).
"""

from __future__ import annotations

import csv
import itertools
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import OptrunError

#: the largest dense feature matrix a libsvm file is read into (bytes); a bigger one is refused
MAX_DENSE_BYTES = 2 * 1024**3
#: lines of a CSV file parsed at once; a chunk with a bad field is read again cell by cell
CSV_CHUNK = 1024


class DataError(OptrunError):
    """A data file or data value that cannot be used (exit 2, before any run folder exists)."""


@dataclass(frozen=True)
class Dataset:
    """Features ``X`` ``(n, p)`` and targets ``y`` ``(n,)``, both float64; ``source`` names where
    they came from (a file name, or ``synthetic ...``) and ``columns`` the feature names."""

    X: np.ndarray
    y: np.ndarray
    source: str
    columns: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def features(self) -> int:
        return self.X.shape[1]


def load(
    path: str | Path, target: str | None = None, features: int | None = None, max_bytes: int = MAX_DENSE_BYTES
) -> Dataset:
    """The data set in ``path`` (format by suffix, see the module docstring). ``target`` names a
    CSV file's target column; ``features`` fixes a libsvm file's width (a test file read to the
    training file's)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such data file" if not path.exists() else f"{path}: not a file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        if target is None:
            raise DataError(f"{path}: a CSV file needs 'target', the name of its target column")
        return read_csv(path, target)
    if suffix == ".npz":
        return read_npz(path)
    return read_libsvm(path, features=features, max_bytes=max_bytes)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def read_csv(path: Path, target: str) -> Dataset:
    """A CSV file with a header row; ``target`` is the target column, the others are features.

    Two passes: the line count sizes ``X`` and ``y`` once, then :data:`CSV_CHUNK` lines at a time
    are parsed by ``np.loadtxt`` (C speed, the same float rounding as Python's ``float``) into
    them. A chunk that ``np.loadtxt`` refuses, or whose width or finiteness is wrong, is read again
    cell by cell (:func:`csv_cells`), which accepts what Python's ``float`` accepts and names the
    line and column of a bad field, so the refusals are the cell-by-cell reader's."""
    try:
        bound = _line_bound(path)
        with open(path, newline="", encoding="utf-8-sig") as fh:
            line, header = _csv_header(path, fh, target)
            width, t = len(header), header.index(target)
            X, y, n = np.empty((bound - line, width - 1)), np.empty(bound - line), 0
            while chunk := list(itertools.islice(fh, CSV_CHUNK)):
                values = _csv_chunk(path, header, chunk, line + 1)
                k = len(values)
                if n + k > len(y):  # more lines than counted (never, but the count only sizes X)
                    X.resize((n + k, width - 1), refcheck=False)
                    y.resize(n + k, refcheck=False)
                X[n : n + k, :t], X[n : n + k, t:], y[n : n + k] = (
                    values[:, :t],
                    values[:, t + 1 :],
                    values[:, t],
                )
                n, line = n + k, line + len(chunk)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{path}: cannot be read as CSV ({e})") from None
    if n == 0:
        raise DataError(f"{path}: has a header but no data rows")
    X.resize((n, width - 1), refcheck=False)  # in place: no view of X exists
    y.resize(n, refcheck=False)
    return Dataset(X, y, str(path), tuple(h for i, h in enumerate(header) if i != t))


def _line_bound(path: Path) -> int:
    """At least the number of lines in ``path``: its line ends (\\n, \\r, \\r\\n) counted in binary."""
    ends, last = 0, b""
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            pair = last == b"\r" and block[:1] == b"\n"
            ends += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n") - pair
            last = block[-1:]
    return ends + 1


def _csv_header(path: Path, fh: Any, target: str) -> tuple[int, list[str]]:
    """``(line, names)`` of the first non-blank line of ``fh``; refused without ``target``."""
    for line, text in enumerate(fh, 1):
        row = next(csv.reader([text]), [])
        if row and any(c.strip() for c in row):
            header = [h.strip() for h in row]
            if target not in header:
                raise DataError(f"{path}: no target column '{target}' (the columns are {', '.join(header)})")
            return line, header
    raise DataError(f"{path}: is empty (a CSV data file needs a header row and data rows)")


def _csv_chunk(path: Path, header: list[str], lines: list[str], first: int) -> np.ndarray:
    """The ``(k, width)`` values of the non-blank ``lines`` (``first`` the number of the first):
    read as whole numbers when they all are (seven times faster than floats; not with a ``-0``,
    whose sign an integer would lose), else as floats, else cell by cell (:func:`csv_cells`).
    No quote character: ``csv`` reads a quote only at a field's start, ``np.loadtxt`` after
    spaces too, so quoted fields go cell by cell."""
    kinds = (np.float64,) if any("-0" in text for text in lines) else (np.int64, np.float64)
    for dtype in kinds:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a chunk of blank lines only: read cell by cell
                values = np.loadtxt(lines, dtype, delimiter=",", comments=None, ndmin=2)
        except (ValueError, OverflowError):
            continue
        if len(values) and values.shape[1] == len(header):
            values = values.astype(np.float64, copy=False)
            if np.isfinite(values).all():
                return values
        break
    return csv_cells(path, header, lines, first)


def csv_cells(path: Path, header: list[str], lines: list[str], first: int = 2) -> np.ndarray:
    """The reference CSV reader: ``lines`` (the first is line ``first`` of ``path``) parsed cell
    by cell with ``csv`` and ``float`` into ``(k, width)`` values, blank lines skipped; the first
    ragged row, non-number or non-finite value is refused with its line and column."""
    rows = [(i, r) for i, r in enumerate(csv.reader(lines), first) if r and any(c.strip() for c in r)]
    width = len(header)
    values = np.empty((len(rows), width))
    for r, (line, row) in enumerate(rows):
        if len(row) != width:
            raise DataError(f"{path}: line {line} has {len(row)} fields, the header has {width}")
        for c, text in enumerate(row):
            v = _number(text.strip())
            if v is None or not math.isfinite(v):
                what = f"'{text.strip()}' is not a number" if v is None else f"{text.strip()} is not finite"
                raise DataError(f"{path}: line {line}, column '{header[c]}': {what}")
            values[r, c] = v
    return values


def read_npz(path: Path) -> Dataset:
    """An ``.npz`` file holding ``X`` (``(n, p)`` numbers) and ``y`` (``(n,)`` numbers)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in ("X", "y") if k in z.files}
            names = list(z.files)
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot be read as NPZ ({e})") from None
    for key in ("X", "y"):
        if key not in arrays:
            raise DataError(f"{path}: no array '{key}' (it holds {', '.join(names) or 'nothing'})")
    X, y = arrays["X"], arrays["y"]
    for key, a, ndim in (("X", X, 2), ("y", y, 1)):
        if a.ndim != ndim or a.dtype.kind not in "biuf":
            raise DataError(f"{path}: '{key}' must be a {ndim}-D array of numbers, not {a.ndim}-D {a.dtype}")
    if X.shape[0] != y.shape[0] or X.shape[0] == 0:
        raise DataError(f"{path}: 'X' has {X.shape[0]} rows but 'y' has {y.shape[0]} values")
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    for key, a in (("X", X), ("y", y)):
        bad = np.argwhere(~np.isfinite(a))
        if len(bad):
            where = ", ".join(str(int(i)) for i in bad[0])
            raise DataError(f"{path}: '{key}'[{where}] is {a[tuple(bad[0])]}, not a finite number")
    return Dataset(X, y, str(path), tuple(f"x{j}" for j in range(X.shape[1])))


def _libsvm_rows(path: Path) -> tuple[list[tuple[int, float, list[int], list[float]]], int, int]:
    """``(rows, lowest index, highest index)``; each row is ``(line, label, indices, values)``."""
    rows, lo, hi = [], None, -1
    try:
        fh = open(path, encoding="utf-8-sig")  # noqa: SIM115 - closed by the with below; open errors told apart
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e})") from None
    with fh:
        try:
            for line, text in enumerate(fh, 1):
                tokens = text.split("#", 1)[0].split()
                if not tokens:
                    continue
                label = _number(tokens[0])
                if label is None or not math.isfinite(label):
                    raise DataError(f"{path}: line {line}: the label '{tokens[0]}' is not a finite number")
                idx, val, last = [], [], -1
                for col, tok in enumerate(tokens[1:], 2):
                    if tok.startswith("qid:"):
                        continue
                    i_text, sep, v_text = tok.partition(":")
                    v = _number(v_text)
                    if not sep or not i_text.isdigit() or v is None:
                        raise DataError(f"{path}: line {line}, field {col}: '{tok}' is not index:value")
                    i = int(i_text)
                    if not math.isfinite(v):
                        raise DataError(f"{path}: line {line}, feature {i}: {v_text} is not finite")
                    if i <= last:
                        raise DataError(
                            f"{path}: line {line}, feature {i}: indices must increase along a row"
                        )
                    last = i
                    idx.append(i)
                    val.append(v)
                if idx:
                    lo = idx[0] if lo is None else min(lo, idx[0])
                    hi = max(hi, idx[-1])
                rows.append((line, label, idx, val))
        except UnicodeDecodeError as e:
            raise DataError(f"{path}: is not libsvm text ({e})") from None
    if not rows:
        raise DataError(f"{path}: holds no data rows (libsvm format: 'label index:value ...' per line)")
    return rows, (1 if lo is None else lo), hi


def read_libsvm(path: Path, features: int | None = None, max_bytes: int = MAX_DENSE_BYTES) -> Dataset:
    """A libsvm/svmlight text file read into a dense ``(n, p)`` array (``p`` = the highest index,
    or ``features`` when given); refused when that array would exceed ``max_bytes``."""
    rows, lo, hi = _libsvm_rows(path)
    base = 0 if lo == 0 else 1
    p = hi + 1 - base
    if features is not None:
        if p > features:
            raise DataError(
                f"{path}: has feature index {hi}, more than the {features} features of the training data"
            )
        p = features
    need = len(rows) * p * 8
    if need > max_bytes:
        raise DataError(
            f"{path}: {len(rows)} rows x {p} features would take {need / 1024**2:,.0f} MB as a dense "
            f"array, over the limit of {max_bytes / 1024**2:,.0f} MB"
        )
    X = np.zeros((len(rows), p))
    y = np.empty(len(rows))
    for r, (_, label, idx, val) in enumerate(rows):
        y[r] = label
        if idx:
            X[r, np.asarray(idx) - base] = val
    return Dataset(X, y, str(path), tuple(str(j + base) for j in range(p)))


def same_columns(train: Dataset, test: Dataset) -> None:
    """Refuse a test set whose features are not the training set's (count, and CSV names)."""
    if test.features != train.features:
        raise DataError(
            f"{test.source}: has {test.features} features but the training data "
            f"{train.source} has {train.features}"
        )
    if train.columns and test.columns and train.columns != test.columns:
        j = next(i for i, (a, b) in enumerate(zip(train.columns, test.columns)) if a != b)
        raise DataError(
            f"{test.source}: feature column {j + 1} is '{test.columns[j]}' but the training data's is "
            f"'{train.columns[j]}'"
        )
