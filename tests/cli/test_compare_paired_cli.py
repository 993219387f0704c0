"""`optrun compare` on a real sweep of two algorithms x 8 seeds (a random start per seed: members
of one seed share it, common random numbers), through click's CliRunner and a real subprocess:
the comparison pairs the members by seed and says so, and its figures are the signed-rank test
of the sweep's own values matched by seed; a second sweep with half the seeds is not paired."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

from optrun.cli import cli
from optrun.compare import wilcoxon_signed_rank
from optrun.compare.stats import mann_whitney_u
from optrun.store.select import load_sweep

CONFIG = {
    "name": "paired",
    "objective": {"name": "rosenbrock", "dim": 2},
    "bounds": [[-2.0, 2.0], [-2.0, 2.0]],
    "start": "random",
    "seed": 0,
    "iterations": 40,
    "algorithm": {"name": "adam", "alpha": 0.05},
    "sweep": {"algorithm.name": ["adam", "amsgrad"], "seed": {"range": [0, 8]}},
}
ENV = {"NO_COLOR": "1", "COLUMNS": "100", "TERM": "dumb"}


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """The sweep of 2 algorithms x seeds 0..7, and one of the same config over seeds 4..11."""
    root = tmp_path_factory.mktemp("paired")
    runs = str(root / "runs")
    cfg = root / "c.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    for extra in ([], ["--sweep", "seed=4:12"]):
        r = CliRunner().invoke(cli, ["run", str(cfg), *extra, "-q", "--runs-dir", runs], env=ENV)
        assert r.exit_code == 0, r.output
    ids = sorted(d for d in os.listdir(runs))
    return runs, [load_sweep(os.path.join(runs, i)) for i in ids]


def by_seed(sweep, algorithm: str) -> dict[int, float]:
    return {r["seed"]: r["f_gap"] for r in sweep.rows if r["algorithm.name"] == algorithm}


def test_cli_pairs_by_seed_and_matches_the_test_of_the_sweeps_values(sweeps):
    runs, (first, _) = sweeps
    args = ["compare", "-2", "--group-by", "algorithm.name", "--runs-dir", runs]
    j = json.loads(CliRunner().invoke(cli, [*args, "--format", "json"], env=ENV).stdout)
    (t,) = j["tests"]
    adam, ams = by_seed(first, "adam"), by_seed(first, "amsgrad")
    assert sorted(adam) == sorted(ams) == list(range(8))
    ref = wilcoxon_signed_rank([adam[s] for s in range(8)], [ams[s] for s in range(8)])
    assert (t["test"], t["n_pairs"], t["method"]) == ("wilcoxon", 8, ref.method)
    assert (t["w_plus"], t["w_minus"], t["p_value"]) == (ref.w_plus, ref.w_minus, ref.p_value)
    unpaired = mann_whitney_u(list(adam.values()), list(ams.values())).p_value
    assert unpaired != ref.p_value  # the pairing changes the answer: it is not Mann-Whitney in disguise
    text = CliRunner().invoke(cli, args, env=ENV)
    assert text.exit_code == 0, text.output
    assert "Wilcoxon signed-rank tests of the members paired by seed" in text.stdout
    assert "8 pairs by seed" in text.stdout and "Mann-Whitney" not in text.stdout


def test_subprocess_prints_what_clirunner_prints(sweeps):
    runs, _ = sweeps
    args = ["compare", "-2", "--group-by", "algorithm.name", "--runs-dir", runs]
    inproc = CliRunner().invoke(cli, args, env=ENV)
    p = subprocess.run(
        [sys.executable, "-m", "optrun", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **ENV},
    )
    assert p.returncode == 0 == inproc.exit_code, p.stderr
    assert p.stdout == inproc.stdout and "(paired, p = " in p.stdout
    q = subprocess.run(
        [sys.executable, "-m", "optrun", *args, "-q"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **ENV},
    )
    assert q.returncode == 0 and q.stdout.count("\n") == 1 and "Wilcoxon signed-rank" in q.stdout


def test_sweeps_sharing_half_their_seeds_are_not_paired_and_say_why(sweeps):
    runs, (first, second) = sweeps
    args = ["compare", "-2:algorithm=amsgrad", "-1:algorithm=amsgrad", "--runs-dir", runs, "--format", "json"]
    j = json.loads(CliRunner().invoke(cli, args, env=ENV).stdout)
    (t,) = j["tests"]
    assert t["test"] == "mann-whitney" and "n_pairs" not in t
    ref = mann_whitney_u(list(by_seed(first, "amsgrad").values()), list(by_seed(second, "amsgrad").values()))
    assert (t["u"], t["p_value"]) == (ref.u1, ref.p_value)
    (note,) = [n for n in j["notes"] if "not paired" in n]
    assert "share 4 of their seeds (8 and 8 members)" in note
