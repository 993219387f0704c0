"""The online built-ins (Reddi, Kale & Kumar 2018): f_t and its gradient against the paper's
definitions written out here, round by round, and what validation refuses."""

from __future__ import annotations

import numpy as np
import pytest

from optrun.config import validate
from optrun.errors import ConfigError
from optrun.objectives import get_objective
from optrun.objectives.catalog import describe


def paper_slope(name: str, t: int, u: float, **p) -> float:
    """The slope a_t of f_t(x) = a_t x, as the paper (and the issue) define it."""
    if name == "reddi-online":
        large, small = p.get("large", 1010.0), p.get("small", 10.0)
        period, phase = p.get("period", 101), p.get("phase", 1)
        return large if t % period == phase % period else -small
    if name == "reddi-stochastic":
        large, small, prob = p.get("large", 1010.0), p.get("small", 10.0), p.get("prob", 0.01)
        return large if u < prob else -small
    C = p.get("C", 3.0)
    return C if t % 3 == 1 else -1.0


CASES = [
    ("reddi-online", {}),
    ("reddi-online", {"large": 30.0, "small": 2.0, "period": 7, "phase": 0}),
    ("reddi-stochastic", {}),
    ("reddi-stochastic", {"prob": 0.4, "large": 5.0, "small": 1.0}),
    ("reddi-theorem1", {}),
    ("reddi-theorem1", {"C": 5.5}),
]


@pytest.mark.parametrize(("name", "params"), CASES)
def test_each_round_is_the_papers_linear_function(name, params):
    obj = get_objective(name).build(1, **params)
    assert obj.online is not None
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (5, 1))
    for t in range(1, 320):
        u = rng.random((5, obj.online.draws)) if obj.online.draws else None
        f, g = obj.online.value_and_grad(x, t, u)
        want = np.array([paper_slope(name, t, None if u is None else u[s, 0], **params) for s in range(5)])
        np.testing.assert_array_equal(g[:, 0], want)
        np.testing.assert_array_equal(f, want * x[:, 0])
        assert f.shape == (5,) and g.shape == (5, 1)


@pytest.mark.parametrize(("name", "params"), CASES)
def test_the_optimum_is_the_best_fixed_point_of_the_average_function(name, params):
    obj = get_objective(name).build(1, **params)
    if name == "reddi-stochastic":  # the expected slope
        p = params.get("prob", 0.01)
        mean = p * params.get("large", 1010.0) - (1 - p) * params.get("small", 10.0)
    else:  # the average over whole cycles (T a multiple of every period here)
        mean = float(np.mean([paper_slope(name, t, 1.0, **params) for t in range(1, 3 * 7 * 101 + 1)]))
    best = -1.0 if mean > 0 else 1.0  # f = mean * x on [-1, 1]
    assert obj.minima.tolist() == [[best]]
    assert obj.f_min is None  # f_t changes every round: regret, not f - f*, measures a run
    f, g = obj.value_and_grad(np.array([[0.5]]))  # the fixed view is the average function
    assert g[0, 0] == pytest.approx(mean, rel=1e-12)
    assert f[0] == pytest.approx(0.5 * mean, rel=1e-12)


def test_the_stochastic_objective_draws_one_number_per_round_the_others_none():
    assert get_objective("reddi-stochastic").build(1).online.draws == 1
    assert get_objective("reddi-online").build(1).online.draws == 0
    assert get_objective("reddi-theorem1").build(1).online.draws == 0


def test_the_catalog_documents_the_parameters_and_the_online_convention():
    r = describe(get_objective("reddi-online"))
    assert [p["name"] for p in r["params"]] == ["large", "small", "period", "phase"]
    assert [p["default"] for p in r["params"]] == [1010.0, 10.0, 101, 1]
    assert "regret" in r["online"] and r["transform_keys"].startswith("none")
    assert [p["name"] for p in describe(get_objective("reddi-theorem1"))["params"]] == ["C"]
    assert describe(get_objective("sphere"))["online"] is None


def _config(objective, **top):
    return validate({"objective": objective, "algorithm": "adam", **top}, "c.yaml")


def test_a_users_online_function_without_x_star_is_told_to_give_minima():
    with pytest.raises(ConfigError) as e:
        validate(
            {
                "objective": {"function": "m:f", "online": True},
                "bounds": [[-1.0, 1.0]],
                "algorithm": "adam",
                "expect": {"avg_regret_max": 0.1},
            },
            "c.yaml",
        )
    assert "give objective.minima" in str(e.value)


def test_an_online_config_resolves_to_one_dimension_on_its_box():
    c = _config("reddi-online")
    assert c.dim == 1 and list(c.bounds) == [(-1.0, 1.0)]
    assert c.to_dict()["objective"] == {
        "name": "reddi-online",
        "dim": 1,
        "large": 1010.0,
        "small": 10.0,
        "period": 101,
        "phase": 1,
    }
    assert c.constraint == "none" and c.to_dict()["constraint"] == "none"


@pytest.mark.parametrize(
    ("objective", "top", "key", "words"),
    [
        ({"name": "reddi-online", "shift": True}, {}, "objective.shift", "unknown key"),
        ({"name": "reddi-theorem1", "C": 2.0}, {}, "objective.C", "2"),
        ({"name": "reddi-stochastic", "prob": 1.5}, {}, "objective.prob", "1"),
        ({"name": "reddi-online", "dim": 2}, {}, "objective.dim", "d = 1"),
        ({"name": "reddi-online", "period": 0}, {}, "objective.period", "1"),
        ("reddi-online", {"constraint": "ball"}, "constraint", "none, box"),
        ("reddi-online", {"constraint": "box", "start": [2.0]}, "start", "outside the bounds"),
        ("reddi-theorem1", {"bounds": [[-2.0, 3.0]]}, "bounds", "defined on [-1, 1]"),
        ("reddi-online", {"stop": {"f_target": -5.0}}, "stop.f_target", "one round's"),
        ("reddi-stochastic", {"stop": {"grad_norm": 1.0}}, "stop.grad_norm", "one round's"),
        ("sphere", {"expect": {"avg_regret_max": 0.1}}, "expect.avg_regret_max", "see optrun objectives"),
    ],
)
def test_bad_online_configs_name_the_key(objective, top, key, words):
    with pytest.raises(ConfigError) as e:
        _config(objective, **top)
    msg = str(e.value)
    assert key in msg and words in msg and "\n" not in msg
