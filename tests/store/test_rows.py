"""The trace row formatter (optrun/store/rows.py): every number reads back as the same double,
non-finite numbers are spelled as each format allows, and the layout is what the readers expect."""

from __future__ import annotations

import csv
import io
import json
import math
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optrun.store.rows import RowFormat, number_texts

COLUMNS = ["iteration", "f", "grad_norm", "step_norm", "x0", "x1"]


def bits(v: float) -> bytes:
    return struct.pack("<d", v)


def read_csv(text: str, header: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(header + text)))
    assert rows[0] == header.strip().split(",")
    return rows[1:]


AWKWARD = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.1,
    1 / 3,
    1e-5,
    2.5e-7,
    1e16,
    1e22,
    1.2345678901234568e20,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    123456.0,
    9007199254740993.0,
    0.30000000000000004,
]


def test_awkward_floats_read_back_bit_for_bit_in_both_formats():
    fmt = RowFormat(COLUMNS, ints=1)
    values = np.array(AWKWARD + [0.0] * (-len(AWKWARD) % 5)).reshape(-1, 5)
    its = np.arange(len(values)) * 7
    csv_text, json_text = fmt.format([its], values)
    rows = read_csv(csv_text, fmt.header)
    assert [int(r[0]) for r in rows] == its.tolist()
    assert [bits(float(t)) for r in rows for t in r[1:]] == [bits(v) for v in values.ravel()]
    objs = [json.loads(line) for line in json_text.splitlines()]
    assert [list(o) for o in objs] == [COLUMNS] * len(values)
    assert [o["iteration"] for o in objs] == its.tolist()
    assert all(isinstance(o["iteration"], int) for o in objs)
    assert [bits(float(o[c])) for o in objs for c in COLUMNS[1:]] == [bits(v) for v in values.ravel()]


def test_non_finite_numbers_are_nan_inf_in_csv_and_null_in_json():
    fmt = RowFormat(COLUMNS, ints=1)
    values = np.array([[1.0, np.nan, 2.0, np.inf, -np.inf], [3.0, 4.0, 5.0, 6.0, 7.0]])
    csv_text, json_text = fmt.format([np.array([1, 2])], values)
    assert csv_text == "1,1.0,nan,2.0,inf,-inf\n2,3.0,4.0,5.0,6.0,7.0\n"
    first, second = (json.loads(line) for line in json_text.splitlines())
    assert first == {"iteration": 1, "f": 1.0, "grad_norm": None, "step_norm": 2.0, "x0": None, "x1": None}
    assert second["x1"] == 7.0
    rows = read_csv(csv_text, fmt.header)
    assert math.isnan(float(rows[0][2])) and float(rows[0][4]) == math.inf and float(rows[0][5]) == -math.inf


def test_two_integer_columns_and_csv_only():
    fmt = RowFormat(["member", "iteration", "f", "grad_norm", "step_norm"], ints=2)
    csv_text, json_text = fmt.format(
        [np.array([3, 3, 10**12]), np.array([0, 1, 2])],
        np.array([[0.5, 1.0, 0.0], [0.25, 0.5, 0.5], [1e-300, 0.0, 2.0]]),
        jsonl=False,
    )
    assert json_text == ""
    assert csv_text == "3,0,0.5,1.0,0.0\n3,1,0.25,0.5,0.5\n1000000000000,2,1e-300,0.0,2.0\n"


def test_empty_block_and_a_single_row():
    fmt = RowFormat(["iteration", "f"], ints=1)
    assert fmt.format([np.array([], dtype=np.int64)], np.empty((0, 1))) == ("", "")
    assert fmt.format([np.array([5])], np.array([[0.125]])) == ("5,0.125\n", '{"iteration":5,"f":0.125}\n')
    assert fmt.header == "iteration,f\n"
    assert number_texts(np.array([], dtype=np.float64)) == []


def test_non_contiguous_and_float32_input_are_written_as_float64_values():
    fmt = RowFormat(["iteration", "a", "b"], ints=1)
    wide = np.arange(12, dtype=np.float64).reshape(3, 4) / 7
    csv_text, _ = fmt.format([np.arange(3)], wide[:, ::2])
    assert [[float(t) for t in r[1:]] for r in read_csv(csv_text, fmt.header)] == wide[:, ::2].tolist()
    single = np.array([[0.1, 0.2]], dtype=np.float32)
    csv_text, _ = fmt.format([np.arange(1)], single)
    assert [float(t) for t in csv_text.strip().split(",")[1:]] == single.astype(np.float64).ravel().tolist()


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
any_float = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**62), any_float, finite, any_float), min_size=1, max_size=40))
def test_any_rows_read_back(rows):
    fmt = RowFormat(["iteration", "f", "grad_norm", "step_norm"], ints=1)
    its = np.array([r[0] for r in rows], dtype=np.int64)
    values = np.array([r[1:] for r in rows], dtype=np.float64)
    csv_text, json_text = fmt.format([its], values)
    assert fmt.format([its], values, jsonl=False) == (csv_text, "")  # the CSV-only layout agrees
    back = read_csv(csv_text, fmt.header)
    assert [int(r[0]) for r in back] == its.tolist()
    for r, want in zip(back, values):
        for t, v in zip(r[1:], want):
            assert (math.isnan(v) and math.isnan(float(t))) or bits(float(t)) == bits(v)
    for line, want in zip(json_text.splitlines(), values):
        got = json.loads(line)
        for key, v in zip(["f", "grad_norm", "step_norm"], want):
            assert got[key] is None if not math.isfinite(v) else bits(float(got[key])) == bits(v)


@pytest.mark.parametrize("n", [1, 2, 1000])
def test_csv_and_json_agree_on_every_value(n):
    rng = np.random.default_rng(n)
    values = rng.standard_normal((n, 4)) * 10.0 ** rng.integers(-300, 300, (n, 4))
    fmt = RowFormat(["iteration", "f", "a", "b", "c"], ints=1)
    csv_text, json_text = fmt.format([np.arange(n)], values)
    csv_vals = [[float(t) for t in r[1:]] for r in read_csv(csv_text, fmt.header)]
    json_vals = [[o[k] for k in ("f", "a", "b", "c")] for o in map(json.loads, json_text.splitlines())]
    assert csv_vals == json_vals == values.tolist()


def test_integer_columns_only():
    fmt = RowFormat(["member", "iteration"], ints=2)
    block = np.empty((3, 0))
    ints = [np.array([7, 7, 8]), np.arange(3)]
    want = "7,0\n7,1\n8,2\n"
    assert fmt.format(ints, block, jsonl=False) == (want, "")
    lines = '{"member":7,"iteration":0}\n{"member":7,"iteration":1}\n{"member":8,"iteration":2}\n'
    assert fmt.format(ints, block) == (want, lines)


def test_float_columns_only():
    fmt = RowFormat(["a", "b"], ints=0)
    block = np.array([[0.5, np.inf], [1e-7, -0.0]])
    assert fmt.format([], block, jsonl=False) == ("0.5,inf\n1e-7,-0.0\n", "")
    assert fmt.format([], block)[1] == '{"a":0.5,"b":null}\n{"a":1e-7,"b":-0.0}\n'
