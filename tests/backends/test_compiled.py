"""Chunks of compiled steps (numba backend): objectives' compiled gradients and whole runs.

References: each objective's own numpy gradient (bit for bit), and whole runs of the numpy
backend step by step (x, f and gradient norms bit for bit; step norms to 1e-14, the fused
kernels' documented summation order).
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from optrun.cli import cli
from optrun.config import validate
from optrun.objectives import get_objective
from optrun.optimizers import ALGORITHMS
from optrun.problem import build_objective, build_optimizer, start_point
from optrun.runner import Problem, run
from optrun.sweep import batch_params

pytest.importorskip("numba")
from optrun.backends import chunked_gradient, compiled

VARIANTS = [(a, v.name) for a, alg in ALGORITHMS.items() for v in alg.variants]
CHUNKED = [(a, v) for a, v in VARIANTS if (a, v) != ("nadam", "torch")]


@pytest.mark.parametrize("name", sorted(compiled.GRADIENTS))
def test_compiled_gradients_are_numpys_bit_for_bit(name):
    spec = get_objective(name)
    dims = [2] if not spec.accepts_dim(3) else [1, 2, 7, 130]
    rng = np.random.default_rng(11)
    for d in dims:
        if not spec.accepts_dim(d):
            continue
        obj = build_objective(validate({"objective": {"name": name, "dim": d}, "algorithm": "gd"}, "t"))
        code, p = compiled.compiled_gradient(obj)
        for scale in (1e-3, 1.0, 7.0, 1e5):
            x = rng.standard_normal((5, d)) * scale
            x[0, 0] = -0.0
            want = obj.value_and_grad(x)[1]
            got = np.full_like(x, np.nan)
            compiled.gradient(code, p, x, got)
            assert got.tobytes() == np.ascontiguousarray(want, dtype=np.float64).tobytes(), (name, d, scale)


def test_the_ellipsoids_condition_reaches_the_compiled_gradient():
    obj = build_objective(
        validate({"objective": {"name": "ellipsoid", "dim": 6, "condition": 10.0}, "algorithm": "gd"}, "t")
    )
    code, p = compiled.compiled_gradient(obj)
    x = np.random.default_rng(2).standard_normal((3, 6))
    got = np.empty_like(x)
    compiled.gradient(code, p, x, got)
    assert got.tobytes() == obj.value_and_grad(x)[1].tobytes()
    assert p[-1] == 2.0 * 10.0


@pytest.mark.parametrize(
    "objective",
    [
        {"name": "rastrigin"},  # sin/cos: not compiled (numpy's SIMD sin differs in the last bits)
        {"name": "sphere", "shift": True},
        {"name": "rosenbrock", "rotate": True},
        {"expression": "x1**2 + x2**2"},
    ],
)
def test_objectives_without_a_compiled_gradient(objective):
    cfg = validate({"objective": objective, "algorithm": "gd", "bounds": [-1, 1]}, "t")
    assert compiled.compiled_gradient(build_objective(cfg)) is None


def test_chunks_only_where_they_apply():
    base = {"objective": "sphere", "backend": "numba"}
    opt = build_optimizer(validate({**base, "algorithm": "adam"}, "t"))
    obj = build_objective(validate({**base, "algorithm": "adam"}, "t"))
    assert chunked_gradient(obj, opt, 2) is not None
    assert chunked_gradient(obj, opt, 1 << 17) is None  # large steps are split among threads instead
    numpy_opt = build_optimizer(validate({**base, "algorithm": "adam", "backend": "numpy"}, "t"))
    assert chunked_gradient(obj, numpy_opt, 2) is None
    cos = {"name": "cosine", "decay_steps": 10}
    assert (
        chunked_gradient(
            obj, build_optimizer(validate({**base, "algorithm": {"name": "adam", "schedule": cos}}, "t")), 2
        )
        is None
    )
    nadam = build_optimizer(validate({**base, "algorithm": {"name": "nadam", "variant": "torch"}}, "t"))
    assert nadam.steps is None  # its running product is kept step by step in Python


def rows_of(cfg, S: int, chunked: bool, counter: list | None = None):
    objective = build_objective(cfg)
    configs = [cfg.with_seed(cfg.seed + i) for i in range(S)]
    optimizer = build_optimizer(cfg, batch_params(configs))
    if counter is not None and optimizer.steps is not None:
        real = optimizer.steps

        def steps(*a):
            counter.append(len(a[6]))
            return real(*a)

        optimizer = optimizer._replace(steps=steps)
    x0 = np.stack([start_point(c) for c in configs])
    problem = Problem(
        objective,
        optimizer,
        x0,
        cfg.iterations,
        cfg.stop.f_target,
        cfg.stop.grad_norm,
        chunks=chunked,
    )
    got: list = []
    results = run(
        problem,
        on_chunk=lambda c: got.append(
            (c.f.copy(), c.grad_norm.copy(), c.step_norm.copy(), c.x.copy(), c.rows.copy())
        ),
    )
    return [np.concatenate(a) for a in zip(*got)], results


@pytest.mark.parametrize(
    ("algo", "variant", "extra"), [(a, v, {}) for a, v in CHUNKED] + [("amsgrad", "tutorial", {"beta1": 0.8})]
)
@pytest.mark.parametrize(
    "objective", [{"name": "sphere", "dim": 3}, {"name": "rosenbrock", "dim": 4}, {"name": "himmelblau"}]
)
def test_chunked_runs_equal_the_numpy_backend(algo, variant, extra, objective):
    """Whole runs, two members, 2,500 iterations (chunks of 1,024 rows and a partial one): x, f and
    the gradient norm bit for bit, step norms to 1e-14, and the chunks really ran."""
    base = {
        "objective": objective,
        "algorithm": {"name": algo, "variant": variant, "alpha": 1e-4, **extra},
        "iterations": 2500,
        "seed": 4,
    }
    (fn, gn, sn, xn, _), _ = rows_of(validate({**base, "backend": "numpy"}, "t"), 2, chunked=False)
    calls: list = []
    (fb, gb, sb, xb, _), _ = rows_of(
        validate({**base, "backend": "numba"}, "t"), 2, chunked=True, counter=calls
    )
    assert sum(calls) == 2499 and len(calls) >= 3  # every step but the first, in chunks
    assert np.isfinite(xn[:20]).all()  # (a member may diverge later: its rows then agree as NaN)
    assert xn.tobytes() == xb.tobytes()
    assert fn.tobytes() == fb.tobytes() and gn.tobytes() == gb.tobytes()
    np.testing.assert_allclose(sb, sn, rtol=1e-14, atol=0)


def test_a_stop_inside_a_chunk_keeps_the_same_rows():
    base = {
        "objective": "sphere",
        "algorithm": {"name": "adam", "alpha": 0.05},
        "iterations": 3000,
        "stop": {"f_target": 1e-6},
    }
    (fn, _, _, xn, rn), res_n = rows_of(validate({**base, "backend": "numpy"}, "t"), 3, chunked=False)
    (fb, _, _, xb, rb), res_b = rows_of(validate({**base, "backend": "numba"}, "t"), 3, chunked=True)
    assert [r.iterations for r in res_n] == [r.iterations for r in res_b]
    assert all(r.stop_reason == "f_target" for r in res_b)
    assert rn.tolist() == rb.tolist() and fn.tobytes() == fb.tobytes() and xn.tobytes() == xb.tobytes()


def test_the_tutorial_config_through_the_cli_matches_numpy(tmp_path, configs_dir):
    """The shipped AMSGrad tutorial config, numba backend: the same trace as numpy's except the
    step norm's last bits."""
    out = {}
    for b in ("numpy", "numba"):
        res = CliRunner().invoke(
            cli,
            [
                "run",
                str(configs_dir / "amsgrad.yaml"),
                f"backend={b}",
                "iterations=3000",
                "--runs-dir",
                str(tmp_path / b),
                "--quiet",
            ],
        )
        assert res.exit_code == 0, res.output
        (folder,) = (tmp_path / b).iterdir()
        out[b] = np.genfromtxt(folder / "trace.csv", delimiter=",", names=True)
    n, m = out["numpy"], out["numba"]
    for col in ("iteration", "f", "grad_norm", "x0", "x1"):
        assert n[col].tobytes() == m[col].tobytes(), col
    np.testing.assert_allclose(m["step_norm"], n["step_norm"], rtol=1e-14, atol=0)


