"""The optimizer family: batches equal single runs bit for bit, building blocks against their
formulas, hyperparameter validation, user optimizers and ``optrun algorithms``.

Agreement with torch.optim and optax is in test_references.py; schedules in test_schedules.py.
"""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

from optrun.cli import cli
from optrun.config import validate
from optrun.errors import ConfigError, UserCodeError
from optrun.execution.run import execute
from optrun.optimizers import ALGORITHMS, get_algorithm
from optrun.optimizers import transforms as T
from optrun.optimizers.adam import nadam_torch
from optrun.problem import build_optimizer

VARIANTS = [(a.name, v.name) for a in ALGORITHMS.values() for v in a.variants]

# a small ill-conditioned quadratic, every row of a batch computed alike
H = np.diag([1.0, 4.0, 25.0, 100.0]) + 0.3


def grad(x):
    return (H * x[..., None, :]).sum(-1) - 1.0


X0 = np.array([[0.9, -0.4, 0.3, -0.2], [-0.5, 0.7, -0.1, 0.6], [0.2, 0.2, -0.8, 0.4]])


def member_values(p, default):
    """Three valid, distinct values of a numeric hyperparameter (the default first)."""
    if p.name == "momentum" and p.nullable:
        default = 0.5
    if default == 0:
        vals = [0.0, 0.01, 0.1]
    elif p.high == 1.0:
        vals = [default, default * 0.5, 0.3]  # 0.3: torch's lerp takes its other branch
    else:
        vals = [default, default * 0.5, default * 2.0]
    return [p.validate(v) for v in vals]


def run(opt, x0, steps=150):
    x = np.array(x0, dtype=float)
    state = opt.init(x)
    for t in range(1, steps + 1):
        step, state = opt.update(grad(x), state, x, t)
        x = x + step
    return x


@pytest.mark.parametrize("algo,variant", VARIANTS)
def test_batch_equals_single_runs_bit_for_bit(algo, variant):
    """(S, d) with (S, 1) hyperparameters == S runs with plain floats, to the last bit."""
    v = get_algorithm(algo).variant(variant)
    single = [{} for _ in range(3)]
    batch = {}
    for p in v.params:
        if p.kind is float:
            vals = member_values(p, p.default)
            batch[p.name] = np.array(vals).reshape(3, 1)
            for s, val in zip(single, vals):
                s[p.name] = val
        else:
            batch[p.name] = p.default
            for s in single:
                s[p.name] = p.default
    xb = run(v.build(**batch), X0)
    for i in range(3):
        xi = run(v.build(**single[i]), X0[i])
        assert np.isfinite(xi).all()
        assert np.array_equal(xb[i], xi), (algo, variant, i, single[i])


def test_batch_members_take_their_own_branch():
    """RMSProp (torch) with momentum 0 for one member and > 0 for another, in one batch."""
    v = get_algorithm("rmsprop").variant("torch")
    xb = run(
        v.build(
            alpha=0.01,
            decay=0.99,
            eps=1e-8,
            weight_decay=0.0,
            momentum=np.array([[0.0], [0.9], [0.0]]),
            centered=True,
        ),
        X0,
    )
    for i, m in enumerate((0.0, 0.9, 0.0)):
        xi = run(
            v.build(alpha=0.01, decay=0.99, eps=1e-8, weight_decay=0.0, momentum=m, centered=True), X0[i]
        )
        assert np.array_equal(xb[i], xi)


def test_lerp_follows_torch_branches():
    """torch's lerp: self + w (end - self) for |w| < 0.5, end - (end - self)(1 - w) otherwise."""
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 1000))
    tmp = np.empty(1000)
    for w in (0.1, 0.49, 0.5, 0.7, 0.999):
        got = a.copy()
        T.lerp(got, b, w, tmp)
        want = np.array([s + w * (e - s) if abs(w) < 0.5 else e - (e - s) * (1 - w) for s, e in zip(a, b)])
        assert np.array_equal(got, want)
    ws = np.array([[0.1], [0.7]])
    got = np.tile(a[:4], (2, 1))
    T.lerp(got, np.tile(b[:4], (2, 1)), ws, np.empty((2, 4)))
    for i, w in enumerate((0.1, 0.7)):
        one = a[:4].copy()
        T.lerp(one, b[:4], w, np.empty(4))
        assert np.array_equal(got[i], one)


