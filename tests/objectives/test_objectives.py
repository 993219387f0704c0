"""Built-in objectives against independent references.

Every function is re-implemented here point by point with the ``math`` module, straight from the
formulas in Surjanovic & Bingham's Virtual Library of Simulation Experiments; the vectorized
values must match it, and the analytic gradients must match Richardson-extrapolated central
differences of *that* reference (not of optrun's own code). Known minima are checked three ways:
value == f*, gradient == 0, and no random point of the default box does better.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from reference_math import ref_gradient

from optrun.cli import cli
from optrun.config import load_config, validate
from optrun.errors import ConfigError
from optrun.objectives import OBJECTIVES, config_keys, get_objective
from optrun.objectives.resolve import build
from optrun.objectives.transform import haar_orthogonal
from optrun.problem import build_objective

PI = math.pi


# ------------------------------------------------------------------ independent scalar references


def ref_levy(x):
    w = [1 + (v - 1) / 4 for v in x]
    s = math.sin(PI * w[0]) ** 2
    s += sum((wi - 1) ** 2 * (1 + 10 * math.sin(PI * wi + 1) ** 2) for wi in w[:-1])
    return s + (w[-1] - 1) ** 2 * (1 + math.sin(2 * PI * w[-1]) ** 2)


def ref_goldstein_price(x):
    a, b = x
    A = 1 + (a + b + 1) ** 2 * (19 - 14 * a + 3 * a * a - 14 * b + 6 * a * b + 3 * b * b)
    B = 30 + (2 * a - 3 * b) ** 2 * (18 - 32 * a + 12 * a * a + 48 * b - 36 * a * b + 27 * b * b)
    return A * B


REF = {
    "sphere": lambda x: sum(v * v for v in x),
    "ellipsoid": lambda x: sum(
        (1e6 ** (i / (len(x) - 1)) if len(x) > 1 else 1.0) * v * v for i, v in enumerate(x)
    ),
    "rosenbrock": lambda x: sum(
        100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1)
    ),
    "rastrigin": lambda x: 10 * len(x) + sum(v * v - 10 * math.cos(2 * PI * v) for v in x),
    "ackley": lambda x: (
        -20 * math.exp(-0.2 * math.sqrt(sum(v * v for v in x) / len(x)))
        - math.exp(sum(math.cos(2 * PI * v) for v in x) / len(x))
        + 20
        + math.e
    ),
    "griewank": lambda x: (
        1 + sum(v * v for v in x) / 4000 - math.prod(math.cos(v / math.sqrt(i + 1)) for i, v in enumerate(x))
    ),
    "styblinski-tang": lambda x: 0.5 * sum(v**4 - 16 * v * v + 5 * v for v in x),
    "levy": ref_levy,
    "zakharov": lambda x: (
        sum(v * v for v in x)
        + sum(0.5 * (i + 1) * v for i, v in enumerate(x)) ** 2
        + sum(0.5 * (i + 1) * v for i, v in enumerate(x)) ** 4
    ),
    "beale": lambda x: (
        (1.5 - x[0] + x[0] * x[1]) ** 2
        + (2.25 - x[0] + x[0] * x[1] ** 2) ** 2
        + (2.625 - x[0] + x[0] * x[1] ** 3) ** 2
    ),
    "booth": lambda x: (x[0] + 2 * x[1] - 7) ** 2 + (2 * x[0] + x[1] - 5) ** 2,
    "matyas": lambda x: 0.26 * (x[0] ** 2 + x[1] ** 2) - 0.48 * x[0] * x[1],
    "himmelblau": lambda x: (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2,
    "three-hump-camel": lambda x: 2 * x[0] ** 2 - 1.05 * x[0] ** 4 + x[0] ** 6 / 6 + x[0] * x[1] + x[1] ** 2,
    "six-hump-camel": lambda x: (
        (4 - 2.1 * x[0] ** 2 + x[0] ** 4 / 3) * x[0] ** 2 + x[0] * x[1] + (-4 + 4 * x[1] ** 2) * x[1] ** 2
    ),
    "goldstein-price": ref_goldstein_price,
    "easom": lambda x: -math.cos(x[0]) * math.cos(x[1]) * math.exp(-((x[0] - PI) ** 2 + (x[1] - PI) ** 2)),
}


def dims_of(spec):
    return [2] if spec.dims == (2, 2) else [d for d in (1, 2, 3, 7) if spec.accepts_dim(d)]


#: the fixed test functions (the online ones, f_t per round, are tested in test_online.py)
FIXED = {name: spec for name, spec in OBJECTIVES.items() if spec.online is None}
CASES = [(name, d) for name, spec in FIXED.items() for d in dims_of(spec)]


def random_points(obj, n, seed):
    b = obj.bounds
    return b[:, 0] + np.random.default_rng(seed).random((n, obj.dim)) * (b[:, 1] - b[:, 0])


# ------------------------------------------------------------------ the catalogue


def test_every_function_of_the_issue_is_built_in():
    wanted = {
        "sphere",
        "ellipsoid",
        "rosenbrock",
        "rastrigin",
        "ackley",
        "griewank",
        "styblinski-tang",
        "levy",
        "zakharov",
        "beale",
        "booth",
        "matyas",
        "himmelblau",
        "three-hump-camel",
        "six-hump-camel",
        "goldstein-price",
        "easom",
    }
    assert set(FIXED) == wanted == set(REF)
    assert set(OBJECTIVES) - set(FIXED) == {"reddi-online", "reddi-stochastic", "reddi-theorem1"}
    for spec in OBJECTIVES.values():
        assert spec.summary and spec.formula and spec.reference


@pytest.mark.parametrize("name,d", CASES)
def test_value_matches_the_scalar_reference(name, d):
    obj = get_objective(name).build(d)
    x = random_points(obj, 25, seed=d)
    f = obj.value(x)
    want = np.array([REF[name](list(p)) for p in x])
    assert f.shape == (25,) and f.dtype == np.float64
    np.testing.assert_allclose(f, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,d", CASES)
def test_analytic_gradient_matches_finite_differences_of_the_reference(name, d):
    obj = get_objective(name).build(d)
    x = random_points(obj, 12, seed=100 + d)
    _, g = obj.value_and_grad(x)
    assert g.shape == x.shape
    for gi, p in zip(g, x):
        r = ref_gradient(REF[name], list(p))
        err = np.max(np.abs(gi - r)) / max(1.0, np.max(np.abs(r)))
        assert err < 1e-7, (name, d, p, gi, r)


def test_a_wrong_gradient_is_caught_by_the_same_check():
    """The gradient check above can fail: a gradient off by 1% in one coordinate is refused."""
    obj = get_objective("rosenbrock").build(2)
    p = [0.3, -0.7]
    g = obj.gradient(np.array([p]))[0] * np.array([1.01, 1.0])
    r = ref_gradient(REF["rosenbrock"], p)
    assert np.max(np.abs(g - r)) / max(1.0, np.max(np.abs(r))) > 1e-3


@pytest.mark.parametrize("name,d", CASES)
def test_batch_gives_the_same_bits_as_single_points(name, d):
    obj = get_objective(name).build(d)
    x = random_points(obj, 9, seed=7)
    f, g = obj.value_and_grad(x)
    for i in range(len(x)):
        f1, g1 = obj.value_and_grad(x[i : i + 1])
        assert f1.shape == (1,) and g1.shape == (1, d)
        assert f1[0].tobytes() == f[i].tobytes() and g1[0].tobytes() == g[i].tobytes(), (name, i)
    # any leading shape (..., d)
    f3, g3 = obj.value_and_grad(x[:8].reshape(2, 4, d))
    assert np.array_equal(f3.reshape(8), f[:8]) and np.array_equal(g3.reshape(8, d), g[:8])


@pytest.mark.parametrize("name,d", CASES)
def test_every_listed_minimum_has_value_f_star_and_zero_gradient(name, d):
    spec = get_objective(name)
    obj = spec.build(d)
    assert obj.minima.shape[1] == d and len(obj.minima) >= 1
    f, g = obj.value_and_grad(obj.minima)
    fs = obj.f_min
    np.testing.assert_allclose(f, fs, rtol=0, atol=1e-13 * max(1.0, abs(fs)))
    assert np.max(np.abs(g)) < 1e-12 * max(1.0, abs(fs)) * max(1, d) + 2e-14, (name, g)
    # the listed minimizers are inside the default box, and nothing sampled in it beats f*
    assert ((obj.minima >= obj.bounds[:, 0]) & (obj.minima <= obj.bounds[:, 1])).all()
    x = random_points(obj, 4000, seed=1)
    assert obj.value(x).min() >= fs - 1e-12
    # nor does any nearby point: each listed point is a local minimum
    for m in obj.minima:
        near = m + 1e-3 * np.random.default_rng(2).standard_normal((200, d))
        assert obj.value(near).min() >= fs - 1e-12


def test_exact_minima_values_from_the_literature():
    assert get_objective("goldstein-price").build(2).value(np.array([[0.0, -1.0]]))[0] == 3.0
    assert get_objective("easom").build(2).value(np.array([[PI, PI]]))[0] == -1.0
    assert get_objective("beale").build(2).value(np.array([[3.0, 0.5]]))[0] == 0.0
    # Himmelblau's four minima (Himmelblau 1972), to the six decimals usually quoted
    h = get_objective("himmelblau").build(2).minima
    quoted = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]
    assert len(h) == 4
    for q in quoted:
        assert np.min(np.max(np.abs(h - q), axis=1)) < 1e-6
    # six-hump camel: two minimizers (+-0.0898, -+0.7126), f* = -1.0316 (Dixon & Szegoe)
    c = get_objective("six-hump-camel")
    assert len(c.build(2).minima) == 2
    assert round(c.f_min(2), 4) == -1.0316
    np.testing.assert_allclose(np.abs(c.build(2).minima), [[0.0898, 0.7126]] * 2, atol=1e-4)


def test_styblinski_tang_minimum_per_dimension():
    spec = get_objective("styblinski-tang")
    # x* is the smallest root of the derivative 4x^3 - 32x + 5 (numpy's companion-matrix roots)
    root = min(np.roots([4.0, 0.0, -32.0, 5.0]).real)
    for d in (1, 2, 5, 40):
        obj = spec.build(d)
        np.testing.assert_allclose(obj.minima, np.full((1, d), root), rtol=1e-14)
        f1 = 0.5 * (root**4 - 16 * root**2 + 5 * root)
        assert obj.f_min == pytest.approx(d * f1, rel=1e-14)
        assert obj.f_min == pytest.approx(-39.16616570377142 * d, rel=1e-15)


def test_ellipsoid_condition_number_is_the_hessian_eigenvalue_ratio():
    for cond, d in ((1e6, 5), (10.0, 3), (1.0, 4)):
        obj = build("ellipsoid", d, {"condition": cond})
        H = np.array([obj.gradient(e[None])[0] for e in np.eye(d)])  # the gradient is linear: H e_i
        ev = np.linalg.eigvalsh((H + H.T) / 2)
        assert ev.max() / ev.min() == pytest.approx(cond, rel=1e-12)


def test_ackley_gradient_at_the_origin_is_the_zero_subgradient():
    obj = get_objective("ackley").build(3)
    f, g = obj.value_and_grad(np.zeros((1, 3)))
    assert f[0] == 0.0 and np.array_equal(g, np.zeros((1, 3)))


# ------------------------------------------------------------------ shift and rotation


def test_rotation_matrix_is_orthogonal_and_seeded():
    q = haar_orthogonal(np.random.default_rng(5), 6)
    np.testing.assert_allclose(q @ q.T, np.eye(6), atol=1e-14)
    assert np.array_equal(q, haar_orthogonal(np.random.default_rng(5), 6))
    assert not np.allclose(q, haar_orthogonal(np.random.default_rng(6), 6))


@pytest.mark.parametrize(
    "name,d",
    [("rosenbrock", 4), ("himmelblau", 2), ("rastrigin", 3), ("six-hump-camel", 2), ("styblinski-tang", 3)],
)
def test_shifted_rotated_function_is_f_of_the_mapped_point(name, d):
    base = get_objective(name).build(d)
    obj = build(name, d, {"shift": True, "rotate": True, "transform_seed": 11})
    s = np.array(obj.info["shift"])
    # rebuild Q exactly as documented: default_rng(seed), shift first (d uniforms), then Haar
    rng = np.random.default_rng(11)
    rng.random(d)
    Q = haar_orthogonal(rng, d)
    c = base.minima[0]
    x = random_points(base, 30, seed=3)
    z = c + (x - c - s) @ Q.T
    np.testing.assert_allclose(obj.value(x), base.value(z), rtol=1e-12, atol=1e-12)
    # gradient by finite differences of the transformed function
    from optrun.objectives.check import gradient_errors

    assert gradient_errors(obj, x).max() < 1e-7
    # every minimum moved with it: value f*, gradient 0, distance 0
    assert len(obj.minima) == len(base.minima)
    f, g = obj.value_and_grad(obj.minima)
    np.testing.assert_allclose(f, base.f_min, atol=1e-9 * max(1, abs(base.f_min)))
    assert np.max(np.abs(g)) < 1e-6
    np.testing.assert_allclose(obj.distance_to_optimum(obj.minima), 0.0, atol=1e-15)
    # the primary minimizer landed in the middle 80% of the default box
    lo, hi = base.bounds[:, 0], base.bounds[:, 1]
    assert (
        (obj.minima[0] >= lo + 0.1 * (hi - lo) - 1e-12) & (obj.minima[0] <= hi - 0.1 * (hi - lo) + 1e-12)
    ).all()


def test_explicit_shift_moves_every_minimum_and_keeps_f_star():
    obj = build("himmelblau", 2, {"shift": [1.0, -0.5]})
    base = get_objective("himmelblau").build(2)
    np.testing.assert_array_equal(obj.minima, base.minima + [1.0, -0.5])
    x = random_points(base, 10, seed=0)
    np.testing.assert_array_equal(obj.value(x), base.value(x - [1.0, -0.5]))
    assert obj.f_min == 0.0


def test_transformed_batch_gives_the_same_bits_as_single_points():
    obj = build("griewank", 12, {"shift": True, "rotate": True, "transform_seed": 2})
    x = random_points(obj, 17, seed=4)
    f, g = obj.value_and_grad(x)
    for i in range(17):
        f1, g1 = obj.value_and_grad(x[i : i + 1])
        assert f1[0].tobytes() == f[i].tobytes() and g1[0].tobytes() == g[i].tobytes()


def test_the_origin_is_no_longer_optimal_after_a_shift():
    obj = build("sphere", 5, {"shift": True, "transform_seed": 0})
    assert obj.value(np.zeros((1, 5)))[0] > 1e-3
    assert obj.distance_to_optimum(np.zeros((1, 5)))[0] > 0.03


# ------------------------------------------------------------------ config keys


def cfg(objective, **extra):
    return validate({"objective": objective, "algorithm": "gd", **extra}, "test.yaml")


def test_resolved_objective_round_trips_through_the_config():
    c = cfg(
        {
            "name": "ellipsoid",
            "dim": 4,
            "condition": 100.0,
            "shift": [1, 2, 3, 4],
            "rotate": True,
            "transform_seed": 9,
        }
    )
    again = validate(yaml.safe_load(c.to_yaml()), "config.yaml")
    assert again.objective == c.objective and again.to_dict() == c.to_dict()
    x = random_points(build_objective(c), 5, seed=0)
    assert np.array_equal(build_objective(c).value(x), build_objective(again).value(x))
    assert c.objective.params == {
        "condition": 100.0,
        "shift": [1.0, 2.0, 3.0, 4.0],
        "rotate": True,
        "transform_seed": 9,
    }


def test_defaults_are_filled_in_for_a_plain_name():
    c = cfg("rosenbrock")
    assert c.dim == 2 and c.bounds == ((-2.048, 2.048), (-2.048, 2.048))
    assert c.objective.params == {"shift": False, "rotate": False, "transform_seed": 0}
    assert set(config_keys("rosenbrock")) == {"name", "dim", "shift", "rotate", "transform_seed"}


@pytest.mark.parametrize(
    "objective,key,words",
    [
        ({"name": "rosenbrock", "dim": 3, "shift": [1, 2]}, "objective.shift", "has 2 numbers"),
        ({"name": "rosenbrock", "shift": "yes"}, "objective.shift", "true, false or a list"),
        ({"name": "rosenbrock", "rotate": 1}, "objective.rotate", "true or false"),
        ({"name": "rosenbrock", "transform_seed": -1}, "objective.transform_seed", "whole number"),
        ({"name": "sphere", "dim": 3000, "rotate": True}, "objective.rotate", "d <= 2000"),
        ({"name": "rosenbrock", "rotation": True}, "objective.rotation", "did you mean 'rotate'"),
        ({"name": "rosenbrock", "dim": 1}, "objective.dim", "d >= 2"),
        ({"name": "beale", "dim": 3}, "objective.dim", "d = 2"),
        ({"name": "ellipsoid", "condition": 0.5}, "objective.condition", "[1, inf)"),
        ({"name": "rosenbrok"}, "objective.name", "did you mean 'rosenbrock'"),
    ],
)
def test_bad_objective_keys_are_refused_with_the_key_path(objective, key, words):
    with pytest.raises(ConfigError) as e:
        cfg(objective)
    assert e.value.path == key and words in e.value.detail


def test_aliases_resolve_to_the_canonical_name():
    assert cfg("camel6").objective.name == "six-hump-camel"
    assert cfg({"name": "styblinski_tang", "dim": 4}).objective.name == "styblinski-tang"


# ------------------------------------------------------------------ CLI


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_objectives_lists_every_function_with_bounds_and_f_star():
    r = invoke("objectives")
    assert r.exit_code == 0, r.output
    for name in OBJECTIVES:
        assert name in r.output
    line = next(ln for ln in r.output.splitlines() if ln.startswith("six-hump-camel"))
    assert "[-3, 3] x [-2, 2]" in line and "-1.031628453" in line
    line = next(ln for ln in r.output.splitlines() if ln.startswith("styblinski-tang"))
    assert "-39.16616570377142 d" in line


def test_objectives_json_and_markdown():
    r = invoke("objectives", "--format", "json")
    data = json.loads(r.output)
    assert [d["name"] for d in data] == list(OBJECTIVES)
    him = next(d for d in data if d["name"] == "himmelblau")
    assert len(him["minima"]) == 4 and him["f_min"] == 0.0 and him["bounds"] == [[-5.0, 5.0]] * 2
    md = invoke("objectives", "--format", "markdown").output.splitlines()
    assert md[0].startswith("| name | dims |") and len(md) == 2 + len(OBJECTIVES)


def test_objectives_name_shows_formula_reference_params_and_every_minimum():
    r = invoke("objectives", "himmelblau")
    assert r.exit_code == 0
    assert "(x^2 + y - 11)^2" in r.output and "Himmelblau 1972" in r.output
    assert "4 global" in r.output and "(-3.779310253377747, -3.2831859912861696)" in r.output
    r = invoke("objectives", "ellipsoid", "--dim", "3", "--format", "json")
    d = json.loads(r.output)
    assert d["dim"] == 3 and d["params"][0]["name"] == "condition" and d["params"][0]["default"] == 1e6


def test_objectives_refuses_unknown_names_and_dims():
    r = invoke("objectives", "himelblau")
    assert r.exit_code == 2 and "did you mean 'himmelblau'" in r.output
    r = invoke("objectives", "beale", "--dim", "3")
    assert r.exit_code == 2 and "d = 2" in r.output


def test_check_gradient_passes_for_the_shipped_configs(configs_dir):
    for name in ("rosenbrock", "rastrigin", "himmelblau"):
        r = invoke("check-gradient", configs_dir / f"{name}.yaml", "--points", "50")
        assert r.exit_code == 0, r.output
        assert f"{name} (d=2, analytic gradient): worst error" in r.output and ": ok" in r.output


def test_check_gradient_json_on_a_transformed_high_dimensional_objective(configs_dir):
    r = invoke(
        "check-gradient",
        configs_dir / "rastrigin.yaml",
        "objective.dim=30",
        "objective.rotate=true",
        "--format",
        "json",
        "-n",
        "5",
    )
    d = json.loads(r.output)
    assert r.exit_code == 0 and d["dim"] == 30 and d["passed"] and d["worst_error"] < 1e-6


def test_check_gradient_exits_1_for_a_wrong_gradient(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wronggrad_mod.py").write_text(
        "import numpy as np\n"
        "def f(x):\n    return np.sum(x**3, axis=-1)\n"
        "def g(x):\n    return 3.0 * x**2 * 1.001\n"
    )
    (tmp_path / "c.yaml").write_text(
        "objective: {function: 'wronggrad_mod:f', gradient: 'wronggrad_mod:g'}\n"
        "bounds: [[-2, 2], [-2, 2]]\nalgorithm: gd\n"
    )
    r = invoke("check-gradient", "c.yaml")
    assert r.exit_code == 1 and "FAILED" in r.output and "worst at x =" in r.output


def test_a_run_reports_distance_and_gap_to_the_nearest_minimum(tmp_path, configs_dir):
    r = invoke("run", configs_dir / "himmelblau.yaml", "--runs-dir", tmp_path, "--format", "json")
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert s["f_min"] == 0.0 and s["f_gap"] == s["final_f"] < 1e-12
    nearest = np.min(np.linalg.norm(get_objective("himmelblau").build(2).minima - s["final_x"], axis=1))
    assert s["distance_to_optimum"] == pytest.approx(nearest, abs=1e-15) and nearest < 1e-6
    meta = json.loads(Path(s["path"], "meta.json").read_text())
    assert meta["gradient"] == "analytic" and meta["evaluations_per_gradient"] == 0


def test_shipped_configs_validate(configs_dir):
    for name in ("rosenbrock", "rastrigin", "himmelblau"):
        c = load_config(str(configs_dir / f"{name}.yaml"))
        assert c.objective.name == name and c.dim == 2
