"""summary.csv's lines (optrun/store/sweepstore.py, ``summary_lines``), formatted a column at a time,
are the very text csv.writer writes for the same rows, whatever the cells hold."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from optrun.store.sweepstore import summary_lines


def written(columns, rows):
    """What write_summary wrote before: csv.writer, a row at a time (None and non-finite: empty)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    for r in rows:
        w.writerow(
            [
                "" if v is None or (isinstance(v, float) and not math.isfinite(v)) else v
                for v in map(r.get, columns)
            ]
        )
    return out.getvalue()


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
    0.30000000000000004,
    math.nan,
    math.inf,
    -math.inf,
    None,
    0,
    -7,
    2**64 + 1,
    -(10**30),
    True,
    False,
    "",
    "completed",
    "a,b",
    'say "hi"',
    "two\nlines",
    "cr\r",
    " space",
    np.float64(0.1),
    np.int64(3),
    [1, 2],
]


def test_awkward_cells_in_every_column_layout():
    columns = ["member", "plain_float", "plain_int", "mixed", "text", "missing"]
    rows = []
    for i, v in enumerate(AWKWARD):
        rows.append(
            {"member": i, "plain_float": 1.0 / (i + 1), "plain_int": i * 10**12, "mixed": v, "text": "ok"}
        )
    assert summary_lines(columns, rows) == written(columns, rows)
    # one awkward value alone in a column of its type (the fast paths' checks)
    for v in AWKWARD:
        col = [{"a": v, "b": v}, {"a": v, "b": 1}]
        assert summary_lines(["a", "b"], col) == written(["a", "b"], col), v


def test_one_column_and_no_rows():
    assert summary_lines(["a"], []) == ""
    rows = [{"a": ""}, {"a": None}, {"a": 1.5}, {}]
    assert summary_lines(["a"], rows) == written(["a"], rows) == '""\n""\n1.5\n""\n'


cell = st.one_of(
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.fixed_dictionaries({}, optional=dict.fromkeys("abcd", cell)), min_size=1, max_size=20))
def test_any_rows_are_written_as_csv_writer_writes_them(rows):
    assert summary_lines(list("abcd"), rows) == written(list("abcd"), rows)


def test_cells_formatted_by_the_batch_give_the_same_files(tmp_path):
    from optrun.store.sweepstore import ROW_FIELDS, summary_cells, write_summary

    columns = ["member", "batch", "algorithm.alpha", *ROW_FIELDS]
    rows = [
        {"member": i, "batch": i // 3, "algorithm.alpha": v, "status": "completed", "final_f": f, "error": e}
        for i, (v, f, e) in enumerate(
            [
                (0.1, 1e-05, None),
                ("a,b", math.nan, "x"),
                (1e300, -0.0, 'q"'),
                (2**70, 5e-324, ""),
                (None, 1.0, ""),
            ]
        )
    ]
    cells = summary_cells(list(ROW_FIELDS), rows)
    cells[2] = None  # a row the batch did not format (a resumed sweep's earlier rows)
    for name, kw in (("plain", {}), ("cells", {"cells": cells, "lead": 3})):
        (tmp_path / name).mkdir()
        write_summary(str(tmp_path / name), {"kind": "sweep"}, columns, rows, **kw)
    for file in ("summary.csv", "summary.json"):
        assert (tmp_path / "cells" / file).read_bytes() == (tmp_path / "plain" / file).read_bytes()
    want = io.StringIO()
    csv.writer(want, lineterminator="\n").writerow(columns)
    assert (tmp_path / "plain" / "summary.csv").read_text() == want.getvalue() + written(columns, rows)


def test_columns_of_one_shape_take_their_short_paths_with_the_same_text():
    from optrun.store import sweepstore

    rows = [{"hit": h, "none": None, "text": t} for h, t in ((7, "completed"), (None, "diverged"), (0, ""))]
    columns = ["hit", "none", "text"]
    assert summary_lines(columns, rows) == written(columns, rows) == "7,,completed\n,,diverged\n0,,\n"
    seen = []
    real = sweepstore._plain_text
    try:  # the three columns are formatted without a call per cell
        sweepstore._plain_text = lambda v: seen.append(v) or real(v)
        assert sweepstore.summary_cells(columns[:2] + ["t2"], [{**r, "t2": "ok"} for r in rows])
    finally:
        sweepstore._plain_text = real
    assert seen == []


def test_summary_json_bytes_are_the_text_it_had(tmp_path):
    import json

    import orjson

    from optrun.store.folder import jsonable
    from optrun.store.sweepstore import write_summary

    def as_text(summary, columns, rows):  # what write_summary wrote through a text stream
        text = json.dumps({**jsonable(summary), "columns": columns}, separators=(",", ":"))[:-1]
        parts = []
        for i in range(0, len(rows), 1000):
            chunk = rows[i : i + 1000]
            try:
                parts.append(orjson.dumps(chunk, option=orjson.OPT_SERIALIZE_NUMPY).decode()[1:-1])
            except orjson.JSONEncodeError:
                plain = [{k: (None if v != v else v) for k, v in r.items()} for r in chunk]
                parts.append(json.dumps(plain, separators=(",", ":"))[1:-1])
        return (text + ',"rows":[' + ",".join(parts) + "]}\n").encode("utf-8")

    columns = ["member", "name", "f"]
    many = [{"member": i, "name": "é ü €", "f": 1.0 / (i + 1)} for i in range(2500)]
    many[3]["f"] = math.nan
    huge = many[:1500] + [{"member": 2**70, "name": "ß", "f": 0.5}]  # the second chunk: the json module
    for n, rows in enumerate((many, huge, [])):
        summary = {"kind": "sweep", "name": "naïve", "members": len(rows)}
        write_summary(str(tmp_path), summary, columns, rows)
        got = (tmp_path / "summary.json").read_bytes()
        assert got == as_text(summary, columns, rows), n
        assert json.loads(got)["rows"][:1] == rows[:1]
