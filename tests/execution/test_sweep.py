"""Sweeps, the engine side: the axis grammar (config block and --sweep) and its errors, member
configs, batching, masking of stopped and diverged members, target hits and batch start points.

References are independent of optrun: gradient descent on the sphere written out with Python
floats (``x <- x - (2 x) * alpha``, the kernel's operations in its order), whose crossing
iterations are worked out by hand where the step halves or quarters x exactly.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from optrun.cli import cli
from optrun.errors import ConfigError
from optrun.problem import start_point, start_points
from optrun.sweep import BATCH_MAX, load_plan, make_batches, parse_sweep_option

BASE = """\
name: base
objective: sphere
bounds: [[-1.0, 1.0], [-1.0, 1.0]]
algorithm: {name: amsgrad, variant: tutorial, alpha: 0.01, beta1_schedule: power}
iterations: 20
seed: 1
"""


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def plan_of(
    tmp_path: Path,
    sweep_block: str = "",
    options: tuple[str, ...] = (),
    base: str = BASE,
    overrides: tuple[str, ...] = (),
):
    return load_plan(str(write(tmp_path, base + sweep_block)), overrides, options)


def values(plan, key):
    return [a[key] for a in plan.assignments]


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


def test_batch_start_points_equal_single_run_start_points(tmp_path):
    plan = plan_of(
        tmp_path,
        "sweep:\n  seed: [0, 1, 2, 4294967295]\n  rng: [legacy, generator]\n"
        "  bounds: [[[-1.0, 1.0], [-1.0, 1.0]], [[0.0, 3.0], [-5.0, -4.0]]]\n",
    )
    x0 = start_points(plan.members)
    ref = np.stack([start_point(m) for m in plan.members])
    assert x0.tobytes() == ref.tobytes()
    # the tutorials' numbers: seed(1); rand(2) on the legacy global generator, scaled to [-1, 1]
    np.random.seed(1)
    r = np.random.rand(2)
    m = plan_of(tmp_path, "", options=("seed=1,2",), overrides=("rng=legacy",)).members
    assert start_points(m)[0].tolist() == (-1.0 + r * 2.0).tolist()


# ------------------------------------------------------------------------------ masking and hits


def ref_gd_sphere(x, alpha, iterations, f_target=None, grad_norm=None):
    """Rows (iteration, f, grad_norm, step_norm, x0, x1) of gd on x0^2 + x1^2, Python floats,
    until the budget, a stop rule, or the first non-finite figure (the runner's rules)."""
    rows = [(0, x[0] * x[0] + x[1] * x[1], math.sqrt((2 * x[0]) ** 2 + (2 * x[1]) ** 2), 0.0, *x)]
    for t in range(1, iterations + 1):
        step = [-((2.0 * xi) * alpha) for xi in x]
        x = [xi + si for xi, si in zip(x, step)]
        g = [2.0 * xi for xi in x]
        f = x[0] * x[0] + x[1] * x[1]
        gn = math.sqrt(g[0] * g[0] + g[1] * g[1])
        sn = math.sqrt(step[0] * step[0] + step[1] * step[1])
        rows.append((t, f, gn, sn, *x))
        if not all(map(math.isfinite, (f, gn, sn))):
            return rows, "diverged", "nonfinite"
        if f_target is not None and f <= f_target:
            return rows, "completed", "f_target"
        if grad_norm is not None and gn <= grad_norm:
            return rows, "completed", "grad_norm"
    return rows, "completed", "iterations"


MASK_CFG = """\
name: mask
objective: sphere
start: [0.5, 0.25]
algorithm: {name: gd}
iterations: 600
"""


def read_members(folder: Path) -> tuple[dict[int, dict], dict[int, list[list[str]]]]:
    summary = json.loads((folder / "summary.json").read_text())
    rows = {r["member"]: r for r in summary["rows"]}
    traces: dict[int, list[list[str]]] = {}
    for p in sorted((folder / "traces").glob("batch-*.csv")):
        with open(p, newline="") as f:
            for rec in list(csv.reader(f))[1:]:
                traces.setdefault(int(rec[0]), []).append(rec[1:])
    return rows, traces


def same_rows(got: list[list[str]], ref: list[tuple]) -> bool:
    """Iteration and x bit for bit; f and the norms to 2 ulp (numpy's vecdot may sum with an FMA
    where the reference rounds twice)."""
    if len(got) != len(ref):
        return False
    for g, r in zip(got, ref):
        if int(g[0]) != r[0] or [float(v) for v in g[4:]] != list(r[4:]):
            return False
        for a, b in zip(map(float, g[1:4]), r[1:4]):
            if not (a == b or abs(a - b) <= 2 * math.ulp(b)):
                return False
    return True


@pytest.mark.parametrize(
    "stop, key", [("stop: {f_target: 1.0e-9}\n", "f_target"), ("stop: {grad_norm: 1.0e-4}\n", "grad_norm")]
)
def test_stopped_and_diverged_members_are_frozen_while_others_go_on(tmp_path, stop, key):
    # alpha 0.25 halves x, 0.375 quarters it, 1.5 doubles it with a sign flip (exact in binary),
    # 1e-3 creeps and uses the whole budget
    alphas = [0.25, 0.375, 1.5, 1e-3]
    cfg = write(tmp_path, MASK_CFG + stop + "sweep: {algorithm.alpha: [0.25, 0.375, 1.5, 0.001]}\n")
    res = invoke("run", cfg, "--runs-dir", tmp_path / "runs", "--workers", "1")
    assert res.exit_code == 1, res.output  # a member diverged
    (folder,) = (tmp_path / "runs").iterdir()
    rows, traces = read_members(folder)
    assert len(list((folder / "traces").glob("*.csv"))) == 1  # one batch: masking, not separate runs
    limits = {"f_target": 1e-9} if key == "f_target" else {"grad_norm": 1e-4}
    for m, alpha in enumerate(alphas):
        ref, status, reason = ref_gd_sphere([0.5, 0.25], alpha, 600, **limits)
        assert same_rows(traces[m], ref), (m, alpha)  # every row, and no row after the stop
        assert (rows[m]["status"], rows[m]["stop_reason"], rows[m]["iterations"]) == (
            status,
            reason,
            ref[-1][0],
        )
    # by hand: f_t = 0.3125 * 4^-t (alpha 0.25) and 0.3125 * 16^-t (0.375); gn = 2 sqrt(f)
    if key == "f_target":  # first t with f_t <= 1e-9
        assert [rows[m]["iterations"] for m in (0, 1)] == [15, 8]
    else:  # first t with 2 sqrt(0.3125) 2^-t <= 1e-4, resp. 4^-t
        assert [rows[m]["iterations"] for m in (0, 1)] == [14, 7]
    # the doubling member: |g0| = 2^t overflows g0*g0 at t = 512, before f does
    assert rows[2]["iterations"] == 512 and rows[2]["final_f"] == math.ldexp(0.3125, 1024)
    assert rows[3]["iterations"] == 600 and rows[3]["stop_reason"] == "iterations"
    with open(folder / "summary.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["status"] for r in table] == ["completed", "completed", "diverged", "completed"]
    assert table[2]["stop_reason"] == "nonfinite" and table[0]["stop_reason"] == key


def test_hit_columns_match_crossings_worked_out_by_hand(tmp_path):
    cfg = write(tmp_path, MASK_CFG.replace("600", "40") + "sweep: {algorithm.alpha: [0.25, 0.375, 0.001]}\n")
    res = invoke("run", cfg, "--runs-dir", tmp_path / "runs", "--workers", "1")
    assert res.exit_code == 0, res.output
    (folder,) = (tmp_path / "runs").iterdir()
    with open(folder / "summary.csv", newline="") as f:
        table = list(csv.DictReader(f))
    cols = [f"hit_1e-{k}" for k in range(1, 9)]
    got = [[int(r[c]) if r[c] else None for c in cols] for r in table]
    # f_t = 0.3125 q^t with q = 1/4 (alpha 0.25) or 1/16 (alpha 0.375): the first t with
    # f_t <= 10^-k is ceil(log(0.3125 * 10^k) / log(1/q))
    for q, row in ((4, got[0]), (16, got[1])):
        assert row == [math.ceil(math.log(0.3125 * 10**k) / math.log(q)) for k in range(1, 9)]
    assert got[0] == [1, 3, 5, 6, 8, 10, 11, 13]
    assert got[1] == [1, 2, 3, 3, 4, 5, 6, 7]
    # alpha 1e-3 for 40 steps: f_40 = 0.3125 (1 - 2e-3)^80 = 0.266 > 0.1: no target reached
    assert got[2] == [None] * 8
    js = json.loads((folder / "summary.json").read_text())["rows"]
    assert [r["hit_1e-6"] for r in js] == [10, 5, None]


def test_failed_and_pending_rows_in_the_summary_are_explicit(tmp_path):
    """A run that fails (a user objective raising mid-run) keeps the other batch's results."""
    mod = tmp_path / "raising_obj_mask.py"
    mod.write_text(
        "import numpy as np\n"
        "def f(x):\n"
        "    if np.any(np.abs(x) < 0.1):\n"
        "        raise ValueError('too close to the origin')\n"
        "    return np.sum(x * x, axis=-1)\n"
        "def g(x):\n"
        "    return 2.0 * x\n"
    )
    cfg = write(
        tmp_path,
        "name: raising\nobjective: sphere\nbounds: [[0.5, 1.0], [0.5, 1.0]]\n"
        "algorithm: {name: gd, alpha: 0.1}\niterations: 50\n"
        "sweep:\n  objective: [sphere, {function: 'raising_obj_mask:f', "
        "gradient: 'raising_obj_mask:g'}]\n  seed: [0, 1]\n",
    )
    import os

    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        res = invoke("run", cfg, "--runs-dir", tmp_path / "runs", "--workers", "1")
    finally:
        os.chdir(old)
    assert res.exit_code == 1
    (folder,) = (tmp_path / "runs").iterdir()
    rows, _ = read_members(folder)
    assert [rows[m]["status"] for m in range(4)] == ["completed", "completed", "failed", "failed"]
    assert "too close to the origin" in rows[2]["error"]
    assert rows[2]["iterations"] is None
    assert res.stderr.count("failed: ") == 2  # reported as they happen, one line per member


def test_member_order_is_the_product_order(tmp_path):
    cfg = write(tmp_path, BASE + "sweep: {algorithm.alpha: [0.1, 0.2, 0.3], seed: [5, 6]}\n")
    res = invoke("run", cfg, "--runs-dir", tmp_path / "runs", "--workers", "1", "--quiet")
    assert res.exit_code == 0
    (folder,) = (tmp_path / "runs").iterdir()
    with open(folder / "summary.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [(r["member"], r["algorithm.alpha"], r["seed"]) for r in table] == [
        (str(i), str(a), str(s)) for i, (a, s) in enumerate(itertools.product([0.1, 0.2, 0.3], [5, 6]))
    ]


def test_load_plan_errors_are_config_errors(tmp_path):
    with pytest.raises(ConfigError) as e:
        plan_of(tmp_path, "sweep: {seed: {range: [1001]}, algorithm.alpha: {linspace: [0.1, 0.2, 1000]}}\n")
    assert "the sweep has 1,001,000 members; at most 1,000,000 are allowed" in str(e.value)


def test_final_distances_of_a_batch_equal_each_member_alone():
    # blocks of rows keep the temporaries small (here 209 rows of d = 5000 per block)
    from optrun.execution.results import final_distances
    from optrun.objectives import get_objective

    obj = get_objective("rastrigin").build(5000)
    rng = np.random.default_rng(3)
    xs = rng.standard_normal((500, 5000))
    xs[7, 3], xs[400, 0] = np.inf, np.nan
    got = final_distances(obj, xs)
    with np.errstate(all="ignore"):
        alone = [float(obj.distance_to_optimum(x)) for x in xs]
    assert np.array_equal(np.array(got), np.array(alone), equal_nan=True)
    assert got[7] == np.inf and np.isnan(got[400])
    assert final_distances(get_objective("sphere").build(3), xs[:2, :3]) == [
        float(np.sqrt(np.sum(xs[0, :3] ** 2))),
        float(np.sqrt(np.sum(xs[1, :3] ** 2))),
    ]
