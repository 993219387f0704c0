"""Printed messages: counts with the right noun and separators, articles, the result line's f and best
f, and one-line refusals of starts where f is not finite and of user functions returning None or
complex numbers."""

from __future__ import annotations

import math
import textwrap
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from optrun.cli import cli
from optrun.cli.console import describe_sweep, result_line
from optrun.execution.results import RunOutcome
from optrun.text import article, plural


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_plural_and_article():
    assert plural(1, "iteration") == "1 iteration"
    assert plural(0, "member") == "0 members"
    assert plural(12345, "iteration") == "12,345 iterations"
    assert plural(1, "batch") == "1 batch" and plural(2, "batch") == "2 batches"
    assert plural(3.0, "member") == "3 members"
    assert article("integer") == "an integer" and article("mapping") == "a mapping"


def test_one_iteration_is_singular(tmp_path, configs_dir):
    r = invoke("run", configs_dir / "rosenbrock.yaml", "iterations=1", "--runs-dir", tmp_path / "runs")
    assert " 1 iteration in " in r.output and "1 iterations" not in r.output
    assert "d=2, 1 iteration\n" in r.output  # the start line


def test_dry_run_batches_of_one_member(configs_dir):
    r = invoke("run", configs_dir / "rosenbrock.yaml", "--sweep", "algorithm.name=gd,adam", "--dry-run")
    assert r.exit_code == 0, r.output
    assert "2 members over algorithm.name (2); 2 batches" in r.output
    assert "batch 0: 1 member, gd" in r.output and "1 members" not in r.output


@pytest.mark.parametrize(
    "text,words",
    [
        ("5\n", "the top level must be a mapping of keys, not an integer"),
        ("objective: 5\nalgorithm: gd\n", "objective: must be a name or a mapping, not an integer"),
        ("objective: sphere\nalgorithm: gd\nsweep: 3\n", "not an integer"),
    ],
)
def test_articles_in_type_errors(tmp_path, text, words):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    r = invoke("run", p, "--dry-run")
    assert r.exit_code == 2
    assert words in r.output and "a integer" not in r.output


def outcome(**summary) -> RunOutcome:
    base = {"name": "demo", "wall_time_s": 0.5}
    return RunOutcome("id", "/runs/id", {**base, **summary}, 1)


def test_result_line_never_says_best_nan():
    line = result_line(
        outcome(status="diverged", iterations=0, final_f=math.inf, best_f=math.nan, best_iteration=0)
    )
    assert "nan" not in line
    assert "diverged at iteration 0: demo f = inf (no finite f seen), 0 iterations in 0.50 s" in line


def test_result_line_counts_use_thousands_separators():
    line = result_line(
        outcome(status="interrupted", iterations=12345, final_f=0.5, best_f=0.25, best_iteration=10000)
    )
    assert line.startswith(
        "interrupted at iteration 12,345: demo f = 0.5 (best 0.25 at 10,000), 12,345 iterations in"
    )


def test_result_line_before_any_f():
    line = result_line(outcome(status="interrupted", iterations=0))
    assert "interrupted at iteration 0: demo no f computed yet, 0 iterations" in line


def test_sweep_description_is_singular_for_one():
    class Axis:
        keys, values = ["seed"], [0]

    class Plan:
        members, axes = [object()], [Axis()]

    assert describe_sweep(Plan(), [[0]]) == "1 member over seed (1); 1 batch"


def test_sweep_description_counts_axis_values_with_separators(configs_dir):
    r = CliRunner().invoke(
        cli, ["run", str(configs_dir / "amsgrad.yaml"), "--sweep", "seed=0:2000", "--dry-run"]
    )
    assert r.exit_code == 0, r.output
    assert "2,000 members over seed (2,000); 2 batches" in r.stdout


