"""Trace rows as CSV and JSON Lines text, a block of rows per call.

Formatting floats is most of the cost of a trace: Python's ``repr`` takes about 0.6 µs per float
on the reference machine, so a 2-D row (five floats) would cost 3 µs in the CSV file alone.
orjson formats a whole numpy array in compiled code with the same guarantee (the shortest text
that reads back as the same double, Ryu's algorithm) at about 30 ns per float; this module cuts
that text into fields once and lays them out as CSV lines and as JSON objects, joining lists of
strings rather than formatting row by row.

The text of a number can differ from ``repr`` (``1e-05`` is written ``0.00001``, ``2.5e-07``
``2.5e-7``), never its value: ``float(text)`` and every JSON reader give back the same double.
Non-finite numbers are ``nan``, ``inf`` and ``-inf`` in CSV (what ``float()`` and pandas read)
and ``null`` in JSON, which has no spelling for them.

A sweep's batch trace goes through :func:`csv_lines`, which stays in bytes: orjson's output is cut
once per row (not per number, and never decoded to ``str`` and encoded back), and the integer
columns come from texts made once per batch (member numbers) or per chunk (iterations), gathered
with numpy (:func:`int_texts`), so nothing is formatted per row in Python.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import orjson

_NUMPY = orjson.OPT_SERIALIZE_NUMPY
PIECE_NUMBERS = 4096  # numbers formatted per piece of a block (see RowFormat.pieces)


def number_texts(values: np.ndarray) -> list[str]:
    """The shortest round-trip text of each element of a 1-D int64 or float64 array (``null``
    for a non-finite float)."""
    if len(values) == 0:
        return []
    return orjson.dumps(np.ascontiguousarray(values), option=_NUMPY).decode()[1:-1].split(",")


def int_texts(values: np.ndarray, end: bytes = b",") -> np.ndarray:
    """The text of each element of a 1-D integer array followed by ``end``, as bytes in an object
    array (so that ``texts[index]`` gathers the texts of many rows in one numpy call)."""
    out = np.empty(len(values), dtype=object)
    if len(values):
        text = orjson.dumps(np.ascontiguousarray(values, dtype=np.int64), option=_NUMPY)
        out[:] = [t + end for t in text[1:-1].split(b",")]
    return out


def float_row_texts(block: np.ndarray, finite: bool = False) -> list[bytes]:
    """Each row of a 2-D float array (at least one column) as its comma-separated shortest
    round-trip texts, in bytes; a non-finite number is ``nan``, ``inf`` or ``-inf`` (as ``repr``
    spells it). One orjson call and one cut for the block. ``finite``: the caller knows every
    number is finite (it checked a larger block at once)."""
    if len(block) == 0:
        return []
    block = np.ascontiguousarray(block, dtype=np.float64)
    rows = orjson.dumps(block, option=_NUMPY)[2:-2].split(b"],[")
    if finite:
        return rows
    for i in np.flatnonzero(~np.isfinite(block).all(axis=1)).tolist():  # orjson wrote null
        fields = rows[i].split(b",")
        for j, text in RowFormat._non_finite(block[i]):
            fields[j] = text.encode()
        rows[i] = b",".join(fields)
    return rows


def csv_lines(heads: Sequence[Sequence[bytes]], floats: np.ndarray, finite: bool = False) -> bytes:
    """CSV lines in bytes: line ``i`` is ``heads[0][i] + heads[1][i] + ...`` (texts that end with
    their comma, :func:`int_texts`), then the texts of ``floats[i]`` (``(n, k)``, ``k >= 1``), then
    a newline. The same text as :meth:`RowFormat.format` gives for the same numbers. ``finite``:
    as in :func:`float_row_texts`."""
    rows = float_row_texts(floats, finite)
    w = len(heads) + 2
    pieces = [b"\n"] * (w * len(rows))
    for j, column in enumerate(heads):
        pieces[j::w] = column
    pieces[w - 2 :: w] = rows
    return b"".join(pieces)


class RowFormat:
    """Lays out blocks of trace rows: ``len(ints)`` integer columns, then float columns.

    ``columns`` names every column in order (the CSV header and the JSON keys).
    """

    def __init__(self, columns: Sequence[str], ints: int):
        self.columns = list(columns)
        self.ints = ints
        self.header = ",".join(self.columns) + "\n"
        c = len(self.columns)
        # one row's pieces: separator, value, separator, value, ..., end of row; the values are
        # filled in per block by slice assignment
        self._csv_row = self._row_template([""] + [","] * (c - 1) + ["\n"])
        self._json_row = self._row_template(
            [f'{{"{self.columns[0]}":'] + [f',"{k}":' for k in self.columns[1:]] + ["}\n"]
        )
        self._csv_halves = self._row_template(["", ",", "\n"])  # integer columns, float columns

    @staticmethod
    def _row_template(separators: list[str]) -> list[str]:
        row: list[str] = [""] * (2 * len(separators) - 1)
        row[0::2] = separators
        return row

    def format(self, ints: Sequence[np.ndarray], floats: np.ndarray, jsonl: bool = True) -> tuple[str, str]:
        """``(csv_text, jsonl_text)`` of ``n`` rows: ``ints`` are ``len == n`` integer arrays,
        ``floats`` is ``(n, k)`` float64. The JSON text is ``""`` when ``jsonl`` is false."""
        parts = list(self.pieces(ints, floats, jsonl))
        return "".join(p[1] for p in parts), "".join(p[2] for p in parts)

    def pieces(
        self, ints: Sequence[np.ndarray], floats: np.ndarray, jsonl: bool = True
    ) -> Iterator[tuple[int, str, str]]:
        """The rows of :meth:`format` in pieces of about ``PIECE_NUMBERS`` numbers: ``(end, csv,
        jsonl)`` with ``end`` the row after the piece.

        Small pieces keep the intermediate lists and text in the CPU's cache (1.5x faster than
        one pass over 100,000 rows here), and a writer that appends them as they come never
        builds a text of megabytes (whose fresh pages cost more than the formatting)."""
        n, k = floats.shape
        floats = np.ascontiguousarray(floats, dtype=np.float64)
        ints = [np.asarray(a, dtype=np.int64) for a in ints]
        step = max(1, PIECE_NUMBERS // (k + len(ints)))
        for a in range(0, n, step):
            b = min(n, a + step)
            part_ints, part = [i[a:b] for i in ints], floats[a:b]
            if jsonl or k == 0 or not ints:  # (the row layout needs integer and float columns)
                csv_text, json_text = self._both(part_ints, part)
                yield b, csv_text, json_text if jsonl else ""
            else:
                yield b, self._csv_only(part_ints, part), ""

    def _both(self, ints: Sequence[np.ndarray], floats: np.ndarray) -> tuple[str, str]:
        """CSV and JSON lines from one cut of the block into fields."""
        n, k = floats.shape
        flat = number_texts(floats.reshape(-1))
        values = [number_texts(a) for a in ints]
        values += [flat[j::k] for j in range(k)]
        json_text = self._lay_out(self._json_row, values, n)
        for i, text in self._non_finite(floats.reshape(-1)):  # JSON's null, CSV's nan/inf/-inf
            values[self.ints + i % k][i // k] = text
        return self._lay_out(self._csv_row, values, n), json_text

    def _csv_only(self, ints: Sequence[np.ndarray], floats: np.ndarray) -> str:
        """CSV lines cut into one piece per row for the integer columns and one for the floats
        (rather than one per field): the fewest string objects."""
        n = len(floats)
        ints_text = self._row_texts(np.stack(ints, axis=1))
        floats_text = self._row_texts(floats)
        bad = np.flatnonzero(~np.isfinite(floats).all(axis=1))
        for i in bad.tolist():  # orjson's null becomes nan/inf/-inf, as in the other layout
            fields = floats_text[i].split(",")
            for j, text in self._non_finite(floats[i]):
                fields[j] = text
            floats_text[i] = ",".join(fields)
        return self._lay_out(self._csv_halves, [ints_text, floats_text], n)

    @staticmethod
    def _row_texts(block: np.ndarray) -> list[str]:
        """Each row of a 2-D array as comma-separated shortest round-trip texts."""
        return orjson.dumps(np.ascontiguousarray(block), option=_NUMPY).decode()[2:-2].split("],[")

    @staticmethod
    def _non_finite(flat: np.ndarray):
        """``(index, repr)`` of each non-finite element of a 1-D float array."""
        bad = np.flatnonzero(~np.isfinite(flat))
        return zip(bad.tolist(), map(repr, flat[bad].tolist()))

    @staticmethod
    def _lay_out(template: list[str], values: list[list[str]], n: int) -> str:
        pieces = template * n
        w = len(template)
        for j, column in enumerate(values):
            pieces[2 * j + 1 :: w] = column
        return "".join(pieces)
