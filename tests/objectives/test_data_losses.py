"""Learning objectives: values against scalar re-implementations of the issue's formulas, gradients
against finite differences of those, many members against each alone, label checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from reference_math import ref_gradient

from optrun.objectives import data_losses
from optrun.objectives.data import DataError, Dataset
from optrun.objectives.data_losses import data_loss, on_test
from optrun.objectives.data_prep import synthetic


def ref_value(kind, X, y, l2, intercept, k, w):
    """The loss written from the formula, one sample at a time (plain Python floats)."""
    n, p = len(X), len(X[0])
    rows = p + int(intercept)
    W = [[w[r * k + c] for c in range(k)] for r in range(rows)]
    total = 0.0
    for i in range(n):
        z = [sum(X[i][j] * W[j][c] for j in range(p)) + (W[p][c] if intercept else 0.0) for c in range(k)]
        if kind == "least-squares":
            total += (z[0] - y[i]) ** 2 / 2
        elif kind == "logistic":
            yi = 1.0 if y[i] > 0 else -1.0
            total += math.log1p(math.exp(-yi * z[0]))
        else:
            total += math.log(sum(math.exp(v) for v in z)) - z[int(y[i])]
    reg = sum(W[j][c] ** 2 for j in range(p) for c in range(k))
    return total / n + l2 / 2 * reg


CASES = [
    ("least-squares", synthetic("regression", 40, 3, seed=1, condition=10.0), 0.0, True),
    ("least-squares", synthetic("regression", 40, 3, seed=2), 0.3, False),
    ("logistic", synthetic("classification", 40, 3, seed=1, noise=1.0), 1e-2, True),
    ("logistic", synthetic("classification", 40, 4, seed=3, noise=1.0), 0.0, False),
    ("softmax", synthetic("multiclass", 60, 3, seed=1, noise=1.0, classes=3), 0.1, True),
    ("softmax", synthetic("multiclass", 60, 2, seed=4, noise=1.0, classes=4), 0.0, False),
]


@pytest.mark.parametrize("kind, data, l2, intercept", CASES)
def test_value_and_gradient_against_the_formula(kind, data, l2, intercept):
    loss, classes = data_loss(kind, data, l2, intercept)
    k = 1 if classes is None else len(classes)
    assert loss.dim == (data.features + intercept) * k
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, loss.dim))
    f, g = loss.value_and_grad(x)
    assert f.shape == (5,) and g.shape == (5, loss.dim)
    X, y = data.X.tolist(), data.y.tolist()

    def ref(w):
        return ref_value(kind, X, y, l2, intercept, k, w)

    for s in range(5):
        assert f[s] == pytest.approx(ref(x[s].tolist()), rel=1e-12)
        assert np.allclose(g[s], ref_gradient(ref, x[s].tolist()), rtol=1e-7, atol=1e-9)


def test_the_intercept_is_not_regularised():
    d = synthetic("regression", 30, 2, seed=0)
    loss, _ = data_loss("least-squares", d, l2=5.0, intercept=True)
    b = np.array([0.0, 0.0, 2.0])
    fb, gb = loss.value_and_grad(b)
    assert fb == pytest.approx(np.mean((2.0 - d.y) ** 2) / 2, rel=1e-13)
    assert gb[2] == pytest.approx(np.mean(2.0 - d.y), rel=1e-12)


@pytest.mark.parametrize("columns, rows_bytes", [(6, 8 * 40), (2, 10**6), (16, 8 * 1000)])
def test_members_in_blocks_equal_each_alone(monkeypatch, columns, rows_bytes):
    d = synthetic("multiclass", 50, 3, seed=0, classes=3)
    loss, _ = data_loss("softmax", d, 1e-3)
    x = np.random.default_rng(1).standard_normal((2, 7, loss.dim))
    monkeypatch.setattr(data_losses, "BLOCK_COLUMNS", columns)  # 2 members or 1 or 5 side by side
    monkeypatch.setattr(data_losses, "BLOCK_ROWS_BYTES", rows_bytes)  # 1 to 50 rows at a time
    f, g = loss.value_and_grad(x)
    e, a = loss.evaluate(x)
    assert f.shape == (2, 7) and g.shape == x.shape and e.shape == a.shape == (2, 7)
    assert np.allclose(e, f - 0.5e-3 * (x.reshape(2, 7, 4, 3)[:, :, :3] ** 2).sum(axis=(2, 3)), rtol=1e-13)
    for i in range(2):
        for j in range(7):
            fi, gi = loss.value_and_grad(x[i, j])
            assert fi.shape == () and fi.tobytes() == f[i, j].tobytes() and gi.tobytes() == g[i, j].tobytes()
            ei, ai = loss.evaluate(x[i, j])
            assert ei.tobytes() == e[i, j].tobytes() and ai == a[i, j]
            fr = ref_value("softmax", d.X.tolist(), d.y.tolist(), 1e-3, True, 3, x[i, j].tolist())
            assert fi == pytest.approx(fr, rel=1e-12)
            assert np.allclose(
                gi, ref_grad("softmax", d.X.tolist(), d.y.tolist(), 1e-3, True, 3, x[i, j].tolist())
            )


def test_labels_that_do_not_fit_are_refused_naming_the_sample():
    X = np.zeros((4, 2))

    def refused(kind, y):
        with pytest.raises(DataError) as e:
            data_loss(kind, Dataset(X, np.array(y, dtype=float), "d.csv"))
        return str(e.value)

    assert (
        refused("logistic", [0, 1, 2, 1]) == "d.csv: sample 3 has label 2; logistic labels are 0/1 or -1/+1"
    )
    assert (
        refused("logistic", [0, 1, -1, 1]) == "d.csv: sample 1 has label 0; logistic labels are 0/1 or -1/+1"
    )
    assert refused("logistic", [1, 1, 1, 1]) == "d.csv: every label is 1; a classifier needs two classes"
    assert (
        refused("softmax", [0, 1, 2.5, 1])
        == "d.csv: sample 3 has label 2.5; softmax labels are whole numbers"
    )
    loss, classes = data_loss("softmax", Dataset(X, np.array([3.0, 5, 5, 9]), "d.csv"))
    assert classes.tolist() == [3, 5, 9] and loss.y.tolist() == [0, 1, 1, 2]
    with pytest.raises(DataError, match=r"^t.csv: sample 2 has label 4, a class the training data lacks$"):
        on_test(loss, Dataset(X[:2], np.array([5.0, 4.0]), "t.csv"), classes)


def test_accuracy_and_minus_one_plus_one_labels():
    X = np.array([[1.0], [-1.0], [2.0]])
    a, _ = data_loss("logistic", Dataset(X, np.array([1.0, 0.0, 0.0]), "a"))
    b, _ = data_loss("logistic", Dataset(X, np.array([1.0, -1.0, -1.0]), "b"))
    w = np.array([[0.5, 0.1], [-0.3, 0.2]])
    assert np.array_equal(a.value_and_grad(w)[0], b.value_and_grad(w)[0])
    assert a.accuracy(w).tolist() == pytest.approx([2 / 3, 1 / 3])


BIG = [
    ("logistic", synthetic("classification", 3000, 60, seed=7, noise=1.0)),
    ("softmax", synthetic("multiclass", 2000, 30, seed=8, noise=1.0, classes=10)),
    ("least-squares", synthetic("regression", 5000, 100, seed=9)),
]


@pytest.mark.parametrize("kind, data", [("logistic", CASES[2][1]), ("softmax", CASES[4][1]), *BIG])
def test_a_member_has_the_same_bits_in_any_batch_at_any_position(kind, data):
    loss, _ = data_loss(kind, data, 1e-3)
    rng = np.random.default_rng(2)
    w = rng.standard_normal(loss.dim) * 0.1
    f1, g1 = loss.value_and_grad(w[None, :])
    e1, a1 = loss.evaluate(w[None, :])
    for S in (1, 2, 3, 16, 17, 40):
        for pos in (0, S // 2, S - 1):
            x = rng.standard_normal((S, loss.dim))
            x[pos] = w
            f, g = loss.value_and_grad(x)
            assert f[pos].tobytes() == f1[0].tobytes() and g[pos].tobytes() == g1[0].tobytes(), (S, pos)
            e, a = loss.evaluate(x)
            assert e[pos].tobytes() == e1[0].tobytes() and (a is None or a[pos] == a1[0]), (S, pos)


def ref_grad(kind, X, y, l2, intercept, k, w):
    """The gradient written from the per-sample derivatives, one sample at a time."""
    n, p = len(X), len(X[0])
    rows = p + int(intercept)
    W = [[w[r * k + c] for c in range(k)] for r in range(rows)]
    g = [[0.0] * k for _ in range(rows)]
    for i in range(n):
        z = [sum(X[i][j] * W[j][c] for j in range(p)) + (W[p][c] if intercept else 0.0) for c in range(k)]
        if kind == "least-squares":
            r = [z[0] - y[i]]
        elif kind == "logistic":
            yi = 1.0 if y[i] > 0 else -1.0
            r = [-yi / (1.0 + math.exp(yi * z[0]))]
        else:
            e = [math.exp(v) for v in z]
            r = [e[c] / sum(e) - (c == int(y[i])) for c in range(k)]
        for c in range(k):
            for j in range(p):
                g[j][c] += X[i][j] * r[c] / n
            if intercept:
                g[p][c] += r[c] / n
    for j in range(p):
        for c in range(k):
            g[j][c] += l2 * W[j][c]
    return np.array(g).ravel()


@pytest.mark.parametrize("kind, data, l2, intercept", CASES)
@pytest.mark.parametrize("B", [1, 7, 40])
def test_minibatch_value_and_gradient_against_the_formula(kind, data, l2, intercept, B):
    loss, classes = data_loss(kind, data, l2, intercept)
    k = 1 if classes is None else len(classes)
    rng = np.random.default_rng(B)
    x = rng.standard_normal((4, loss.dim))
    idx = rng.integers(0, len(data.y), size=(4, B))
    idx[0, :] = idx[0, 0]  # one member sees one sample B times (sampling with replacement)
    f, g = loss.batch_value_and_grad(x, idx)
    assert f.shape == (4,) and g.shape == (4, loss.dim)
    for s in range(4):
        Xs, ys = data.X[idx[s]].tolist(), data.y[idx[s]].tolist()
        w = x[s].tolist()

        def ref(w, Xs=Xs, ys=ys):
            return ref_value(kind, Xs, ys, l2, intercept, k, w)

        assert f[s] == pytest.approx(ref(w), rel=1e-12)
        assert np.allclose(g[s], ref_grad(kind, Xs, ys, l2, intercept, k, w), rtol=1e-12, atol=1e-14)
        assert np.allclose(g[s], ref_gradient(ref, w), rtol=1e-7, atol=1e-9)


def test_a_minibatch_of_every_sample_is_the_full_data_loss():
    d = synthetic("multiclass", 30, 3, seed=5, classes=3)
    loss, _ = data_loss("softmax", d, 0.2)
    x = np.random.default_rng(3).standard_normal((3, loss.dim))
    f, g = loss.batch_value_and_grad(x, np.tile(np.arange(30), (3, 1)))
    F, G = loss.value_and_grad(x)
    assert np.allclose(f, F, rtol=1e-14) and np.allclose(g, G, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind, data", [(c[0], c[1]) for c in CASES[::2]])
def test_a_minibatch_member_has_the_same_bits_in_any_batch_at_any_position(kind, data, monkeypatch):
    loss, _ = data_loss(kind, data, 1e-3)
    rng = np.random.default_rng(4)
    n = len(data.y)
    for B in (1, 5, 128):
        w, mine = rng.standard_normal(loss.dim), rng.integers(0, n, B)
        f1, g1 = loss.batch_value_and_grad(w[None, :], mine[None, :])
        for S, chunk in ((2, None), (3, 1), (16, None), (17, 5), (40, None)):
            if chunk:  # chunks of `chunk` members
                monkeypatch.setattr(
                    data_losses, "BATCH_BYTES", 8 * B * (data.features + 3 * loss.classes) * chunk
                )
            for pos in (0, S // 2, S - 1):
                x, idx = rng.standard_normal((S, loss.dim)), rng.integers(0, n, (S, B))
                x[pos], idx[pos] = w, mine
                f, g = loss.batch_value_and_grad(x, idx)
                assert f[pos].tobytes() == f1[0].tobytes(), (B, S, pos)
                assert g[pos].tobytes() == g1[0].tobytes(), (B, S, pos)
            monkeypatch.undo()


@pytest.mark.parametrize("kind, data, l2, intercept", CASES)
def test_evaluate_is_the_unregularised_loss_and_the_accuracy(kind, data, l2, intercept):
    loss, classes = data_loss(kind, data, l2, intercept)
    k = 1 if classes is None else len(classes)
    x = np.random.default_rng(6).standard_normal((2, 3, loss.dim))
    value, right = loss.evaluate(x)
    assert value.shape == (2, 3)
    X, y = data.X.tolist(), data.y.tolist()
    for i in range(2):
        for j in range(3):
            assert value[i, j] == pytest.approx(
                ref_value(kind, X, y, 0.0, intercept, k, x[i, j].tolist()), rel=1e-12
            )
    if kind == "least-squares":
        assert right is None
    else:
        assert np.array_equal(right, loss.accuracy(x)) and 0 < right.mean() < 1
