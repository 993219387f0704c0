"""Pairing by seed: which groups are paired (the same seeds, one to one, on one problem) and which
are not (no seed in common, some seeds in common, a repeated seed, two problems, no seed axis),
pairs matched by seed and not by position, what the outputs say, and the gate on paired tests."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner
from handmade import gaps, write_sweep

from optrun.cli import cli
from optrun.compare import compare_sweeps, gate_sweeps, seed_pairs, wilcoxon_signed_rank
from optrun.compare.stats import mann_whitney_u
from optrun.store.select import load_sweep

DAY = iter(f"2025-01-{d:02d}T00:00:00.000Z" for d in range(1, 29))


def sweep(tmp_path, name, seeds, values, **axes):
    """A one-configuration sweep (or more with ``axes``) with these seeds and f - f* values."""
    return load_sweep(
        write_sweep(tmp_path / "runs", name, {**axes, "seed": list(seeds)}, gaps(values), started=next(DAY))
    )


def test_same_seeds_are_paired_by_seed_not_by_position(tmp_path):
    # B lists its seeds backwards: by position the pairs would be (0, 5), (1, 4) ...
    a_vals = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]  # seeds 0..5
    b_vals = [6.5, 4.9, 4.2, 3.0, 1.8, 1.2]  # seeds 5, 4, 3, 2, 1, 0
    a = sweep(tmp_path, "a", range(6), a_vals)
    b = sweep(tmp_path, "b", range(5, -1, -1), b_vals)
    c = compare_sweeps([a, b])
    (t,) = c.tests
    by_seed = wilcoxon_signed_rank(a_vals, b_vals[::-1])  # seed k of A with seed k of B
    # d = -0.2 -0.8 0 0.1 0.1 -0.5: a zero (seed 2) and a tie: the sign-flip enumeration
    assert (t.test, t.n_pairs, t.n_a, t.n_b, t.u, t.method) == ("wilcoxon", 6, 6, 6, None, "permutation")
    assert (t.w_plus, t.w_minus, t.p_value) == (by_seed.w_plus, by_seed.w_minus, by_seed.p_value)
    assert by_seed.p_value != wilcoxon_signed_rank(a_vals, b_vals).p_value  # position would differ
    assert t.prob_a_better == (3 + 0.5) / 6  # lower on seeds 0, 1, 5; equal on seed 2
    assert "(paired, p = " in t.line and "6 pairs by seed" in t.line and "Wilcoxon signed-rank" in t.line
    assert not any("paired" in n for n in c.notes)


def test_pairing_removes_the_seeds_luck(tmp_path):
    """The seed moves both values alike (a hard seed is hard for both): Mann-Whitney sees two
    overlapping samples, the pairs show B worse on every seed."""
    luck = [1.0, 10.0, 100.0, 3.0, 30.0, 300.0, 7.0, 70.0]
    a = sweep(tmp_path, "a", range(8), luck)
    b = sweep(tmp_path, "b", range(8), [v * 1.1 for v in luck])
    (t,) = compare_sweeps([a, b]).tests
    assert t.test == "wilcoxon" and t.p_value == 2 / 2**8 and t.better == t.a
    assert mann_whitney_u(luck, [v * 1.1 for v in luck]).p_value > 0.5  # unpaired: nothing to see
    assert gate_sweeps(compare_sweeps([a, b])).exit_code == 1  # B worse, significantly (8 pairs)


@pytest.mark.parametrize(
    "seeds_b, note",
    [
        (range(100, 106), None),  # no seed in common: independent samples, nothing to say
        (range(4), "share 4 of their seeds (6 and 4 members)"),  # B has fewer
        ([0, 1, 2, 3, 4, 9], "share 5 of their seeds (6 and 6 members)"),  # one seed differs
        ([0, 0, 1, 2, 3, 4], "a seed repeats within a side"),
    ],
)
def test_groups_without_a_partner_for_every_member_are_not_paired(tmp_path, seeds_b, note):
    a_vals = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    b_vals = [1.5, 2.5, 3.5, 4.5, 5.5, 6.5][: len(seeds_b)]
    a, b = sweep(tmp_path, "a", range(6), a_vals), sweep(tmp_path, "b", seeds_b, b_vals)
    c = compare_sweeps([a, b])
    (t,) = c.tests
    assert (t.test, t.n_pairs, t.w_plus) == ("mann-whitney", None, None)
    ref = mann_whitney_u(a_vals, b_vals)
    assert (t.u, t.p_value) == (ref.u1, ref.p_value)
    said = [n for n in c.notes if "not paired" in n or "cannot be paired" in n]
    if note is None:
        assert said == []
    else:
        (line,) = said
        assert note in line and line.startswith("A and B") and "Mann-Whitney" in line


def test_two_problems_or_no_seed_axis_are_not_paired(tmp_path):
    rows = gaps([1.0, 2, 3, 4, 5, 1.5, 2.5, 3.5, 4.5, 5.5])
    p = write_sweep(
        tmp_path / "runs", "objs", {"objective.name": ["sphere", "rosenbrock"], "seed": range(5)}, rows
    )
    c = compare_sweeps([load_sweep(p)], group_by="objective.name")
    assert [t.test for t in c.tests] == ["mann-whitney"]  # same seeds, two problems: no common numbers
    a, b = c.groups
    assert a.seeds == [0, 1, 2, 3, 4] and seed_pairs(a, b).pairs is None
    plain = write_sweep(
        tmp_path / "runs", "alphas", {"algorithm.alpha": [0.1, 0.2]}, gaps([1.0, 2.0]), started=next(DAY)
    )
    g1, g2 = compare_sweeps([load_sweep(plain)]).groups
    assert g1.seeds is None and seed_pairs(g1, g2).pairs is None  # no seed axis: nothing to pair by


def test_group_by_pairs_each_configuration_and_outputs_say_so(tmp_path):
    # adam and amsgrad at two step sizes, 6 seeds; amsgrad lower on every seed at alpha 0.1
    adam = [3.0, 5, 4, 6, 2, 7] + [1.0, 1, 1, 1, 1, 1]
    ams = [2.0, 4, 3, 5, 1, 6] + [1.0, 2, 0.5, 3, 0.25, 4]
    p = write_sweep(
        tmp_path / "runs",
        "alg",
        {"algorithm.name": ["adam", "amsgrad"], "algorithm.alpha": [0.1, 0.2], "seed": list(range(6))},
        gaps(adam + ams),
    )
    runs = os.path.dirname(p)
    args = ["compare", "-1", "--group-by", "algorithm.name", "--runs-dir", runs]
    j = json.loads(CliRunner().invoke(cli, [*args, "--format", "json"]).stdout)
    t1, t2 = j["tests"]
    assert (t1["test"], t1["n_pairs"], t1["w_plus"], t1["w_minus"], t1["w_min"]) == (
        "wilcoxon",
        6,
        21.0,
        0.0,
        0.0,
    )
    assert t1["p_value"] == 2 / 64 and t1["better"] == "algorithm=amsgrad, alpha=0.1" and t1["u"] is None
    # alpha 0.2: d = adam - amsgrad = 0 -1 0.5 -2 0.75 -3 (a zero): W+ = 1 + 2 = 3, W- = 3 + 4 + 5 = 12
    assert (t2["n_pairs"], t2["w_plus"], t2["w_minus"], t2["method"]) == (6, 3.0, 12.0, "permutation")
    text = CliRunner().invoke(cli, args, env={"NO_COLOR": "1", "COLUMNS": "120"}).stdout
    assert (
        "Wilcoxon signed-rank tests of the members paired by seed (two-sided, significance level 0.05):"
        in text
    )
    assert "Mann-Whitney" not in text
    row = next(line.split() for line in text.splitlines() if line.startswith("alpha=0.1 "))
    assert row == ["alpha=0.1", "6", "4.5", "3.5", "0", "0.0312", "0.00", "B"]
    md = CliRunner().invoke(cli, [*args, "--format", "markdown"]).stdout
    assert "| configuration | pairs | median A | median B | W (min) | p | P(A better) | better |" in md
    assert (
        "algorithm=amsgrad, alpha=0.1 beats algorithm=adam, alpha=0.1 on final f - f* (paired, p = 0.0312"
        in md
    )


def test_mixed_tests_get_a_table_each(tmp_path):
    """Three sides against the first: one shares its seeds (paired), one does not (Mann-Whitney)."""
    base = sweep(tmp_path, "base", range(6), [1.0, 2, 3, 4, 5, 6])
    same = sweep(tmp_path, "same", range(6), [2.0, 3, 4, 5, 6, 7])
    other = sweep(tmp_path, "other", range(50, 56), [2.0, 3, 4, 5, 6, 7])
    c = compare_sweeps([base, same, other])
    assert [t.test for t in c.tests] == ["wilcoxon", "mann-whitney"]
    runs = str(tmp_path / "runs")
    text = (
        CliRunner()
        .invoke(cli, ["compare", "-3", "-2", "-1", "--runs-dir", runs], env={"COLUMNS": "150"})
        .stdout
    )
    mw, wx = text.index("Mann-Whitney U tests across seeds"), text.index("Wilcoxon signed-rank tests")
    assert mw < wx  # independent samples first, then the pairs
    assert "n A   n B" in text[mw:wx] and "pairs" in text[wx:]


def test_gate_on_five_pairs_leaves_the_median_to_decide(tmp_path):
    # five pairs: the smallest two-sided p is 2/32 > 0.05, so the test could never find B worse
    a = sweep(tmp_path, "a", range(5), [1.0, 2, 3, 4, 5])
    b = sweep(tmp_path, "b", range(5), [1.5, 2.5, 3.5, 4.5, 5.5])
    g = gate_sweeps(compare_sweeps([a, b]))
    assert g.exit_code == 1 and "paired, p = 0.0625, not tested: 5 pairs cannot reach p < 0.05" in g.line
    assert gate_sweeps(compare_sweeps([b, a])).exit_code == 0
    assert gate_sweeps(compare_sweeps([a, b], alpha=0.1)).exit_code == 1  # 0.0625 < 0.1: tested, worse
    six = gate_sweeps(
        compare_sweeps(
            [
                sweep(tmp_path, "c", range(6), [1.0, 2, 3, 4, 5, 6]),
                sweep(tmp_path, "d", range(6), [1.0, 2, 3, 4, 5, 6.5]),
            ]
        )
    )
    assert six.exit_code == 0 and "paired, p = 1 >= 0.05" in six.line  # one seed worse: not significant


def test_values_per_seed_are_paired_with_infinities(tmp_path):
    """A diverged member counts inf; two diverged on one seed are a tie (a zero difference)."""
    a = sweep(tmp_path, "a", range(7), [1.0, None, 2, 3, 4, 5, None])
    b = sweep(tmp_path, "b", range(7), [2.0, None, 3, 4, 5, 6, 1])
    (t,) = compare_sweeps([a, b]).tests
    ref = wilcoxon_signed_rank(
        np.array([1.0, np.inf, 2, 3, 4, 5, np.inf]), np.array([2.0, np.inf, 3, 4, 5, 6, 1])
    )
    assert t.test == "wilcoxon" and (t.w_plus, t.p_value) == (ref.w_plus, ref.p_value) and ref.zeros == 1