def test_a_logspace_of_exponents_is_explained(configs_dir):
    r = CliRunner().invoke(
        cli,
        [
            "run",
            str(configs_dir / "amsgrad.yaml"),
            "--sweep",
            "algorithm.alpha=logspace(-3,-1,5)",
            "--dry-run",
        ],
    )
    assert r.exit_code == 2
    assert "not numpy's exponents" in r.stderr and "logspace(1e-4,1e-1,7)" in r.stderr


# ------------------------------------------------------------------ user functions and start points

BODY = textwrap.dedent("""
    import numpy as np

    CALLS = [0]

    def no_return(x):
        np.sum(x ** 2, axis=-1)

    def no_return_per_point(x):
        float(x[0])

    def complex_values(x):
        return np.sqrt(x[:, 0] + 0j)

    def complex_per_point(x):
        return complex(x[0], 1.0)

    def square(x):
        return np.sum(x ** 2, axis=-1)

    def no_return_gradient(x):
        pass

    def log0(x):
        return np.log(x[:, 0]) + x[:, 1] ** 2

    def gives_up(x):
        CALLS[0] += 1
        if CALLS[0] > 40:
            raise RuntimeError("gave up")
        return np.sum(x ** 2, axis=-1)

    def gradient(x):
        return 2.0 * x

    def shape_changes(x):
        CALLS[0] += 1
        f = np.sum(x ** 2, axis=-1)
        return f if CALLS[0] < 20 else np.append(f, 0.0)
""")


@pytest.fixture
def mod(tmp_path, monkeypatch):
    name = f"umsg_{uuid.uuid4().hex[:10]}"
    (tmp_path / f"{name}.py").write_text(BODY)
    monkeypatch.chdir(tmp_path)
    return name


def config(tmp_path: Path, objective: str, start: str = "[-1, 1]") -> Path:
    lines = [
        f"objective: {objective}",
        "bounds: [-2, 2]",
        f"start: {start}",
        "iterations: 200",
        "algorithm: {name: gd, alpha: 0.01}",
    ]
    p = tmp_path / "c.yaml"
    p.write_text("\n".join(lines) + "\n")
    return p


def refused(tmp_path, r, *words):
    assert r.exit_code == 2, r.output
    assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output
    for w in words:
        assert w in r.output, r.output
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "fn,gradient,words",
    [
        (
            "no_return",
            None,
            (
                ("objective function '{m}:no_return' returned None; it must return one value per point"),
                "is a return statement missing?",
            ),
        ),
        ("no_return_per_point", None, ("objective function '{m}:no_return_per_point' returned None",)),
        (
            "square",
            "no_return_gradient",
            (
                (
                    "gradient function '{m}:no_return_gradient' returned None; it must "
                    "return a gradient per point"
                ),
            ),
        ),
        (
            "complex_values",
            None,
            (("objective function '{m}:complex_values' returned complex numbers; it must return real ones"),),
        ),
        ("complex_per_point", None, ("objective function '{m}:complex_per_point' returned complex numbers",)),
    ],
)
def test_none_and_complex_are_named(tmp_path, mod, fn, gradient, words):
    grad = f', gradient: "{mod}:{gradient}"' if gradient else ""
    p = config(tmp_path, f'{{function: "{mod}:{fn}"{grad}}}')
    r = invoke("run", p, "--runs-dir", tmp_path / "runs")
    refused(tmp_path, r, *(w.format(m=mod) for w in words))
    assert "nan" not in r.output


@pytest.mark.parametrize(
    "objective,start,words",
    [
        ("rosenbrock", "[1.0e+200, 1.0e+200]", "objective 'rosenbrock' is inf at the start point"),
        ("{expression: 'log(x0) + x1'}", "[-1, 1]", "expression 'log(x0) + x1' is nan at the start point"),
        ("{function: '{m}:log0', gradient: '{m}:gradient'}", "[-1, 1]", "is nan at the start point"),
    ],
)
def test_start_where_f_is_not_finite_is_refused(tmp_path, mod, objective, start, words):
    p = config(tmp_path, objective.replace("{m}", mod), start=start)
    r = invoke("run", p, "-q", "--runs-dir", tmp_path / "runs")  # -q: no note that the start is outside
    refused(tmp_path, r, words, "choose bounds or a start where it is finite")


