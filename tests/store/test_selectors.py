"""RUN selectors: labels that paste back, whole configurations of a sweep (SWEEP:algorithm=adam,alpha=0.1),
the one-line answer when nothing matches, the Python API taking the CLI's selectors, `optrun runs`
showing every sweep's variant and counting runs and sweeps apart, and the help texts that say so."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner
from handmade import gaps, write_sweep
from test_sweep_read import CONFIG, make_sweep

import optrun
from optrun.cli import cli
from optrun.compare import compare_sweeps
from optrun.errors import RunSelectionError
from optrun.store.select import MemberGroup, load_run, load_sweep, select, select_members
from optrun.store.values import value_label

ALPHAS = [0.001, 0.0031622776601683794, 0.01, 0.03162277660168379, 0.1]  # logspace(1e-3, 1e-1, 5)


def invoke(*args, env=None):
    return CliRunner().invoke(cli, list(map(str, args)), env={"NO_COLOR": "1", **(env or {})})


def one_line_error(r, *needles):
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def grid(tmp_path):
    """algorithm.name (adam, amsgrad) x algorithm.alpha (5 log-spaced) x seed (0, 1, 2): 30 members."""
    rows = gaps([float(i + 1) for i in range(30)])
    return write_sweep(
        tmp_path / "runs",
        "grid",
        {"algorithm.name": ["adam", "amsgrad"], "algorithm.alpha": ALPHAS, "seed": [0, 1, 2]},
        rows,
    )


# ------------------------------------------------------------------------------------ labels paste back


def test_printed_label_selects_its_configuration(grid):
    sweep = load_sweep(grid)
    labels = [g.label for g in compare_sweeps([sweep]).groups]
    assert "algorithm=adam, alpha=0.0316228" in labels
    # the label, pasted back, names that configuration: all its seeds
    assert select_members(sweep, "algorithm=adam,alpha=0.0316228") == [9, 10, 11]
    assert sweep.find("algorithm=adam,alpha=0.0316228,seed=2") == 11
    assert sweep.find("alpha=0.00316228,algorithm=amsgrad,seed=0") == 18
    # every label of the table selects exactly its own members
    for g in compare_sweeps([sweep]).groups:
        assert select_members(sweep, g.label.replace(", ", ",")) == g.members


def test_exact_value_wins_over_precision(tmp_path):
    rows = gaps([1.0] * 4)
    p = write_sweep(tmp_path / "runs", "ex", {"algorithm.alpha": [0.1, 0.12], "seed": [0, 1]}, rows)
    s = load_sweep(p)
    assert select_members(s, "alpha=0.1") == [0, 1]  # not 0.12, which is 0.1 at one digit
    assert select_members(s, "alpha=0.12") == [2, 3]


def test_precision_matching_several_values_is_an_error(tmp_path):
    rows = gaps([1.0] * 4)
    p = write_sweep(tmp_path / "runs", "amb", {"algorithm.alpha": [0.031, 0.0312], "seed": [0, 1]}, rows)
    runs = os.path.dirname(p)
    with pytest.raises(
        RunSelectionError, match=r"alpha=0.03 matches 2 values .* \(0.031, 0.0312\): give more digits"
    ):
        select_members(load_sweep(p), "alpha=0.03")
    one_line_error(
        invoke("compare", "-1:alpha=0.03", "--runs-dir", runs), "matches 2 values", "give more digits"
    )


def test_labels_print_full_value_when_six_digits_collide(tmp_path):
    vals = [0.1, 0.1000001, 0.5]
    assert [value_label(v, vals) for v in vals] == ["0.1", "0.1000001", "0.5"]
    assert value_label(0.03162277660168379, ALPHAS) == "0.0316228"
    vals = [0.123456789, 0.1234568]  # both print 0.123457 with 6 digits
    assert [value_label(v, vals) for v in vals] == ["0.123456789", "0.1234568"]
    rows = gaps([1.0, 2.0, 3.0, 4.0])
    p = write_sweep(tmp_path / "runs", "col", {"algorithm.alpha": vals, "seed": [0, 1]}, rows)
    s = load_sweep(p)
    labels = [g.label for g in compare_sweeps([s]).groups]
    assert labels == ["alpha=0.123456789", "alpha=0.1234568"]
    assert [select_members(s, lab) for lab in labels] == [[0, 1], [2, 3]]


# ------------------------------------------------------------------------------------ nothing matches


def test_no_match_names_the_values_that_exist(grid):
    runs = os.path.dirname(grid)
    one_line_error(
        invoke("compare", "-1:alpha=0.5", "--runs-dir", runs),
        "no member of sweep",
        "alpha=0.5",
        "algorithm.alpha takes 0.001, 0.00316228, 0.01, 0.0316228, 0.1",
    )
    one_line_error(
        invoke("show", "-1:algorithm=sgd", "--runs-dir", runs), "algorithm.name takes adam, amsgrad"
    )
    one_line_error(
        invoke("compare", "-1:beta=0.9", "--runs-dir", runs),
        "has no axis 'beta'",
        "algorithm.name, algorithm.alpha, seed",
    )


def test_no_combination_names_the_values_with_the_others(tmp_path):
    rows = gaps([1.0] * 4)
    p = write_sweep(
        tmp_path / "runs",
        "combo",
        {"algorithm.name": ["adam", "amsgrad"], "algorithm.alpha": [0.1, 0.2]},
        rows,
    )
    with open(os.path.join(p, "summary.json")) as f:
        summary = json.load(f)
    summary["rows"][3]["algorithm.alpha"] = 0.3  # amsgrad ran 0.1 and 0.3; adam 0.1 and 0.2
    with open(os.path.join(p, "summary.json"), "w") as f:
        json.dump(summary, f)
    line = one_line_error(
        invoke("compare", "-1:algorithm=amsgrad,alpha=0.2", "--runs-dir", os.path.dirname(p)), "not together"
    )
    assert line.endswith("with algorithm.name=amsgrad, algorithm.alpha takes 0.1, 0.3"), line


# ------------------------------------------------------------------------------------ configurations


def test_select_with_groups_gives_the_configuration(grid):
    runs = os.path.dirname(grid)
    g = select("-1:algorithm=adam,alpha=0.1", runs, groups=True)
    assert isinstance(g, MemberGroup) and g.kind == "group" and g.members == [12, 13, 14]
    assert g.id.endswith(":algorithm=adam, alpha=0.1") and [r["member"] for r in g.rows] == [12, 13, 14]
    one = select("-1:algorithm=adam,alpha=0.1,seed=1", runs, groups=True)
    assert one.kind == "member" and one.member == 13
    with pytest.raises(RunSelectionError, match="3 members of sweep .* add seed=... to pick one"):
        select("-1:algorithm=adam,alpha=0.1", runs)  # one run wanted: several is an error


def test_compare_two_configurations_of_one_sweep(grid):
    runs = os.path.dirname(grid)
    r = invoke(
        "compare",
        "-1:algorithm=adam,alpha=0.1",
        "-1:algorithm=amsgrad,alpha=0.1",
        "--format",
        "json",
        "--runs-dir",
        runs,
    )
    assert r.exit_code == 0, r.output
    j = json.loads(r.stdout)
    assert j["sides"] == ["algorithm=adam", "algorithm=amsgrad"]  # alpha=0.1 is in both: said once
    assert j["constant"] == {"alpha": 0.1}
    assert [g["members"] for g in j["groups"]] == [[12, 13, 14], [27, 28, 29]]
    assert [g["median"] for g in j["groups"]] == [14.0, 29.0]
    (t,) = j["tests"]
    assert (t["n_a"], t["n_b"], t["test"], t["w_plus"]) == (3, 3, "wilcoxon", 0.0)  # same seeds: paired


def test_compare_one_selector_matching_several_configurations(grid):
    runs = os.path.dirname(grid)
    r = invoke("compare", "-1:algorithm=adam", "--runs-dir", runs)
    assert r.exit_code == 0, r.output
    labels = [line.split()[0] for line in r.stdout.splitlines() if line.startswith("alpha=")]
    assert labels[:5] == ["alpha=0.001", "alpha=0.00316228", "alpha=0.01", "alpha=0.0316228", "alpha=0.1"]
    assert "every configuration has algorithm=adam" in r.stdout
    assert "best by median final f - f*: alpha=0.001 (median 2," in r.stdout
    # mixing a configuration with a run is refused, as a sweep with a run is
    one_line_error(
        invoke("compare", "-1:algorithm=adam", "-1/3", "--runs-dir", runs), "compare sweeps with sweeps"
    )


# ------------------------------------------------------------------------------------ the Python API


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A sweep over algorithm.variant (older), a sweep over alpha, then a single run (newest)."""
    from optrun.config import load_config
    from optrun.execution.run import execute

    tmp = tmp_path_factory.mktemp("selectors")
    runs = tmp / "runs"
    variants = make_sweep(runs, tmp, ["algorithm.variant=tutorial,torch", "seed=0:2"], name="v.yaml")
    alphas = make_sweep(runs, tmp, ["algorithm.alpha=0.01,0.1", "seed=0:2"], name="a.yaml")
    cfg = tmp / "single.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    single = execute(load_config(str(cfg)), str(runs))
    return str(runs), variants, alphas, single, tmp


