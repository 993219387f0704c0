"""Learning-rate schedules: formulas against closed forms written out here, validation through
the config (errors name algorithm.schedule.<key>), application to every algorithm, and the
resolved config. optax's and torch's own schedule values are checked in test_references.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from optrun.config import load_config, validate
from optrun.errors import ConfigError
from optrun.execution.run import execute
from optrun.optimizers import ALGORITHMS
from optrun.optimizers.schedules import learning_rate, scheduled, validate_schedule
from optrun.problem import build_optimizer
from optrun.sweep import batch_params

K = np.arange(0, 1300)


def lrs(spec, alpha=0.1):
    f = learning_rate(validate_schedule(spec), alpha)
    return np.array([f(int(k)) for k in K])


def test_constant():
    assert np.all(lrs("constant") == 0.1)


def test_exponential_and_staircase():
    np.testing.assert_allclose(
        lrs({"name": "exponential", "decay_rate": 0.5, "decay_steps": 100}),
        0.1 * 0.5 ** (K / 100),
        rtol=1e-14,
    )
    np.testing.assert_allclose(
        lrs({"name": "exponential", "decay_rate": 0.5, "decay_steps": 100, "staircase": True}),
        0.1 * 0.5 ** (K // 100),
        rtol=1e-14,
    )


def test_inverse_time():
    np.testing.assert_allclose(
        lrs({"name": "inverse_time", "decay_rate": 2.0, "decay_steps": 50}),
        0.1 / (1 + 2.0 * K / 50),
        rtol=1e-14,
    )
    stair = lrs({"name": "inverse_time", "decay_rate": 2.0, "decay_steps": 50, "staircase": True})
    np.testing.assert_allclose(stair, 0.1 / (1 + 2.0 * (K // 50)), rtol=1e-14)


def test_inverse_sqrt_counts_t_from_1():
    """alpha_t = alpha / sqrt(t), t = k + 1: the first update uses alpha itself."""
    got = lrs("inverse_sqrt")
    assert got[0] == 0.1 and got[3] == 0.05 and got[99] == pytest.approx(0.01, rel=1e-15)
    np.testing.assert_allclose(got, [0.1 / math.sqrt(t) for t in range(1, len(K) + 1)], rtol=1e-15, atol=0)
    assert validate_schedule({"name": "inverse_sqrt"}) == {"name": "inverse_sqrt"}  # no parameters
    alphas = np.array([[0.5], [0.02]])
    f = learning_rate(validate_schedule("inverse_sqrt"), alphas)
    for k in (0, 1, 9, 999):
        assert [f(k)[i, 0] for i in range(2)] == [
            learning_rate({"name": "inverse_sqrt"}, a)(k) for a in (0.5, 0.02)
        ]


def test_step():
    got = lrs({"name": "step", "decay_steps": 300})
    want = np.select([K < 300, K < 600, K < 900, K < 1200], [0.1, 0.01, 0.001, 0.0001], 0.00001)
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_cosine_with_and_without_warmup():
    got = lrs({"name": "cosine", "decay_steps": 1000})
    want = [0.05 * (1 + math.cos(math.pi * min(k, 1000) / 1000)) for k in K]
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-17)
    got = lrs(
        {"name": "cosine", "decay_steps": 1000, "warmup_steps": 200, "alpha_min": 0.001, "warmup_init": 0.0}
    )
    assert got[0] == 0.0 and got[100] == pytest.approx(0.05, rel=1e-14)
    assert got[200] == pytest.approx(0.1, rel=1e-14)
    assert got[600] == pytest.approx(0.001 + 0.099 * 0.5, rel=1e-13)  # half way down the cosine
    assert np.all(got[1000:] == pytest.approx(0.001, rel=1e-13))
    assert np.all(np.diff(got[:200]) > 0) and np.all(np.diff(got[200:1001]) < 0)


def test_array_alpha_broadcasts_like_floats():
    spec = validate_schedule({"name": "cosine", "decay_steps": 100, "warmup_steps": 10, "alpha_min": 0.01})
    alphas = np.array([[0.1], [0.5]])
    f = learning_rate(spec, alphas)
    for k in (0, 5, 10, 50, 150):
        for i, a in enumerate((0.1, 0.5)):
            assert f(k)[i, 0] == learning_rate(spec, a)(k)


@pytest.mark.parametrize(
    "raw,key",
    [
        ({"name": "cosinus"}, "algorithm.schedule.name"),
        ({"name": "cosine"}, "algorithm.schedule.decay_steps"),
        ({"name": "cosine", "decay_steps": 100, "warmup_steps": 100}, "algorithm.schedule.warmup_steps"),
        ({"name": "exponential"}, "algorithm.schedule.decay_rate"),
        ({"name": "exponential", "decay_rate": 1.5}, "algorithm.schedule.decay_rate"),
        ({"name": "step", "decay_steps": 2.5}, "algorithm.schedule.decay_steps"),
        ({"name": "step", "decay_steps": 10, "gamma": 0.5}, "algorithm.schedule.gamma"),
        ({"name": "inverse_time", "decay_rate": 1.0, "staircase": "no"}, "algorithm.schedule.staircase"),
        ([1, 2], "algorithm.schedule"),
        ({"name": "inverse_sqrt", "decay_steps": 10}, "algorithm.schedule.decay_steps"),
        ({"name": "inverse-sqrt"}, "algorithm.schedule.name"),
    ],
)
def test_bad_schedules_name_their_key(raw, key):
    data = {"objective": "sphere", "algorithm": {"name": "adam", "schedule": raw}}
    with pytest.raises(ConfigError) as e:
        validate(data, "c.yaml")
    assert e.value.path == key and "\n" not in str(e.value)


def test_override_error_names_the_override(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("objective: sphere\nalgorithm: {name: adam, schedule: {name: step, decay_steps: 10}}\n")
    with pytest.raises(ConfigError) as e:
        load_config(str(p), ["algorithm.schedule.decay_rate=2"])
    assert "override 'algorithm.schedule.decay_rate=2'" in str(e.value)


def build(algorithm, schedule=None):
    alg = {"name": algorithm} | ({"schedule": schedule} if schedule else {})
    c = validate(
        {"objective": {"name": "sphere", "dim": 3}, "start": [0.5, -0.3, 0.2], "algorithm": alg}, "c.yaml"
    )
    return c, build_optimizer(c, batch_params([c]))


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_schedule_scales_every_algorithms_step(algorithm):
    """With a schedule each step is the unscheduled step times lr(t-1)/alpha (same state path,
    because no algorithm's state depends on the learning rate)."""
    spec = {"name": "exponential", "decay_rate": 0.5, "decay_steps": 3}
    c, plain = build(algorithm)
    _, sched = build(algorithm, spec)
    x = np.array([[0.5, -0.3, 0.2]])
    sp, ss = plain.init(x.copy()), sched.init(x.copy())
    alpha = c.algorithm.params["alpha"]
    for t in range(1, 12):
        g = 2 * x
        a, sp = plain.update(g, sp, x, t)
        a = a.copy()
        b, ss = sched.update(g, ss, x, t)
        np.testing.assert_array_equal(b, a * ((alpha * 0.5 ** ((t - 1) / 3)) / alpha))


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_inverse_sqrt_scales_every_algorithms_step(algorithm):
    """Every algorithm's step at t is its unscheduled step over sqrt(t), to the few roundings of
    the factor lr(k) / alpha and of the product (a relative 1e-15; 1 / sqrt(2) is 0.29 away)."""
    _, plain = build(algorithm)
    _, sched = build(algorithm, "inverse_sqrt")
    x = np.array([[0.5, -0.3, 0.2]])
    sp, ss = plain.init(x.copy()), sched.init(x.copy())
    for t in range(1, 30):
        g = 2 * x
        a, sp = plain.update(g, sp, x, t)
        a = a.copy()
        b, ss = sched.update(g, ss, x, t)
        np.testing.assert_allclose(b, a / math.sqrt(t), rtol=1e-15, atol=0)
        assert t == 1 or not np.array_equal(a, b)


def test_a_bad_inverse_sqrt_key_is_one_line_exit_2(tmp_path):
    from click.testing import CliRunner

    from optrun.cli import cli

    p = tmp_path / "c.yaml"
    p.write_text("objective: sphere\nalgorithm: {name: adam, schedule: {name: inverse_sqrt, power: 1}}\n")
    r = CliRunner().invoke(cli, ["run", str(p), "--runs-dir", str(tmp_path / "runs")])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert r.output.strip().count("\n") == 0 and "algorithm.schedule.power" in r.output
    assert "valid keys: name" in r.output
    assert not (tmp_path / "runs").exists()


def test_constant_schedule_is_bit_identical_to_none(tmp_path):
    c0, _ = build("adam")
    c1, _ = build("adam", "constant")
    a = execute(c0, str(tmp_path / "r"))
    b = execute(c1, str(tmp_path / "r"))
    assert a.summary["final_x"] == b.summary["final_x"]


def test_resolved_config_holds_the_schedule_and_reruns_bit_for_bit(tmp_path):
    c, _ = build("momentum", {"name": "cosine", "decay_steps": 50})
    assert c.algorithm.params["schedule"] == {
        "name": "cosine",
        "decay_steps": 50,
        "alpha_min": 0.0,
        "warmup_steps": 0,
        "warmup_init": 0.0,
    }
    first = execute(c, str(tmp_path / "r"))
    rerun = load_config(f"{first.path}/config.yaml")
    assert rerun.algorithm.params["schedule"] == c.algorithm.params["schedule"]
    second = execute(rerun, str(tmp_path / "r"))
    assert first.summary["final_x"] == second.summary["final_x"]
    with open(f"{first.path}/config.yaml") as f:
        assert yaml.safe_load(f)["algorithm"]["schedule"]["decay_steps"] == 50
    unscheduled = execute(build("momentum")[0], str(tmp_path / "r"))
    assert unscheduled.summary["final_x"] != first.summary["final_x"]


def test_scheduled_copies_a_user_step_instead_of_scaling_it_in_place():
    from optrun.optimizers import Optimizer

    kept = np.ones((1, 2))
    opt = scheduled(
        Optimizer(lambda x: None, lambda g, s, x, t: (kept, s)),
        {"name": "step", "decay_steps": 1, "decay_rate": 0.5},
        1.0,
        in_place=False,
    )
    step, _ = opt.update(kept, None, kept, 3)
    assert np.array_equal(step, [[0.25, 0.25]]) and np.array_equal(kept, [[1.0, 1.0]])
