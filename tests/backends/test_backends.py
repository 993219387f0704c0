"""Backends: blocked numpy kernels, fused numba kernels, the backend key and its fallback.

Reference for both: the plain numpy kernel of each variant (itself held to torch and optax by
tests/test_references.py). Agreement claimed and checked:

* blocked numpy vs unblocked numpy: bit for bit (same ufuncs per element, in the same order);
* numba vs numpy, float64: bit for bit for every variant (each fused kernel performs the numpy
  kernel's IEEE operations in its order; no fastmath, so no FMA contraction).

The numba parts are skipped when numba is not installed (``pytest.importorskip``).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from optrun import backends
from optrun.backends import NUMBA_MIN_D, build_variant, resolve_backend
from optrun.cli import cli
from optrun.config import validate
from optrun.errors import ConfigError
from optrun.optimizers import ALGORITHMS, get_algorithm
from optrun.optimizers.blocked import MIN_ELEMENTS, blocked
from optrun.problem import build_optimizer
from optrun.runner import Problem, run
from optrun.sweep import batch_key, batch_params

VARIANTS = [(a, v.name) for a, alg in ALGORITHMS.items() for v in alg.variants]
SCRATCH = {"tmp", "tmp2", "geff", "step", "zero", "delta", "den"}  # written before read each step

# non-default settings that switch on the kernels' optional branches
EXTRA = [
    ("momentum", "torch", {"dampening": 0.25, "weight_decay": 0.01}),
    ("nesterov", "torch", {"weight_decay": 0.01}),
    ("adagrad", "torch", {"lr_decay": 0.01, "weight_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("adagrad", "optax", {"initial_accumulator_value": 0.0}),
    ("rmsprop", "torch", {"centered": True, "weight_decay": 0.01}),
    ("rmsprop", "torch", {"momentum": 0.9}),
    ("rmsprop", "optax", {"centered": True, "momentum": 0.9, "nesterov": True}),
    ("rmsprop", "optax", {"eps_in_sqrt": False, "momentum": 0.5}),
    ("adadelta", "torch", {"weight_decay": 0.01}),
    ("adadelta", "optax", {"weight_decay": 0.01}),
    ("adam", "torch", {"weight_decay": 0.01}),
    ("adam", "optax", {"eps_root": 1e-8}),
    ("adamw", "torch", {"weight_decay": 0.1}),
    ("adamax", "torch", {"weight_decay": 0.01}),
    ("nadam", "torch", {"weight_decay": 0.01}),
    ("nadam", "torch", {"weight_decay": 0.01, "decoupled_weight_decay": True}),
    ("nadam", "torch", {"mu_product_float32": False}),
    ("amsgrad", "tutorial", {"beta1_schedule": "inverse"}),
    ("amsgrad", "tutorial", {"beta1_schedule": "constant"}),
    ("amsgrad", "torch", {"weight_decay": 0.01}),
    ("adam", "paper", {"eps": 1e-8}),  # eps > 0 for every member: no max(den, TINY) pass
    ("amsgrad", "paper", {"eps": 1e-8}),
]


def hyper(algo: str, variant: str, S: int, extra: dict | None = None) -> dict:
    """The variant's defaults as the runner passes them: numeric values as (S, 1) arrays, each
    member a little different (so a per-row mix-up shows)."""
    v = get_algorithm(algo).variant(variant)
    out = {}
    for p in v.params:
        val = (extra or {}).get(p.name, p.default)
        if isinstance(val, float) and not isinstance(val, bool):
            out[p.name] = np.array([[val * (1.0 - 0.03 * i)] for i in range(S)])
        else:
            out[p.name] = val
    return out


def trajectory(opt, x0: np.ndarray, grads: list[np.ndarray], first_t: int = 1):
    """Steps of ``opt`` from ``x0``; the gradient mixes in x so that the state feeds back."""
    x = x0.copy()
    state = opt.init(x)
    steps = []
    with np.errstate(all="ignore"):
        for t, g in enumerate(grads, start=first_t):
            step, state = opt.update(g + 0.5 * x, state, x, t)
            steps.append(step.copy())
            np.add(x, step, out=x)
    kept = {k: np.array(v, copy=True) for k, v in state._asdict().items() if k not in SCRATCH}
    return x, steps, kept


def assert_same_bits(a, b) -> None:
    xa, sa, ka = a
    xb, sb, kb = b
    assert np.isfinite(xa).all()
    assert xa.tobytes() == xb.tobytes()
    for t, (u, w) in enumerate(zip(sa, sb), start=1):
        assert u.tobytes() == w.tobytes(), f"step {t} differs"
    assert ka.keys() == kb.keys()
    for k in ka:
        assert ka[k].tobytes() == kb[k].tobytes(), f"state field {k} differs"


def data(S: int, d: int, steps: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((S, d)), [rng.standard_normal((S, d)) for _ in range(steps)]


# ------------------------------------------------------------------ blocked numpy


@pytest.mark.parametrize(("algo", "variant"), VARIANTS)
@pytest.mark.parametrize(("S", "d"), [(1, 127), (1, 128), (1, 129), (3, 1001), (2, 64)])
def test_blocked_numpy_is_bit_identical(algo, variant, S, d):
    v = get_algorithm(algo).variant(variant)
    p = hyper(algo, variant, S)
    x0, grads = data(S, d)
    plain = trajectory(v.build(**p), x0, grads)
    # slices of 64 elements over all members: odd tails, a last slice of one column, S > 1
    tiny = trajectory(blocked(v.build(**p), block=64, min_elements=0, min_width=1), x0, grads)
    assert_same_bits(plain, tiny)


@pytest.mark.parametrize(("algo", "variant", "extra"), EXTRA)
def test_blocked_numpy_branches(algo, variant, extra):
    v = get_algorithm(algo).variant(variant)
    p = hyper(algo, variant, 3, extra)
    x0, grads = data(3, 301, seed=1)
    assert_same_bits(
        trajectory(v.build(**p), x0, grads),
        trajectory(blocked(v.build(**p), block=96, min_elements=0, min_width=1), x0, grads),
    )


@pytest.mark.parametrize("d", [MIN_ELEMENTS - 1, MIN_ELEMENTS + 3])
@pytest.mark.parametrize(
    ("algo", "variant"), [("adagrad", "tutorial"), ("amsgrad", "torch"), ("nadam", "torch")]
)
def test_blocked_default_threshold(algo, variant, d):
    """At the real threshold: below it one call, above it slices; same bits either way."""
    v = get_algorithm(algo).variant(variant)
    p = hyper(algo, variant, 1)
    x0, grads = data(1, d, steps=3)
    assert_same_bits(trajectory(v.build(**p), x0, grads), trajectory(blocked(v.build(**p)), x0, grads))


def test_blocked_slices_only_above_the_threshold():
    """The wrapper really calls update once per slice above the threshold, once below."""
    calls = []
    inner = get_algorithm("gd").variant("standard").build(alpha=0.1)

    def counting(g, s, x, t):
        calls.append(g.shape[-1])
        return inner.update(g, s, x, t)

    opt = blocked(type(inner)(inner.init, counting), block=100, min_elements=1000, min_width=1)
    for d, expected in [(999, [999]), (1000, [100] * 10), (1050, [100] * 10 + [50])]:
        calls.clear()
        x = np.zeros((1, d))
        opt.update(np.ones((1, d)), opt.init(x), x, 1)
        assert calls == expected


# ------------------------------------------------------------------ numba


@pytest.fixture(scope="module")
def fused():
    pytest.importorskip("numba")
    from optrun.backends import fused as F

    return F


@pytest.mark.parametrize(("algo", "variant"), VARIANTS)
def test_numba_matches_numpy_bit_for_bit(fused, algo, variant):
    v = get_algorithm(algo).variant(variant)
    p = hyper(algo, variant, 3)
    x0, grads = data(3, 37)
    assert_same_bits(
        trajectory(v.build(**p), x0, grads), trajectory(fused.fused_builder(v.build)(**p), x0, grads)
    )


@pytest.mark.parametrize(
    ("algo", "variant", "extra"),
    [(a, v, None) for a, v in VARIANTS]
    + [("amsgrad", "tutorial", {"beta1_schedule": s}) for s in ("inverse", "constant")]
    # beta1 = 0.8: numpy's array ** 2 (square) and its power by an array of t differ
    + [("amsgrad", "tutorial", {"beta1": b}) for b in (0.8, 0.1, 0.4)],
)
def test_numba_matches_numpy_over_blocks_of_per_step_coefficients(fused, algo, variant, extra):
    # 600 steps cross the blocks in which fused builders compute bias corrections (STEP_BLOCK)
    assert fused.STEP_BLOCK < 600
    v = get_algorithm(algo).variant(variant)
    p = hyper(algo, variant, 2, extra)
    x0, grads = data(2, 9, steps=600, seed=5)
    grads = [0.01 * g for g in grads]
    assert_same_bits(
        trajectory(v.build(**p), x0, grads), trajectory(fused.fused_builder(v.build)(**p), x0, grads)
    )
    # and from the middle of a block on, as a resumed run steps
    assert_same_bits(
        trajectory(v.build(**p), x0, grads[:40], first_t=300),
        trajectory(fused.fused_builder(v.build)(**p), x0, grads[:40], first_t=300),
    )


@pytest.mark.parametrize("beta1", [0.93, 0.8])
@pytest.mark.parametrize("schedule", ["power", "inverse", "constant"])
def test_numba_amsgrad_tutorial_with_float_hyperparameters(fused, schedule, beta1):
    """The Python API may pass plain floats (the runner passes (S, 1) arrays): beta1(t) is then
    Python's float power, step by step in numpy and in blocks of steps in the fused builder."""
    v = get_algorithm("amsgrad").variant("tutorial")
    p = {q.name: q.default for q in v.params} | {"beta1_schedule": schedule, "beta1": beta1}
    x0, grads = data(1, 7, steps=600, seed=6)
    assert_same_bits(
        trajectory(v.build(**p), x0, grads), trajectory(fused.fused_builder(v.build)(**p), x0, grads)
    )