def test_load_run_takes_the_cli_selectors(world, monkeypatch):
    monkeypatch.delenv("OPTRUN_RUNS_DIR", raising=False)  # the default folder is checked below
    runs, variants, alphas, single, tmp = world
    assert load_run("last", runs_dir=runs).id == single.run_id
    assert load_run("-1", runs_dir=runs).id == single.run_id
    assert load_run(single.run_id[:-3], runs_dir=runs).id == single.run_id
    assert load_run("-2/3", runs_dir=runs).id == f"{alphas.run_id}/3"
    assert load_run(f"{alphas.run_id}:alpha=0.1,seed=0", runs_dir=runs).member == 2
    assert load_sweep("-3", runs_dir=runs).id == variants.run_id
    monkeypatch.chdir(tmp)  # the default runs folder is ./runs, as the CLI's
    assert load_run("last").id == single.run_id and optrun.load_run("-2/0").id == f"{alphas.run_id}/0"
    monkeypatch.chdir(tmp_path_parent := os.path.dirname(str(tmp)))
    monkeypatch.setenv("OPTRUN_RUNS_DIR", runs)  # or $OPTRUN_RUNS_DIR
    assert load_run("-1").id == single.run_id and os.getcwd() == tmp_path_parent
    with pytest.raises(
        RunSelectionError, match="'-9' asks for the 9th newest run but .* holds 1 run and 2 sweeps"
    ):
        load_run("-9")
    with pytest.raises(RunSelectionError, match="is a sweep, not one run"):
        load_run("-2")


