"""Layout of `optrun compare` tables: axes with one value said once above the table, and tables fitted
to the terminal width (COLUMNS, or 100 when piped) by continuing whole columns below, never cutting
a number."""

from __future__ import annotations

import json
import os
import re

import pytest
from click.testing import CliRunner
from handmade import gaps, write_run, write_sweep

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
    return write_sweep(
        tmp_path / "runs",
        "wide",
        {"algorithm.name": ["adam", "amsgrad"], "algorithm.alpha": ALPHAS, "seed": [0, 1, 2]},
        rows,
    )


def table_lines(text: str) -> list[str]:
    """The lines of the tables (headers, rules, rows), not the prose around them."""
    return [
        x for x in text.splitlines() if x.startswith(("configuration", "algorithm=", "---", "A ", "alpha="))
    ]


def table_rows(text: str) -> list[list[str]]:
    """The rows of the tables as cells (split at runs of 2+ spaces), a row label wrapped over
    several lines (continuation lines are indented) joined back into its first cell."""
    rows: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("  ") and rows and line.strip() and not line.startswith("  " * 3):
            rows[-1][0] += " " + line.strip()
        elif line.strip():
            rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


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
    label_rows = [x for x in table_rows(r.stdout) if x[0] == "algorithm=amsgrad, alpha=0.0316228"]
    assert len(label_rows) == len(headers)  # wrapped or not, the label heads the row in every block
    cells = [c for x in label_rows for c in x[1:]]
    assert "100% @ 1,025" in cells and "33% @ 6,026" in cells
    assert "1e-05" in cells  # the median, whole


def test_wide_table_without_a_width_problem_is_one_block(wide):
    r = invoke("compare", "-1", "--runs-dir", os.path.dirname(wide), columns=400)
    assert r.exit_code == 0, r.output
    assert sum(1 for x in r.stdout.splitlines() if x.startswith("configuration")) == 1