@pytest.mark.parametrize(("algo", "variant", "extra"), EXTRA)
def test_numba_branches_match_numpy(fused, algo, variant, extra):
    v = get_algorithm(algo).variant(variant)
    p = hyper(algo, variant, 3, extra)
    x0, grads = data(3, 53, seed=2)
    assert_same_bits(
        trajectory(v.build(**p), x0, grads), trajectory(fused.fused_builder(v.build)(**p), x0, grads)
    )


def test_numba_rmsprop_mixed_momentum(fused):
    """Members with momentum 0 and > 0 in one batch: each takes its own branch, as in numpy."""
    v = get_algorithm("rmsprop").variant("torch")
    p = hyper("rmsprop", "torch", 3, {"centered": True})
    p["momentum"] = np.array([[0.0], [0.9], [0.5]])
    x0, grads = data(3, 41, seed=3)
    assert_same_bits(
        trajectory(v.build(**p), x0, grads), trajectory(fused.fused_builder(v.build)(**p), x0, grads)
    )


def test_numba_scalar_hyperparameters(fused):
    """Python floats (as user code or the benchmarks pass them) work like (S, 1) arrays."""
    v = get_algorithm("amsgrad").variant("torch")
    p = {q.name: q.default for q in v.params}
    x0, grads = data(2, 29, seed=4)
    assert_same_bits(
        trajectory(v.build(**p), x0, grads), trajectory(fused.fused_builder(v.build)(**p), x0, grads)
    )