def test_public_names_and_a_light_import():
    for name in (
        "load_run",
        "load_sweep",
        "list_runs",
        "resolve_run",
        "select_members",
        "Run",
        "Sweep",
        "MemberGroup",
        "load_config",
        "execute",
        "OptrunError",
        "ConfigError",
    ):
        assert name in optrun.__all__
    assert all(getattr(optrun, n) is not None for n in optrun.__all__)
    assert set(optrun.__all__) == {"__version__", *optrun._LAZY} and set(optrun.__all__) <= set(dir(optrun))
    code = "import sys, optrun; from optrun import *; print('numpy' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", "import sys, optrun; print('numpy' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "False"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"  # star-import gives every public name (which needs numpy)


# ------------------------------------------------------------------------------------ optrun runs


def test_runs_shows_every_sweeps_variant(world):
    runs, variants, alphas, _, _ = world
    recs = {r["id"]: r for r in json.loads(invoke("runs", "--format", "json", "--runs-dir", runs).stdout)}
    assert recs[alphas.run_id]["variant"] == "tutorial"  # an alpha axis used to hide it
    assert recs[variants.run_id]["variant"] == ["torch", "tutorial"]
    rows = list(
        __import__("csv").DictReader(
            invoke("runs", "--format", "csv", "--runs-dir", runs).stdout.splitlines()
        )
    )
    by_id = {r["id"]: r for r in rows}
    assert (
        by_id[alphas.run_id]["variant"] == "tutorial"
        and by_id[variants.run_id]["variant"] == "torch tutorial"
    )
    table = invoke("runs", "--runs-dir", runs).stdout
    line = next(x for x in table.splitlines() if x.startswith(variants.run_id))
    assert "amsgrad/mixed" in line.split()
    line = next(x for x in table.splitlines() if x.startswith(alphas.run_id))
    assert "amsgrad/tutorial" in line.split()