def test_constant_axes_are_said_once(tmp_path):
    rows = gaps([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    p = write_sweep(
        tmp_path / "runs",
        "const",
        {
            "algorithm.name": ["adam"],
            "objective.name": ["sphere"],
            "algorithm.alpha": [0.1, 0.2],
            "seed": [0, 1, 2],
        },
        rows,
    )
    runs = os.path.dirname(p)
    r = invoke("compare", "-1", "--runs-dir", runs)
    assert r.exit_code == 0, r.output
    assert "every configuration has algorithm=adam, objective=sphere" in r.stdout.splitlines()
    labels = [x.split()[0] for x in r.stdout.splitlines() if x.startswith("alpha=")]
    assert labels == ["alpha=0.1", "alpha=0.2"]
    j = json.loads(invoke("compare", "-1", "--format", "json", "--runs-dir", runs).stdout)
    assert j["constant"] == {"algorithm": "adam", "objective": "sphere"}
    assert [g["label"] for g in j["groups"]] == ["alpha=0.1", "alpha=0.2"]
    assert j["groups"][0]["key"] == {
        "algorithm.name": "adam",
        "objective.name": "sphere",
        "algorithm.alpha": 0.1,
    }
    md = invoke("compare", "-1", "--format", "markdown", "--runs-dir", runs).stdout
    assert "every configuration has algorithm=adam, objective=sphere" in md


def test_many_runs_side_by_side_fit_the_width(tmp_path):
    runs = tmp_path / "runs"
    for i in range(7):
        write_run(
            runs,
            f"2025010{i + 1}-000000.000-a-rather-long-run-name-{i:06d}",
            [1.0, 0.5 / (i + 1), 1e-3 / (i + 1)],
            started=f"2025-01-0{i + 1}T00:00:00.000Z",
        )
    r = invoke("compare", *[f"-{k}" for k in range(7, 0, -1)], "--runs-dir", runs, columns=100)
    assert r.exit_code == 0, r.output
    lines = [x for x in r.stdout.splitlines() if x and not x.startswith(("*", "best by", "the runs", "f* "))]
    assert max(len(x) for x in lines) <= 100, "\n".join(x for x in lines if len(x) > 100)
    for i in range(7):
        assert sum(x.count(f"a-rather-long-run-name-{i:06d}") for x in lines) == 1  # each column once
    finals = [x for x in lines if x.startswith("final f ")]
    assert len(finals) >= 2 and "0.000142857" in " ".join(finals)  # 1e-3 / 7, whole


# ------------------------------------------------------------------------------------ real sweeps at 60-100 columns

GRID = ["--sweep", "algorithm.name=adam,amsgrad", "--sweep", "algorithm.alpha=logspace(0.001,0.1,5)"]


@pytest.fixture(scope="module")
def real_sweeps(tmp_path_factory, repo_root=None):
    """What the README's CI recipe compares: two sweeps (baseline, candidate) of adam and amsgrad over
    5 learning rates x 3 seeds, and one sweep over 3 varying axes (beta1 too)."""
    from pathlib import Path

    runs = str(tmp_path_factory.mktemp("real") / "runs")
    config = str(Path(__file__).resolve().parents[2] / "configs" / "amsgrad.yaml")
    for extra in ([], ["iterations=60"], ["--sweep", "algorithm.beta1=0.8,0.9,0.95"]):
        r = CliRunner().invoke(
            cli,
            ["run", config, *GRID, *extra, "--sweep", "seed=0:3", "-q", "--runs-dir", runs],
            env={"NO_COLOR": "1"},
        )
        assert r.exit_code == 0, r.output
    return runs


def cells_of(text: str) -> set[str]:
    return {c.removesuffix(" *") for row in table_rows(text) for c in row}  # '*' marks the best


def shown_figures(j: dict) -> list[str]:
    """The figures of the JSON output as the text prints them (6 significant digits and so on)."""
    from optrun.compare import fmt_number

    out = []
    for g in j["groups"]:
        out += [str(g["n"]), f"{fmt_number(g['q1'])} .. {fmt_number(g['q3'])}"]
        out.append(fmt_number(g["median"]))
        for t, share in g["success"].items():
            hit = g["median_iterations"][t]
            out.append("0%" if not share else f"{share:.0%} @ {hit:,.0f}")
    for t in j["tests"]:
        paired = t["test"] == "wilcoxon"  # one count (pairs) and W for U
        out += [
            *([str(t["n_pairs"])] if paired else [str(t["n_a"]), str(t["n_b"])]),
            fmt_number(t["median_a"]),
            fmt_number(t["median_b"]),
            f"{t['w_min' if paired else 'u_min']:g}",
            f"{t['p_value']:.3g}",
            f"{t['prob_a_better']:.2f}",
        ]
    return out


CASES = {"two sweeps": ("-3", "-2"), "three axes": ("-1",)}


@pytest.mark.parametrize("columns", [60, 80, 100])
@pytest.mark.parametrize("case", list(CASES))
def test_real_sweeps_fit_the_terminal_and_lose_no_figure(real_sweeps, case, columns):
    args = ["compare", *CASES[case], "--runs-dir", real_sweeps]
    r = invoke(*args, columns=columns)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert max(len(x) for x in lines) <= columns, "\n".join(x for x in lines if len(x) > columns)
    j = json.loads(invoke(*args, "--format", "json").stdout)
    cells = cells_of(r.stdout)
    targets = [t for t in j["groups"][0]["success"] if f"<= {t}" in r.stdout]
    figures = shown_figures(
        {**j, "groups": [{**g, "success": {t: g["success"][t] for t in targets}} for g in j["groups"]]}
    )
    missing = [f for f in figures if f not in cells]
    assert not missing, f"{missing[:5]} not in\n{r.stdout}"
    # blocks stay readable: every column once (n, median, IQR, targets), two or more a block on average
    group_table = r.stdout.split("Mann-Whitney U tests")[0].split("Wilcoxon signed-rank tests")[0]
    headers = [row for row in table_rows(group_table) if row[0] == "configuration"]
    figure_columns = 3 + len(targets)
    assert sum(len(h) - 1 for h in headers) == figure_columns
    assert len(headers) <= (figure_columns + 1) // 2 + 1, [h[1:] for h in headers]
    if case == "two sweeps":
        # the sweep ids are said once above the table, the labels carry A and B
        assert f"A = {j['legend']['A']}" in lines and j["sides"] == ["A", "B"]
        assert j["legend"]["B"] != j["legend"]["A"]
        labels = {row[0] for row in table_rows(r.stdout)}
        assert "A, algorithm=adam, alpha=0.001" in labels and "B, algorithm=amsgrad, alpha=0.1" in labels
        # the tests pair a configuration of A with the same of B: one configuration column, whole
        test_rows = [row for row in table_rows(r.stdout) if row[0] == "algorithm=amsgrad, alpha=0.0316228"]
        assert test_rows and all(len(row) >= 3 for row in test_rows)
        assert not any("amsgrad-tutorial" in x for x in lines if not x.startswith(("A = ", "B = ")))


@pytest.mark.parametrize("columns", [60, 80])
def test_runs_side_by_side_with_long_values_fit_the_width(tmp_path, columns):
    """A config value longer than the terminal (a path, a list) wraps in its cell; numbers stay whole."""
    from handmade import BASE_CONFIG

    runs = tmp_path / "runs"
    long_name = "a-study-of-adaptive-learning-rates-with-a-name-that-is-longer-than-any-terminal-is-wide"
    for i, name in enumerate(["short", long_name]):
        cfg = json.loads(json.dumps(BASE_CONFIG))
        cfg["name"] = name
        cfg["algorithm"]["alpha"] = 0.1 * (i + 1)
        write_run(
            runs,
            f"2025010{i + 1}-000000.000-{name[:20]}-{i:06d}",
            [1.0, 0.5 / (i + 1), 1e-3 / (i + 7)],
            config=cfg,
            started=f"2025-01-0{i + 1}T00:00:00.000Z",
        )
    r = invoke("compare", "-2", "-1", "--all", "--runs-dir", runs, columns=columns)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert max(len(x) for x in lines) <= columns, "\n".join(x for x in lines if len(x) > columns)
    cells = cells_of(r.stdout)
    assert {"0.000142857", "0.000125", "0.1", "0.2"} <= cells  # 1e-3 / 7, 1e-3 / 8, the alphas: whole
    # the long name is all there, folded over consecutive lines of its column
    block = r.stdout.split("config: name")[-1].split("objective.name")[0]
    assert "".join(x.split()[-1] for x in block.splitlines()) == long_name