@pytest.mark.parametrize("threads", ["2", "3"])
@pytest.mark.parametrize(("algo", "variant"), [(a, v) for a, v in VARIANTS if a in ("adagrad", "amsgrad")])
def test_numba_parallel_path_matches_numpy(fused, monkeypatch, algo, variant, threads):
    """One column range per thread (optrun.threads), with an odd d and S > 1, through update and
    through the fused apply (norms: one partial per thread, to 1e-14)."""
    monkeypatch.setattr(fused, "PARALLEL_MIN_D", 16)
    monkeypatch.setattr(fused.numba.config, "NUMBA_NUM_THREADS", 8)
    monkeypatch.setenv("OPTRUN_THREADS", threads)
    assert fused.threads() == int(threads)
    v = get_algorithm(algo).variant(variant)
    p = hyper(algo, variant, 2)
    x0, grads = data(2, 1001, seed=5)
    assert_same_bits(
        trajectory(v.build(**p), x0, grads), trajectory(fused.fused_builder(v.build)(**p), x0, grads)
    )
    assert_apply_matches(v.build(**p), fused.fused_builder(v.build)(**p), x0, grads)


def test_every_variant_has_a_fused_kernel(fused):
    missing = [
        f"{a}/{v}" for a, v in VARIANTS if fused.fused_builder(get_algorithm(a).variant(v).build) is None
    ]
    assert missing == []


