"""Data sets for learning problems: the readers, their one-line refusals, splits, synthetic data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from optrun.errors import OptrunError
from optrun.objectives.data import DataError, load, same_columns
from optrun.objectives.data_prep import Standardization, split, synthetic

HERE = Path(__file__).resolve().parent.parent / "data" / "learning"


def refusal(path, **kw) -> str:
    with pytest.raises(DataError) as e:
        load(path, **kw)
    msg = str(e.value)
    assert "\n" not in msg and e.value.exit_code == 2 and isinstance(e.value, OptrunError)
    return msg


def test_csv_reads_features_and_the_named_target():
    d = load(HERE / "small.csv", target="label")
    assert d.X.tolist() == [[1, 2], [3, 4.5], [-1, 0]]
    assert d.y.tolist() == [0, 1, 1]
    assert d.columns == ("a", "b") and d.X.flags.c_contiguous
    d = load(HERE / "small.csv", target="a")
    assert d.y.tolist() == [1, 3, -1] and d.columns == ("b", "label")


def test_libsvm_sparse_rows_into_a_dense_array():
    d = load(HERE / "small.libsvm")
    assert d.X.tolist() == [[0.5, 0, 2], [0, 1.5, 0], [-1, 1, 1]]
    assert d.y.tolist() == [1, -1, 1]
    wide = load(HERE / "small.libsvm", features=5)
    assert wide.X.shape == (3, 5) and wide.X[:, 3:].sum() == 0


def test_npz_reads_X_and_y(tmp_path):
    X = np.arange(6.0).reshape(3, 2)
    np.savez(tmp_path / "d.npz", X=X, y=np.array([0, 1, 0]))
    d = load(tmp_path / "d.npz")
    assert np.array_equal(d.X, X) and d.y.tolist() == [0, 1, 0] and d.y.dtype == np.float64


@pytest.mark.parametrize(
    "text, kw, expected",
    [
        ("a,b\n1,2\n", {"target": "y"}, "no target column 'y' (the columns are a, b)"),
        ("a,y\n1,2\n3\n", {"target": "y"}, "line 3 has 1 fields, the header has 2"),
        ("a,y\n1,2\nabc,1\n", {"target": "y"}, "line 3, column 'a': 'abc' is not a number"),
        ("a,y\n1,2\nnan,1\n", {"target": "y"}, "line 3, column 'a': nan is not finite"),
        ("a,y\n1,2\n1,inf\n", {"target": "y"}, "line 3, column 'y': inf is not finite"),
        ("a,y\n", {"target": "y"}, "has a header but no data rows"),
        ("", {"target": "y"}, "is empty"),
        ("a,y\n1,2\n", {}, "a CSV file needs 'target'"),
    ],
)
def test_csv_refusals_name_file_line_and_column(tmp_path, text, kw, expected):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    msg = refusal(p, **kw)
    assert msg == f"{p}: {expected}" or msg.startswith(f"{p}: {expected}")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1 1:2\nx 1:2\n", "line 2: the label 'x' is not a finite number"),
        ("1 1:2\n1 1:2 3\n", "line 2, field 3: '3' is not index:value"),
        ("1 2:1 1:2\n", "line 1, feature 1: indices must increase along a row"),
        ("1 1:nan\n", "line 1, feature 1: nan is not finite"),
        ("# only a comment\n\n", "holds no data rows"),
    ],
)
def test_libsvm_refusals_name_the_line(tmp_path, text, expected):
    p = tmp_path / "bad.svm"
    p.write_text(text)
    assert refusal(p).startswith(f"{p}: {expected}")


def test_libsvm_over_the_memory_limit_is_refused_before_allocating(tmp_path):
    p = tmp_path / "wide.svm"
    p.write_text("1 1:1 1000000:1\n0 5:1\n")
    msg = refusal(p, max_bytes=1024**2)
    assert msg == f"{p}: 2 rows x 1000000 features would take 15 MB as a dense array, over the limit of 1 MB"
    assert refusal(HERE / "small.libsvm", features=2).endswith(
        "more than the 2 features of the training data"
    )


def test_npz_refusals(tmp_path):
    np.savez(tmp_path / "a.npz", X=np.ones((2, 2)))
    assert refusal(tmp_path / "a.npz") == f"{tmp_path / 'a.npz'}: no array 'y' (it holds X)"
    np.savez(tmp_path / "b.npz", X=np.ones((2, 2)), y=np.ones(3))
    assert refusal(tmp_path / "b.npz").endswith("'X' has 2 rows but 'y' has 3 values")
    X = np.ones((2, 2))
    X[1, 0] = np.inf
    np.savez(tmp_path / "c.npz", X=X, y=np.ones(2))
    assert refusal(tmp_path / "c.npz").endswith("'X'[1, 0] is inf, not a finite number")
    assert refusal(tmp_path / "missing.csv", target="y") == f"{tmp_path / 'missing.csv'}: no such data file"


def test_a_test_set_with_other_columns_is_refused(tmp_path):
    train = load(HERE / "small.csv", target="label")
    p = tmp_path / "test.csv"
    p.write_text("a,c,label\n1,2,0\n")
    with pytest.raises(DataError, match=r"feature column 2 is 'c' but the training data's is 'b'"):
        same_columns(train, load(p, target="label"))
    p.write_text("a,label\n1,0\n")
    with pytest.raises(DataError, match=r"has 1 features but the training data .* has 2"):
        same_columns(train, load(p, target="label"))


def test_split_is_seeded_and_partitions_the_samples():
    d = synthetic("regression", 50, 3, seed=1)
    tr, te = split(d, 0.2, seed=7)
    tr2, te2 = split(d, 0.2, seed=7)
    assert te.n == 10 and tr.n == 40
    assert np.array_equal(te.X, te2.X) and np.array_equal(tr.y, tr2.y)
    rows = {tuple(r) for r in np.vstack([tr.X, te.X])}
    assert rows == {tuple(r) for r in d.X}
    assert not np.array_equal(split(d, 0.2, seed=8)[1].X, te.X)


def test_synthetic_condition_number_is_exact_and_seeded():
    d = synthetic("regression", 200, 5, seed=3, condition=1e4, noise=0.0)
    ev = np.linalg.eigvalsh(d.X.T @ d.X / d.n)
    assert ev.max() == pytest.approx(1.0, rel=1e-10) and ev.max() / ev.min() == pytest.approx(1e4, rel=1e-8)
    # noise 0: y is exactly linear in X
    w, *_ = np.linalg.lstsq(d.X, d.y, rcond=None)
    assert np.abs(d.X @ w - d.y).max() < 1e-10
    assert np.array_equal(d.X, synthetic("regression", 200, 5, seed=3, condition=1e4, noise=0.0).X)
    assert not np.array_equal(d.X, synthetic("regression", 200, 5, seed=4, condition=1e4).X)
    c = synthetic("classification", 100, 4, seed=0)
    assert set(c.y.tolist()) == {0.0, 1.0}
    m = synthetic("multiclass", 300, 4, seed=0, classes=4)
    assert set(m.y.tolist()) == {0.0, 1.0, 2.0, 3.0}
    with pytest.raises(DataError, match="data.n: must be at least data.features"):
        synthetic("regression", 3, 5)


def test_standardization_uses_the_training_data_only():
    d = synthetic("regression", 100, 3, seed=0)
    X = d.X * [1.0, 10.0, 0.0] + [5.0, -2.0, 3.0]
    tr, te = split(type(d)(X, d.y, "s"), 0.3, seed=0)
    st = Standardization.of(tr)
    a = st.apply(tr)
    assert np.allclose(a.X[:, :2].mean(0), 0) and np.allclose(a.X[:, :2].std(0), 1)
    assert st.scale[2] == 1.0 and np.all(a.X[:, 2] == 0)  # a constant feature is only centred
    b = st.apply(te)
    assert np.array_equal(b.X, (te.X - tr.X.mean(0)) / st.scale)


def reference_csv(path, target):
    """The cell-by-cell reader over the whole file: what read_csv gave before its fast path."""
    import csv

    from optrun.objectives.data import csv_cells

    lines = Path(path).read_text(encoding="utf-8").splitlines(keepends=True)
    first = next(i for i, t in enumerate(lines) if t.strip(" ,\r\n"))
    header = [h.strip() for h in next(csv.reader([lines[first]]))]
    values = csv_cells(path, header, lines[first + 1 :], first + 2)
    t = header.index(target)
    return np.delete(values, t, axis=1), values[:, t]


@pytest.mark.parametrize(
    "body",
    [
        "1,2,0\n3,4.5,1\n",
        "1,2,0\r\n3,4.5,1\r\n",  # CRLF
        "1,2,0\r3,4.5,1\r",  # CR only
        "\n1,2,0\n\n   \n,,\n3,4.5,1",  # blank, whitespace-only and empty-field lines; no final newline
        ' 1 ,"2", 0\n+3,4.5e-3,-1\n',  # spaces, quotes, signs, exponents
        "1_000,2,0\n3,4,1\n",  # Python's float takes underscores, np.loadtxt does not
        "-0,0,1\n1,2,1\n-0.0,2,1\n",  # -0 keeps its sign (an integer would lose it)
        "9007199254740993,1,0\n123456789012345678901234,1,0\n",  # above 2**53 and above int64
        "1,2,0\n3,4,1\n5,6.5,0\n7,8,1\n9,10,0\n11,12,1\n13,14,0\n",  # whole and decimal chunks
    ],
)
def test_the_fast_csv_reader_gives_the_cell_by_cell_readers_bits(tmp_path, monkeypatch, body):
    import optrun.objectives.data as data

    monkeypatch.setattr(data, "CSV_CHUNK", 2)  # chunk boundaries inside these small files
    p = tmp_path / "d.csv"
    p.write_bytes(("\n a ,b,label\n" + body).encode())
    X, y = reference_csv(p, "label")
    d = load(p, target="label")
    assert d.X.tobytes() == X.tobytes() and d.y.tobytes() == y.tobytes() and d.columns == ("a", "b")
    assert d.X.flags.c_contiguous and d.X.flags.owndata and d.X.shape == X.shape and len(X) >= 2
    monkeypatch.setattr(data, "_line_bound", lambda path: 2)  # the count only sizes X and y
    d = load(p, target="label")
    assert d.X.tobytes() == X.tobytes() and d.y.tobytes() == y.tobytes()


@pytest.mark.parametrize(
    "rows, expected",
    [
        (["1,2"] * 9 + ["1,2,3"], "line 12 has 3 fields, the header has 2"),
        (["1,2"] * 9 + ["", "1,x"], "line 13, column 'y': 'x' is not a number"),
        (["1,2"] * 9 + ["1e400,2"], "line 12, column 'a': 1e400 is not finite"),
        (["1.5,2"] * 7 + ["1,2", "NaN,2"], "line 11, column 'a': NaN is not finite"),
        (
            ["1,2"] * 5 + ['1, "2"'],
            "line 8, column 'y': '\"2\"' is not a number",
        ),  # csv: quoted only at the start
    ],
)
def test_the_fast_csv_reader_names_the_line_of_a_bad_row_in_a_later_chunk(
    tmp_path, monkeypatch, rows, expected
):
    import optrun.objectives.data as data

    monkeypatch.setattr(data, "CSV_CHUNK", 4)
    p = tmp_path / "bad.csv"
    p.write_text("\na,y\n" + "\n".join(rows) + "\n")  # the header on line 2
    assert refusal(p, target="y") == f"{p}: {expected}"


def test_the_fast_csv_reader_rounds_decimals_as_pythons_float(tmp_path):
    rng = np.random.default_rng(5)
    values = rng.standard_normal(3000) * 10.0 ** rng.integers(-310, 300, 3000)
    texts = [f"{v:.{k}g}" for v, k in zip(values, rng.integers(1, 20, 3000))]  # 1 to 19 digits
    texts[:4] = ["5e-324", "1.7976931348623157e308", "0.1", "2.2250738585072011e-308"]
    p = tmp_path / "many.csv"
    p.write_text("a,b,label\n" + "".join(f"{a},{b},0\n" for a, b in zip(texts[::2], texts[1::2])))
    d = load(p, target="label")
    assert d.X.ravel().tobytes() == np.array([float(t) for t in texts]).tobytes()


def test_the_csv_reader_holds_little_more_than_the_arrays_it_returns(tmp_path):
    import tracemalloc

    rng = np.random.default_rng(0)
    values = rng.integers(0, 1000, size=(20_000, 20))
    p = tmp_path / "big.csv"
    p.write_text("label," + ",".join(f"x{j}" for j in range(19)) + "\n")
    with open(p, "a") as fh:
        np.savetxt(fh, values, fmt="%d", delimiter=",")
    tracemalloc.start()
    try:
        d = load(p, target="label")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert d.X.shape == (20_000, 19) and np.array_equal(d.y, values[:, 0])
    # X and y filled in place, one chunk of lines at a time (the whole file's rows of strings
    # would take ten times the arrays)
    assert peak < 1.5 * (d.X.nbytes + d.y.nbytes)
