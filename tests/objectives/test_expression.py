"""``objective: {expression: ...}``: values against Python's own arithmetic, exact gradients against
hand derivatives and finite differences, and refusal of anything outside the grammar -- through
the library, click's CliRunner and the installed console script."""

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
from optrun.config import validate
from optrun.errors import ConfigError
from optrun.objectives.expression import Expression, ExpressionError
from optrun.problem import build_objective

# each expression with the same formula in Python's math module (the independent reference)
CASES = [
    ("x0**2 + 10*x1**2", lambda x: x[0] ** 2 + 10 * x[1] ** 2),
    ("-x0 + +x1 - -2.5e-1", lambda x: -x[0] + x[1] + 0.25),
    ("sin(x0)*cos(x1) + tan(x0/4)", lambda x: math.sin(x[0]) * math.cos(x[1]) + math.tan(x[0] / 4)),
    (
        "exp(-x0**2) / (1 + x1**2) + log(2 + x0*x1) + sqrt(3 + x0)",
        lambda x: math.exp(-(x[0] ** 2)) / (1 + x[1] ** 2) + math.log(2 + x[0] * x[1]) + math.sqrt(3 + x[0]),
    ),
    (
        "abs(x0 - x1)**1.5 + tanh(x0) + sinh(x1) - cosh(x0/2)",
        lambda x: abs(x[0] - x[1]) ** 1.5 + math.tanh(x[0]) + math.sinh(x[1]) - math.cosh(x[0] / 2),
    ),
    (
        "arctan2(x1, x0) + hypot(x0, x1) + arctan(x0) + arcsin(x1/2) + arccos(x0/3)",
        lambda x: (
            math.atan2(x[1], x[0])
            + math.hypot(x[0], x[1])
            + math.atan(x[0])
            + math.asin(x[1] / 2)
            + math.acos(x[0] / 3)
        ),
    ),
    ("2**x0 + x1**x1 + (x0 + 2)**(x1 + 1)", lambda x: 2 ** x[0] + x[1] ** x[1] + (x[0] + 2) ** (x[1] + 1)),
    (
        "log2(3 + x0) + log10(3 + x1) + log1p(x0**2) + expm1(x1) + exp2(x0) + cbrt(x0 - 5) + square(x1)",
        lambda x: (
            math.log2(3 + x[0])
            + math.log10(3 + x[1])
            + math.log1p(x[0] ** 2)
            + math.expm1(x[1])
            + 2 ** x[0]
            - (5 - x[0]) ** (1 / 3)
            + x[1] ** 2
        ),
    ),
    (
        "arcsinh(x0) + arccosh(2 + x1**2) + arctanh(x0/2) + pi*e",
        lambda x: math.asinh(x[0]) + math.acosh(2 + x[1] ** 2) + math.atanh(x[0] / 2) + math.pi * math.e,
    ),
    ("100*(x1 - x0**2)**2 + (1 - x0)**2", lambda x: 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2),
]


def points(n=20, seed=0, low=0.1, high=1.5):
    return np.random.default_rng(seed).uniform(low, high, (n, 2))


@pytest.mark.parametrize("text,ref", CASES)
def test_values_match_python_arithmetic(text, ref):
    x = points()
    f = Expression(text).value(x)
    np.testing.assert_allclose(f, [ref(list(p)) for p in x], rtol=1e-13)


@pytest.mark.parametrize("text,ref", CASES)
def test_gradient_matches_finite_differences(text, ref):
    x = points(8, seed=1)
    _, g = Expression(text).value_and_grad(x)
    for gi, p in zip(g, x):
        r = ref_gradient(ref, list(p))
        assert np.max(np.abs(gi - r)) / max(1.0, np.max(np.abs(r))) < 1e-8, (text, p, gi, r)


