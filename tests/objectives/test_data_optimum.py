"""f* of learning objectives: Newton and L-BFGS against the closed form and against scipy; no
finite optimum on separable data; the cache beside the data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.optimize import minimize

from optrun.objectives.data import Dataset, load
from optrun.objectives.data_losses import data_loss
from optrun.objectives.data_optimum import CACHE_DIR, cache_key, cached_optimum, optimum
from optrun.objectives.data_prep import Standardization, synthetic


@pytest.mark.parametrize("intercept", [True, False])
def test_least_squares_f_star_is_the_closed_form(intercept):
    d = synthetic("regression", 80, 4, seed=2, condition=100.0, noise=0.5)
    l2 = 0.05
    loss, _ = data_loss("least-squares", d, l2, intercept)
    A = np.hstack([d.X, np.ones((80, 1))]) if intercept else d.X
    R = l2 * np.eye(A.shape[1])
    if intercept:
        R[-1, -1] = 0.0
    w = np.linalg.solve(A.T @ A / 80 + R, A.T @ d.y / 80)
    expected = np.mean((A @ w - d.y) ** 2) / 2 + l2 / 2 * np.sum(w[:4] ** 2)
    found = optimum(loss)
    assert found.solver == "newton" and found.grad_norm < 1e-10
    assert found.f_star == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "kind, data, l2",
    [
        ("logistic", synthetic("classification", 200, 5, seed=1, noise=1.0, condition=30.0), 1e-3),
        ("logistic", synthetic("classification", 200, 5, seed=2, noise=2.0), 0.0),
        ("softmax", synthetic("multiclass", 300, 4, seed=1, noise=1.0, classes=3), 1e-2),
    ],
)
def test_f_star_against_scipy_and_between_newton_and_lbfgs(kind, data, l2):
    loss, _ = data_loss(kind, data, l2)
    newton = optimum(loss)
    lbfgs = optimum(loss, max_iterations=5000, hessian_bytes=0)
    assert (newton.solver, lbfgs.solver) == ("newton", "l-bfgs")
    assert newton.grad_norm < 1e-10 and lbfgs.grad_norm < 1e-10

    def fg(w):
        f, g = loss.value_and_grad(w)
        return float(f), g

    ref = minimize(fg, np.zeros(loss.dim), jac=True, method="BFGS", options={"gtol": 1e-11, "maxiter": 10000})
    assert newton.f_star <= ref.fun + 1e-13
    assert newton.f_star == pytest.approx(ref.fun, rel=1e-10)
    assert lbfgs.f_star == pytest.approx(newton.f_star, rel=1e-13)


def test_separable_data_without_l2_has_no_finite_optimum():
    X = np.array([[1.0, 0.2], [2.0, -1.0], [-1.0, 0.5], [-2.0, 0.1]])
    d = Dataset(X, np.array([1.0, 1.0, 0.0, 0.0]), "sep")
    found = optimum(data_loss("logistic", d, 0.0)[0])
    assert found.f_star is None
    assert found.reason == "no finite optimum: the training data are separable and l2 is 0 (set l2 > 0)"
    assert optimum(data_loss("logistic", d, 1e-2)[0]).f_star > 0
    m = Dataset(np.vstack([X, [[0.0, 5.0]]]), np.array([1.0, 1.0, 0.0, 0.0, 2.0]), "sep3")
    assert optimum(data_loss("softmax", m, 0.0)[0]).f_star is None


def test_the_cache_beside_the_data_is_keyed_by_content_and_parameters(tmp_path):
    p = tmp_path / "d.csv"
    d = synthetic("classification", 60, 3, seed=0, noise=1.0)
    p.write_text(
        "a,b,c,y\n" + "".join(",".join(repr(float(v)) for v in r) + f",{int(t)}\n" for r, t in zip(d.X, d.y))
    )
    train = Standardization.of(load(p, target="y"))
    train = train.apply(load(p, target="y"))
    loss, _ = data_loss("logistic", train, 1e-2)
    first = cached_optimum(loss, p)
    files = list((tmp_path / CACHE_DIR).iterdir())
    assert [f.name for f in files] == [f"{cache_key(loss)}.json"]
    doc = json.loads(files[0].read_text())
    assert doc["format_version"] == 1 and doc["optimum"]["f_star"] == first.f_star
    doc["optimum"]["f_star"] = 123.0  # the next call reads the cache, not the solver
    files[0].write_text(json.dumps(doc))
    assert cached_optimum(loss, p).f_star == 123.0
    other, _ = data_loss("logistic", train, 2e-2)
    assert cache_key(other) != cache_key(loss) and cached_optimum(other, p).f_star != 123.0
    assert len(list((tmp_path / CACHE_DIR).iterdir())) == 2
    assert cached_optimum(loss, None).f_star == first.f_star


@pytest.mark.parametrize(
    "kind, data, l2",
    [
        ("least-squares", synthetic("regression", 70, 3, seed=3), 0.1),
        ("logistic", synthetic("classification", 70, 3, seed=3, noise=1.0), 0.01),
        ("softmax", synthetic("multiclass", 70, 3, seed=3, noise=1.0, classes=3), 0.01),
    ],
)
def test_the_hessian_summed_over_blocks_of_samples_is_the_gradients_derivative(monkeypatch, kind, data, l2):
    from optrun.objectives import data_optimum

    loss, _ = data_loss(kind, data, l2)
    w = np.random.default_rng(0).standard_normal(loss.dim) * 0.3
    whole = data_optimum.hessian(loss, w)
    monkeypatch.setattr(data_optimum, "HESSIAN_BYTES", 4 * 8 * loss.rows * (loss.classes + 1) * 9)
    blocked = data_optimum.hessian(loss, w)  # blocks of 9 samples
    h = 1e-6
    fd = np.empty_like(whole)
    for j in range(loss.dim):
        e = np.zeros(loss.dim)
        e[j] = h
        fd[:, j] = (loss.value_and_grad(w + e)[1] - loss.value_and_grad(w - e)[1]) / (2 * h)
    assert np.allclose(blocked, whole, rtol=1e-12, atol=1e-14)
    assert np.allclose(whole, fd, rtol=1e-6, atol=1e-8)


def test_f_star_of_large_targets_is_found_to_a_tolerance_relative_to_the_start_gradient():
    d = synthetic("regression", 100, 3, seed=4)
    big = Dataset(d.X, d.y * 1e6 + 3e6, "big", d.columns)
    loss, _ = data_loss("least-squares", big)
    A = np.hstack([big.X, np.ones((100, 1))])
    w = np.linalg.lstsq(A, big.y, rcond=None)[0]
    found = optimum(loss)
    assert found.f_star == pytest.approx(np.mean((A @ w - big.y) ** 2) / 2, rel=1e-10)
    assert found.reason is None


def test_a_solver_that_stops_short_leaves_f_star_unknown_and_says_why():
    d = synthetic("classification", 200, 5, seed=1, noise=1.0, condition=30.0)
    loss, _ = data_loss("logistic", d, 1e-3)
    found = optimum(loss, max_iterations=1)
    assert found.f_star is None and found.grad_norm > 1e-10
    assert found.reason.startswith("f* unknown: the solver stopped at gradient norm")
