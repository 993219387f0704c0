"""Comparing sweeps: per-configuration statistics on synthetic sweeps with known answers, the
Mann-Whitney verdicts, the ranking of an algorithms x objectives matrix, the CI gate, the formats."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from handmade import gaps, write_sweep

from optrun.cli import cli
from optrun.compare import compare_sweeps, gate_sweeps
from optrun.errors import CompareError
from optrun.store.select import load_sweep, select


@pytest.fixture
def alpha_sweep(tmp_path):
    """alpha 0.1: f - f* = 5 1 4 2 3 (median 3, quartiles 2 and 4), targets 1e-1 reached by 3 of 5 at
    iterations 5 7 9; alpha 0.2: 10 40 (diverged) 20 30 -> 10 20 30 40 inf (median 30, quartiles 20, 40),
    1e-1 reached by 2 of 5 at 20 and 30."""
    rows = gaps([5.0, 1.0, 4.0, 2.0, 3.0]) + gaps([10.0, 40.0, None, 20.0, 30.0])
    for r, h in zip(rows, [5, 7, None, 9, None, 20, 30, None, None, None]):
        r["hit_1e-1"] = h
    rows[1]["hit_1e-2"] = 11
    return write_sweep(
        tmp_path / "runs", "alphas", {"algorithm.alpha": [0.1, 0.2], "seed": [0, 1, 2, 3, 4]}, rows
    )


# ------------------------------------------------------------------------------------ statistics


def test_aggregate_known_answers(alpha_sweep):
    c = compare_sweeps([load_sweep(alpha_sweep)])
    a, b = c.groups
    assert (a.label, b.label) == ("alpha=0.1", "alpha=0.2") and c.metric == "f_gap"
    assert (a.n, a.median, a.q1, a.q3, a.missing) == (5, 3.0, 2.0, 4.0, 0)
    assert (b.n, b.median, b.q1, b.q3, b.missing) == (5, 30.0, 20.0, 40.0, 1)
    assert a.success[1e-1] == 0.6 and a.hit_median[1e-1] == 7.0
    assert a.success[1e-2] == 0.2 and a.hit_median[1e-2] == 11.0
    assert b.success[1e-1] == 0.4 and b.hit_median[1e-1] == 25.0
    assert b.success[1e-2] == 0.0 and b.hit_median[1e-2] is None
    assert c.best == [0] and c.tests == [] and c.ranking is None
    assert any("1 member without a value" in n for n in c.notes)
    assert a.key == {"algorithm.alpha": 0.1} and b.counts == {"completed": 4, "diverged": 1}


def test_iterations_to_target_metric(alpha_sweep):
    c = compare_sweeps([load_sweep(alpha_sweep)], metric="iterations_to_target", target=0.1)
    # 5 7 inf 9 inf -> median 9; 20 30 inf inf inf -> median inf
    assert [g.median for g in c.groups] == [9.0, math.inf] and c.metric_label == "iterations to 1e-1"
    with pytest.raises(CompareError, match="--target 0.003 is not one of them"):
        compare_sweeps([load_sweep(alpha_sweep)], metric="iterations_to_target", target=0.003)


def test_unknown_f_star_falls_back_to_final_f(tmp_path):
    rows = [{"f_gap": None, "f_min": None, "final_f": v} for v in (3.0, 1.0, 2.0)]
    p = write_sweep(tmp_path, "nofstar", {"seed": [0, 1, 2]}, rows)
    c = compare_sweeps([load_sweep(p)])
    assert c.metric == "final_f" and c.groups[0].median == 2.0
    assert any("f* is unknown" in n for n in c.notes)


def test_group_by_gives_an_exact_paired_test(alpha_sweep):
    c = compare_sweeps([load_sweep(alpha_sweep)], group_by="alpha")
    assert c.sides == ["alpha=0.1", "alpha=0.2"]
    (t,) = c.tests
    # both sides have seeds 0..4: paired by seed. alpha=0.1 is lower on every seed (inf included),
    # no ties: W+ = 0, W- = 15, and the exact two-sided p = 2 / 2^5 = 0.0625 (five pairs cannot
    # reach 0.05; Mann-Whitney of the same values, unpaired, would say 2 / 252)
    assert (t.a, t.b, t.test, t.n_pairs, t.u, t.method) == (
        "alpha=0.1",
        "alpha=0.2",
        "wilcoxon",
        5,
        None,
        "exact",
    )
    assert (t.w_plus, t.w_minus, t.statistic) == (0.0, 15.0, 0.0)
    assert t.p_value == 2 / 32
    assert t.better is None and t.prob_a_better == 1.0
    assert t.line.startswith(
        "no significant difference in final f - f* between alpha=0.1 and alpha=0.2 (paired, p = 0.0625 >= 0.05)"
    )


def two_sweeps(tmp_path, base_values, cand_values, cand_seed=100):
    """Two one-configuration sweeps; the candidate's seeds start at ``cand_seed`` (100: no seed in
    common, independent samples and the Mann-Whitney test; 0: the same seeds, paired)."""
    d = tmp_path / "runs"
    a = write_sweep(
        d,
        "base",
        {"seed": list(range(len(base_values)))},
        gaps(base_values),
        started="2025-01-01T00:00:00.000Z",
    )
    b = write_sweep(
        d,
        "cand",
        {"seed": list(range(cand_seed, cand_seed + len(cand_values)))},
        gaps(cand_values),
        started="2025-01-02T00:00:00.000Z",
    )
    return load_sweep(a), load_sweep(b)


def test_two_sweeps_test_and_gate_both_ways(tmp_path):
    base, cand = two_sweeps(tmp_path, [1.0, 2, 3, 4, 5, 6], [11.0, 12, 13, 14, 15, 16])
    c = compare_sweeps([base, cand])
    (t,) = c.tests
    assert t.p_value == pytest.approx(2 / math.comb(12, 6), rel=1e-15) and t.better == t.a
    g = gate_sweeps(c)
    assert g.exit_code == 1 and g.line.startswith("worse: 1 of 1 candidate configurations")
    back = gate_sweeps(compare_sweeps([cand, base]))
    assert back.exit_code == 0 and back.line.startswith("ok: no candidate configuration is worse")
    assert gate_sweeps(c, rtol=10.0).exit_code == 0  # 13.5 <= 3.5 + 10 * 3.5


def test_gate_needs_significance_with_five_or_more_members(tmp_path):
    # candidate's median is worse (4.0 vs 3.5) but the samples overlap: p is large, not worse
    base, cand = two_sweeps(tmp_path, [1.0, 2, 3, 4, 5, 6], [1.5, 2.5, 3.5, 4.5, 5.5, 6.5])
    c = compare_sweeps([base, cand])
    assert c.tests[0].p_value > 0.5 and c.tests[0].better is None
    assert c.tests[0].line.startswith("no significant difference in final f - f* between")
    g = gate_sweeps(c)
    assert g.exit_code == 0 and ">= 0.05" in g.line


def test_gate_with_few_members_uses_the_median_alone(tmp_path):
    base, cand = two_sweeps(tmp_path, [1.0, 2, 3], [1.1, 2.1, 3.1])
    g = gate_sweeps(compare_sweeps([base, cand]))
    assert g.exit_code == 1 and "not tested: fewer than 5 members" in g.line


def test_gate_needs_two_sides(alpha_sweep):
    with pytest.raises(CompareError, match="needs a BASELINE and a CANDIDATE"):
        gate_sweeps(compare_sweeps([load_sweep(alpha_sweep)]))


def test_matched_configurations_are_tested_pairwise(tmp_path):
    d = tmp_path / "runs"
    axes = {"algorithm.alpha": [0.1, 0.2], "seed": [0, 1, 2, 3, 4]}
    a = write_sweep(
        d, "a", axes, gaps([1.0, 2, 3, 4, 5, 10, 20, 30, 40, 50]), started="2025-01-01T00:00:00.000Z"
    )
    axes_b = {**axes, "seed": [5, 6, 7, 8, 9]}  # no seed in common with a: independent samples
    b = write_sweep(
        d, "b", axes_b, gaps([6.0, 7, 8, 9, 10, 1, 2, 3, 4, 5]), started="2025-01-02T00:00:00.000Z"
    )
    c = compare_sweeps([load_sweep(a), load_sweep(b)])
    # two sweeps are sides A and B (c.legend says which is which), not their ids in every label
    assert [(t.key, t.better) for t in c.tests] == [
        ({"algorithm.alpha": 0.1}, "A, alpha=0.1"),
        ({"algorithm.alpha": 0.2}, "B, alpha=0.2"),
    ]
    assert c.legend == {"A": os.path.basename(a), "B": os.path.basename(b)}
    assert any("2 tests at significance level 0.05" in n for n in c.notes)


def test_ranking_of_an_algorithms_by_objectives_matrix(tmp_path):
    # medians on p: a 1, b 2, c 3 (ranks 1 2 3); on q: a 5, b 5, c 1 (ranks 2.5 2.5 1)
    # mean ranks: a 1.75, c 2.0, b 2.25
    med = {
        ("a", "p"): 1.0,
        ("a", "q"): 5.0,
        ("b", "p"): 2.0,
        ("b", "q"): 5.0,
        ("c", "p"): 3.0,
        ("c", "q"): 1.0,
    }
    axes = {"algorithm.name": ["a", "b", "c"], "objective.name": ["p", "q"], "seed": [0, 1, 2]}
    rows = []
    for alg, obj in itertools.product(["a", "b", "c"], ["p", "q"]):
        m = med[(alg, obj)]
        rows += gaps([m / 2, m, m * 2])
    c = compare_sweeps([load_sweep(write_sweep(tmp_path, "matrix", axes, rows))])
    rk = c.ranking
    assert rk.entrants == ["a", "c", "b"] and rk.objectives == ["p", "q"]
    assert rk.mean_rank == {"a": 1.75, "b": 2.25, "c": 2.0}
    assert rk.ranks["b"] == {"p": 2.0, "q": 2.5} and rk.medians["c"] == {"p": 3.0, "q": 1.0}
    # best is marked per problem: a on p, c on q
    assert sorted(c.groups[i].label for i in c.best) == [
        "algorithm=a, objective=p",
        "algorithm=c, objective=q",
    ]


def test_real_sweep_medians_match_numpy(tmp_path):
    from optrun.execution.sweep import execute_sweep
    from optrun.sweep import load_plan

    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "name": "real",
                "objective": {"name": "rosenbrock", "dim": 2},
                "algorithm": {"name": "adam", "alpha": 0.01},
                "iterations": 60,
            }
        )
    )
    out = execute_sweep(
        load_plan(str(cfg), (), ["algorithm.alpha=0.01,0.05", "seed=0:7"]), str(tmp_path / "r"), workers=1
    )
    c = compare_sweeps([load_sweep(out.path)])
    for g, alpha in zip(c.groups, (0.01, 0.05)):
        ref = [r["final_f"] - r["f_min"] for r in out.rows if r["algorithm.alpha"] == alpha]
        assert g.n == 7 and g.median == np.median(ref)
        assert g.q1 == pytest.approx(np.percentile(ref, 25), rel=1e-14)
        assert g.q3 == pytest.approx(np.percentile(ref, 75), rel=1e-14)
    pytest.importorskip("matplotlib")
    png = tmp_path / "cmp.png"
    r = invoke(tmp_path / "r", "compare", "-1", "--plot", png, "-q")
    assert r.exit_code == 0, r.output
    assert f"plot: {png}" in r.stderr and png.stat().st_size > 10_000


# ------------------------------------------------------------------------------------ CLI


def invoke(runs, *args):
    return CliRunner().invoke(cli, [*map(str, args), "--runs-dir", str(runs)], env={"NO_COLOR": "1"})


def test_cli_table_json_csv_markdown(alpha_sweep):
    runs = os.path.dirname(alpha_sweep)
    t = invoke(runs, "compare", "-1")
    assert t.exit_code == 0, t.output
    line = next(x for x in t.stdout.splitlines() if x.startswith("alpha=0.1 "))
    assert line.split()[:3] == ["alpha=0.1", "5", "3"] and " * " in line + " " and "60% @ 7" in line
    assert "best by median final f - f*: alpha=0.1 (median 3, IQR 2 .. 4, n = 5)" in t.stdout
    j = json.loads(invoke(runs, "compare", "-1", "--format", "json").stdout)
    assert [g["median"] for g in j["groups"]] == [3.0, 30.0] and j["best"] == ["alpha=0.1"]
    assert j["groups"][1]["q3"] == 40.0 and j["groups"][0]["success"]["1e-1"] == 0.6
    assert j["groups"][1]["median_iterations"]["1e-2"] is None
    text = invoke(runs, "compare", "-1", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [float(r["median"]) for r in rows] == [3.0, 30.0] and rows[0]["best"] == "true"
    assert rows[0]["algorithm.alpha"] == "0.1" and float(rows[1]["success_1e-1"]) == 0.4
    md = invoke(runs, "compare", "-1", "--format", "markdown").stdout
    assert "| **alpha=0.1** | 5 | **3** | 2 .. 4 |" in md


def test_cli_group_by_markdown_and_quiet(alpha_sweep):
    runs = os.path.dirname(alpha_sweep)
    md = invoke(runs, "compare", "-1", "--group-by", "algorithm.alpha", "--format", "markdown").stdout
    assert "Wilcoxon signed-rank tests of the members paired by seed (two-sided" in md
    assert "| alpha=0.1 | alpha=0.2 | 5 | 3 | 30 | 0 | 0.0625 | 1.00 | neither |" in md  # 5 pairs
    q = invoke(runs, "compare", "-1", "--group-by", "alpha", "-q", "--significance", "0.1")
    assert q.exit_code == 0 and q.stdout.count("\n") == 1
    assert q.stdout.startswith("alpha=0.1 beats alpha=0.2 on final f - f* (paired, p = 0.0625 < 0.1)")
    csv_text = invoke(runs, "compare", "-1", "--group-by", "alpha", "--format", "csv").stdout
    tests = list(csv.DictReader(io.StringIO(csv_text.split("\n\n")[1])))
    assert float(tests[0]["p_value"]) == 2 / 32 and tests[0]["better"] == ""
    assert (tests[0]["test"], tests[0]["n_pairs"], tests[0]["u"]) == ("wilcoxon", "5", "")


def test_significance_level_changes_the_verdict_and_alpha_is_its_synonym(tmp_path):
    # p = 2/252 ~ 0.0079 for fully separated groups of 5: significant at 0.05, not at 0.005
    two_sweeps(tmp_path, [1.0, 2, 3, 4, 5], [11.0, 12, 13, 14, 15])
    runs = tmp_path / "runs"
    loose = invoke(runs, "compare", "-2", "-1", "--fail-if-worse", "--significance", "0.05")
    strict = invoke(runs, "compare", "-2", "-1", "--fail-if-worse", "--significance", "0.005")
    synonym = invoke(runs, "compare", "-2", "-1", "--fail-if-worse", "--alpha", "0.005")
    assert loose.exit_code == 1 and strict.exit_code == 0
    assert synonym.exit_code == strict.exit_code and synonym.stdout == strict.stdout
    assert "significance level 0.005" in strict.stdout


def test_cli_gate_exit_codes(tmp_path):
    two_sweeps(tmp_path, [1.0, 2, 3, 4, 5, 6], [11.0, 12, 13, 14, 15, 16])
    runs = tmp_path / "runs"
    worse = invoke(runs, "compare", "-2", "-1", "--fail-if-worse")
    assert worse.exit_code == 1 and "worse: 1 of 1 candidate" in worse.stdout
    ok = invoke(runs, "compare", "-1", "-2", "--fail-if-worse")
    assert ok.exit_code == 0 and "ok: no candidate" in ok.stdout
    j = invoke(runs, "compare", "-2", "-1", "--fail-if-worse", "--format", "json")
    assert j.exit_code == 1 and json.loads(j.stdout)["gate"]["exit_code"] == 1


@pytest.mark.parametrize(
    "args, needle",
    [  # -2 is the sweep, -1 a single run made after it
        (["-2", "--group-by", "beta"], "has no axis 'beta'"),
        (["-2", "--alpha", "1.5"], "--significance must be a number between 0 and 1"),
        (["-2", "--significance", "-0.1"], "--significance must be a number between 0 and 1"),
        (["-2", "--metric", "time_per_iteration"], "sweeps are not compared on time per iteration"),
        (["-2", "--sort", "final_f"], "--sort and --all apply to runs"),
        (["-2", "--fail-if-worse"], "needs a BASELINE and a CANDIDATE"),
        (["-2", "-1"], "compare sweeps with sweeps"),
        (["-1", "-1", "--group-by", "seed"], "--group-by splits sweeps"),
    ],
)
def test_cli_bad_input_exit_2(alpha_sweep, tmp_path, args, needle):
    from optrun.config import load_config
    from optrun.execution.run import execute

    runs = os.path.dirname(alpha_sweep)
    cfg = tmp_path / "one.yaml"
    cfg.write_text("objective: sphere\nalgorithm: {name: gd, alpha: 0.1}\niterations: 3\n")
    execute(load_config(str(cfg)), runs)
    r = invoke(runs, "compare", *args)
    assert r.exit_code == 2, r.output
    (error,) = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
    assert needle in error and "Traceback" not in r.stderr


def test_plot_of_a_sweep_without_traces_is_an_error(alpha_sweep, tmp_path):
    pytest.importorskip("matplotlib")
    from optrun.errors import OptrunError
    from optrun.plot import plot_sweeps

    with pytest.raises(OptrunError, match="no trace rows|batch-0000.csv is missing"):
        plot_sweeps([load_sweep(alpha_sweep)], str(tmp_path / "x.png"))  # hand-made: no traces


# ------------------------------------------------------------------------------------ sides and their labels

SELECTION_NOTE = "are tested, which favours both equally but is a selection"


@pytest.fixture
def two_axes(tmp_path):
    """algorithm.alpha (0.1, 0.2) x algorithm.beta1 (0.9 only) x seed (5): beta1 is the same everywhere."""
    rows = gaps([5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 40.0, 50.0, 20.0, 30.0])
    return write_sweep(
        tmp_path / "runs",
        "two",
        {"algorithm.alpha": [0.1, 0.2], "algorithm.beta1": [0.9], "seed": [0, 1, 2, 3, 4]},
        rows,
    )


def test_one_configuration_a_side_is_tested_without_a_selection_note(two_axes):
    runs = os.path.dirname(two_axes)
    r = invoke(runs, "compare", "-1:alpha=0.1", "-1:alpha=0.2")
    assert r.exit_code == 0, r.output
    assert SELECTION_NOTE not in r.stdout and "different configurations" not in r.stdout
    j = json.loads(invoke(runs, "compare", "-1:alpha=0.1", "-1:alpha=0.2", "--format", "json").stdout)
    assert [(t["n_a"], t["n_b"], t["median_a"], t["median_b"]) for t in j["tests"]] == [(5, 5, 3.0, 30.0)]
    assert not any("selection" in n for n in j["notes"])


def test_sides_of_several_configurations_match_by_the_other_axes(tmp_path):
    """S:algorithm=adam against S:algorithm=amsgrad: alpha 0.1 with alpha 0.1, 0.2 with 0.2 (not the
    best of each side, which would be a selection)."""
    rows = gaps([1.0, 2, 3, 4, 5] + [10.0, 20, 30, 40, 50] + [6.0, 7, 8, 9, 10] + [1.0, 2, 3, 4, 5])
    p = write_sweep(
        tmp_path / "runs",
        "alg",
        {"algorithm.name": ["adam", "amsgrad"], "algorithm.alpha": [0.1, 0.2], "seed": [0, 1, 2, 3, 4]},
        rows,
    )
    runs = os.path.dirname(p)
    c = compare_sweeps(
        [select("-1:algorithm=adam", runs, groups=True), select("-1:algorithm=amsgrad", runs, groups=True)]
    )
    assert [(t.key["algorithm.alpha"], t.median_a, t.median_b) for t in c.tests] == [
        (0.1, 3.0, 8.0),
        (0.2, 30.0, 3.0),
    ]
    assert not any(SELECTION_NOTE in n for n in c.notes)


def test_sides_with_different_configurations_still_say_it_is_a_selection(tmp_path):
    d = tmp_path / "runs"
    a = write_sweep(
        d,
        "a",
        {"algorithm.alpha": [0.1, 0.2], "seed": [0, 1, 2]},
        gaps([1.0, 2, 3, 4, 5, 6]),
        started="2025-01-01T00:00:00.000Z",
    )
    b = write_sweep(
        d,
        "b",
        {"algorithm.alpha": [0.3, 0.4], "seed": [0, 1, 2]},
        gaps([1.0, 2, 3, 4, 5, 6]),
        started="2025-01-02T00:00:00.000Z",
    )
    c = compare_sweeps([load_sweep(a), load_sweep(b)])
    assert len(c.tests) == 1 and any(n.startswith("A and B have different configurations") for n in c.notes)


def test_a_constant_key_leaves_side_labels_too(two_axes):
    """beta1=0.9 is in every configuration: said once, in no label, even when a selector names it."""
    runs = os.path.dirname(two_axes)
    args = ["compare", "-1:beta1=0.9,alpha=0.1", "-1:beta1=0.9,alpha=0.2"]
    j = json.loads(invoke(runs, *args, "--format", "json").stdout)
    assert j["constant"] == {"beta1": 0.9}
    assert j["sides"] == ["alpha=0.1", "alpha=0.2"] and [g["label"] for g in j["groups"]] == j["sides"]
    text = invoke(runs, *args).stdout
    assert "every configuration has beta1=0.9" in text.splitlines()
    assert text.count("beta1=0.9") == 1


def test_a_key_one_sweep_sweeps_and_the_other_sets_alike_is_constant(tmp_path):
    """Baseline sweeps alpha only (beta1 0.9 in its config); the candidate also sweeps beta1 over the
    one value 0.9: every configuration has beta1=0.9, and no label says it."""
    d = tmp_path / "runs"
    base = {
        "name": "x",
        "objective": {"name": "sphere", "dim": 2},
        "algorithm": {"name": "adam", "alpha": 0.1, "beta1": 0.9},
        "iterations": 10,
        "seed": 0,
    }
    a = write_sweep(
        d,
        "a",
        {"algorithm.alpha": [0.1, 0.2], "seed": [0, 1, 2]},
        gaps([1.0, 2, 3, 4, 5, 6]),
        started="2025-01-01T00:00:00.000Z",
        base=base,
    )
    b = write_sweep(
        d,
        "b",
        {"algorithm.alpha": [0.1, 0.2], "algorithm.beta1": [0.9], "seed": [0, 1, 2]},
        gaps([1.0, 2, 3, 4, 5, 6]),
        started="2025-01-02T00:00:00.000Z",
        base=base,
    )
    c = compare_sweeps([load_sweep(a), load_sweep(b)])
    assert c.constant == {"beta1": 0.9}
    assert [g.label for g in c.groups] == ["A, alpha=0.1", "A, alpha=0.2", "B, alpha=0.1", "B, alpha=0.2"]
    beta = write_sweep(
        d,
        "c",
        {"algorithm.alpha": [0.1, 0.2], "algorithm.beta1": [0.8], "seed": [0, 1, 2]},
        gaps([1.0, 2, 3, 4, 5, 6]),
        started="2025-01-03T00:00:00.000Z",
        base=base,
    )
    c = compare_sweeps([load_sweep(a), load_sweep(beta)])  # 0.9 in the config, 0.8 swept: not constant
    assert c.constant == {} and c.groups[2].label == "B, alpha=0.1, beta1=0.8"


def test_group_by_test_table_has_one_configuration_column(tmp_path):
    """--group-by algorithm: each test pairs alpha=x of adam with alpha=x of amsgrad; the table
    names the configuration once and says above it which side is A and which B."""
    rows = gaps([1.0, 2, 3, 4, 5] + [10.0, 20, 30, 40, 50] + [6.0, 7, 8, 9, 10] + [1.0, 2, 3, 4, 5])
    p = write_sweep(
        tmp_path / "runs",
        "alg",
        {"algorithm.name": ["adam", "amsgrad"], "algorithm.alpha": [0.1, 0.2], "seed": [0, 1, 2, 3, 4]},
        rows,
    )
    text = invoke(os.path.dirname(p), "compare", "-1", "--group-by", "algorithm").stdout
    lines = text.splitlines()
    assert "A = algorithm=adam; B = algorithm=amsgrad" in lines
    head = lines.index("A = algorithm=adam; B = algorithm=amsgrad") + 1
    assert lines[head].split()[:3] == ["configuration", "pairs", "median"]  # same seeds: paired
    assert lines[head + 2].split() == ["alpha=0.1", "5", "3", "8", "0", "0.0625", "1.00", "neither"]
    assert lines[head + 3].split() == ["alpha=0.2", "5", "30", "3", "0", "0.0625", "0.00", "neither"]