def test_variant_of_a_sweep_written_before_it_was_recorded(world, tmp_path):
    variants = world[1]
    copy = tmp_path / os.path.basename(variants.path)
    import shutil

    shutil.copytree(variants.path, copy)
    s = json.loads((copy / "summary.json").read_text())
    assert s.pop("variant") == ["torch", "tutorial"]
    (copy / "summary.json").write_text(json.dumps(s))
    old = load_sweep(str(copy))
    assert old.variants == ["torch", "tutorial"] and old.variant == "mixed"  # from the members' configs


def test_runs_counts_runs_and_sweeps_apart(world):
    runs = world[0]
    r = invoke("runs", "--runs-dir", runs)
    assert f"1 run and 2 sweeps in {runs}" in r.stderr
    r = invoke("runs", "--kind", "sweep", "--runs-dir", runs)
    assert f"2 sweeps in {runs}" in r.stderr
    r = invoke("runs", "--limit", "2", "--runs-dir", runs)
    assert f"1 run and 1 sweep of 1 run and 2 sweeps in {runs}" in r.stderr
    r = invoke("runs", "--algorithm", "gd", "--runs-dir", runs)
    assert f"no runs match the filters (1 run and 2 sweeps in {runs})" in r.stderr


# ------------------------------------------------------------------------------------ help


def test_help_lists_every_exit_code():
    text = invoke("--help").stdout
    for code, words in (
        ("0", "success"),
        ("1", "expect:"),
        ("2", "bad usage"),
        ("130", "SIGINT"),
        ("143", "SIGTERM"),
    ):
        line = next((x for x in text.splitlines() if x.strip().startswith(code + " ")), "")
        assert words in line, (code, text)


def test_compare_help_says_one_sweep_is_enough():
    text = " ".join(invoke("compare", "--help").stdout.split())
    assert "ONE sweep is enough. `optrun compare SWEEP` groups its members" in text
    assert "SWEEP:algorithm=adam,alpha=0.1 the members it matches (all seeds)" in text


def test_load_run_of_a_sweep_suggests_a_selector_it_takes(tmp_path):
    """A sweep without a seed axis is not told to add seed=0: member 0 by the axes it has, or /0."""
    path = write_sweep(
        tmp_path / "runs",
        "grid",
        {"algorithm.name": ["adam", "amsgrad"], "algorithm.alpha": ALPHAS},
        gaps([float(i + 1) for i in range(10)]),
    )
    sweep_id = os.path.basename(path)
    with pytest.raises(RunSelectionError) as e:
        load_run(path)
    message = str(e.value)
    assert "seed" not in message, message
    assert f"{sweep_id}/0 or {sweep_id}:algorithm=adam,alpha=0.001 (load_sweep" in message
    assert load_sweep(path).find("algorithm=adam,alpha=0.001") == 0  # what it suggests names member 0
    with pytest.raises(RunSelectionError, match=f"e.g. {sweep_id}:algorithm=adam,alpha=0.001$"):
        select_members(load_sweep(path), {})


def test_selector_tests_do_not_depend_on_the_environment(tmp_path):
    """With OPTRUN_RUNS_DIR exported (to a folder holding a run of its own), the tests of the
    selectors and of the compare layout pass as they do without it."""
    import subprocess
    import sys

    decoy = tmp_path / "elsewhere"
    write_sweep(
        decoy,
        "decoy",
        {"algorithm.alpha": [0.5], "seed": [0]},
        gaps([1.0]),
        started="2030-01-01T00:00:00.000Z",
    )
    here = os.path.dirname(os.path.abspath(__file__))
    tests = os.path.dirname(here)
    layout = next(  # wherever the layout tests live in tests/
        os.path.join(d, "test_compare_layout.py")
        for d, _, names in os.walk(tests)
        if "test_compare_layout.py" in names
    )
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            f"{here}/test_selectors.py",
            layout,
            "-k",
            "not do_not_depend_on_the_environment",
        ],
        env={**os.environ, "OPTRUN_RUNS_DIR": str(decoy)},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        cwd=str(tmp_path),
    )
    assert r.returncode == 0, r.stdout[-3000:]