# ------------------------------------------------------------------ choice of backend


def test_resolve_backend_with_numba(fused):
    assert resolve_backend("numpy", 10**7) == "numpy"
    assert resolve_backend("numba", 2) == "numba"
    assert resolve_backend("auto", NUMBA_MIN_D - 1) == "numpy"
    assert resolve_backend("auto", NUMBA_MIN_D) == "numba"


def test_fallback_when_numba_is_absent(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # "import numba" now raises ImportError
    assert not backends.numba_available()
    assert resolve_backend("auto", 10**7) == "numpy"
    with pytest.raises(ConfigError, match=r"pip install numba"):
        resolve_backend("numba", 10)
    v = get_algorithm("adagrad").variant("tutorial")
    p = hyper("adagrad", "tutorial", 1)
    x0, grads = data(1, 50)
    opt = build_variant(v, p, "auto", 10**7)  # auto at a size that would pick numba
    assert_same_bits(trajectory(v.build(**p), x0, grads), trajectory(opt, x0, grads))


BASE = {
    "objective": {"name": "sphere", "dim": 40},
    "algorithm": {"name": "amsgrad", "variant": "torch"},
    "iterations": 30,
    "start": "random",
    "seed": 3,
}


def run_config(cfg):
    from optrun.problem import build_objective, start_point

    problem = Problem(
        build_objective(cfg),
        build_optimizer(cfg, batch_params([cfg])),
        start_point(cfg)[None],
        cfg.iterations,
    )
    return run(problem)[0]


@pytest.mark.parametrize(
    "algorithm",
    [
        {"name": "adagrad", "variant": "optax"},
        {"name": "amsgrad", "variant": "tutorial", "schedule": {"name": "cosine", "decay_steps": 20}},
    ],
)
def test_a_run_gives_the_same_bits_on_both_backends(fused, algorithm):
    results = [
        run_config(validate({**BASE, "algorithm": algorithm, "backend": b}, "test"))
        for b in ("numpy", "numba")
    ]
    assert results[0].final_x.tobytes() == results[1].final_x.tobytes()
    assert results[0].best_f == results[1].best_f


def test_backend_key_in_config_and_batches():
    auto = validate(dict(BASE), "test")
    numpy_ = validate({**BASE, "backend": "numpy"}, "test")
    assert auto.backend == "auto" and auto.to_dict()["backend"] == "auto"  # resolved: every key written
    assert numpy_.to_dict()["backend"] == "numpy"
    assert validate(numpy_.to_dict(), "test") == numpy_
    assert batch_key(auto) != batch_key(numpy_)


def test_config_errors_exit_2(tmp_path, monkeypatch):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**BASE, "backend": "gpu"}))
    r = CliRunner().invoke(cli, ["run", str(bad), "--runs-dir", str(tmp_path / "runs")])
    assert r.exit_code == 2
    assert "backend" in r.output and "auto, numpy, numba" in r.output and "Traceback" not in r.output
    monkeypatch.setitem(sys.modules, "numba", None)
    good = tmp_path / "numba.yaml"
    good.write_text(yaml.safe_dump({**BASE, "backend": "numba"}))
    r = CliRunner().invoke(cli, ["run", str(good), "--runs-dir", str(tmp_path / "runs")])
    assert r.exit_code == 2
    assert "pip install numba" in r.output and "Traceback" not in r.output
    assert len([ln for ln in r.output.splitlines() if ln.strip()]) == 1


