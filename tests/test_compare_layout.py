"""Layout of `optrun compare` tables: axes with one value said once above the table, and tables fitted
to the terminal width (COLUMNS, or 100 when piped) by continuing whole columns below, never cutting
a number."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from test_compare import write_run
from test_sweep_compare import gaps, write_sweep

from optrun.cli import cli

ALPHAS = [0.001, 0.0031622776601683794, 0.01, 0.03162277660168379, 0.1]


def invoke(*args, columns=None):
    env = {"NO_COLOR": "1", "COLUMNS": None if columns is None else str(columns)}
    return CliRunner().invoke(cli, list(map(str, args)), env=env)


@pytest.fixture
def wide(tmp_path):
    """algorithm.name x alpha x seed with every target reached by some configuration: 8 target columns."""
    rows = gaps([10.0 ** -(i % 10) for i in range(30)])
    for i, r in enumerate(rows):
        for k in range(1, 9):
            r[f"hit_1e-{k}"] = 1000 * k + i if k <= i % 10 else None
    return write_sweep(tmp_path / "runs", "wide", {"algorithm.name": ["adam", "amsgrad"], "algorithm.alpha": ALPHAS,
                                                   "seed": [0, 1, 2]}, rows)


def table_lines(text: str) -> list[str]:
    """The lines of the tables (headers, rules, rows), not the prose around them."""
    return [x for x in text.splitlines() if x.startswith(("configuration", "algorithm=", "---", "A ", "alpha="))]


@pytest.mark.parametrize("columns", [None, 100, 80, 60])
def test_sweep_table_fits_the_width(wide, columns):
    r = invoke("compare", "-1", "--runs-dir", os.path.dirname(wide), columns=columns)
    assert r.exit_code == 0, r.output
    width = columns or 100  # piped output without COLUMNS: 100
    lines = table_lines(r.stdout)
    assert max(len(x) for x in lines) <= width, "\n".join(x for x in lines if len(x) > width)
    # every column is somewhere, whole: each target header once, each label once per block
    headers = [x for x in lines if x.startswith("configuration")]
    assert len(headers) >= 2
    for k in range(1, 9):
        assert sum(h.count(f"<= 1e-{k}") for h in headers) == 1
    label_lines = [x for x in lines if x.startswith("algorithm=amsgrad, alpha=0.0316228 ")]
    assert len(label_lines) == len(headers)
    cells = " ".join(label_lines).split()
    assert "100% @ 1,025" in " ".join(label_lines) and "33% @ 6,026" in " ".join(label_lines)
    assert "1e-05" in cells  # the median, whole


def test_wide_table_without_a_width_problem_is_one_block(wide):
    r = invoke("compare", "-1", "--runs-dir", os.path.dirname(wide), columns=400)
    assert r.exit_code == 0, r.output
    assert sum(1 for x in r.stdout.splitlines() if x.startswith("configuration")) == 1


def test_constant_axes_are_said_once(tmp_path):
    rows = gaps([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    p = write_sweep(tmp_path / "runs", "const", {"algorithm.name": ["adam"], "objective.name": ["sphere"],
                                                 "algorithm.alpha": [0.1, 0.2], "seed": [0, 1, 2]}, rows)
    runs = os.path.dirname(p)
    r = invoke("compare", "-1", "--runs-dir", runs)
    assert r.exit_code == 0, r.output
    assert "every configuration has algorithm=adam, objective=sphere" in r.stdout.splitlines()
    labels = [x.split()[0] for x in r.stdout.splitlines() if x.startswith("alpha=")]
    assert labels == ["alpha=0.1", "alpha=0.2"]
    j = json.loads(invoke("compare", "-1", "--format", "json", "--runs-dir", runs).stdout)
    assert j["constant"] == {"algorithm": "adam", "objective": "sphere"}
    assert [g["label"] for g in j["groups"]] == ["alpha=0.1", "alpha=0.2"]
    assert j["groups"][0]["key"] == {"algorithm.name": "adam", "objective.name": "sphere", "algorithm.alpha": 0.1}
    md = invoke("compare", "-1", "--format", "markdown", "--runs-dir", runs).stdout
    assert "every configuration has algorithm=adam, objective=sphere" in md


def test_many_runs_side_by_side_fit_the_width(tmp_path):
    runs = tmp_path / "runs"
    for i in range(7):
        write_run(runs, f"2025010{i + 1}-000000.000-a-rather-long-run-name-{i:06d}", [1.0, 0.5 / (i + 1), 1e-3 / (i + 1)],
                  started=f"2025-01-0{i + 1}T00:00:00.000Z")
    r = invoke("compare", *[f"-{k}" for k in range(7, 0, -1)], "--runs-dir", runs, columns=100)
    assert r.exit_code == 0, r.output
    lines = [x for x in r.stdout.splitlines() if x and not x.startswith(("*", "best by", "the runs", "f* "))]
    assert max(len(x) for x in lines) <= 100, "\n".join(x for x in lines if len(x) > 100)
    for i in range(7):
        assert sum(x.count(f"a-rather-long-run-name-{i:06d}") for x in lines) == 1  # each column once
    finals = [x for x in lines if x.startswith("final f ")]
    assert len(finals) >= 2 and "0.000142857" in " ".join(finals)  # 1e-3 / 7, whole
