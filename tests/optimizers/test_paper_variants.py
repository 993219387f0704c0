"""``variant: paper`` of adam and amsgrad and the ``inverse_sqrt`` step size, held to the paper.

The reference is :func:`paper`, Algorithms 1 and 2 of Reddi, Kale & Kumar (On the Convergence
of Adam and Beyond, ICLR 2018) written out here from the paper, one coordinate at a time in
Python floats: m, v and vhat start at 0, beta1 is constant, there is no bias correction, eps is
added to the root and ``alpha_t = alpha / sqrt(t)`` under ``inverse_sqrt``. optrun's kernels
(numpy and numba) are compared with it over 1,200 steps of random gradients to 1e-12 relative,
alone and as a sweep batch of members with different hyperparameters, and through ``optrun run``.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from optrun.backends import build_variant
from optrun.config import validate
from optrun.optimizers import get_algorithm
from optrun.problem import build_optimizer
from optrun.sweep import batch_params
from tests.cli_runs import run_folder

STEPS = 1200
RTOL = 1e-12


def paper(grad, x0, steps, alpha, beta1, beta2, eps, amsgrad, inverse_sqrt=False):
    """Algorithm 1 (``amsgrad`` False: Adam) or 2 (AMSGrad) from ``x0``; ``grad(t, x)`` is the
    t-th gradient at the point after t - 1 steps. Returns the points x_1 .. x_{steps+1}. Where
    the denominator is 0 (eps = 0 and only zero gradients so far) m is 0 too: no step."""
    d = len(x0)
    x = [float(v) for v in x0]
    m, v, vhat = [0.0] * d, [0.0] * d, [0.0] * d
    xs = [list(x)]
    for t in range(1, steps + 1):
        g = grad(t, x)
        a = alpha / math.sqrt(t) if inverse_sqrt else alpha
        for i in range(d):
            m[i] = beta1 * m[i] + (1.0 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1.0 - beta2) * g[i] ** 2
            vhat[i] = max(vhat[i], v[i])
            den = math.sqrt(vhat[i] if amsgrad else v[i]) + eps
            x[i] = x[i] - (a * m[i] / den if den > 0.0 else 0.0)
        xs.append(list(x))
    return np.array(xs)


def gradients(S: int, d: int, seed: int) -> np.ndarray:
    """``(STEPS, S, d)`` random gradients whose scale jumps (so AMSGrad's maximum matters); the
    last coordinate is 0 for the first 20 steps (where eps = 0 makes the denominator 0)."""
    rng = np.random.default_rng(seed)
    scale = np.exp(rng.normal(0.0, 1.5, (STEPS, S, 1)))
    g = rng.standard_normal((STEPS, S, d)) * scale + 0.3
    g[:20, :, -1] = 0.0
    return g


def kernel_points(opt, x0: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """``(STEPS + 1, S, d)`` points of ``opt`` from ``x0`` (S, d) under ``grads``."""
    x = x0.copy()
    state = opt.init(x)
    out = [x.copy()]
    for t, g in enumerate(grads, start=1):
        step, state = opt.update(np.ascontiguousarray(g), state, x, t)
        np.add(x, step, out=x)
        out.append(x.copy())
    return np.array(out)


def backend(name: str) -> str:
    if name == "numba":
        pytest.importorskip("numba")
    return name


MEMBERS = [  # (alpha, beta1, beta2): a sweep batch whose members differ in every hyperparameter
    (0.01, 0.9, 0.999),
    (0.03, 0.5, 0.99),
    (0.002, 0.0, 0.9),
]


@pytest.mark.parametrize("backend_name", ["numpy", "numba"])
@pytest.mark.parametrize("eps", [0.0, 0.05])
@pytest.mark.parametrize("algo", ["adam", "amsgrad"])
@pytest.mark.parametrize("S", [1, 3])
def test_kernels_follow_the_papers_algorithms(algo, eps, backend_name, S):
    variant = get_algorithm(algo).variant("paper")
    members = MEMBERS[:S] if S > 1 else [MEMBERS[1]]
    params = {
        name: np.array([[m[i]] for m in members]) for i, name in enumerate(("alpha", "beta1", "beta2"))
    } | {"eps": eps}
    d = 4
    grads = gradients(S, d, seed=S)
    x0 = np.linspace(-1.0, 1.0, S * d).reshape(S, d)
    got = kernel_points(build_variant(variant, params, backend(backend_name), d), x0, grads)
    if backend_name == "numba":  # the zero denominators included
        assert got.tobytes() == kernel_points(build_variant(variant, params, "numpy", d), x0, grads).tobytes()
    for s, (alpha, beta1, beta2) in enumerate(members):
        want = paper(
            lambda t, x, s=s: grads[t - 1, s].tolist(),
            x0[s],
            STEPS,
            alpha,
            beta1,
            beta2,
            eps,
            algo == "amsgrad",
        )
        np.testing.assert_allclose(got[:, s], want, rtol=RTOL, atol=0)
        assert np.all(got[:21, s, -1] == x0[s, -1])  # no step while the gradient was 0
        assert np.isfinite(got).all()


def test_the_maximum_and_eps_change_the_path():
    """The comparisons above could not pass with the maximum or eps left out."""
    grads = gradients(1, 3, seed=7)
    x0 = np.zeros((1, 3))
    runs = {}
    for algo in ("adam", "amsgrad"):
        for eps in (0.0, 0.05):
            v = get_algorithm(algo).variant("paper")
            runs[algo, eps] = kernel_points(v.build(alpha=0.01, beta1=0.9, beta2=0.99, eps=eps), x0, grads)
    for a, b in [
        (("adam", 0.0), ("amsgrad", 0.0)),
        (("adam", 0.0), ("adam", 0.05)),
        (("amsgrad", 0.0), ("amsgrad", 0.05)),
    ]:
        assert np.max(np.abs(runs[a] - runs[b])) > 1e-3


def test_amsgrad_paper_is_the_tutorial_rule_with_constant_beta1():
    """Where both are defined (eps > 0) Algorithm 2 and the tutorial variant with
    ``beta1_schedule: constant`` are the same arithmetic."""
    grads = gradients(1, 3, seed=8)
    x0 = np.ones((1, 3))
    hyper = {"alpha": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-8}
    amsgrad = get_algorithm("amsgrad")
    a = kernel_points(amsgrad.variant("paper").build(**hyper), x0, grads)
    b = kernel_points(amsgrad.variant("tutorial").build(**hyper, beta1_schedule="constant"), x0, grads)
    assert a.tobytes() == b.tobytes()


# ------------------------------------------------------------------ with alpha_t = alpha / sqrt(t)


def config(algo: str, alpha: float, backend_name: str = "numpy", **extra):
    return validate(
        {
            "objective": {"name": "sphere", "dim": 3},
            "start": [0.5, -0.3, 0.2],
            "algorithm": {
                "name": algo,
                "variant": "paper",
                "alpha": alpha,
                "schedule": "inverse_sqrt",
                **extra,
            },
            "backend": backend_name,
        },
        "c.yaml",
    )


@pytest.mark.parametrize("backend_name", ["numpy", "numba"])
@pytest.mark.parametrize("algo", ["adam", "amsgrad"])
def test_inverse_sqrt_through_a_sweep_batch(algo, backend_name):
    """``{name: ..., variant: paper, alpha: A, schedule: inverse_sqrt}`` as the runner builds it
    for a sweep (alpha and beta2 as (S, 1) arrays), on both backends."""
    members = [(0.5, 0.99), (0.1, 0.999), (0.02, 0.9)]
    cfgs = [config(algo, a, backend(backend_name), beta2=b2) for a, b2 in members]
    params = batch_params(cfgs)
    assert params["alpha"].shape == (3, 1)
    grads = gradients(3, 3, seed=11)
    x0 = np.full((3, 3), 0.25)
    got = kernel_points(build_optimizer(cfgs[0], params), x0, grads)
    for s, (alpha, beta2) in enumerate(members):
        want = paper(
            lambda t, x, s=s: grads[t - 1, s].tolist(),
            x0[s],
            STEPS,
            alpha,
            0.9,
            beta2,
            0.0,
            algo == "amsgrad",
            True,
        )
        np.testing.assert_allclose(got[:, s], want, rtol=RTOL, atol=0)
    # and not by accident: the constant step size gives another path
    plain = paper(lambda t, x: grads[t - 1, 0].tolist(), x0[0], STEPS, 0.5, 0.9, 0.99, 0.0, algo == "amsgrad")
    assert np.max(np.abs(plain - got[:, 0])) > 1e-2


def test_the_numba_backend_schedules_its_fused_kernel(monkeypatch):
    """A scheduled numba run steps with the fused kernel (its ``update``; the fused ``apply``
    would add an unscaled step) and gets the numpy backend's bits."""
    pytest.importorskip("numba")
    from optrun.backends import fused

    built = []
    real = fused.fused_builder

    def spy(build):
        out = real(build)
        built.append(out is not None)
        return out

    monkeypatch.setattr(fused, "fused_builder", spy)
    opt = build_optimizer(config("amsgrad", 0.5, "numba"), None)
    assert built == [True] and getattr(opt, "apply", None) is None
    grads = gradients(1, 3, seed=12)
    x0 = np.full((1, 3), -0.5)
    numba_points = kernel_points(opt, x0, grads)
    numpy_points = kernel_points(build_optimizer(config("amsgrad", 0.5), None), x0, grads)
    assert numba_points.tobytes() == numpy_points.tobytes()


# ------------------------------------------------------------------ through optrun run


def trace_points(folder: str, d: int) -> np.ndarray:
    with open(Path(folder) / "trace.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return np.array([[float(r[f"x{i}"]) for i in range(d)] for r in rows])


@pytest.mark.parametrize("algo", ["amsgrad", "adam"])
def test_optrun_run_follows_the_paper(tmp_path, algo):
    """``optrun run`` of a small config: the trace's points are the paper's. The objective's
    minimum is away from 0, so no coordinate shrinks to the rounding of the steps it is made of
    (a sphere's x reaches 1e-20 by cancellation, where 1e-12 relative means nothing)."""
    cfg = tmp_path / "c.yaml"
    start = [0.8, -0.6, 0.0]
    cfg.write_text(
        yaml.safe_dump(
            {
                "objective": {"expression": "(x0 - 3)**2 + 2 * (x1 + 2)**2 + x2**2"},
                "bounds": [[-5, 5]] * 3,
                "start": start,
                "iterations": 1000,
                "algorithm": {
                    "name": algo,
                    "variant": "paper",
                    "alpha": 0.5,
                    "beta2": 0.99,
                    "schedule": "inverse_sqrt",
                },
            }
        )
    )
    got = trace_points(run_folder(cfg, tmp_path / "runs"), 3)
    want = paper(
        lambda t, x: [2 * (x[0] - 3), 4 * (x[1] + 2), 2 * x[2]],
        start,
        1000,
        0.5,
        0.9,
        0.99,
        0.0,
        algo == "amsgrad",
        True,
    )
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=0)
    assert np.all(got[:, 2] == 0.0)  # a zero gradient: no step, no NaN


@pytest.mark.parametrize("algo", ["adam", "amsgrad"])
def test_a_scheduled_sweep_member_equals_the_run_alone(tmp_path, algo):
    """A sweep over alpha (an (S, 1) array under inverse_sqrt) and seeds: each member's trace is
    the bits of the same run made alone."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "objective": {"name": "rosenbrock", "dim": 3},
                "bounds": [-1.0, 1.0],
                "algorithm": {"name": algo, "variant": "paper", "schedule": "inverse_sqrt"},
                "iterations": 40,
                "trace": {"checkpoint_s": None},
            }
        )
    )
    alphas = [0.5, 0.05]
    sweep = run_folder(cfg, tmp_path / "sweep", "--sweep", "seed=0,1", "--sweep", "algorithm.alpha=0.5,0.05")
    (batch,) = (Path(sweep) / "traces").glob("batch-*.csv")
    members: dict[int, list[list[str]]] = {}
    with open(batch, newline="") as f:
        for rec in list(csv.reader(f))[1:]:
            members.setdefault(int(rec[0]), []).append(rec[1:])
    for m, (seed, a) in enumerate((s, a) for s in (0, 1) for a in alphas):
        alone = run_folder(cfg, tmp_path / "alone", f"seed={seed}", f"algorithm.alpha={a}")
        with open(Path(alone) / "trace.csv", newline="") as f:
            rows = list(csv.reader(f))[1:]
        assert len(rows) == 41 and members[m] == rows, (seed, a)
