"""Iterations to target do not depend on how the trace is thinned.

The first iteration with f - f* <= 1e-1 .. 1e-8 is found on every iteration while the run runs and
recorded in its summary.json (``hits``) and in a sweep's ``hit_`` columns; ``optrun compare``
reads those figures, falling back to the trace only for folders written before they existed. A
resumed run keeps the hits its checkpoint carries.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from optrun.cli import cli
from optrun.execution import drive
from optrun.store.select import load_run, load_sweep

LABELS = [f"1e-{k}" for k in range(1, 9)]
# AMSGrad on Rosenbrock: f is not monotone and no crossing falls on a multiple of 500
ARGS = [
    "objective={name: rosenbrock, dim: 2}",
    "iterations=5000",
    "algorithm.name=amsgrad",
    "algorithm.alpha=0.05",
    "algorithm.beta1=0.9",
    "algorithm.beta2=0.999",
    "algorithm.beta1_schedule=constant",
    "seed=1",
]
THINNING = {
    "every1": ["trace.every=1"],
    "every500": ["trace.every=500"],
    "logspaced": ["trace.log_per_decade=10"],
}


def _run(config, runs_dir, *extra) -> str:
    r = CliRunner().invoke(
        cli, ["run", str(config), *ARGS, *extra, "--runs-dir", str(runs_dir), "-q", "--format", "json"]
    )
    assert r.exit_code == 0, r.output
    return json.loads(r.output.strip().splitlines()[-1])["path"]


def brute_hits(its: np.ndarray, f: np.ndarray, f_min: float) -> dict[str, int | None]:
    out = {}
    for label in LABELS:
        below = [int(i) for i, v in zip(its, f) if v - f_min <= float(label)]
        out[label] = below[0] if below else None
    return out


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    from pathlib import Path

    config = Path(__file__).resolve().parents[2] / "configs" / "amsgrad.yaml"
    runs = tmp_path_factory.mktemp("hits") / "runs"
    return config, runs, {k: _run(config, runs, *v) for k, v in THINNING.items()}


def test_summary_hits_are_the_first_crossings_whatever_the_thinning(three_runs):
    _, _, paths = three_runs
    full = load_run(paths["every1"])
    tr = full.trace()
    assert np.array_equal(tr["iteration"], np.arange(5001))  # every iteration recorded
    assert not np.all(np.diff(tr["f"]) <= 0)  # f goes up at times: first crossing != best-so-far
    expected = brute_hits(tr["iteration"], tr["f"], full.f_min)
    reached = [v for v in expected.values() if v is not None]
    assert len(reached) >= 3 and all(v % 500 for v in reached)  # the case thinning got wrong
    for name, path in paths.items():
        assert load_run(path).summary["hits"] == expected, name
    # the thinned trace alone would say otherwise (the defect): first recorded row at/after it
    thin = load_run(paths["every500"]).trace()
    assert brute_hits(thin["iteration"], thin["f"], 0.0) != expected


def test_compare_reads_the_summary_hits_and_the_gate_passes(three_runs):
    _, runs, paths = three_runs
    ids = [paths[k] for k in THINNING]
    r = CliRunner().invoke(cli, ["compare", *ids, "--runs-dir", str(runs), "--format", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    expected = load_run(paths["every1"]).summary["hits"]
    rows = {row["key"]: row["values"] for row in data["rows"]}
    for label in LABELS:
        values = set(rows[f"target_{label}"].values())
        assert values == {expected[label]}, (label, values)
    assert not any("record a thinned trace" in n for n in data["notes"])
    for base, cand in [("every1", "every500"), ("every500", "every1"), ("logspaced", "every500")]:
        r = CliRunner().invoke(
            cli,
            [
                "compare",
                paths[base],
                paths[cand],
                "--runs-dir",
                str(runs),
                "--metric",
                "iterations_to_target",
                "--target",
                "1e-3",
                "--fail-if-worse",
            ],
        )
        assert r.exit_code == 0, (base, cand, r.output)


def test_compare_falls_back_to_the_trace_for_old_folders(three_runs):
    """A folder written before summaries held hits: the figures come from its trace, as before."""
    _, runs, paths = three_runs
    import shutil

    old = os.path.join(str(runs), os.path.basename(paths["every500"]) + "-old")
    shutil.copytree(paths["every500"], old)
    with open(os.path.join(old, "summary.json")) as f:
        s = json.load(f)
    del s["hits"]
    with open(os.path.join(old, "summary.json"), "w") as f:
        json.dump(s, f)
    r = CliRunner().invoke(
        cli, ["compare", paths["every1"], old, "--runs-dir", str(runs), "--format", "json"]
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    row = {row["key"]: row["values"] for row in data["rows"]}["target_1e-1"]
    thin = load_run(old).trace()
    assert row[os.path.basename(old)] == brute_hits(thin["iteration"], thin["f"], 0.0)["1e-1"]
    assert any("record a thinned trace" in n for n in data["notes"])


def test_sweep_hit_columns_equal_the_single_runs(three_runs, tmp_path):
    config, _, paths = three_runs
    runs = tmp_path / "runs"
    r = CliRunner().invoke(
        cli,
        [
            "run",
            str(config),
            *(a for a in ARGS if a != "seed=1"),
            "trace.every=500",
            "--sweep",
            "seed=0:3",
            "--runs-dir",
            str(runs),
            "-q",
            "--workers",
            "1",
        ],
    )
    assert r.exit_code == 0, r.output
    (sweep_dir,) = list(runs.iterdir())
    sweep = load_sweep(str(sweep_dir))
    row = sweep.rows[1]  # seed 1, the single runs' seed
    expected = load_run(paths["every1"]).summary["hits"]
    assert {label: row[f"hit_{label}"] for label in LABELS} == expected
    member = load_run(os.path.join(str(sweep_dir), "1"))
    r = CliRunner().invoke(
        cli, ["compare", paths["every1"], member.path, "--runs-dir", str(runs), "--format", "json"]
    )
    assert r.exit_code == 0, r.output
    rows = {row["key"]: row["values"] for row in json.loads(r.output)["rows"]}
    assert set(rows["target_1e-2"].values()) == {expected["1e-2"]}


def interrupted_between_targets(config, expected, runs, monkeypatch, *extra):
    """Run ``config`` stopped (as by Ctrl-C, exit 130) between the steps where it first reaches
    1e-2 and 1e-3; returns its folder."""
    stop_at = (expected["1e-2"] + expected["1e-3"]) // 2  # 1e-1 and 1e-2 reached before it, not 1e-3
    real_run = drive.run

    def interrupted_run(problem, on_chunk, should_stop=None, **kw):
        steps = iter(range(10**9))
        return real_run(problem, on_chunk, should_stop=lambda: next(steps) >= stop_at, **kw)

    monkeypatch.setattr(drive, "run", interrupted_run)
    r = CliRunner().invoke(cli, ["run", str(config), *ARGS, *extra, "--runs-dir", str(runs), "-q"])
    assert r.exit_code == 130, r.output
    monkeypatch.setattr(drive, "run", real_run)
    (folder,) = list(runs.iterdir())
    return folder


def test_a_resumed_run_keeps_the_hits_it_had(three_runs, tmp_path, monkeypatch):
    """Interrupted after the first targets were reached, then resumed: the same hits as a run
    never interrupted (resume used to re-derive them from best f and its iteration)."""
    config, _, paths = three_runs
    expected = load_run(paths["every1"]).summary["hits"]
    runs = tmp_path / "runs"
    folder = interrupted_between_targets(config, expected, runs, monkeypatch, "trace.every=500")
    s = load_run(str(folder)).summary
    assert s["status"] == "interrupted"
    assert s["hits"]["1e-2"] == expected["1e-2"] and s["hits"]["1e-3"] is None
    r = CliRunner().invoke(cli, ["resume", str(folder), "--runs-dir", str(runs), "-q"])
    assert r.exit_code == 0, r.output
    done = load_run(str(folder))
    assert done.summary["status"] == "completed" and done.summary["hits"] == expected


def test_a_checkpoint_from_before_hits_takes_them_from_the_trace(three_runs, tmp_path, monkeypatch):
    """A checkpoint written before checkpoints carried hits: resume finds them in the recorded
    rows (exact with every row recorded), not from best f and its iteration."""
    config, _, paths = three_runs
    expected = load_run(paths["every1"]).summary["hits"]
    runs = tmp_path / "runs"
    folder = interrupted_between_targets(config, expected, runs, monkeypatch)
    ck = folder / "checkpoint.npz"
    with np.load(ck) as z:
        old = {k: z[k] for k in z.files if k != "hits"}
    with open(ck, "wb") as f:
        np.savez(f, **old)
    r = CliRunner().invoke(cli, ["resume", str(folder), "--runs-dir", str(runs), "-q"])
    assert r.exit_code == 0, r.output
    assert load_run(str(folder)).summary["hits"] == expected


def test_a_target_off_the_ladder_is_refused_when_a_trace_is_thinned(three_runs):
    """Between the recorded decades (3e-7) the figure would come from each trace: with a thinned
    one (trace.every or log_per_decade) bit-identical trajectories would rank differently."""
    _, runs, paths = three_runs
    for thin in ("every500", "logspaced"):
        r = CliRunner().invoke(
            cli,
            [
                "compare",
                paths["every1"],
                paths[thin],
                "--runs-dir",
                str(runs),
                "--metric",
                "iterations_to_target",
                "--target",
                "3e-7",
                "--fail-if-worse",
            ],
        )
        assert r.exit_code == 2, r.output
        assert (
            "would come from a thinned trace" in r.stderr and os.path.basename(paths[thin])[-6:] in r.stderr
        )
    r = CliRunner().invoke(
        cli,
        [
            "compare",
            paths["every1"],
            paths["every1"],
            "--runs-dir",
            str(runs),
            "--metric",
            "iterations_to_target",
            "--target",
            "3e-7",
            "--format",
            "json",
        ],
    )
    assert r.exit_code == 0, r.output  # every iteration recorded: exact at any target
