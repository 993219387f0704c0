"""User objectives from Python modules: calling convention, finite differences, and every way
they can fail (one line naming the function, exit 2 before a run, status failed during one)."""

from __future__ import annotations

import json
import math
import os
import uuid
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from optrun.cli import cli
from optrun.config import load_config
from optrun.errors import UserCodeError
from optrun.objectives.numdiff import central_difference
from optrun.problem import build_objective

BODY = """
import numpy as np

def f(x):                       # vectorized: (n, d) -> (n,)
    return np.sum((x - 1.0) ** 2, axis=-1) + 0.5 * np.sum(np.sin(3.0 * x), axis=-1)

def g(x):
    return 2.0 * (x - 1.0) + 1.5 * np.cos(3.0 * x)

def one_point(p):               # written for one point: (d,) -> float
    return sum((v - 1.0) ** 2 + 0.5 * np.sin(3.0 * v) for v in p)

def one_point_grad(p):
    return [2.0 * (v - 1.0) + 1.5 * np.cos(3.0 * v) for v in p]

def mutates(x):                 # scribbles on its input
    out = np.sum((x - 1.0) ** 2, axis=-1)
    x[...] = 1e9
    return out

def whole_array_sum(x):         # reduces over every axis: a scalar for a batch
    return np.sum((x - 1.0) ** 2)

def wrong_shape(x):
    return x

def raises(x):
    raise ValueError("bad input, no way")

def nan_everywhere(x):
    return np.full(x.shape[:-1], np.nan)

def bad_grad(x):
    return np.ones(x.shape[:-1])

def explodes_far_out(x):        # fine at the start, raises once x0 passes 1.5
    if np.any(x[..., 0] > 1.5):
        raise RuntimeError("x0 went past 1.5")
    return np.sum((x - 3.0) ** 2, axis=-1)

def batch_dependent(x):         # row results depend on the batch: refused
    return np.sum(x, axis=-1) + len(x)

def returns_text(x):
    return "hello"

NOT_CALLABLE = 3
"""


@pytest.fixture
def mod(tmp_path, monkeypatch):
    """A fresh uniquely named module with the functions above in the working directory."""
    name = f"uobj_{uuid.uuid4().hex[:10]}"
    (tmp_path / f"{name}.py").write_text(BODY)
    monkeypatch.chdir(tmp_path)
    return name


def write_config(tmp_path: Path, objective: dict, **extra) -> Path:
    data = {
        "objective": objective,
        "bounds": [[-2.0, 2.0], [-2.0, 2.0], [-2.0, 2.0]],
        "algorithm": {"name": "gd", "alpha": 0.05},
        "iterations": 40,
        "seed": 1,
        **extra,
    }
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def ref_f(x):
    return sum((v - 1.0) ** 2 + 0.5 * math.sin(3.0 * v) for v in x)


def ref_g(x):
    return [2.0 * (v - 1.0) + 1.5 * math.cos(3.0 * v) for v in x]


X = np.random.default_rng(0).uniform(-2, 2, (6, 3))


def objective_of(tmp_path, objective, **extra):
    return build_objective(load_config(str(write_config(tmp_path, objective, **extra))))


# ------------------------------------------------------------------ working functions


def test_vectorized_function_with_gradient(tmp_path, mod):
    obj = objective_of(tmp_path, {"function": f"{mod}:f", "gradient": f"{mod}:g"})
    f, g = obj.value_and_grad(X)
    np.testing.assert_allclose(f, [ref_f(p) for p in X], rtol=1e-14)
    np.testing.assert_allclose(g, [ref_g(p) for p in X], rtol=1e-14)
    assert obj.info["gradient"] == "user" and obj.info["vectorized"]
    assert obj.name == f"{mod}.f" and obj.dim == 3


def test_scalar_only_function_is_detected_and_looped(tmp_path, mod):
    obj = objective_of(tmp_path, {"function": f"{mod}:one_point", "gradient": f"{mod}:one_point_grad"})
    assert obj.info["vectorized"] is False
    f, g = obj.value_and_grad(X)
    np.testing.assert_allclose(f, [ref_f(p) for p in X], rtol=1e-14)
    np.testing.assert_allclose(g, [ref_g(p) for p in X], rtol=1e-14)
    # a function reducing over all axes is also a one-point function, not a batch one
    obj = objective_of(tmp_path, {"function": f"{mod}:whole_array_sum"})
    assert obj.info["vectorized"] is False
    np.testing.assert_allclose(obj.value(X), np.sum((X - 1) ** 2, axis=1), rtol=1e-14)


