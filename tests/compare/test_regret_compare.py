"""Online runs and sweeps are ranked by final average regret R_T / T (lower is better) when every
run or member records it; a --metric still wins; anything without it keeps ranking by f."""

from __future__ import annotations

import csv
import io
import json
import os

import numpy as np
import pytest
from click.testing import CliRunner
from handmade import REGRET_COLS, gaps, regrets, write_run, write_sweep

from optrun.cli import cli
from optrun.compare import compare_runs, compare_sweeps, gate, ranked_metric, wilcoxon_signed_rank
from optrun.store.run import read_run
from optrun.store.select import load_sweep


def invoke(runs, *args, env=None):
    return CliRunner().invoke(
        cli, [*map(str, args), "--runs-dir", str(runs)], env={"NO_COLOR": "1", **(env or {})}
    )


def online_run(runs, name, f, regret, day):
    return write_run(
        runs,
        f"2025010{day}-000000.000-{name}-00000{day}",
        f,
        regret=regret,
        started=f"2025-01-0{day}T00:00:00.000Z",
    )


@pytest.fixture
def two_online(tmp_path):
    """adam: lower final f but higher regret (R = 0 3 6 9 12 -> R_T / T = 3); amsgrad the reverse
    (R = 0 1 2 2 2 -> 0.5): ranked by f, adam is best; by regret, amsgrad."""
    runs = tmp_path / "runs"
    a = online_run(runs, "adam", [1.0, 0.5, 0.2, 0.1, 0.05], [0.0, 3, 6, 9, 12], 1)
    b = online_run(runs, "amsgrad", [1.0, 0.8, 0.6, 0.4, 0.3], [0.0, 1, 2, 2, 2], 2)
    return runs, read_run(a), read_run(b)


def test_the_choice_is_one_function():
    online = [{"final_avg_regret": 0.2}, {"final_avg_regret": None}]  # a diverged one still has the key
    assert ranked_metric(None, online, "final_f") == "final_avg_regret"
    assert ranked_metric(None, [*online, {"final_f": 1.0}], "final_f") == "final_f"  # not every one
    assert ranked_metric(None, [], "f_gap") == "f_gap"
    assert ranked_metric("final-f", online, "f_gap") == "final_f"  # --metric wins
    assert ranked_metric("avg_regret", [], "f_gap") == "final_avg_regret"


def test_online_runs_are_ranked_by_final_average_regret(two_online):
    _, a, b = two_online
    c = compare_runs([a, b])
    assert c.metric == "final_avg_regret" and c.best == [1]
    rows = {r.key: r for r in c.rows}
    assert rows["final_avg_regret"].values == [3.0, 0.5] and rows["final_avg_regret"].best == [1]
    assert rows["final_regret"].values == [12.0, 2.0] and rows["final_regret"].label == "final regret"
    assert rows["final_f"].best == [0]  # f still shown and marked on its own row
    assert c.to_dict()["metric"] == "final_avg_regret"
    by_f = compare_runs([a, b], metric="final_f")
    assert by_f.metric == "final_f" and by_f.best == [0]
    ok = gate(c)  # the baseline (first) is adam, 3.0; the candidate amsgrad, 0.5: not worse
    assert ok.exit_code == 0 and "on final average regret" in ok.line
    assert gate(compare_runs([b, a])).exit_code == 1  # adam as the candidate is worse


def test_cli_says_what_it_ranks_on(two_online):
    runs, _, _ = two_online
    t = invoke(runs, "compare", "-2", "-1", env={"COLUMNS": "120"})
    assert t.exit_code == 0, t.output
    assert "best by final average regret: amsgrad-000002" in t.stdout
    line = next(x for x in t.stdout.splitlines() if x.startswith("final average regret"))
    assert line.split()[3:] == ["3", "0.5", "*"]
    j = json.loads(invoke(runs, "compare", "-2", "-1", "--format", "json").stdout)
    assert j["metric"] == "final_avg_regret" and j["best"] == [j["runs"][1]["id"]]
    rows = {
        r["key"]: r
        for r in csv.DictReader(io.StringIO(invoke(runs, "compare", "-2", "-1", "--format", "csv").stdout))
    }
    assert rows["final_avg_regret"]["label"] == "final average regret"
    f = invoke(runs, "compare", "-2", "-1", "--metric", "final_f")
    assert "best by final f: adam-000001" in f.stdout


def test_a_crashed_online_run_takes_its_regret_from_the_trace(tmp_path):
    runs = tmp_path / "runs"
    a = online_run(runs, "adam", [1.0, 0.5, 0.2], [0.0, 3, 6], 1)
    b = online_run(runs, "amsgrad", [1.0, 0.8, 0.6], [0.0, 1, 2], 2)
    with open(os.path.join(b, "summary.json")) as fh:
        s = json.load(fh)
    for k in ("final_f", "final_regret", "final_avg_regret"):
        s.pop(k)
    s["status"] = "crashed"
    with open(os.path.join(b, "summary.json"), "w") as fh:
        json.dump(s, fh)
    c = compare_runs([read_run(a), read_run(b)])
    assert c.metric == "final_avg_regret"
    assert {r.key: r.values for r in c.rows}["final_avg_regret"] == [3.0, 1.0]  # R_2 / 2 from the trace


