"""The golden cases of `optrun compare` and `optrun show` over the run and sweep folders in runs/:
each case's command line and how its output is captured. make_expected.py writes expected/NAME.txt
from them; tests/compare/test_golden.py checks the output against those files, byte for byte."""

from __future__ import annotations

import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = os.path.join(HERE, "runs")
EXPECTED = os.path.join(HERE, "expected")

ADAM = "20261206-043918.735-golden-adam-e445e5"
AMSGRAD = "20261206-043920.349-golden-amsgrad-fcdcf3"
GD = "20261206-043922.047-golden-gd-23be87"
SWEEP_A = "20261206-043923.753-golden-sweep-a-4899d6"
SWEEP_B = "20261206-043925.708-golden-sweep-b-251060"

CASES = {
    # runs
    "compare_runs_table": ["compare", ADAM, AMSGRAD, GD],
    "compare_runs_all_sorted": ["compare", ADAM, AMSGRAD, GD, "--all", "--sort", "final_f"],
    "compare_runs_json": ["compare", ADAM, AMSGRAD, GD, "--format", "json"],
    "compare_runs_csv": ["compare", ADAM, AMSGRAD, GD, "--format", "csv"],
    "compare_runs_markdown": ["compare", ADAM, AMSGRAD, GD, "--format", "markdown"],
    "compare_runs_target": ["compare", ADAM, AMSGRAD, "--metric", "iterations_to_target", "--target", "0.1"],
    "compare_runs_gate_fails": ["compare", ADAM, AMSGRAD, "--fail-if-worse"],
    "compare_runs_gate_fails_json": ["compare", ADAM, AMSGRAD, "--fail-if-worse", "--format", "json"],
    "compare_runs_gate_quiet": ["compare", ADAM, AMSGRAD, "--fail-if-worse", "-q"],
    "compare_runs_gate_rtol": ["compare", ADAM, AMSGRAD, "--fail-if-worse", "--rtol", "0.2", "-q"],
    "compare_runs_gate_other_problem": ["compare", ADAM, AMSGRAD, GD, "--fail-if-worse"],
    "compare_runs_gate_passes": ["compare", AMSGRAD, ADAM, "--fail-if-worse"],
    "compare_run_and_member": ["compare", ADAM, f"{SWEEP_A}:algorithm=adam,alpha=0.1,seed=1"],
    "compare_nothing": ["compare", ADAM, "no-such-run"],
    # sweeps
    "compare_sweep_one": ["compare", SWEEP_A],
    "compare_sweep_one_json": ["compare", SWEEP_A, "--format", "json"],
    "compare_sweep_one_csv": ["compare", SWEEP_A, "--format", "csv"],
    "compare_sweep_one_markdown": ["compare", SWEEP_A, "--format", "markdown"],
    "compare_sweep_group_by": ["compare", SWEEP_A, "--group-by", "algorithm.name"],
    "compare_sweep_configs": ["compare", f"{SWEEP_A}:algorithm=adam", f"{SWEEP_A}:algorithm=amsgrad"],
    "compare_sweeps_two": ["compare", SWEEP_A, SWEEP_B],
    "compare_sweeps_two_json": ["compare", SWEEP_A, SWEEP_B, "--format", "json"],
    "compare_sweeps_two_csv": ["compare", SWEEP_A, SWEEP_B, "--format", "csv"],
    "compare_sweeps_two_markdown": ["compare", SWEEP_A, SWEEP_B, "--format", "markdown"],
    "compare_sweeps_gate_fails": ["compare", SWEEP_A, SWEEP_B, "--fail-if-worse"],
    "compare_sweeps_gate_fails_json": ["compare", SWEEP_A, SWEEP_B, "--fail-if-worse", "--format", "json"],
    "compare_sweeps_gate_passes": ["compare", SWEEP_B, SWEEP_A, "--fail-if-worse", "-q"],
    "compare_sweep_narrow": ["compare", SWEEP_A, SWEEP_B, "--metric", "final_f", "COLUMNS=60"],
    # show
    "show_run": ["show", ADAM],
    "show_run_rows": ["show", GD, "--rows", "2"],
    "show_run_json": ["show", ADAM, "--format", "json"],
    "show_sweep": ["show", SWEEP_A],
    "show_sweep_best": ["show", SWEEP_B, "--best", "3"],
    "show_sweep_json": ["show", SWEEP_A, "--format", "json"],
    "show_member": ["show", f"{SWEEP_A}/3"],
    "show_member_json": ["show", f"{SWEEP_A}:algorithm=amsgrad,alpha=0.01,seed=2", "--format", "json"],
}


def copy_runs(dest: str) -> str:
    """A copy of runs/ under ``dest`` (the commands run there, so the checked-in folders stay as they are)."""
    target = os.path.join(dest, "runs")
    shutil.copytree(RUNS, target)
    return target


def run_case(args: list[str], workdir: str) -> str:
    """Run one case in ``workdir`` (which holds runs/) through click's CliRunner: exit code, stdout and
    stderr as one text. A trailing COLUMNS=N argument sets the terminal width (100 otherwise)."""
    from click.testing import CliRunner

    from optrun.cli import cli

    columns = "100"
    if args and args[-1].startswith("COLUMNS="):
        args, columns = args[:-1], args[-1].split("=", 1)[1]
    env = {"NO_COLOR": "1", "COLUMNS": columns, "OPTRUN_RUNS_DIR": "runs", "TERM": "dumb"}
    old = os.getcwd()
    os.chdir(workdir)
    try:
        result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    finally:
        os.chdir(old)
    return f"exit: {result.exit_code}\n--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