def test_gradient_is_exact_for_polynomials():
    # d/dx0 of 100 (x1 - x0^2)^2 + (1 - x0)^2 = -400 x0 (x1 - x0^2) - 2 (1 - x0); d/dx1 = 200 (x1 - x0^2)
    x = np.array([[0.5, 0.25], [1.0, 1.0], [-1.5, 2.0]])
    _, g = Expression("100*(x1 - x0**2)**2 + (1 - x0)**2").value_and_grad(x)
    a, b = x[:, 0], x[:, 1]
    np.testing.assert_allclose(
        g, np.stack([-400 * a * (b - a * a) - 2 * (1 - a), 200 * (b - a * a)], axis=1), rtol=1e-15, atol=0
    )
    assert np.array_equal(g[1], [0.0, 0.0])


def test_batch_gives_the_same_bits_as_single_points():
    e = Expression(CASES[3][0] + " + " + CASES[5][0])
    x = points(11, seed=2)
    f, g = e.value_and_grad(x)
    for i in range(11):
        f1, g1 = e.value_and_grad(x[i : i + 1])
        assert f1[0].tobytes() == f[i].tobytes() and g1[0].tobytes() == g[i].tobytes()
    f3, g3 = e.value_and_grad(x[:10].reshape(5, 2, 2))
    assert np.array_equal(f3.ravel(), f[:10]) and np.array_equal(g3.reshape(10, 2), g[:10])


def test_dimension_comes_from_the_highest_variable_and_unused_ones_have_zero_gradient():
    e = Expression("x0 * x3")
    assert e.min_dim == 4 and e.variables == (0, 3)
    c = validate({"objective": {"expression": "x0 * x3"}, "bounds": [-1, 1], "algorithm": "gd"}, "t.yaml")
    assert c.dim == 4 and c.bounds == ((-1.0, 1.0),) * 4
    c = validate(
        {"objective": {"expression": "x0 * x3", "dim": 6}, "bounds": [-1, 1], "algorithm": "gd"}, "t.yaml"
    )
    assert c.dim == 6
    _, g = build_objective(c).value_and_grad(np.arange(6.0)[None])
    assert np.array_equal(g, [[3.0, 0, 0, 0.0, 0, 0]])
    with pytest.raises(
        ConfigError, match=r"objective.dim: 'expression' is defined for d >= 4 \(it uses x3\)"
    ):
        validate(
            {"objective": {"expression": "x0 * x3"}, "bounds": [[-1, 1]] * 2, "algorithm": "gd"}, "t.yaml"
        )


def test_a_constant_expression_has_a_zero_gradient():
    f, g = Expression("2*pi - e").value_and_grad(np.zeros((3, 2)))
    assert np.array_equal(f, [2 * math.pi - math.e] * 3) and np.array_equal(g, np.zeros((3, 2)))


def test_expression_runs_end_to_end_and_round_trips(tmp_path):
    (tmp_path / "c.yaml").write_text(
        "objective: {expression: 'x0**2 + 10*x1**2', f_min: 0, minima: [0, 0]}\n"
        "bounds: [[-1, 1], [-1, 1]]\nalgorithm: {name: gd, alpha: 0.04}\niterations: 200\nseed: 3\n"
    )
    r = CliRunner().invoke(
        cli, ["run", str(tmp_path / "c.yaml"), "--runs-dir", str(tmp_path / "runs"), "--format", "json"]
    )
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert s["objective"] == "expression" and s["f_gap"] < 1e-12 and s["distance_to_optimum"] < 1e-6
    meta = json.loads(Path(s["path"], "meta.json").read_text())
    assert meta["gradient"] == "automatic" and meta["evaluations_per_gradient"] == 0
    again = yaml.safe_load(Path(s["path"], "config.yaml").read_text())
    assert again["objective"] == {
        "name": "expression",
        "dim": 2,
        "expression": "x0**2 + 10*x1**2",
        "f_min": 0.0,
        "minima": [[0.0, 0.0]],
    }


def test_nan_at_the_start_point_stops_before_the_run(tmp_path):
    (tmp_path / "c.yaml").write_text(
        "objective: {expression: 'log(x0)'}\nbounds: [[-1, 1]]\nstart: [-0.5]\nalgorithm: gd\n"
    )
    r = CliRunner().invoke(cli, ["run", str(tmp_path / "c.yaml"), "--runs-dir", str(tmp_path / "runs")])
    assert r.exit_code == 2 and "expression 'log(x0)' is nan at the start point [-0.5]" in r.output
    assert not (tmp_path / "runs").exists()


