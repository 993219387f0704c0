"""Damage is noticed, never read as something else: an empty trace of a finished run, a trace
cut mid-line by a full disk, a sweep whose batch trace file was deleted; and a run that failed
(a full disk) resumes once the cause is gone."""

from __future__ import annotations

import errno
import json
import os
import shutil

import numpy as np
import pytest
from cli_runs import run_folder
from click.testing import CliRunner

import optrun.store.folder as folder_mod
from optrun.cli import cli
from optrun.store.listing import list_runs
from optrun.store.select import load_run, load_sweep

RUN_ARGS = ["iterations=20000", "expect.f_gap_max=null"]


def _run(configs_dir, runs, *extra, code=0) -> str:
    return run_folder(configs_dir / "rosenbrock.yaml", runs, *RUN_ARGS, *extra, code=code)


def _one_line_exit_2(r, *needles):
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    for n in needles:
        assert n in r.stderr, r.stderr


# ------------------------------------------------------------------------------ empty trace


@pytest.mark.parametrize("name", ["trace.csv", "trace.jsonl"])
def test_empty_trace_of_a_completed_run_is_damage(configs_dir, runs_dir, run_optrun, name):
    path = _run(configs_dir, runs_dir)
    open(os.path.join(path, name), "w").close()
    r = run_optrun("show", path)
    _one_line_exit_2(r, name, "damaged", "empty")
    r = run_optrun("compare", path, path)
    _one_line_exit_2(r, name, "damaged")
    (entry,) = list_runs(str(runs_dir))
    assert entry.status == "damaged" and name in entry.problem
    r = run_optrun("runs")
    assert r.returncode == 0 and "damaged" in r.stdout, r.stdout


def test_empty_trace_of_a_running_run_is_no_rows_yet(configs_dir, runs_dir):
    path = _run(configs_dir, runs_dir)
    with open(os.path.join(path, "summary.json")) as f:
        s = json.load(f)
    s.update(status="running", pid=os.getpid(), pid_start=folder_mod.process_start_ticks(os.getpid()))
    with open(os.path.join(path, "summary.json"), "w") as f:
        json.dump(s, f)
    open(os.path.join(path, "trace.csv"), "w").close()
    run = load_run(path)
    assert run.status == "running" and run.trace()["f"].size == 0


# ------------------------------------------------------------------------------ a full disk


def _disk_full_after(monkeypatch, calls_ok: int):
    """os.write succeeds ``calls_ok`` times, then writes half of what it is given (a disk filling
    up mid-write) and fails on the next call with ENOSPC, as a full disk does."""
    real_write = os.write
    state = {"n": 0}

    def write(fd, data):
        state["n"] += 1
        if state["n"] <= calls_ok:
            return real_write(fd, data)
        if state["n"] == calls_ok + 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(folder_mod.os, "write", write)
    monkeypatch.setattr(folder_mod, "FLUSH_SECONDS", 0.0)


@pytest.mark.parametrize("calls_ok", [6, 7])  # cut in trace.csv's block, in trace.jsonl's
def test_a_full_disk_never_leaves_a_partial_line(configs_dir, runs_dir, monkeypatch, calls_ok):
    pd = pytest.importorskip("pandas")
    _disk_full_after(monkeypatch, calls_ok)
    path = _run(configs_dir, runs_dir, code=1)
    monkeypatch.undo()
    assert load_run(path).summary["status"] == "failed"
    texts = {}
    for name in ("trace.csv", "trace.jsonl"):
        with open(os.path.join(path, name), "rb") as f:
            texts[name] = f.read().decode()
        assert texts[name].endswith("\n"), name
    frame = pd.read_json(os.path.join(path, "trace.jsonl"), lines=True)  # the README's recipe
    csv_rows = texts["trace.csv"].count("\n") - 1
    assert len(frame) == csv_rows > 0  # the files hold the same rows
    assert list(frame["iteration"]) == list(range(csv_rows))
    assert load_run(path).summary["iterations"] == csv_rows - 1


