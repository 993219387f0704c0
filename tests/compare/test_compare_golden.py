"""Golden exact-output tests of `optrun compare` and `optrun show` (issue 15, item 10): small run and
sweep folders checked in under tests/data/golden/runs (made by make.sh), each command's exit code,
stdout and stderr checked byte for byte against tests/data/golden/expected/NAME.txt (written by
make_expected.py with main's optrun before the refactoring). A difference is a regression, unless the
change of output is the point: then re-make the expected files and say so in the commit."""

from __future__ import annotations

import filecmp
import os
import sys

import pytest

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "golden")
sys.path.insert(0, GOLDEN)
from golden import CASES, EXPECTED, RUNS, copy_runs, run_case  # noqa: E402


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """One copy of the golden folders for every case; after the last case it must equal the original."""
    work = tmp_path_factory.mktemp("golden")
    copy = copy_runs(str(work))
    yield str(work)
    assert_same_tree(RUNS, copy)


def assert_same_tree(original: str, copy: str) -> None:
    """Reading the folders wrote nothing: same files, same bytes."""
    cmp = filecmp.dircmp(original, copy)
    stack = [("", cmp)]
    while stack:
        where, c = stack.pop()
        assert not (c.left_only or c.right_only), (
            f"{where}: files added or removed {c.left_only} {c.right_only}"
        )
        _, mismatch, errors = filecmp.cmpfiles(
            os.path.join(original, where), os.path.join(copy, where), c.common_files, shallow=False
        )
        assert not mismatch and not errors, f"{where}: rewritten by reading {mismatch + errors}"
        stack.extend((os.path.join(where, name), sub) for name, sub in c.subdirs.items())


def test_every_case_has_its_expected_file():
    assert sorted(f[:-4] for f in os.listdir(EXPECTED)) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_output(name, workdir):
    with open(os.path.join(EXPECTED, f"{name}.txt")) as f:
        expected = f.read()
    assert run_case(list(CASES[name]), workdir) == expected


def test_gate_exit_codes_are_in_the_goldens():
    """The cases include a run gate and a sweep gate that fail (exit 1) and a selector that matches nothing (2)."""
    codes = {}
    for name in CASES:
        with open(os.path.join(EXPECTED, f"{name}.txt")) as f:
            codes[name] = f.readline().strip()
    assert codes["compare_runs_gate_fails"] == "exit: 1"
    assert codes["compare_sweeps_gate_fails"] == "exit: 1"
    assert codes["compare_nothing"] == "exit: 2"