def test_runs_without_regret_keep_todays_output_byte_for_byte(tmp_path):
    """An online run against a plain one: not every run has regret, so f decides; the regret rows
    say which run is not online. Two plain runs: no regret row at all."""
    runs = tmp_path / "runs"
    online_run(runs, "adam", [1.0, 0.5, 0.2], [0.0, 3, 6], 1)
    write_run(runs, "20250102-000000.000-gd-000002", [1.0, 0.4, 0.3], started="2025-01-02T00:00:00.000Z")
    write_run(runs, "20250103-000000.000-gd-000003", [1.0, 0.6, 0.1], started="2025-01-03T00:00:00.000Z")
    mixed = invoke(runs, "compare", "-3", "-2").stdout
    assert "best by final f: adam-000001" in mixed and "not online" in mixed
    plain = invoke(runs, "compare", "-2", "-1")
    assert "regret" not in plain.stdout and "best by final f: gd-000003" in plain.stdout
    j = json.loads(invoke(runs, "compare", "-2", "-1", "--format", "json").stdout)
    assert j["metric"] == "final_f" and not any("regret" in r["key"] for r in j["rows"])


@pytest.fixture
def online_sweep(tmp_path):
    """adam and amsgrad on 8 seeds: amsgrad's R_T / T lower on every seed."""
    adam = [0.20, 0.19, 0.21, 0.25, 0.18, 0.22, 0.2, 0.23]
    ams = [0.01, 0.02, 0.015, 0.03, 0.005, 0.02, 0.012, 0.018]
    p = write_sweep(
        tmp_path / "runs",
        "online",
        {"algorithm.name": ["adam", "amsgrad"], "seed": list(range(8))},
        regrets(adam) + regrets(ams),
        columns=REGRET_COLS,
    )
    return p, adam, ams


def test_online_sweeps_are_compared_on_final_average_regret(online_sweep):
    p, adam, ams = online_sweep
    c = compare_sweeps([load_sweep(p)], group_by="algorithm.name")
    assert (c.metric, c.metric_label) == ("final_avg_regret", "final average regret")
    assert [g.median for g in c.groups] == [float(np.median(adam)), float(np.median(ams))]
    (t,) = c.tests
    ref = wilcoxon_signed_rank(adam, ams)
    assert (t.test, t.n_pairs, t.p_value) == ("wilcoxon", 8, ref.p_value) and t.better == "algorithm=amsgrad"
    assert not any("f* is unknown" in n for n in c.notes)  # f is not what is compared
    by_f = compare_sweeps([load_sweep(p)], metric="final_f", group_by="algorithm.name")
    assert by_f.metric == "final_f" and by_f.tests[0].p_value == 1.0  # every final f 0.5: no difference


def test_cli_on_an_online_sweep_names_the_metric(online_sweep):
    runs = os.path.dirname(online_sweep[0])
    t = invoke(runs, "compare", "-1", "--group-by", "algorithm.name", env={"COLUMNS": "120"})
    assert t.exit_code == 0, t.output
    assert t.stdout.startswith("final average regret across seeds (lower is better)")
    header = next(x for x in t.stdout.splitlines() if x.startswith("configuration"))
    assert "median final average regret" in header
    assert "algorithm=amsgrad beats algorithm=adam on final average regret (paired, p = 0.00781" in t.stdout
    j = json.loads(invoke(runs, "compare", "-1", "--format", "json").stdout)
    assert (j["metric"], j["metric_label"]) == ("final_avg_regret", "final average regret")


def test_a_sweep_with_a_member_without_regret_keeps_f(tmp_path):
    rows = regrets([0.1, 0.2]) + gaps([1.0, 2.0])
    p = write_sweep(
        tmp_path / "runs",
        "mixed",
        {"algorithm.name": ["adam", "gd"], "seed": [0, 1]},
        rows,
        columns=REGRET_COLS,
    )
    c = compare_sweeps([load_sweep(p)])
    assert c.metric in ("f_gap", "final_f")  # not every member is online: f decides, as today


def test_a_failed_member_of_an_online_sweep_counts_as_online(tmp_path):
    """A failed member has no regret (nor f) in its row: the members with results decide."""
    rows = regrets([0.1, 0.2, 0.3])
    rows[1] = {"status": "failed", "final_f": None, "f_gap": None, "f_min": None}
    p = write_sweep(tmp_path / "runs", "failed", {"seed": [0, 1, 2]}, rows, columns=REGRET_COLS)
    (g,) = compare_sweeps([load_sweep(p)]).groups
    assert g.values.tolist() == [0.1, float("inf"), 0.3] and g.missing == 1