def test_nadam_keeps_the_mu_product_in_float32():
    """torch.optim.NAdam stores prod(mu) as a float32 scalar (default dtype)."""
    beta1, psi = 0.9, 4e-3
    opt = nadam_torch(2e-3, beta1, 0.999, 1e-8, 0.0, psi, False)
    x = X0[:1].copy()
    state = opt.init(x)
    p32 = np.float32(1.0)
    for t in range(1, 30):
        _, state = opt.update(grad(x), state, x, t)
        p32 = np.float32(p32 * np.float32(beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))))
    assert state.mu_product.dtype == np.float32
    assert state.mu_product[0, 0] == p32
    opt64 = nadam_torch(2e-3, beta1, 0.999, 1e-8, 0.0, psi, False, mu_product_float32=False)
    assert opt64.init(x).mu_product.dtype == np.float64


def test_power_and_bias_correction_use_c_pow():
    assert T.bias_correction(0.999, 7) == 1.0 - 0.999**7
    arr = T.power(np.array([[0.9], [0.99]]), 13)
    assert arr[0, 0] == 0.9**13 and arr[1, 0] == 0.99**13


def test_adam_first_step_is_minus_alpha_sign_g():
    """Both Adam variants: m_hat = g and v_hat = g**2 at t = 1, so x moves by -alpha*g/(|g|+eps)."""
    g = grad(X0)
    for variant in ("torch", "optax"):
        v = get_algorithm("adam").variant(variant)
        opt = v.build(**{p.name: p.default for p in v.params})
        step, _ = opt.update(g, opt.init(X0.copy()), X0, 1)
        np.testing.assert_allclose(step, -1e-3 * g / (np.abs(g) + 1e-8), rtol=1e-14)


def test_adamw_variants_decay_by_the_same_maths():
    """torch x*(1 - a wd) + adam step and optax x - a (adam dir + wd x) are the same map."""
    g = grad(X0)
    t_opt = get_algorithm("adamw").variant("torch").build(1e-2, 0.9, 0.999, 1e-8, 0.1)
    o_opt = get_algorithm("adamw").variant("optax").build(1e-2, 0.9, 0.999, 1e-8, 0.0, 0.1)
    st, _ = t_opt.update(g, t_opt.init(X0.copy()), X0, 1)
    so, _ = o_opt.update(g, o_opt.init(X0.copy()), X0, 1)
    np.testing.assert_allclose(st, so, rtol=1e-12)
    np.testing.assert_allclose(st, -1e-2 * (g / (np.abs(g) + 1e-8) + 0.1 * X0), rtol=1e-12)


def test_amsgrad_variants_differ_where_the_libraries_do():
    """torch takes the max over raw v, optax over v / (1 - beta2**t): after a large early
    gradient they give different steps; with the same history their first step agrees."""
    vt = get_algorithm("amsgrad").variant("torch").build(0.1, 0.9, 0.999, 1e-8, 0.0)
    vo = get_algorithm("amsgrad").variant("optax").build(0.1, 0.9, 0.999, 1e-8, 0.0)
    x = np.zeros((1, 2))
    st, so = vt.init(x), vo.init(x)
    for t, g in enumerate([np.array([[10.0, 1.0]]), np.array([[1.0, 1.0]]), np.array([[1.0, 1.0]])], 1):
        a, st = vt.update(g, st, x, t)
        b, so = vo.update(g, so, x, t)
        if t == 1:
            np.testing.assert_allclose(a, b, rtol=1e-12)
    assert not np.allclose(a, b, rtol=1e-3)


# ------------------------------------------------------------------ validation through config


def config(algorithm, **extra):
    data = {
        "objective": {"name": "sphere", "dim": 2},
        "start": [0.5, -0.5],
        "iterations": 20,
        "algorithm": algorithm,
        **extra,
    }
    return validate(data, "test.yaml")


@pytest.mark.parametrize("algo,variant", VARIANTS)
def test_defaults_are_valid_and_resolved(algo, variant):
    c = config({"name": algo, "variant": variant})
    v = get_algorithm(algo).variant(variant)
    assert c.algorithm.params == {p.name: p.default for p in v.params}


@pytest.mark.parametrize(
    "algorithm,path",
    [
        ({"name": "adam", "beta1": 1.0}, "algorithm.beta1"),
        ({"name": "adam", "alpha": 0.0}, "algorithm.alpha"),
        ({"name": "rmsprop", "decay": -0.1}, "algorithm.decay"),
        (
            {"name": "adagrad", "variant": "torch", "initial_accumulator_value": -1},
            "algorithm.initial_accumulator_value",
        ),
        ({"name": "rmsprop", "variant": "optax", "centered": "yes"}, "algorithm.centered"),
        ({"name": "nadam", "momentum_decay": -4e-3}, "algorithm.momentum_decay"),
        ({"name": "momentum", "momentum": 1.0}, "algorithm.momentum"),
        ({"name": "adam", "variant": "optax", "weight_decay": 0.1}, "algorithm.weight_decay"),
        ({"name": "adam", "variant": "keras"}, "algorithm.variant"),
    ],
)
def test_invalid_hyperparameters_name_their_key(algorithm, path):
    with pytest.raises(ConfigError) as e:
        config(algorithm)
    assert e.value.path == path