def test_without_gradient_finite_differences_are_used_and_accurate(tmp_path, mod):
    obj = objective_of(tmp_path, {"function": f"{mod}:f"})
    assert obj.info["gradient"] == "finite-differences" and obj.info["evaluations_per_gradient"] == 6
    _, g = obj.value_and_grad(X)
    # central differences with h = cbrt(eps) max(1, |x|): error ~ h^2 |f'''| ~ 1e-9 here
    np.testing.assert_allclose(g, [ref_g(p) for p in X], rtol=0, atol=1e-8)
    assert not np.allclose(g, [ref_g(p) for p in X], rtol=0, atol=1e-16)  # it is an estimate


def test_central_difference_step_and_cost():
    seen = []

    def f(x):
        seen.append(x.copy())
        return np.sum(x**3, axis=-1)

    x = np.array([[2.0, -3.0, 1e-3]])
    g = central_difference(f, x)
    pts = np.concatenate(seen)
    assert pts.shape == (6, 3) and len(seen) == 1  # 2 d evaluations, in one vectorized call
    # rows i and d + i step coordinate i by +-h_i, h_i = cbrt(eps) max(1, |x_i|); nothing else moves
    h = np.cbrt(np.finfo(float).eps) * np.maximum(1.0, np.abs(x[0]))
    np.testing.assert_allclose(pts[:3] - x, np.diag(h), rtol=1e-9, atol=0)
    np.testing.assert_allclose(pts[3:] - x, -np.diag(h), rtol=1e-9, atol=0)
    # a cubic's truncation error is h^2 (third derivative 6), here below the rounding error eps |f| / h
    np.testing.assert_allclose(g, 3 * x**2, rtol=0, atol=1e-8)


def test_the_function_cannot_corrupt_the_optimizer_state(tmp_path, mod):
    obj = objective_of(tmp_path, {"function": f"{mod}:mutates"})
    x = X.copy()
    obj.value_and_grad(x)
    assert np.array_equal(x, X)


def test_run_with_finite_differences_records_it_in_meta(tmp_path, mod):
    p = write_config(tmp_path, {"function": f"{mod}:f"})
    r = invoke("run", p, "--runs-dir", tmp_path / "runs", "--format", "json")
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    meta = json.loads((Path(s["path"]) / "meta.json").read_text())
    assert meta["gradient"] == "finite-differences" and meta["evaluations_per_gradient"] == 6
    # the resolved config reruns the same run, bit for bit
    cfg = yaml.safe_load((Path(s["path"]) / "config.yaml").read_text())
    assert cfg["objective"] == {
        "name": f"{mod}.f",
        "dim": 3,
        "function": f"{mod}:f",
        "gradient": None,
        "f_min": None,
        "minima": None,
    }
    r2 = invoke("run", Path(s["path"]) / "config.yaml", "--runs-dir", tmp_path / "runs", "--format", "json")
    assert json.loads(r2.output)["final_x"] == s["final_x"]


def test_user_f_min_and_minima_give_gap_and_distance(tmp_path, mod):
    p = write_config(
        tmp_path,
        {
            "function": f"{mod}:f",
            "gradient": f"{mod}:g",
            "name": "wavy",
            "f_min": -1.0,
            "minima": [1.0, 1.0, 1.0],
        },
        iterations=5,
    )
    s = json.loads(invoke("run", p, "--runs-dir", tmp_path / "runs", "--format", "json").output)
    assert s["objective"] == "wavy" and s["f_gap"] == pytest.approx(s["final_f"] + 1.0)
    assert s["distance_to_optimum"] == pytest.approx(np.linalg.norm(np.array(s["final_x"]) - 1.0))


# ------------------------------------------------------------------ failures before the run