def test_a_full_disk_never_leaves_a_partial_line_in_a_batch_file(configs_dir, runs_dir, monkeypatch):
    _disk_full_after(monkeypatch, 3)
    r = CliRunner().invoke(
        cli,
        [
            "run",
            str(configs_dir / "rosenbrock.yaml"),
            *RUN_ARGS,
            "--sweep",
            "seed=0:4",
            "--runs-dir",
            str(runs_dir),
            "-q",
            "--workers",
            "1",
        ],
    )
    monkeypatch.undo()
    assert r.exit_code == 1, r.output
    (path,) = list(runs_dir.iterdir())
    text = (path / "traces" / "batch-0000.csv").read_text()
    assert text.count("\n") > 1 and text.endswith("\n")
    sweep = load_sweep(str(path))
    assert {row["status"] for row in sweep.rows} == {"failed"}
    assert all(t["iteration"].size for t in sweep.traces().values())


def test_a_failed_run_with_a_checkpoint_resumes_bit_identical(configs_dir, runs_dir, monkeypatch):
    clean = load_run(_run(configs_dir, runs_dir, "trace.checkpoint_s=0.001")).trace()
    _disk_full_after(monkeypatch, 7)
    path = _run(configs_dir, runs_dir, "trace.checkpoint_s=0.001", code=1)
    monkeypatch.undo()
    assert load_run(path).summary["status"] == "failed"
    assert os.path.exists(os.path.join(path, "checkpoint.npz"))
    r = CliRunner().invoke(cli, ["resume", path, "--runs-dir", str(runs_dir), "-q"])
    assert r.exit_code == 0, r.output
    run = load_run(path)
    assert run.status == "completed" and "error" not in run.summary
    tr = run.trace()
    for c in clean:
        assert np.array_equal(tr[c], clean[c]), c


def test_a_failed_run_without_a_checkpoint_says_rerun_it(configs_dir, runs_dir, monkeypatch, run_optrun):
    _disk_full_after(monkeypatch, 7)
    path = _run(configs_dir, runs_dir, "trace.checkpoint_s=null", code=1)
    monkeypatch.undo()
    assert not os.path.exists(os.path.join(path, "checkpoint.npz"))
    r = run_optrun("resume", path)
    _one_line_exit_2(r, "has no checkpoint", f"rerun it with: optrun run {os.path.join(path, 'config.yaml')}")


# ------------------------------------------------------------------------------ a sweep's batch file


def test_a_deleted_batch_file_is_damage_and_resume_reruns_its_members(configs_dir, runs_dir, run_optrun):
    r = CliRunner().invoke(
        cli,
        [
            "run",
            str(configs_dir / "rosenbrock.yaml"),
            "iterations=500",
            "expect.f_gap_max=null",
            "--sweep",
            "objective.dim=2,3",
            "--sweep",
            "seed=0:2",
            "--runs-dir",
            str(runs_dir),
            "-q",
            "--workers",
            "1",
        ],
    )
    assert r.exit_code == 0, r.output
    (path,) = [str(p) for p in runs_dir.iterdir()]
    before = load_sweep(path)
    lost = [m for m, row in enumerate(before.rows) if row["batch"] == 0]
    assert len(lost) == 2 and len(before.rows) == 4
    traces = before.traces()
    os.unlink(os.path.join(path, "traces", "batch-0000.csv"))

    r = run_optrun("show", path)
    _one_line_exit_2(r, "traces/batch-0000.csv is missing", "optrun resume")
    (entry,) = list_runs(str(runs_dir))
    assert entry.status == "damaged" and "traces/batch-0000.csv" in entry.problem
    r = run_optrun("runs")
    assert "damaged" in r.stdout, r.stdout

    r = run_optrun("resume", path)
    assert r.returncode == 0, r.stderr
    after = load_sweep(path)
    assert after.status == "completed" and [row["status"] for row in after.rows] == ["completed"] * 4
    assert all(after.rows[m]["batch"] != 0 for m in lost)
    again = after.traces()
    for m in range(4):
        for c in traces[m]:
            assert np.array_equal(again[m][c], traces[m][c]), (m, c)
    shutil.rmtree(os.path.join(path, "traces"))
    r = run_optrun("show", path)
    _one_line_exit_2(r, "is missing")
