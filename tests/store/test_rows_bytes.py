"""A sweep batch's trace lines in bytes (optrun/store/rows.py: ``csv_lines``, ``int_texts``,
``float_row_texts``) are the very text of the str formatter (``RowFormat.format``) for the same
numbers: awkward floats, non-finite ones, huge integers."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from optrun.store.rows import RowFormat, csv_lines, float_row_texts, int_texts

AWKWARD = [
    0.0,
    -0.0,
    1e-05,
    2.5e-07,
    1e16,
    1e22,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    9007199254740993.0,
    0.30000000000000004,
    math.nan,
    math.inf,
    -math.inf,
]


def str_lines(members, iterations, floats) -> bytes:
    fmt = RowFormat(["member", "iteration"] + [f"c{j}" for j in range(floats.shape[1])], ints=2)
    return fmt.format([members, iterations], floats, jsonl=False)[0].encode()


def bytes_lines(members, iterations, floats) -> bytes:
    return csv_lines([int_texts(members).tolist(), int_texts(iterations).tolist()], floats)


def test_awkward_floats_and_huge_integers():
    floats = np.array(AWKWARD + [1.5] * (-len(AWKWARD) % 4)).reshape(-1, 4)
    n = len(floats)
    members = np.array([0, 7, 2**62, -(2**63)][:n] + [3] * (n - 4), dtype=np.int64)
    iterations = np.arange(n, dtype=np.int64) * 10**15
    got = bytes_lines(members, iterations, floats)
    assert got == str_lines(members, iterations, floats)
    assert b"nan" in got and b"-inf" in got and b"null" not in got


def test_one_column_rows_and_no_rows():
    floats = np.array([[math.nan], [-0.0], [5e-324]])
    ints = np.arange(3, dtype=np.int64)
    assert (
        bytes_lines(ints, ints, floats) == str_lines(ints, ints, floats) == b"0,0,nan\n1,1,-0.0\n2,2,5e-324\n"
    )
    assert csv_lines([[], []], np.empty((0, 3))) == b""
    assert float_row_texts(np.empty((0, 2))) == []
    assert int_texts(np.array([], dtype=np.int64)).tolist() == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-(2**63), 2**63 - 1),
            st.integers(0, 2**62),
            st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=3, max_size=3),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_any_rows_match_the_str_formatter(rows):
    members = np.array([r[0] for r in rows], dtype=np.int64)
    iterations = np.array([r[1] for r in rows], dtype=np.int64)
    floats = np.array([r[2] for r in rows], dtype=np.float64)
    assert bytes_lines(members, iterations, floats) == str_lines(members, iterations, floats)


def test_finite_blocks_skip_the_non_finite_search_with_the_same_text():
    floats = np.array([a for a in AWKWARD if math.isfinite(a)][:12]).reshape(-1, 3)
    ints = [int_texts(np.arange(len(floats))).tolist()] * 2
    assert csv_lines(ints, floats, finite=True) == csv_lines(ints, floats)
    assert b"null" not in csv_lines(ints, floats, finite=True)
    # a caller that says "finite" wrongly gets orjson's null, never another number
    assert b"null" in csv_lines([[b"0,"], [b"0,"]], np.array([[math.nan, 1.0]]), finite=True)


def test_a_sweep_trace_with_non_finite_rows_keeps_their_spelling(tmp_path):
    from optrun.store.sweepstore import BatchTraceWriter

    w = BatchTraceWriter(str(tmp_path), 0, [5, 6], x_columns=0)
    f = np.array([[1.0, 2.0], [math.inf, 0.5]])
    ones = np.ones((2, 2))
    w.add(0, f, ones, ones, np.zeros((2, 2, 1)), np.array([2, 2]), np.array([True, True]))
    w.close()
    text = (tmp_path / "traces" / "batch-0000.csv").read_text()
    assert text.splitlines()[1:] == [
        "5,0,1.0,1.0,1.0",
        "5,1,inf,1.0,1.0",
        "6,0,2.0,1.0,1.0",
        "6,1,0.5,1.0,1.0",
    ]
