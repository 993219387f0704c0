"""``trace.formats`` chooses which trace files a run writes; every reader works with either alone;
a run whose trace would be large gets one ``note:`` line before it starts."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from cli_runs import run_folder
from click.testing import CliRunner

from optrun.cli import cli
from optrun.execution import drive
from optrun.store.select import load_run

ARGS = ["iterations=3000", "trace.checkpoint_s=0.001", "expect.f_gap_max=null"]


def _run(configs_dir, runs, *extra, code=0) -> str:
    return run_folder(configs_dir / "rosenbrock.yaml", runs, *ARGS, *extra, code=code)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from pathlib import Path

    configs = Path(__file__).resolve().parents[2] / "configs"
    d = tmp_path_factory.mktemp("formats") / "runs"
    return (
        configs,
        d,
        {
            name: _run(configs, d, f"trace.formats={value}")
            for name, value in (("both", "[csv, jsonl]"), ("csv", "[csv]"), ("jsonl", "[jsonl]"))
        },
    )


@pytest.mark.parametrize(
    "value, needle",
    [
        ("[xml]", "trace.formats: unknown trace format 'xml': give csv, jsonl or both"),
        ("[]", "trace.formats: must be a non-empty list of csv and jsonl"),
        ("[csv, 3]", "unknown trace format 3"),
        ("{a: 1}", "trace.formats: must be a non-empty list"),
    ],
)
def test_bad_formats_are_one_line_exit_2(run_optrun, configs_dir, runs_dir, value, needle):
    r = run_optrun("run", configs_dir / "rosenbrock.yaml", f"trace.formats={value}")
    assert r.returncode == 2 and needle in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not runs_dir.exists() or not list(runs_dir.iterdir())


def test_each_run_writes_only_its_formats(runs):
    _, _, paths = runs
    files = {k: sorted(f for f in os.listdir(p) if f.startswith("trace")) for k, p in paths.items()}
    assert files == {"both": ["trace.csv", "trace.jsonl"], "csv": ["trace.csv"], "jsonl": ["trace.jsonl"]}
    assert load_run(paths["jsonl"]).config["trace"]["formats"] == ["jsonl"]


def test_readers_give_the_same_trace_from_either_file(runs):
    _, _, paths = runs
    ref = load_run(paths["both"]).trace()
    assert ref["iteration"].size == 3001
    for k in ("csv", "jsonl"):
        tr = load_run(paths[k]).trace()
        assert list(tr) == list(ref)
        for c in ref:
            assert np.array_equal(tr[c], ref[c]), (k, c)  # bit for bit (all finite here)


def test_show_compare_plot_work_with_jsonl_alone(runs, tmp_path):
    _, d, paths = runs
    r = CliRunner().invoke(cli, ["show", paths["jsonl"], "--runs-dir", str(d)])
    assert r.exit_code == 0 and "trace: 3,001 rows" in r.output, r.output
    r = CliRunner().invoke(
        cli,
        [
            "compare",
            paths["jsonl"],
            paths["csv"],
            "--runs-dir",
            str(d),
            "--metric",
            "final_f",
            "--fail-if-worse",
        ],
    )
    assert r.exit_code == 0, r.output
    out = tmp_path / "p.png"
    r = CliRunner().invoke(cli, ["plot", paths["jsonl"], "--runs-dir", str(d), "-o", str(out)])
    assert r.exit_code == 0 and out.stat().st_size > 1000, r.output


@pytest.mark.parametrize("formats", ["[jsonl]", "[csv]"])
def test_resume_truncates_and_appends_the_one_file(runs, tmp_path, monkeypatch, formats):
    configs, _, paths = runs
    real_run = drive.run

    def interrupted_run(problem, on_chunk, should_stop=None, **kw):
        steps = iter(range(10**9))
        return real_run(problem, on_chunk, should_stop=lambda: next(steps) >= 1234, **kw)

    d = tmp_path / "runs"
    monkeypatch.setattr(drive, "run", interrupted_run)
    path = _run(configs, d, f"trace.formats={formats}", code=130)
    monkeypatch.setattr(drive, "run", real_run)
    r = CliRunner().invoke(cli, ["resume", path, "--runs-dir", str(d), "-q"])
    assert r.exit_code == 0, r.output
    ref = load_run(paths["both"]).trace()
    tr = load_run(path).trace()
    for c in ref:
        assert np.array_equal(tr[c], ref[c]), c
    assert sorted(f for f in os.listdir(path) if f.startswith("trace")) == [f"trace.{formats[1:-1]}"]


def test_a_large_trace_gets_one_note_before_the_run(run_optrun, configs_dir):
    r = run_optrun("run", configs_dir / "amsgrad.yaml", "iterations=2000000", "--dry-run")
    assert r.returncode == 0, r.stderr
    notes = [line for line in r.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1, r.stderr
    assert "2,000,001 rows" in notes[0]
    # the estimate against the bytes a real run writes (Rosenbrock: its numbers keep their digits;
    # a run converging to 0.0 writes shorter text): 100,000 iterations, scaled to 2,000,000
    r = run_optrun("run", configs_dir / "rosenbrock.yaml", "iterations=2000000", "--dry-run")
    (note,) = [line for line in r.stderr.splitlines() if line.startswith("note:")]
    r = run_optrun("run", configs_dir / "rosenbrock.yaml", "iterations=100000", "-q")
    assert r.returncode == 0, r.stderr
    folder = r.stdout.strip().rsplit(" -> ", 1)[1]
    written = sum(os.path.getsize(os.path.join(folder, f)) for f in ("trace.csv", "trace.jsonl")) * 20
    estimate = float(re.search(r"about ([\d,]+) MB", note).group(1).replace(",", "")) * 1e6
    assert 0.85 < estimate / written < 1.15, (estimate, written)
    for hint in ("trace.log_per_decade", "trace.every", "trace.formats"):
        assert hint in notes[0]
    for quiet in (
        ["iterations=2000000", "trace.formats=[csv]"],
        ["iterations=2000000", "trace.log_per_decade=10"],
        ["iterations=200000"],
    ):
        r = run_optrun("run", configs_dir / "amsgrad.yaml", *quiet, "--dry-run")
        assert r.returncode == 0 and "note:" not in r.stderr, (quiet, r.stderr)
    r = run_optrun(
        "run", configs_dir / "amsgrad.yaml", "iterations=2000000", "--sweep", "seed=0:4", "--dry-run"
    )
    (note,) = [line for line in r.stderr.splitlines() if line.startswith("note:")]
    assert "CSV batch files" in note and "8,000,004 rows" in note


def test_the_note_never_suggests_a_larger_trace(run_optrun, configs_dir):
    """Its trace.every suggestion thins what is already thinned (every: 100 -> a multiple of it),
    and a setting already in force is not suggested again."""
    r = run_optrun(
        "run",
        configs_dir / "rosenbrock.yaml",
        "iterations=300000",
        "trace.every=100",
        "--sweep",
        "seed=0:2000",
        "--dry-run",
    )
    (note,) = [line for line in r.stderr.splitlines() if line.startswith("note:")]
    every = int(re.search(r"trace\.every: ([\d,]+) keeps", note).group(1).replace(",", ""))
    assert every > 100 and every % 100 == 0, note
    r = run_optrun(
        "run",
        configs_dir / "rosenbrock.yaml",
        "iterations=1000000",
        "trace.log_per_decade=10",
        "trace.x=none",
        "--sweep",
        "seed=0:400000",
        "--dry-run",
    )
    (note,) = [line for line in r.stderr.splitlines() if line.startswith("note:")]
    assert "log_per_decade" not in note and "trace.every" not in note and "trace.x" not in note, note


def test_a_sweep_asked_for_jsonl_only_is_told_it_writes_csv(run_optrun, configs_dir):
    r = run_optrun(
        "run", configs_dir / "amsgrad.yaml", "trace.formats=[jsonl]", "--sweep", "seed=0:2", "--dry-run"
    )
    assert r.returncode == 0, r.stderr
    (note,) = [line for line in r.stderr.splitlines() if line.startswith("note:")]
    assert "a sweep writes its traces as CSV batch files" in note