def test_variant_aliases_resolve():
    assert config({"name": "gd", "variant": "torch"}).algorithm.variant == "standard"
    assert config({"name": "heavy_ball"}).algorithm.name == "momentum"
    assert config({"name": "nag", "variant": "optax"}).algorithm.variant == "optax"


# ------------------------------------------------------------------ user optimizers

USER_MODULE = """
import numpy as np
from optrun.optimizers import Optimizer

def gd(alpha=0.1):
    def init(x):
        return None
    def update(g, state, x, t):
        return -alpha * g, state
    return Optimizer(init, update)

class Obj:
    def __init__(self, alpha):
        self.alpha = alpha
    def init(self, x):
        return 0
    def update(self, g, s, x, t):
        return -self.alpha * g, s + 1

def broken_factory(alpha=0.1):
    raise RuntimeError("no luck")

def bad_shape(alpha=0.1):
    return Optimizer(lambda x: None, lambda g, s, x, t: (np.zeros(3), s))

def fails_later(alpha=0.1, at=5):
    def update(g, s, x, t):
        if t >= at:
            raise FloatingPointError("blew up at " + str(t))
        return -alpha * g, s
    return Optimizer(lambda x: None, update)

def seen(alpha=0.1):
    SEEN.append(alpha)
    return gd(alpha)

SEEN = []
not_callable = 3
"""


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    (tmp_path / "useropt_mod.py").write_text(textwrap.dedent(USER_MODULE))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(
        str(tmp_path)
    )  # the tests import it too (optrun's import leaves sys.path as it was)
    yield tmp_path
    import sys

    sys.modules.pop("useropt_mod", None)


def test_user_optimizer_equals_builtin_gd(user_dir, tmp_path):
    c = config({"name": "useropt_mod:gd", "alpha": 0.05})
    assert c.algorithm.variant == "user" and c.algorithm.params == {"alpha": 0.05}
    out_user = execute(c, str(tmp_path / "runs"))
    out_gd = execute(config({"name": "gd", "alpha": 0.05}), str(tmp_path / "runs"))
    assert out_user.summary["status"] == "completed"
    assert out_user.summary["final_x"] == out_gd.summary["final_x"]


def test_user_optimizer_object_with_methods(user_dir):
    opt = build_optimizer(config({"name": "useropt_mod:Obj", "alpha": 0.5}))
    x = np.array([[1.0, 2.0]])
    step, s = opt.update(np.ones_like(x), opt.init(x), x, 1)
    assert np.array_equal(step, [[-0.5, -0.5]]) and s == 1


@pytest.mark.parametrize(
    "name,fragment",
    [
        ("nosuchmodule_xyz:f", "cannot import module 'nosuchmodule_xyz' (looked in "),
        ("useropt_mod:missing", "has no attribute 'missing'"),
        ("useropt_mod:not_callable", "not a function"),
        ("useropt_mod", "unknown algorithm"),
    ],
)
def test_user_optimizer_load_errors_at_validation(user_dir, name, fragment):
    with pytest.raises(ConfigError) as e:
        config({"name": name})
    assert fragment in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize(
    "name,fragment",
    [
        ("useropt_mod:broken_factory", "raised RuntimeError: no luck"),
        ("useropt_mod:bad_shape", "step of shape (3,)"),
    ],
)
def test_user_optimizer_fails_before_the_run(user_dir, name, fragment):
    with pytest.raises(UserCodeError) as e:
        build_optimizer(config({"name": name}))
    assert fragment in str(e.value) and name in str(e.value)


def test_user_optimizer_failing_during_the_run_marks_it_failed(user_dir, tmp_path):
    out = execute(config({"name": "useropt_mod:fails_later", "at": 7}), str(tmp_path / "runs"))
    assert out.summary["status"] == "failed"
    assert "update raised FloatingPointError: blew up at 7" in out.summary["error"]


def test_user_parameters_are_scalars_or_lists(user_dir):
    assert config({"name": "useropt_mod:gd", "alpha": [1, 2]}).algorithm.params == {"alpha": [1, 2]}
    with pytest.raises(ConfigError) as e:
        config({"name": "useropt_mod:gd", "alpha": {"a": 1}})
    assert e.value.path == "algorithm.alpha"
    with pytest.raises(ConfigError):
        config({"name": "useropt_mod:gd", "variant": "torch"})