def test_an_interrupted_chunked_run_resumes_to_the_same_rows():
    """Stop after a few chunks, resume from the checkpoint: the rows continue exactly as the
    uninterrupted run's (both chunked)."""
    cfg = validate(
        {
            "objective": {"name": "rosenbrock", "dim": 3},
            "backend": "numba",
            "iterations": 3000,
            "algorithm": {"name": "amsgrad", "variant": "torch", "alpha": 1e-3},
        },
        "t",
    )
    (f_all, _, _, x_all, _), _ = rows_of(cfg, 2, chunked=True)

    objective = build_objective(cfg)
    configs = [cfg.with_seed(cfg.seed + i) for i in range(2)]
    x0 = np.stack([start_point(c) for c in configs])

    def problem():
        opt = build_optimizer(cfg, batch_params(configs))
        return Problem(objective, opt, x0, cfg.iterations, chunks=True)

    got: list = []
    checkpoints: list = []
    polls = iter(range(10**6))
    run(
        problem(),
        on_chunk=lambda c: got.append((c.f.copy(), c.x.copy())),
        should_stop=lambda: next(polls) >= 2,
        on_checkpoint=checkpoints.append,
    )
    (ck,) = checkpoints
    assert 0 < ck.iteration < 3000
    run(problem(), on_chunk=lambda c: got.append((c.f.copy(), c.x.copy())), resume=ck)
    f, x = (np.concatenate(a) for a in zip(*got))
    assert f.tobytes() == f_all.tobytes() and x.tobytes() == x_all.tobytes()
