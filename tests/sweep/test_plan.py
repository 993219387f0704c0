"""Sweep plans: the axis grammar (config block and --sweep) and its errors, member configs and
batching (optrun.sweep)."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
import yaml
from sweeps import BASE, invoke, plan_of, values, write

from optrun.errors import ConfigError
from optrun.sweep import BATCH_MAX, load_plan, make_batches, parse_sweep_option

# ------------------------------------------------------------------------------ grammar: config block


def test_block_list_range_logspace_linspace_product_order(tmp_path):
    plan = plan_of(
        tmp_path,
        "sweep:\n  seed: {range: [3]}\n  algorithm.alpha: {logspace: [1.0e-3, 1.0e-1, 3]}\n"
        "  algorithm.beta2: [0.99, 0.999]\n",
    )
    assert [len(a.values) for a in plan.axes] == [3, 3, 2]
    expected = list(itertools.product([0, 1, 2], [1e-3, 1e-2, 1e-1], [0.99, 0.999]))  # first axis slowest
    got = [(a["seed"], a["algorithm.alpha"], a["algorithm.beta2"]) for a in plan.assignments]
    assert [g[0] for g in got] == [e[0] for e in expected]
    assert [g[2] for g in got] == [e[2] for e in expected]
    assert np.allclose([g[1] for g in got], [e[1] for e in expected], rtol=1e-15, atol=0)
    assert [(m.seed, m.algorithm.params["alpha"], m.algorithm.params["beta2"]) for m in plan.members] == got
    # everything else is the base's
    assert {m.algorithm.params["beta1_schedule"] for m in plan.members} == {"power"}
    assert {m.iterations for m in plan.members} == {20}


@pytest.mark.parametrize(
    "spec, want",
    [
        ("{range: [4]}", [0, 1, 2, 3]),
        ("{range: [2, 5]}", [2, 3, 4]),
        ("{range: [10, 0, -4]}", [10, 6, 2]),
        ("{range: [0, 10, 3]}", [0, 3, 6, 9]),
        ("[5, 7, 1]", [5, 7, 1]),
    ],
)
def test_block_range_forms_are_pythons_range(tmp_path, spec, want):
    assert values(plan_of(tmp_path, f"sweep: {{seed: {spec}}}\n"), "seed") == want


def test_block_linspace_and_logspace_values(tmp_path):
    plan = plan_of(tmp_path, "sweep:\n  algorithm.alpha: {linspace: [0.1, 0.5, 5]}\n")
    assert np.allclose(values(plan, "algorithm.alpha"), [0.1, 0.2, 0.3, 0.4, 0.5], rtol=1e-15, atol=0)
    assert values(plan, "algorithm.alpha")[0] == 0.1 and values(plan, "algorithm.alpha")[-1] == 0.5
    plan = plan_of(tmp_path, "sweep:\n  algorithm.alpha: {logspace: [1.0e-4, 1.0, 5]}\n")
    got = values(plan, "algorithm.alpha")
    assert got[0] == 1e-4 and got[-1] == 1.0  # ends included exactly
    assert np.allclose(got, [1e-4, 1e-3, 1e-2, 1e-1, 1.0], rtol=1e-14, atol=0)


def test_block_zip_pairs_values_and_list_of_zip_groups(tmp_path):
    plan = plan_of(
        tmp_path,
        "sweep:\n  seed: [0, 1]\n  zip:\n"
        "    - {algorithm.beta1: [0.8, 0.9], algorithm.beta2: [0.99, 0.999]}\n"
        "    - {iterations: [5, 6, 7], algorithm.alpha: [0.1, 0.2, 0.3]}\n",
    )
    assert len(plan.members) == 2 * 2 * 3
    pairs = {(m.algorithm.params["beta1"], m.algorithm.params["beta2"]) for m in plan.members}
    assert pairs == {(0.8, 0.99), (0.9, 0.999)}
    its = {(m.iterations, m.algorithm.params["alpha"]) for m in plan.members}
    assert its == {(5, 0.1), (6, 0.2), (7, 0.3)}
    assert [a.keys for a in plan.axes] == [
        ("seed",),
        ("algorithm.beta1", "algorithm.beta2"),
        ("iterations", "algorithm.alpha"),
    ]
    # the resolved sweep block keeps both zip groups and round-trips through load_plan
    resolved = plan.resolved_dict()["sweep"]
    assert resolved["zip"] == [
        {"algorithm.beta1": [0.8, 0.9], "algorithm.beta2": [0.99, 0.999]},
        {"iterations": [5, 6, 7], "algorithm.alpha": [0.1, 0.2, 0.3]},
    ]


def test_resolved_sweep_keeps_generators_and_the_member_order(tmp_path):
    plan = plan_of(
        tmp_path,
        "sweep:\n  zip: {iterations: [5, 6], algorithm.beta2: {linspace: [0.9, 0.99, 2]}}\n"
        "  seed: {range: [4]}\n  rng: [legacy, generator]\n",
        options=("algorithm.alpha=logspace(1e-3, 1e-1, 2)", "rng=generator,legacy"),
    )
    resolved = plan.resolved_dict()["sweep"]
    # generators stay generators: a sweep over 100,000 seeds keeps a one-line axis that reads back
    # (as a list it would pass the config reader's 20,000-node limit)
    assert resolved == {
        "zip": {"iterations": [5, 6], "algorithm.beta2": {"linspace": [0.9, 0.99, 2]}},
        "seed": {"range": [4]},
        "algorithm.alpha": {"logspace": [1e-3, 1e-1, 2]},
        "rng": ["generator", "legacy"],
    }
    # the axis order: the config's (rng replaced in its place), then the new axis
    assert list(resolved) == ["zip", "seed", "rng", "algorithm.alpha"]
    again = load_plan(
        str(
            write(
                tmp_path,
                yaml.safe_dump({**plan.base.to_dict(), "sweep": resolved}, sort_keys=False),
                "again.yaml",
            )
        )
    )
    assert again.assignments == plan.assignments
    assert [replace(m, source="") for m in again.members] == [replace(m, source="") for m in plan.members]


def test_block_single_zip_mapping(tmp_path):
    plan = plan_of(tmp_path, "sweep:\n  zip: {seed: [3, 4], algorithm.alpha: {linspace: [0.1, 0.2, 2]}}\n")
    assert [(m.seed, m.algorithm.params["alpha"]) for m in plan.members] == [(3, 0.1), (4, 0.2)]


# ------------------------------------------------------------------------------ grammar: --sweep


@pytest.mark.parametrize(
    "text, key, want",
    [
        ("seed=0:4", "seed", [0, 1, 2, 3]),
        ("seed=2:8:3", "seed", [2, 5]),
        ("seed=range(3)", "seed", [0, 1, 2]),
        ("seed=range(1, 7, 2)", "seed", [1, 3, 5]),
        ("algorithm.alpha=0.001,0.01,1e-1", "algorithm.alpha", [0.001, 0.01, 0.1]),  # YAML 1.2 floats
        ("algorithm.alpha=logspace(1e-3,1e-1,3)", "algorithm.alpha", [1e-3, 1e-2, 1e-1]),
        ("algorithm.alpha=linspace(0.5, 1.5, 3)", "algorithm.alpha", [0.5, 1.0, 1.5]),
        ("algorithm.name=adam,gd", "algorithm.name", ["adam", "gd"]),
        ("stop.f_target=null,1e-6", "stop.f_target", [None, 1e-6]),
        ("start=[0.1,0.2],[0.3, 0.4]", "start", [[0.1, 0.2], [0.3, 0.4]]),
        ("rng=legacy,'generator'", "rng", ["legacy", "generator"]),
    ],
)
def test_option_grammar_and_yaml_typing(text, key, want):
    ax = parse_sweep_option(text)
    assert ax.keys == (key,)
    got = [v[0] for v in ax.values]
    if all(isinstance(w, float) for w in want):
        assert np.allclose(got, want, rtol=1e-15, atol=0)
        assert got[0] == want[0] and got[-1] == want[-1]
    else:
        assert got == want
        assert [type(g) for g in got] == [type(w) for w in want]


def test_option_typing_int_vs_float_vs_string():
    ax = parse_sweep_option("objective.dim=2,3")
    assert [type(v[0]) for v in ax.values] == [int, int]
    ax = parse_sweep_option("algorithm.beta1_schedule=power,constant")
    assert [v[0] for v in ax.values] == ["power", "constant"]


def test_option_replaces_the_config_axis_and_adds_new_ones(tmp_path):
    plan = plan_of(
        tmp_path,
        "sweep: {seed: [7, 8, 9], algorithm.alpha: [0.1, 0.2]}\n",
        options=("seed=0:2", "iterations=3,4"),
    )
    # the replaced axis keeps its place (seed still varies slowest), the new one comes last
    assert [a.keys for a in plan.axes] == [("seed",), ("algorithm.alpha",), ("iterations",)]
    assert [(m.seed, m.algorithm.params["alpha"], m.iterations) for m in plan.members] == [
        (s, a, i) for s in (0, 1) for a in (0.1, 0.2) for i in (3, 4)
    ]


def test_overrides_apply_to_every_member(tmp_path):
    plan = plan_of(tmp_path, "", options=("seed=0:3",), overrides=("iterations=7", "algorithm.beta2=0.9"))
    assert {(m.iterations, m.algorithm.params["beta2"]) for m in plan.members} == {(7, 0.9)}


# ------------------------------------------------------------------------------ errors: exit 2, one line


BAD_BLOCKS = [
    ("sweep: {seed: []}", "sweep.seed", "at least one value"),
    ("sweep: {seed: {range: []}}", "sweep.seed", "range takes 1 to 3 whole numbers"),
    ("sweep: {seed: {range: [5, 2]}}", "sweep.seed", "gives no values"),
    ("sweep: {seed: {range: [0, 4, 0]}}", "sweep.seed", "step must not be 0"),
    ("sweep: {algorithm.alpha: {logspace: [0, 1.0e-1, 3]}}", "sweep.algorithm.alpha", "positive ends"),
    ("sweep: {algorithm.alpha: {logspace: [1.0e-3, -1, 3]}}", "sweep.algorithm.alpha", "positive ends"),
    ("sweep: {algorithm.alpha: {logspace: [1.0e-3, 1, 2.5]}}", "sweep.algorithm.alpha", "whole count"),
    (
        "sweep: {algorithm.alpha: {geomspace: [1, 2, 3]}}",
        "sweep.algorithm.alpha",
        "unknown axis kind 'geomspace'",
    ),
    ("sweep: {algorithm.alpha: {range: [1, 2], step: 1}}", "sweep.algorithm.alpha", "an axis is a list"),
    ("sweep: {seed: 3}", "sweep.seed", "an axis is a list"),
    ("sweep: {zip: {seed: [1, 2], algorithm.alpha: [0.1]}}", "sweep.zip", "same number of values"),
    (
        "sweep: {zip: [{seed: [1]}, {iterations: [1, 2], algorithm.alpha: [0.1]}]}",
        "sweep.zip.1",
        "same number of values",
    ),
    ("sweep: {zip: 3}", "sweep.zip", "must map dotted keys"),
    ("sweep: {seed: [1], zip: {seed: [1, 2], algorithm.alpha: [0.1, 0.2]}}", "sweep.seed", "swept twice"),
    ("sweep: {'algorithm..alpha': [1]}", "sweep", "not a dotted key"),
    ("sweep: {name: [a, b]}", "sweep.name", "cannot be swept"),
    ("sweep: {seed: [1, -1]}", "sweep.seed", "whole numbers in [0, 2**32)"),
    ("sweep: {seed: [1.5]}", "sweep.seed", "whole numbers"),
    ("sweep: [1, 2]", "sweep", "must be a mapping"),
    ("sweep: {}", "sweep", "is empty"),
]


@pytest.mark.parametrize("block, path, words", BAD_BLOCKS, ids=[b[0] for b in BAD_BLOCKS])
def test_bad_block_axes_exit_2_with_one_line_naming_the_axis(tmp_path, block, path, words):
    cfg = write(tmp_path, BASE + block + "\n")
    res = invoke("run", cfg, "--runs-dir", tmp_path / "runs")
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.output
    assert f"{cfg}:7: {path}: " in lines[0] and words in lines[0], lines[0]
    assert not (tmp_path / "runs").exists()  # nothing written


BAD_OPTIONS = [
    ("seed=", "a sweep axis is KEY=VALUES"),
    ("seed", "a sweep axis is KEY=VALUES"),
    ("seed=0:0", "gives no values"),
    ("seed=0:10:0", "step must not be 0"),
    ("seed=a,b", "seed values must be whole numbers"),
    ("seed=-1:2", "seed values must be whole numbers"),
    ("algorithm.alpha=logspace(0,1,3)", "logspace takes positive ends"),
    ("algorithm.alpha=logspace(1e-3,1e-1)", "logspace takes [start, stop, count]"),
    ("algorithm..alpha=1", "not a dotted key"),
    (".x=1,2", "not a dotted key"),
    ("name=a,b", "cannot be swept"),
    ("sweep.x=1", "cannot be swept"),
]


@pytest.mark.parametrize("option, words", BAD_OPTIONS, ids=[o[0] for o in BAD_OPTIONS])
def test_bad_sweep_options_exit_2_naming_the_option(tmp_path, option, words):
    cfg = write(tmp_path, BASE)
    res = invoke("run", cfg, "--sweep", option, "--runs-dir", tmp_path / "runs")
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert f"--sweep '{option}'" in lines[0] and words in lines[0], lines[0]
    assert not (tmp_path / "runs").exists()


def test_same_key_twice_on_the_command_line_is_refused(tmp_path):
    res = invoke("run", write(tmp_path, BASE), "--sweep", "seed=0:3", "--sweep", "seed=5,6", "--dry-run")
    assert res.exit_code == 2
    assert res.stderr.strip() == "Error: --sweep 'seed=5,6': seed: is swept twice on the command line"


def test_option_cannot_split_a_zipped_key(tmp_path):
    cfg = write(tmp_path, BASE + "sweep: {zip: {seed: [1, 2], algorithm.alpha: [0.1, 0.2]}}\n")
    res = invoke("run", cfg, "--sweep", "seed=0:5", "--dry-run")
    assert res.exit_code == 2 and "is zipped with other keys" in res.stderr


def test_unknown_key_inside_an_axis_suggests_the_nearest(tmp_path):
    cfg = write(tmp_path, BASE + "sweep: {algorithm.alpah: [0.1, 0.2]}\n")
    res = invoke("run", cfg, "--dry-run")
    assert res.exit_code == 2
    assert res.stderr.strip() == (
        f"Error: sweep axis algorithm.alpah=0.1 in {cfg}: algorithm.alpah: "
        "unknown key 'alpah'; did you mean 'alpha'?"
    )
    res = invoke("run", write(tmp_path, BASE, "d.yaml"), "--sweep", "algorithm.beta_1=0.8,0.9", "--dry-run")
    assert res.exit_code == 2 and "did you mean 'beta1'?" in res.stderr


def test_invalid_member_names_the_axis_value(tmp_path):
    cfg = write(tmp_path, BASE + "sweep: {seed: [0, 1], algorithm.alpha: [0.1, -1]}\n")
    res = invoke("run", cfg, "--runs-dir", tmp_path / "runs")
    assert res.exit_code == 2
    assert res.stderr.strip() == (
        f"Error: sweep axis algorithm.alpha=-1 in {cfg}: algorithm.alpha: must be in (0, inf), not -1.0"
    )
    assert not (tmp_path / "runs").exists()  # every member is validated before anything runs


def test_swapping_to_an_algorithm_that_lacks_the_dimension_names_the_axis(tmp_path):
    cfg = write(
        tmp_path,
        BASE.replace("objective: sphere", "objective: {name: sphere, dim: 3}").replace(
            "bounds: [[-1.0, 1.0], [-1.0, 1.0]]", "bounds: [-1.0, 1.0]"
        )
        + "sweep: {objective.name: [sphere, himmelblau]}\n",
    )
    res = invoke("run", cfg, "--dry-run")
    assert res.exit_code == 2
    assert res.stderr.startswith(f"Error: sweep axis objective.name='himmelblau' in {cfg}: objective.dim: ")


# ------------------------------------------------------------------------------ swaps: algorithm and objective


def test_algorithm_name_axis_drops_the_base_variant_and_foreign_keys(tmp_path):
    plan = plan_of(tmp_path, "", options=("algorithm.name=amsgrad,adam,gd",))
    ams, adam, gd = plan.members
    assert (ams.algorithm.variant, ams.algorithm.params["beta1_schedule"]) == ("tutorial", "power")
    assert adam.algorithm.variant == "torch" and "beta1_schedule" not in adam.algorithm.params
    # settings the new algorithm accepts are kept
    assert adam.algorithm.params["alpha"] == 0.01 and gd.algorithm.params == {"alpha": 0.01}


def test_whole_algorithm_and_objective_values(tmp_path):
    plan = plan_of(
        tmp_path,
        "sweep:\n  algorithm: [gd, {name: adam, alpha: 0.5, variant: optax}]\n"
        "  objective: [sphere, {name: rosenbrock}, {expression: 'x0**2 + 2*x1**2'}]\n",
    )
    assert len(plan.members) == 6
    algos = [(m.algorithm.name, m.algorithm.variant, m.algorithm.params["alpha"]) for m in plan.members[::3]]
    assert algos == [("gd", "standard", 0.01), ("adam", "optax", 0.5)]
    objs = [m.objective.name for m in plan.members[:3]]
    assert objs[:2] == ["sphere", "rosenbrock"] and plan.members[2].objective.params.get("expression")
    # a dict axis value is one summary cell, as compact JSON
    from optrun.execution.sweep import cell as _cell

    assert _cell({"name": "adam", "alpha": 0.5}) == '{"name":"adam","alpha":0.5}'


def test_variant_zipped_with_name_applies_to_the_new_algorithm(tmp_path):
    plan = plan_of(
        tmp_path,
        "sweep:\n  zip: {algorithm.name: [adam, amsgrad], algorithm.variant: [optax, torch]}\n"
        "  algorithm.eps: [1.0e-7]\n",
    )
    assert [(m.algorithm.name, m.algorithm.variant, m.algorithm.params["eps"]) for m in plan.members] == [
        ("adam", "optax", 1e-7),
        ("amsgrad", "torch", 1e-7),
    ]


def test_objective_name_axis_keeps_the_transform_keys(tmp_path):
    base = BASE.replace("objective: sphere", "objective: {name: sphere, dim: 2, shift: true}")
    plan = plan_of(tmp_path, "sweep: {objective.name: [sphere, rastrigin]}\n", base=base)
    assert [m.objective.params["shift"] for m in plan.members] == [True, True]


# ------------------------------------------------------------------------------ batches


def test_members_sharing_everything_but_numbers_form_one_batch(tmp_path):
    plan = plan_of(
        tmp_path, "sweep: {seed: {range: [5]}, algorithm.alpha: [0.1, 0.2], rng: [legacy, generator]}\n"
    )
    assert make_batches(plan.members) == [list(range(20))]  # seeds, alphas and rng do not split a batch


def test_batches_split_by_algorithm_objective_budget_and_non_numeric_settings(tmp_path):
    plan = plan_of(
        tmp_path,
        "sweep:\n  algorithm.beta1_schedule: [power, constant]\n  iterations: [5, 6]\n  seed: [0, 1]\n",
    )
    batches = make_batches(plan.members)
    assert batches == [[0, 1], [2, 3], [4, 5], [6, 7]]


def test_large_groups_split_into_near_equal_batches(tmp_path):
    members = plan_of(tmp_path, "", options=("seed=0:10000",)).members
    batches = make_batches(members)
    assert [len(b) for b in batches] == [1000] * 10  # not 1024 * 9 + 784: workers share evenly
    assert [i for b in batches for i in b] == list(range(10_000))
    assert BATCH_MAX == 1024
    assert [len(b) for b in make_batches(members[:1025])] == [513, 512]
    assert [len(b) for b in make_batches(members[:1024])] == [1024]


def test_load_plan_errors_are_config_errors(tmp_path):
    with pytest.raises(ConfigError) as e:
        plan_of(tmp_path, "sweep: {seed: {range: [1001]}, algorithm.alpha: {linspace: [0.1, 0.2, 1000]}}\n")
    assert "the sweep has 1,001,000 members; at most 1,000,000 are allowed" in str(e.value)


@pytest.mark.parametrize("collecting", [True, False])
def test_a_plan_leaves_the_garbage_collector_as_it_found_it(tmp_path, monkeypatch, collecting):
    import gc

    import optrun.sweep.plan as plan_module

    was = gc.isenabled()
    events = []  # "made" brackets the members being made; 2 marks a full collection pass
    add_members = plan_module._add_members

    def bracketed(plan, raw):
        events.append("making")
        add_members(plan, raw)
        events.append("made")

    def count(phase, info):
        if phase == "start" and info["generation"] == 2:
            events.append(2)

    monkeypatch.setattr(plan_module, "_add_members", bracketed)
    try:
        gc.enable() if collecting else gc.disable()
        gc.callbacks.append(count)
        plan = plan_of(tmp_path, "", options=("seed=0:30000",))  # ~150,000 new objects
        assert len(plan.members) == 30000 and gc.isenabled() is collecting
        # No full collection over them while they were made (one before, while the config was
        # read, depends on what earlier tests left behind and is not the plan's doing):
        assert events[events.index("making") :] == ["making", "made"]
        with pytest.raises(ConfigError):  # an invalid member: the collector is restored too
            plan_of(tmp_path, "", options=("seed=0:2", "algorithm.alpha=-1,0.1"))
        assert gc.isenabled() is collecting
    finally:
        gc.callbacks.remove(count)
        gc.enable() if was else gc.disable()