def test_user_optimizer_gets_config_numbers_not_arrays(user_dir):
    import useropt_mod

    from optrun.sweep import batch_params

    c = config({"name": "useropt_mod:seen", "alpha": 0.25})
    useropt_mod.SEEN.clear()
    build_optimizer(c, batch_params([c]))
    assert useropt_mod.SEEN == [0.25, 0.25]  # probe + run, plain float both times


def test_user_optimizer_in_a_sweep_gets_member_arrays(user_dir):
    """A swept hyperparameter arrives as an (S, 1) array; the batch equals the single runs."""
    import useropt_mod

    from optrun.sweep import batch_params

    members = [config({"name": "useropt_mod:seen", "alpha": a}) for a in (0.1, 0.3)]
    useropt_mod.SEEN.clear()
    opt = build_optimizer(members[0], batch_params(members))
    assert all(np.array_equal(a, [[0.1], [0.3]]) for a in useropt_mod.SEEN)
    x = np.array([[0.5, -0.5], [0.5, -0.5]])
    step, _ = opt.update(2 * x, opt.init(x), x, 1)
    assert np.array_equal(step, [[-0.1, 0.1], [-0.3, 0.3]])


def test_cli_reports_user_errors_in_one_line(user_dir):
    (user_dir / "c.yaml").write_text("objective: sphere\nalgorithm: {name: 'useropt_mod:broken_factory'}\n")
    r = CliRunner().invoke(cli, ["run", "c.yaml", "--runs-dir", str(user_dir / "runs")])
    assert r.exit_code == 2
    assert "raised RuntimeError: no luck" in r.output and "Traceback" not in r.output
    assert not (user_dir / "runs").exists() or not any((user_dir / "runs").iterdir())


def test_example_user_optimizer_runs(repo_root, tmp_path, monkeypatch):
    monkeypatch.chdir(repo_root / "configs" / "examples")
    r = CliRunner().invoke(cli, ["run", "user-optimizer.yaml", "--runs-dir", str(tmp_path / "runs"), "-q"])
    import sys

    sys.modules.pop("my_optimizer", None)
    assert r.exit_code == 0, r.output
    assert r.output.startswith("completed")


# ------------------------------------------------------------------ optrun algorithms


def invoke(*args):
    return CliRunner().invoke(cli, ["algorithms", *args])


def test_algorithms_lists_every_algorithm_and_variant():
    r = invoke()
    assert r.exit_code == 0
    lines = r.output.splitlines()
    for a in ALGORITHMS.values():
        row = next(line for line in lines if line.split()[:1] == [a.name])
        for v in a.variants:
            assert v.name in row
        assert a.summary in row


def test_algorithms_name_prints_rules_defaults_and_notes():
    r = invoke("amsgrad")
    assert r.exit_code == 0
    for v in get_algorithm("amsgrad").variants:
        for line in v.rule.splitlines():
            assert line in r.output
        assert v.notes in r.output
    assert "eps_root" in r.output and "[0, 1)" in r.output


def test_algorithms_json_and_markdown():
    data = json.loads(invoke("--format", "json").output)
    assert [a["name"] for a in data] == list(ALGORITHMS)
    nadam = json.loads(invoke("nadam", "--format", "json").output)
    torch_params = {p["name"]: p["default"] for p in nadam["variants"][0]["params"]}
    assert torch_params["momentum_decay"] == 4e-3 and torch_params["alpha"] == 2e-3
    md = invoke("--format", "markdown").output
    rows = [line for line in md.splitlines() if line.startswith("| `")]
    assert len(rows) == len(ALGORITHMS) + 6  # algorithms, then the six schedules
    assert rows[-3].startswith("| `inverse_sqrt` | lr(k) = alpha / sqrt(k + 1)")


def test_algorithms_unknown_name_is_one_line_exit_2():
    r = invoke("adamm")
    assert r.exit_code == 2
    assert "unknown algorithm 'adamm'" in r.output and len(r.output.strip().splitlines()) == 1


def test_state_zeros_are_zeros_like():
    """``T.zeros`` (the kernels' zeroed state) equals ``np.zeros_like`` in shape, dtype and
    subclass: plain C arrays get fresh zero pages, anything else ``zeros_like`` itself."""

    class Sub(np.ndarray):
        pass

    for x in (np.ones((3, 5)), np.ones(7, dtype=np.float32), np.ones((4, 6)).T, np.ones(5).view(Sub)):
        z = T.zeros(x)
        assert type(z) is type(x) and z.shape == x.shape and z.dtype == x.dtype
        assert not z.any() and not np.shares_memory(z, x)