@pytest.mark.parametrize(
    "objective,words",
    [
        ({"function": "{m}:raises"}, "objective function '{m}:raises' raised ValueError: bad input, no way"),
        (
            {"function": "{m}:wrong_shape"},
            "objective function '{m}:wrong_shape' must map an array (n, d) to (n,)",
        ),
        (
            {"function": "{m}:nan_everywhere"},
            "objective function '{m}:nan_everywhere' is nan at the start point",
        ),
        ({"function": "{m}:f", "gradient": "{m}:bad_grad"}, "gradient function '{m}:bad_grad' must map"),
        ({"function": "{m}:missing"}, "module '{m}' has no attribute 'missing'"),
        ({"function": "{m}:NOT_CALLABLE"}, "'{m}:NOT_CALLABLE' is an int, not a function"),
        ({"function": "{m}:batch_dependent"}, "gives a different result for a point alone than in a batch"),
        ({"function": "{m}:returns_text"}, "returned a str, not numbers"),
        ({"function": "no_such_module_xyz:f"}, "cannot import module 'no_such_module_xyz' (looked in "),
    ],
)
def test_broken_functions_stop_before_the_run_with_one_line(tmp_path, mod, objective, words):
    objective = {k: v.format(m=mod) for k, v in objective.items()}
    p = write_config(tmp_path, objective)
    r = invoke("run", p, "--runs-dir", tmp_path / "runs")
    assert r.exit_code == 2, r.output
    assert words.format(m=mod) in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists() or not os.listdir(tmp_path / "runs")


def test_import_errors_inside_the_module_are_reported(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = f"ubad_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{bad}.py").write_text("def f(x):\n    return x +\n")
    dep = f"udep_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{dep}.py").write_text("import not_installed_pkg_q\ndef f(x):\n    return x\n")
    with pytest.raises(
        UserCodeError, match=rf"importing '{bad}' raised SyntaxError: [^(]*\({bad}.py, line 2\)$"
    ):
        objective_of(tmp_path, {"function": f"{bad}:f"})  # the place once, not twice
    with pytest.raises(
        UserCodeError, match=rf"importing '{dep}' failed: No module named 'not_installed_pkg_q'"
    ):
        objective_of(tmp_path, {"function": f"{dep}:f"})


def test_validation_does_not_import_user_code(tmp_path):
    # a run folder's config must be readable anywhere: only the reference's syntax is checked
    c = load_config(str(write_config(tmp_path, {"function": "surely_absent_mod:f"})))
    assert c.objective.params["function"] == "surely_absent_mod:f"


@pytest.mark.parametrize(
    "objective,extra,key,words",
    [
        ({"function": "mod"}, {}, "objective.function", "must be 'module:function'"),
        ({"function": "mod:f", "gradient": "g"}, {}, "objective.gradient", "must be 'module:function'"),
        ({"function": "mod:f", "expression": "x0"}, {}, "objective.expression", "not both"),
        ({"function": "mod:f", "name": "sphere"}, {}, "objective.name", "is a built-in objective"),
        ({"function": "mod:f", "shift": True}, {}, "objective.shift", "unknown key"),
        ({"function": "mod:f", "minima": [1, 2]}, {}, "objective.minima.0", "has 2 coordinates"),
        ({"function": "mod:f", "f_min": "low"}, {}, "objective.f_min", "finite number"),
        ({"function": "mod:f", "dim": 3}, {"bounds": None}, "bounds", "no default bounds"),
        (
            {"function": "mod:f"},
            {"bounds": [-1, 1]},
            "objective.dim",
            "dimension of a user function is not known",
        ),
    ],
)
def test_bad_user_objective_keys(tmp_path, objective, extra, key, words):
    p = write_config(tmp_path, objective, **extra)
    if extra.get("bounds", 0) is None:
        data = yaml.safe_load(p.read_text())
        del data["bounds"]
        p.write_text(yaml.safe_dump(data))
    r = invoke("run", p)
    assert r.exit_code == 2 and f"{key}: " in r.output and words in r.output, r.output


# ------------------------------------------------------------------ failures during the run


def test_an_exception_during_the_run_marks_it_failed(tmp_path, mod):
    p = write_config(tmp_path, {"function": f"{mod}:explodes_far_out"}, start=[0.0, 0.0, 0.0], iterations=200)
    r = invoke("run", p, "--runs-dir", tmp_path / "runs", "--format", "json")
    assert r.exit_code == 1
    s = json.loads(r.stdout)
    assert s["status"] == "failed"
    assert s["error"].startswith(
        f"objective function '{mod}:explodes_far_out' raised RuntimeError: x0 went past 1.5"
    )
    assert "Traceback" not in r.output