# ------------------------------------------------------------------ hostile input

HOSTILE = [
    ("__import__('os').system('touch PWNED')", "attribute access"),
    ("__import__('os')", "function '__import__'"),
    ("np.sin(x0)", "attribute access 'np.sin'"),
    ("x0.real", "attribute access 'x0.real'"),
    ("x0[0]", "subscript 'x0[0]'"),
    ("import os", "an import statement"),
    ("lambda: 1", "lambda"),
    ("[x0 for x0 in (1, 2)]", "comprehension"),
    ("(x0 for _ in (1,))", "generator expression"),
    ("y + 1", "name 'y'"),
    ("x01 + 1", "name 'x01'"),
    ("open('f')", "function 'open'"),
    ("eval('1')", "function 'eval'"),
    ("sin(x=x0)", "keyword argument"),
    ("exp(*x0)", "starred argument"),
    ("x0 if x1 else 2", "conditional expression"),
    ("x0 < 1", "comparison"),
    ("x0 and x1", "boolean operator"),
    ("x0 // 2", "operator '//'"),
    ("x0 % 2", "operator '%'"),
    ("'abc'", "string"),
    ("1j * x0", "complex number"),
    ("(y := 2)", "assignment expression"),
    ("f'{x0}'", "f-string"),
    ("sin(x0, x1)", "'sin' takes 1 argument, not 2"),
    ("1e999 * x0", "too large for float64"),
    ("x0 +", "is not a valid expression"),
    ("(" * 300 + "x0" + ")" * 300, "is not a valid expression"),
    ("x0+" * 5000 + "x0", "at most 10000"),
    ("", "must be a non-empty string"),
]


@pytest.mark.parametrize("text,words", HOSTILE)
def test_hostile_expressions_are_refused_before_anything_runs(text, words):
    with pytest.raises(ExpressionError) as e:
        Expression(text)
    assert words in str(e.value)
    with pytest.raises(ConfigError) as e:
        validate({"objective": {"expression": text}, "bounds": [[-1, 1]] * 2, "algorithm": "gd"}, "t.yaml")
    assert e.value.path == "objective.expression" and words in e.value.detail


@pytest.mark.parametrize("text,words", HOSTILE[:14:3])
def test_hostile_expressions_exit_2_through_the_cli(tmp_path, monkeypatch, text, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.yaml").write_text(
        yaml.safe_dump({"objective": {"expression": text}, "bounds": [[-1, 1], [-1, 1]], "algorithm": "gd"})
    )
    r = CliRunner().invoke(cli, ["run", "c.yaml", "--runs-dir", "runs"])
    assert r.exit_code == 2 and words in r.output
    assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output
    assert not (tmp_path / "runs").exists() and not (tmp_path / "PWNED").exists()


def test_hostile_expressions_exit_2_through_the_installed_command(tmp_path, run_optrun):
    for text, words in [HOSTILE[0], ("__builtins__", "name '__builtins__'"), ("x0.__class__", "attribute")]:
        (tmp_path / "c.yaml").write_text(
            yaml.safe_dump(
                {"objective": {"expression": text}, "bounds": [[-1, 1], [-1, 1]], "algorithm": "gd"}
            )
        )
        p = run_optrun("run", "c.yaml", cwd=tmp_path)
        assert p.returncode == 2, p.stderr
        assert "objective.expression" in p.stderr and words in p.stderr
        assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
        assert p.stdout == "" and not (tmp_path / "PWNED").exists()
    # the same through an override on the command line
    (tmp_path / "ok.yaml").write_text("objective: {expression: 'x0**2'}\nbounds: [[-1, 1]]\nalgorithm: gd\n")
    p = run_optrun("run", "ok.yaml", "objective.expression=open('x').read()", cwd=tmp_path)
    assert p.returncode == 2 and "override" in p.stderr and "attribute access" in p.stderr