def test_numba_is_imported_only_when_chosen():
    code = (
        "import sys; from optrun.config import validate; from optrun.problem import build_optimizer;"
        "from optrun.sweep import batch_params;"
        "c = validate({'objective': {'name': 'sphere', 'dim': 10**5}, 'algorithm': 'adam', "
        "'backend': 'numpy'}, 't'); build_optimizer(c, batch_params([c]));"
        "c = validate({'objective': {'name': 'sphere', 'dim': 2}, 'algorithm': 'adam'}, 't');"
        "build_optimizer(c, batch_params([c])); print('numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ fused step: apply


def applied(opt, x0: np.ndarray, grads: list[np.ndarray]):
    """``trajectory`` through ``opt.apply``: final x, the squared step norms per step, the state."""
    x = x0.copy()
    state = opt.init(x)
    norms = []
    with np.errstate(all="ignore"):
        for t, g in enumerate(grads, start=1):
            sq = np.full(x.shape[0], np.nan)
            state = opt.apply(g + 0.5 * x, state, x, t, sq)
            norms.append(sq)
    kept = {k: np.array(v, copy=True) for k, v in state._asdict().items() if k not in SCRATCH}
    return x, norms, kept


def assert_apply_matches(reference, fused_opt, x0, grads) -> None:
    """x and the carried state bit for bit; squared step norms to 1e-14 relative (vecdot's
    pairwise order vs the kernel's four running sums)."""
    xr, steps, kr = trajectory(reference, x0, grads)
    xf, norms, kf = applied(fused_opt, x0, grads)
    assert np.isfinite(xr).all()
    assert xr.tobytes() == xf.tobytes()
    assert kr.keys() == kf.keys()
    for k in kr:
        assert kr[k].tobytes() == kf[k].tobytes(), f"state field {k} differs"
    for t, (st, sq) in enumerate(zip(steps, norms), start=1):
        want = np.vecdot(st, st)  # the runner's numpy path
        assert (want > 0).all()
        np.testing.assert_allclose(sq, want, rtol=1e-14, atol=0, err_msg=f"step {t}")


@pytest.fixture
def small_tiles(fused, monkeypatch):
    """Tiles of 3 x 300 columns, so that a row of 4099 spans 13 tiles and a partial one."""
    monkeypatch.setattr(fused, "TILE_ELEMENTS", 900)
    return fused


@pytest.mark.parametrize(("algo", "variant"), VARIANTS)
def test_numba_apply_matches_numpy(small_tiles, algo, variant):
    fused = small_tiles
    v = get_algorithm(algo).variant(variant)
    p = hyper(algo, variant, 3)
    x0, grads = data(3, 4099, seed=6)  # several tiles and a partial one per member
    assert_apply_matches(v.build(**p), fused.fused_builder(v.build)(**p), x0, grads)


@pytest.mark.parametrize(("algo", "variant", "extra"), EXTRA)
def test_numba_apply_branches(small_tiles, algo, variant, extra):
    fused = small_tiles
    v = get_algorithm(algo).variant(variant)
    p = hyper(algo, variant, 2, extra)
    x0, grads = data(2, 1031, seed=7)
    assert_apply_matches(v.build(**p), fused.fused_builder(v.build)(**p), x0, grads)


@pytest.mark.parametrize(("algo", "variant"), [(a, v) for a, v in VARIANTS if a in ("adagrad", "amsgrad")])
def test_numba_apply_parallel_path(fused, monkeypatch, algo, variant):
    """The threaded apply drivers: each thread's column range, partial norms added in thread order."""
    monkeypatch.setattr(fused, "PARALLEL_MIN_D", 16)
    monkeypatch.setattr(fused, "TILE_ELEMENTS", 512)
    v = get_algorithm(algo).variant(variant)
    p = hyper(algo, variant, 2)
    x0, grads = data(2, 5001, seed=8)
    assert_apply_matches(v.build(**p), fused.fused_builder(v.build)(**p), x0, grads)


def test_apply_is_dropped_where_it_would_be_wrong(fused):
    """numpy kernels, blocked or scheduled ones and user optimizers have no apply (the runner then
    adds the step itself); a constant schedule keeps the fused kernel's."""
    from optrun.optimizers.schedules import scheduled

    v = get_algorithm("adam").variant("torch")
    p = hyper("adam", "torch", 1)
    assert getattr(v.build(**p), "apply", None) is None
    assert getattr(build_variant(v, p, "numpy", 10**6), "apply", None) is None
    assert build_variant(v, p, "numba", 10).apply is not None
    assert build_variant(v, p, "numba", 10, {"name": "constant"}).apply is not None
    cos = {"name": "cosine", "decay_steps": 10, "alpha_min": 0.0, "warmup_steps": 0, "warmup_init": 0.0}
    assert getattr(scheduled(fused.fused_builder(v.build)(**p), cos, p["alpha"]), "apply", None) is None


@pytest.mark.parametrize(
    "algorithm",
    [
        {"name": "adam", "variant": "torch"},
        {"name": "amsgrad", "variant": "tutorial"},
        {"name": "adagrad", "variant": "optax"},
    ],
)
def test_a_run_through_apply_matches_numpy(fused, algorithm):
    """Whole runs: numba's fused apply vs numpy's update + add + vecdot. x and f bit for bit,
    step norms to 1e-14 relative, and the numba run really went through apply."""
    calls = []
    real = fused._fused

    def counting(init, update, steps=None):
        opt = real(init, update, steps)

        def apply(*a):
            calls.append(1)
            return opt.apply(*a)

        return type(opt)(opt.init, opt.update, apply, opt.steps)

    from optrun.problem import build_objective, start_point

    rows = {}
    for b in ("numpy", "numba"):
        cfg = validate({**BASE, "algorithm": algorithm, "backend": b}, "test")
        got: list = []
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(fused, "_fused", counting)
            problem = Problem(
                build_objective(cfg),
                build_optimizer(cfg, batch_params([cfg])),
                start_point(cfg)[None],
                cfg.iterations,
            )
            run(problem, on_chunk=lambda c, got=got: got.append((c.f.copy(), c.step_norm.copy(), c.x.copy())))
        rows[b] = [np.concatenate(a) for a in zip(*got)]
    assert len(calls) == BASE["iterations"]
    (fn, sn, xn), (fb, sb, xb) = rows["numpy"], rows["numba"]
    assert xn.tobytes() == xb.tobytes() and fn.tobytes() == fb.tobytes()
    assert sn[0] == 0 and sb[0] == 0
    np.testing.assert_allclose(sb[1:], sn[1:], rtol=1e-14, atol=0)


@pytest.mark.parametrize(
    ("algo", "variant"), [("adagrad", "torch"), ("amsgrad", "tutorial"), ("adam", "optax")]
)
def test_numba_apply_member_alone_equals_member_in_batch(fused, monkeypatch, algo, variant):
    """A sweep member's step norm does not depend on the batch: tiles of 1,024 columns for S = 3,
    4,096 for S = 1, the same sums of squares to the bit (as x, which is elementwise anyway)."""
    monkeypatch.setattr(fused, "TILE_ELEMENTS", 4096)
    v = get_algorithm(algo).variant(variant)
    build = fused.fused_builder(v.build)
    p = hyper(algo, variant, 3)
    x0, grads = data(3, 5000, seed=9)
    xb, nb, _ = applied(build(**p), x0, grads)
    for i in range(3):
        alone = {k: (a[i : i + 1] if isinstance(a, np.ndarray) else a) for k, a in p.items()}
        xa, na, _ = applied(build(**alone), x0[i : i + 1], [g[i : i + 1] for g in grads])
        assert xa.tobytes() == xb[i : i + 1].tobytes()
        assert [n.tobytes() for n in na] == [n[i : i + 1].tobytes() for n in nb]
