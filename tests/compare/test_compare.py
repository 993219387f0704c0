"""optrun.compare (rows, targets ladder, config diff, CI gate) and the `optrun compare` command."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from handmade import BASE_CONFIG, write_run

from optrun.cli import cli
from optrun.compare import TARGETS, compare_runs, first_below, gate, is_worse, rank, run_stats
from optrun.errors import CompareError
from optrun.store.select import load_run


def brute_first_below(its, gap, t):
    for i, g in zip(its, gap):
        if g < t:  # NaN compares False
            return int(i)
    return None


# ------------------------------------------------------------------------------------ targets ladder


def test_first_below_known_crossings():
    gap = np.array([1.0, 0.5, 0.09, 0.2, 0.009, 0.0095, 5e-4, 1e-6, 9.9e-8, 0.0])
    its = np.arange(10) * 3
    hits = first_below(its, gap, TARGETS)
    # 0.09 <= 1e-1 at index 2; 0.009 <= 1e-2 at 4; 5e-4 <= 1e-3 at 6; 1e-6 <= 1e-4, 1e-5 and (not
    # strict: equal counts, as the sweep tables' hit_ columns) 1e-6 at 7; 9.9e-8 <= 1e-7 at 8;
    # 0.0 <= 1e-8 at 9
    assert hits == {1e-1: 6, 1e-2: 12, 1e-3: 18, 1e-4: 21, 1e-5: 21, 1e-6: 21, 1e-7: 24, 1e-8: 27}


def test_first_below_never_and_nan():
    gap = np.array([np.nan, 0.5, np.inf, 0.05, np.nan])
    hits = first_below(np.arange(5), gap, (1.0, 0.1, 0.01))
    assert hits == {1.0: 1, 0.1: 3, 0.01: None}
    assert first_below(np.arange(0), np.array([]), (0.1,)) == {0.1: None}


@pytest.mark.parametrize("seed", range(5))
def test_first_below_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    gap = 10.0 ** rng.uniform(-10, 1, size=300)
    gap[rng.random(300) < 0.05] = np.nan
    its = np.cumsum(rng.integers(1, 4, size=300))
    targets = tuple(10.0 ** -rng.uniform(0, 10, size=12))
    hits = first_below(its, gap, targets)
    assert hits == {t: brute_first_below(its, gap, t) for t in targets}


def test_run_stats_targets_from_trace(tmp_path):
    f = [1.0, 0.3, 0.05, 0.004, 0.0002, 3e-9]
    run = load_run(write_run(tmp_path, "r1", f, summary={"f_min": 0.0}))
    st = run_stats(run)
    assert st.hits == {1e-1: 2, 1e-2: 3, 1e-3: 4, 1e-4: 5, 1e-5: 5, 1e-6: 5, 1e-7: 5, 1e-8: 5}
    assert st.final_f == 3e-9 and st.best_iteration == 5 and st.iterations == 5


def test_targets_use_f_star(tmp_path):
    # f* = -2: f - f* crosses 1e-1 where f < -1.9
    run = load_run(write_run(tmp_path, "r1", [0.0, -1.5, -1.95, -1.9995], summary={"f_min": -2.0}))
    st = run_stats(run)
    assert st.hits[1e-1] == 2 and st.hits[1e-2] == 3 and st.hits[1e-3] == 3 and st.hits[1e-4] is None


def test_thinned_trace_reports_recorded_rows(tmp_path):
    a = load_run(write_run(tmp_path, "a", [1.0, 0.05, 0.001], every=10))
    b = load_run(write_run(tmp_path, "b", [1.0, 0.5, 0.2]))
    c = compare_runs([a, b])
    assert c.runs[0].hits[1e-1] == 10 and c.runs[0].hits[1e-2] == 20
    assert any("record a thinned trace" in n for n in c.notes)


# ------------------------------------------------------------------------------------ rows


def test_rank_marks_lowest_and_skips_uninformative_rows():
    assert rank([3.0, 1.0, 2.0]) == [1]
    assert rank([1.0, 1.0, 2.0]) == [0, 1]
    assert rank([1.0, 1.0]) == []  # all equal: nothing to mark
    assert rank([None, 2.0]) == [1]  # the only known value
    assert rank([float("inf"), float("inf")]) == []
    assert rank([float("inf"), 5.0]) == [1]
    assert rank([float("nan"), 1.0, 2.0]) == [1]


def test_rows_values_and_best(tmp_path):
    a = load_run(write_run(tmp_path, "a", [1.0, 0.01, 1e-4], summary={"wall_time_s": 3.0}))
    b = load_run(write_run(tmp_path, "b", [1.0, 0.2, 0.05], summary={"wall_time_s": 1.0}))
    c = compare_runs([a, b])
    rows = {r.key: r for r in c.rows}
    assert rows["final_f"].values == [1e-4, 0.05] and rows["final_f"].best == [0]
    assert rows["wall_time"].best == [1]
    assert rows["target_1e-1"].values == [1, 2] and rows["target_1e-1"].best == [0]
    assert rows["target_1e-3"].values == [2, float("inf")] and rows["target_1e-3"].best == [0]
    assert rows["target_1e-5"].values == [float("inf"), float("inf")] and rows["target_1e-5"].text == [
        "-",
        "-",
    ]
    assert rows["target_1e-5"].best == []
    assert rows["target_1e-2"].text == ["1", "-"]  # 0.01 <= 1e-2: equal counts as reached
    assert rows["status"].best == [] and rows["iterations"].best == []
    assert c.best == [0] and c.comparable
    assert rows["final_f_ratio"].values == [1.0, 500.0]


def test_sort_orders_columns_and_keeps_baseline(tmp_path):
    a = load_run(write_run(tmp_path, "a", [1.0, 0.5]))
    b = load_run(write_run(tmp_path, "b", [1.0, 0.1]))
    c = compare_runs([a, b], sort="final_f")
    assert [s.id for s in c.runs] == ["b", "a"]
    assert [s.id for s in c.given] == ["a", "b"]
    assert gate(c).exit_code == 0  # baseline is still a: b is better


def test_unknown_f_star_is_said(tmp_path):
    a = load_run(write_run(tmp_path, "a", [1.0, 0.5], summary={"f_min": None, "f_gap": None}))
    b = load_run(write_run(tmp_path, "b", [1.0, 0.1], summary={"f_min": None, "f_gap": None}))
    c = compare_runs([a, b])
    keys = [r.key for r in c.rows]
    assert not any(k.startswith("target_") for k in keys)
    assert {r.key: r for r in c.rows}["f_gap"].text == ["f* unknown", "f* unknown"]
    assert any("f* is unknown" in n for n in c.notes)
    with pytest.raises(CompareError, match="unknown for every run"):
        gate(compare_runs([a, b], metric="f_gap"))


def test_different_problems_are_shown_not_ranked(tmp_path):
    other = json.loads(json.dumps(BASE_CONFIG))
    other["objective"]["dim"] = 5
    a = load_run(write_run(tmp_path, "a", [1.0, 0.5], summary={"wall_time_s": 1.0}))
    b = load_run(write_run(tmp_path, "b", [1.0, 0.1], config=other, summary={"wall_time_s": 2.0}))
    c = compare_runs([a, b])
    rows = {r.key: r for r in c.rows}
    assert not c.comparable and rows["final_f"].best == [] and "different problems" in rows["final_f"].note
    assert rows["wall_time"].best == [0]
    assert any("sphere d=2" in n and "sphere d=5" in n for n in c.notes)
    with pytest.raises(CompareError, match="different problems"):
        gate(c)
    assert gate(compare_runs([a, b], metric="wall_time")).exit_code == 1


def test_config_diff_only_differing_keys(tmp_path):
    c2 = json.loads(json.dumps(BASE_CONFIG))
    c2["algorithm"]["alpha"] = 0.05
    c2["seed"] = 7
    c2["stop"] = {"f_target": 1e-9}
    a = load_run(write_run(tmp_path, "a", [1.0, 0.5]))
    b = load_run(write_run(tmp_path, "b", [1.0, 0.1], config=c2))
    diff = {r.label: r.text for r in compare_runs([a, b]).config_rows}
    assert diff == {
        "algorithm.alpha": ["0.1", "0.05"],
        "seed": ["1", "7"],
        "stop.f_target": ["(absent)", "1e-09"],
    }
    full = {r.label for r in compare_runs([a, b], all_config=True).config_rows}
    assert {"name", "objective.name", "iterations", "algorithm.alpha", "meta.optrun"} <= full


def test_crashed_run_figures_come_from_its_trace(tmp_path):
    p = write_run(tmp_path, "a", [1.0, 0.05, 0.002])
    with open(os.path.join(p, "summary.json"), "w") as fh:  # as left by a killed run: no final fields
        json.dump(
            {
                "format_version": 1,
                "id": "a",
                "status": "running",
                "pid": 2**22 + 12345,
                "hostname": socket.gethostname(),
                "algorithm": "gd",
                "objective": "sphere",
                "dim": 2,
                "iterations": 1,
            },
            fh,
        )
    st = run_stats(load_run(p))
    assert st.status == "crashed" and st.iterations == 2 and st.final_f == 0.002
    assert st.best_f == 0.002 and st.best_iteration == 2
    assert st.f_min == 0.0 and st.hits[1e-1] == 1 and st.hits[1e-2] == 2  # f* from the objective


# ------------------------------------------------------------------------------------ gate


@pytest.mark.parametrize(
    "cand, base, rtol, worse",
    [
        (1.04, 1.0, 0.05, False),
        (1.06, 1.0, 0.05, True),
        (1.0, 1.0, 0.0, False),
        (0.5, 1.0, 0.0, False),
        (-0.96, -1.0, 0.05, False),
        (-0.94, -1.0, 0.05, True),
        (None, 1.0, 0.0, True),
        (float("nan"), 1.0, 0.0, True),
        (5.0, None, 0.0, False),
        (float("inf"), 10.0, 0.0, True),
        (float("inf"), float("inf"), 0.0, False),
        (3.0, float("inf"), 0.0, False),
    ],
)
def test_is_worse(cand, base, rtol, worse):
    assert is_worse(cand, base, rtol) is worse


def test_gate_both_ways(tmp_path):
    good = load_run(write_run(tmp_path, "good", [1.0, 1e-6]))
    bad = load_run(write_run(tmp_path, "bad", [1.0, 1e-3]))
    g = gate(compare_runs([good, bad]))
    assert g.exit_code == 1 and g.worse == ["bad"] and g.line.startswith("worse: bad is worse")
    g = gate(compare_runs([bad, good]))
    assert g.exit_code == 0 and g.line.startswith("ok: good is not worse")
    g = gate(compare_runs([good, bad]), rtol=1e4)  # 1e-3 <= 1e-6 * (1 + 1e4)
    assert g.exit_code == 0
    g = gate(compare_runs([bad, good, bad]))
    assert g.exit_code == 0 and "none of 2 candidates" in g.line
    g = gate(compare_runs([good, good, bad]))
    assert g.exit_code == 1 and "1 of 2 candidates (bad)" in g.line


def test_gate_iterations_to_target(tmp_path):
    fast = load_run(write_run(tmp_path, "fast", [1.0, 1e-3, 1e-7]))
    slow = load_run(write_run(tmp_path, "slow", [1.0, 1e-2, 1e-4, 1e-7]))
    assert gate(compare_runs([fast, slow], metric="iterations-to-target", target=1e-6)).exit_code == 1
    assert gate(compare_runs([slow, fast], metric="iterations_to_target", target=1e-6)).exit_code == 0
    assert (
        gate(compare_runs([fast, slow], metric="iterations_to_target", target=5e-3)).exit_code == 1
    )  # 1 vs 2
    assert (
        gate(compare_runs([fast, slow], metric="iterations_to_target", target=1e-2)).exit_code == 0
    )  # 1 vs 1
    assert (
        gate(compare_runs([fast, slow], metric="iterations_to_target", target=1e-3)).exit_code == 1
    )  # 1 vs 2
    assert gate(compare_runs([fast, slow], metric="iterations_to_target", target=1e-9)).exit_code == 0


def test_gate_fails_a_candidate_that_did_not_complete(tmp_path):
    base = load_run(write_run(tmp_path, "base", [1.0, 1e-3]))
    cand = load_run(write_run(tmp_path, "cand", [1.0, 1e-6], summary={"status": "interrupted"}))
    g = gate(compare_runs([base, cand]))
    assert g.exit_code == 1 and "interrupted" in g.line


def test_bad_metric_and_rtol(tmp_path):
    a = load_run(write_run(tmp_path, "a", [1.0]))
    with pytest.raises(CompareError, match="unknown metric 'speed'"):
        compare_runs([a, a], metric="speed")
    with pytest.raises(CompareError, match="rtol"):
        gate(compare_runs([a, a]), rtol=-1.0)
    with pytest.raises(CompareError, match="at least two"):
        compare_runs([a])


# ------------------------------------------------------------------------------------ CLI


@pytest.fixture
def pair(tmp_path):
    """Two real runs of the same problem: 40 and 4 iterations of gradient descent."""
    from optrun.config import load_config
    from optrun.execution.run import execute

    runs = tmp_path / "runs"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({k: v for k, v in BASE_CONFIG.items() if k != "trace"}))
    long = execute(load_config(str(cfg), ["iterations=40"]), str(runs))
    short = execute(load_config(str(cfg), ["iterations=4", "algorithm.alpha=0.05"]), str(runs))
    return str(runs), long, short


def invoke(runs_dir, *args):
    return CliRunner().invoke(cli, ["compare", *args, "--runs-dir", runs_dir], env={"NO_COLOR": "1"})


def test_cli_table(pair):
    runs, long, short = pair
    r = invoke(runs, "-2", "-1")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert long.run_id.split("-", 2)[2] in lines[0] and short.run_id.split("-", 2)[2] in lines[0]
    final = next(line for line in lines if line.startswith("final f "))
    assert f"{long.summary['final_f']:.6g} *" in final and f"{short.summary['final_f']:.6g}" in final
    assert any(line.startswith("config: algorithm.alpha") for line in lines)
    assert any(line.split()[0] == "iterations" and "40" in line for line in lines)
    assert "\x1b[" not in r.stdout
    assert lines[-1].startswith("best by final f: ")


def test_cli_json(pair):
    runs, long, short = pair
    r = invoke(runs, long.path, short.run_id, "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [x["id"] for x in data["runs"]] == [long.run_id, short.run_id]
    rows = {row["key"]: row for row in data["rows"]}
    assert rows["final_f"]["values"][long.run_id] == long.summary["final_f"]
    assert rows["final_f"]["best"] == [long.run_id]
    assert [c["key"] for c in data["config"]] == ["config.algorithm.alpha", "config.iterations"]
    assert data["best"] == [long.run_id]


def test_cli_csv(pair):
    runs, long, _short = pair
    r = invoke(runs, "-2", "-1", "--format", "csv", "--all")
    assert r.exit_code == 0, r.output
    table = list(csv.DictReader(io.StringIO(r.stdout)))
    by_key = {row["key"]: row for row in table}
    assert float(by_key["final_f"][long.run_id]) == long.summary["final_f"]
    assert by_key["final_f"]["best"] == long.run_id
    assert by_key["config.seed"][long.run_id] == "1"  # --all: equal keys too


def test_cli_markdown(pair):
    runs, long, short = pair
    r = invoke(runs, "-2", "-1", "--format", "markdown")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].startswith("|  | ") and lines[1] == "|---|---:|---:|"
    final = next(line for line in lines if line.startswith("| final f |"))
    assert final == f"| final f | **{long.summary['final_f']:.6g}** | {short.summary['final_f']:.6g} |"
    assert any(line.startswith("| `algorithm.alpha` | `0.1` | `0.05` |") for line in lines)


def test_cli_gate_exit_codes(pair):
    runs, _long, _short = pair
    worse = invoke(runs, "-2", "-1", "--fail-if-worse")
    better = invoke(runs, "-1", "-2", "--fail-if-worse", "--quiet")
    assert worse.exit_code == 1 and worse.stdout.splitlines()[-1].startswith("worse: ")
    assert better.exit_code == 0 and better.stdout.startswith("ok: ") and len(better.stdout.splitlines()) == 1
    js = invoke(runs, "-2", "-1", "--fail-if-worse", "--format", "json")
    assert js.exit_code == 1 and json.loads(js.stdout)["gate"]["worse"] and js.stderr.startswith("worse: ")


@pytest.mark.parametrize(
    "args, needle",
    [
        (["nosuch", "-1"], "no run matches 'nosuch'"),
        (["-1"], "at least two runs"),
        (["-1", "-2", "--metric", "speed"], "unknown metric 'speed'"),
        (["-1", "-9"], "9th newest run"),
        (["-1", "-2", "--fromat", "json"], "no such option: --fromat"),
        (["-1", "-2", "--plot", "out.gif"], "must end in"),
    ],
)
def test_cli_bad_input_exit_2(pair, args, needle):
    runs, _, _ = pair
    r = invoke(runs, *args)
    assert r.exit_code == 2 and needle in r.stderr and "Traceback" not in r.output


def test_cli_damaged_run_exit_2(pair):
    runs, _long, short = pair
    with open(os.path.join(short.path, "trace.csv"), "a") as fh:
        fh.write("9,oops,1,1\n10,1,1,1\n")
    r = invoke(runs, "-2", "-1")
    assert r.exit_code == 2 and short.run_id in r.stderr and "trace.csv is damaged" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_plot_through_real_subprocess(pair, optrun_bin, tmp_path):
    runs, _long, _short = pair
    env = {**os.environ, "OPTRUN_RUNS_DIR": runs, "NO_COLOR": "1"}
    out = tmp_path / "conv.png"
    p = subprocess.run(
        [optrun_bin, "compare", "-2", "-1", "--plot", str(out), "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("best by final f: ") and f"plot: {out}" in p.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert w > 300 and h > 200


def test_plot_svg(pair, tmp_path):
    runs, _long, _short = pair
    out = tmp_path / "conv.svg"
    r = invoke(runs, "-2", "-1", "--plot", str(out), "--format", "json")
    assert r.exit_code == 0, r.output
    json.loads(r.stdout)  # the plot message stays off stdout
    data = out.read_text()
    assert "<svg" in data[:2000] and len(data) > 5000


def test_plot_without_matplotlib_is_one_line_exit_2(pair, optrun_bin, tmp_path):
    runs, _, _ = pair
    fake = tmp_path / "fake"
    (fake / "matplotlib").mkdir(parents=True)
    (fake / "matplotlib" / "__init__.py").write_text("raise ImportError('no matplotlib here')\n")
    env = {**os.environ, "OPTRUN_RUNS_DIR": runs, "NO_COLOR": "1", "PYTHONPATH": str(fake)}
    p = subprocess.run(
        [optrun_bin, "compare", "-2", "-1", "--plot", str(tmp_path / "x.png")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert p.returncode == 2 and "matplotlib" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()


def test_cli_help_does_not_import_numpy():
    code = (
        "import sys; from click.testing import CliRunner; from optrun.cli import cli; "
        "r = CliRunner().invoke(cli, ['compare', '--help']); assert r.exit_code == 0, r.output; "
        "print('numpy' in sys.modules, 'matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