def test_failed_run_reports_its_last_f(tmp_path, mod):
    p = config(tmp_path, f'{{function: "{mod}:gives_up", gradient: "{mod}:gradient"}}')
    r = invoke("run", p, "--runs-dir", tmp_path / "runs")
    assert r.exit_code == 1
    line = next(ln for ln in r.output.splitlines() if ln.startswith("failed at iteration"))
    assert "n/a" not in line and " f = " in line
    import json

    (folder,) = (tmp_path / "runs").iterdir()
    s = json.loads((folder / "summary.json").read_text())
    assert s["status"] == "failed" and math.isfinite(s["final_f"]) and s["best_f"] <= s["final_f"]
    assert f"f = {s['final_f']:.6g}" in line


OPTIMIZER = textwrap.dedent("""
    import numpy as np
    from optrun.optimizers.base import Optimizer

    def complex_step(alpha=0.1):
        return Optimizer(lambda x: None, lambda g, s, x, t: (-alpha * g + 0j, s))

    def none_step(alpha=0.1):
        return Optimizer(lambda x: None, lambda g, s, x, t: (None, s))
""")


@pytest.mark.parametrize(
    "factory,words",
    [
        ("complex_step", "update returned a step of complex numbers; it must be real"),
        ("none_step", "update returned None as the step"),
    ],
)
def test_user_optimizer_complex_or_none_step(tmp_path, monkeypatch, factory, words):
    name = f"uopt_{uuid.uuid4().hex[:10]}"
    (tmp_path / f"{name}.py").write_text(OPTIMIZER)
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "o.yaml"
    p.write_text(f"objective: sphere\niterations: 10\nalgorithm: {{name: '{name}:{factory}'}}\n")
    r = invoke("run", p, "--runs-dir", tmp_path / "runs")
    refused(tmp_path, r, f"user optimizer '{name}:{factory}': {words}")


def test_one_point_is_singular_in_a_shape_error(tmp_path, mod):
    p = config(tmp_path, f'{{function: "{mod}:shape_changes", gradient: "{mod}:gradient"}}')
    r = invoke("run", p, "--runs-dir", tmp_path / "runs")
    assert r.exit_code == 1
    assert "returned shape (2,) for 1 point of dimension 2" in r.output, r.output


def test_sweep_show_counts_one_member_in_the_singular(tmp_path, configs_dir):
    runs = tmp_path / "runs"
    r = CliRunner().invoke(
        cli, ["run", str(configs_dir / "amsgrad.yaml"), "--sweep", "seed=0:1", "-q", "--runs-dir", str(runs)]
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["show", "last", "--runs-dir", str(runs)])
    assert r.exit_code == 0, r.output
    assert "best 1 of 1 member by" in r.output and "1 members" not in r.output


def test_plain_progress_says_no_finite_best_instead_of_inf(capsys):
    from optrun.cli.console import PlainReporter

    rep = PlainReporter(quiet=False)
    rep._due = lambda: True
    rep.progress(5, 10, math.nan, math.inf)
    err = capsys.readouterr().err
    assert "best = none finite yet" in err and "inf" not in err


def test_dry_run_labels_write_values_as_yaml_not_python(configs_dir):
    r = CliRunner().invoke(
        cli,
        [
            "run",
            str(configs_dir / "amsgrad.yaml"),
            "--sweep",
            "algorithm={name: adam, alpha: 0.1},{name: gd, alpha: 0.1}",
            "--dry-run",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "  member 0: algorithm={name: adam, alpha: 0.1} [adam (torch)]" in r.stdout
    assert "'" not in r.stdout
