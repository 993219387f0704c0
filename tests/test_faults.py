"""Faults, each driven through a real ``optrun`` subprocess (issue 8).

Ctrl-C / SIGTERM keep every recorded iteration and say ``interrupted``; SIGKILL leaves parseable
files that readers report as ``crashed``; ``optrun resume`` continues bit-identically from the last
checkpoint; a full disk or an unwritable runs folder gives one clear line; 16 concurrent runs make
16 complete folders. No test times anything: waits are for states, not for speed.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from optrun.cli import cli

LONG = "iterations=200000000"


def _popen(optrun_bin: str, runs_dir: Path, cwd: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "OPTRUN_RUNS_DIR": str(runs_dir), "NO_COLOR": "1"}
    return subprocess.Popen(
        [optrun_bin, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _folders(runs_dir: Path) -> list[Path]:
    return sorted(p for p in runs_dir.iterdir() if p.is_dir()) if runs_dir.exists() else []


def _wait_for_rows(runs_dir: Path, rows: int = 2000, timeout: float = 60) -> Path:
    """Wait until a run folder's trace.csv holds at least ``rows`` lines (flushed to disk)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for f in _folders(runs_dir):
            trace = f / "trace.csv"
            if trace.exists() and trace.stat().st_size > rows * 60:
                return f
        time.sleep(0.05)
    pytest.fail("the run never wrote its first trace rows")


def _read_trace(folder: Path) -> list[list[str]]:
    with open(folder / "trace.csv", newline="") as f:
        text = f.read()
    assert text.endswith("\n"), "a finished trace ends with a complete line"
    return list(csv.reader(text.splitlines()))


def _summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def _check_complete_rows(folder: Path) -> int:
    """Every file parses; CSV rows all have the header's width; JSON lines all parse.
    A partial last line (a crash mid-write) is allowed in a crashed run only and is ignored."""
    text = (folder / "trace.csv").read_text()
    lines = text.split("\n")
    complete = lines[:-1]  # the text after the last newline is partial (or empty)
    rows = list(csv.reader(complete))
    widths = {len(r) for r in rows}
    assert len(widths) == 1, f"rows of widths {widths}"
    for line in (folder / "trace.jsonl").read_text().split("\n")[:-1]:
        json.loads(line)
    for name in ("summary.json", "meta.json"):
        json.loads((folder / name).read_text())
    return len(rows) - 1


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_interrupts_keep_every_row(optrun_bin, runs_dir, tmp_path, configs_dir, sig, code):
    p = _popen(optrun_bin, runs_dir, tmp_path, "run", str(configs_dir / "amsgrad.yaml"), LONG)
    folder = _wait_for_rows(runs_dir)
    p.send_signal(sig)
    out, err = p.communicate(timeout=60)
    assert p.returncode == code, err
    assert "Traceback" not in out + err
    assert "\x1b[" not in out + err  # the terminal is left clean: no stray escape codes
    s = _summary(folder)
    assert s["status"] == "interrupted" and s["signal"] == sig.name
    rows = _read_trace(folder)
    assert len({len(r) for r in rows}) == 1
    # the trace holds every iteration 0..N and the summary says N
    its = [int(r[0]) for r in rows[1:]]
    assert its == list(range(len(its)))
    assert s["iterations"] == its[-1]
    assert (folder / "checkpoint.npz").exists()


def test_sigkill_run_is_crashed_readable_and_resumable(
    optrun_bin, runs_dir, tmp_path, configs_dir, run_optrun
):
    args = ["run", str(configs_dir / "amsgrad.yaml"), "iterations=150000", "trace.checkpoint_s=0.1"]
    p = _popen(optrun_bin, runs_dir, tmp_path, *args)
    folder = _wait_for_rows(runs_dir, rows=20000)
    p.kill()
    p.wait(timeout=30)
    assert _summary(folder)["status"] == "running"  # what the dead process left
    _check_complete_rows(folder)

    listed = run_optrun("runs", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    (entry,) = json.loads(listed.stdout)
    assert entry["status"] == "crashed"
    shown = run_optrun("show", str(folder))
    assert shown.returncode == 0 and "crashed" in shown.stdout

    resumed = run_optrun("resume", str(folder))
    assert resumed.returncode == 0, resumed.stderr
    assert _summary(folder)["status"] == "completed"
    assert not (folder / "checkpoint.npz").exists()

    # the resumed trace equals an uninterrupted run of the same resolved config, byte for byte
    ref_runs = tmp_path / "ref"
    ref = run_optrun("run", str(folder / "config.yaml"), env={"OPTRUN_RUNS_DIR": str(ref_runs)})
    assert ref.returncode == 0, ref.stderr
    (ref_folder,) = _folders(ref_runs)
    assert (folder / "trace.csv").read_bytes() == (ref_folder / "trace.csv").read_bytes()
    assert (folder / "trace.jsonl").read_bytes() == (ref_folder / "trace.jsonl").read_bytes()
    for key in ("final_f", "final_x", "best_f", "best_iteration", "iterations"):
        assert _summary(folder)[key] == _summary(ref_folder)[key]


def test_resume_after_ctrl_c_is_bit_identical(optrun_bin, runs_dir, tmp_path, configs_dir, run_optrun):
    p = _popen(
        optrun_bin,
        runs_dir,
        tmp_path,
        "run",
        str(configs_dir / "adagrad.yaml"),
        "iterations=120000",
        "trace.every=7",
    )
    folder = _wait_for_rows(runs_dir, rows=1000)
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=60)
    if p.returncode == 0:  # it finished before the signal landed: nothing to resume
        pytest.skip("the run finished before the interrupt")
    assert p.returncode == 130
    assert run_optrun("resume", "last").returncode == 0
    ref = run_optrun("run", str(folder / "config.yaml"), env={"OPTRUN_RUNS_DIR": str(tmp_path / "ref")})
    (ref_folder,) = _folders(tmp_path / "ref")
    assert ref.returncode == 0
    assert (folder / "trace.csv").read_bytes() == (ref_folder / "trace.csv").read_bytes()


def test_resume_refuses_finished_and_unknown_runs(run_optrun, configs_dir):
    assert run_optrun("run", str(configs_dir / "adagrad.yaml"), "-q").returncode == 0
    done = run_optrun("resume", "last")
    assert done.returncode == 2
    assert "completed" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    missing = run_optrun("resume", "nosuchrun")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_sixteen_concurrent_runs_make_sixteen_complete_folders(optrun_bin, runs_dir, tmp_path, configs_dir):
    procs = [
        _popen(optrun_bin, runs_dir, tmp_path, "run", str(configs_dir / "amsgrad.yaml"), "-q")
        for _ in range(16)
    ]
    codes = [p.wait(timeout=120) for p in procs]
    for p in procs:
        p.communicate()
    assert codes == [0] * 16
    folders = _folders(runs_dir)
    assert len(folders) == 16 and len({f.name for f in folders}) == 16
    for f in folders:
        assert _summary(f)["status"] == "completed"
        assert _check_complete_rows(f) == 101


def _mount_tmpfs(path: Path, options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    try:
        r = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
            capture_output=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", str(path)], capture_output=True, check=False, timeout=10)


def test_disk_full_during_a_run_records_failed_and_keeps_the_trace(run_optrun, tmp_path, configs_dir):
    tiny = tmp_path / "tiny"
    if not _mount_tmpfs(tiny, "size=400k"):
        pytest.skip("cannot mount a small tmpfs here (needs root); the injected test covers this")
    try:
        r = run_optrun(
            "run",
            str(configs_dir / "amsgrad.yaml"),
            "iterations=100000",
            env={"OPTRUN_RUNS_DIR": str(tiny / "runs")},
        )
        assert r.returncode == 1, r.stderr
        assert "No space left on device" in r.stderr and "Traceback" not in r.stderr
        (folder,) = _folders(tiny / "runs")
        s = _summary(folder)
        assert s["status"] == "failed" and "No space left" in s["error"]
        kept = _check_complete_rows(folder)
        assert kept > 100 and s["iterations"] <= kept
    finally:
        _umount(tiny)


def test_disk_full_injected(monkeypatch, tmp_path, configs_dir):
    """Same promise without root: os.write fails with ENOSPC after a few trace blocks."""
    import optrun.store.folder as folder_mod

    real_write = os.write
    calls = {"n": 0}

    def failing_write(fd, data):
        calls["n"] += 1
        if calls["n"] > 6:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(folder_mod.os, "write", failing_write)
    monkeypatch.setattr(folder_mod, "FLUSH_SECONDS", 0.0)
    runs = tmp_path / "runs"
    r = CliRunner().invoke(
        cli, ["run", str(configs_dir / "amsgrad.yaml"), "iterations=50000", "--runs-dir", str(runs)]
    )
    assert r.exit_code == 1, r.output
    (folder,) = _folders(runs)
    s = _summary(folder)
    assert s["status"] == "failed" and "No space left on device" in s["error"]
    assert _check_complete_rows(folder) >= 1


def test_unwritable_runs_folder_is_one_line_exit_2(run_optrun, tmp_path, configs_dir):
    ro = tmp_path / "ro"
    if not _mount_tmpfs(ro, "ro,size=64k"):
        pytest.skip("cannot mount a read-only tmpfs here (needs root)")
    try:
        r = run_optrun("run", str(configs_dir / "amsgrad.yaml"), env={"OPTRUN_RUNS_DIR": str(ro / "runs")})
        assert r.returncode == 2
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
        assert "runs folder" in r.stderr
    finally:
        _umount(ro)


def test_runs_folder_that_is_a_file(run_optrun, tmp_path, configs_dir):
    f = tmp_path / "afile"
    f.write_text("x")
    r = run_optrun("run", str(configs_dir / "amsgrad.yaml"), env={"OPTRUN_RUNS_DIR": str(f)})
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("name", ["../../escape", "/abs/path", "a/b", "x" * 300, "nul\x00byte", ".hidden"])
def test_a_label_never_writes_outside_the_runs_folder(tmp_path, configs_dir, name):
    runs = tmp_path / "runs"
    r = CliRunner().invoke(
        cli,
        [
            "run",
            str(configs_dir / "amsgrad.yaml"),
            f"name={name!r}" if "\x00" not in name else "name=nul\x00byte",
            "--runs-dir",
            str(runs),
        ],
    )
    assert r.exit_code == 2
    assert not runs.exists() or not any(runs.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["runs"])


def test_python_module_entry_point_handles_sigint_cleanly(tmp_path, configs_dir):
    env = {**os.environ, "OPTRUN_RUNS_DIR": str(tmp_path / "runs"), "NO_COLOR": "1"}
    p = subprocess.Popen(
        [sys.executable, "-m", "optrun", "run", str(configs_dir / "amsgrad.yaml"), LONG],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_rows(tmp_path / "runs")
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "Traceback" not in err


SLOW_OBJECTIVE = """
import time
import numpy as np


def slow_sphere(x):
    time.sleep(0.003)  # a costly simulation: about 300 steps per second
    return float(np.dot(x, x))


def slow_sphere_gradient(x):
    return 2.0 * np.asarray(x)
"""


def test_slow_objective_keeps_trace_heartbeat_and_checkpoints_on_time(
    optrun_bin, runs_dir, tmp_path, run_optrun
):
    # 1,024 rows (a whole chunk at d = 2) take 3 s here: rows, the heartbeat and checkpoints must not
    # wait for a full chunk (the runner hands a partial one on every second)
    (tmp_path / "slowmod.py").write_text(SLOW_OBJECTIVE)
    cfg = tmp_path / "slow.yaml"
    cfg.write_text(
        "objective: {function: 'slowmod:slow_sphere', gradient: 'slowmod:slow_sphere_gradient'}\n"
        "bounds: [[-2, 2], [-2, 2]]\nstart: [1.0, -0.5]\nalgorithm: {name: adagrad, alpha: 0.1}\n"
        "iterations: 1100\ntrace: {checkpoint_s: 0.5}\n"
    )
    p = _popen(optrun_bin, runs_dir, tmp_path, "run", str(cfg))
    try:
        deadline = time.monotonic() + 60
        folder = None
        while time.monotonic() < deadline:
            (folder,) = _folders(runs_dir) or [None]
            if (
                folder is not None
                and (folder / "checkpoint.npz").exists()
                and _summary(folder).get("iterations")
            ):
                break
            time.sleep(0.1)
        p.kill()
        p.wait(timeout=30)
        assert folder is not None and (folder / "checkpoint.npz").exists(), "no checkpoint within 60 s"
        assert 0 < _summary(folder)["iterations"] < 1024  # the heartbeat's progress, before a full chunk
        rows = _check_complete_rows(folder)
        assert 0 < rows < 1024
    finally:
        if p.poll() is None:
            p.kill()
    resumed = run_optrun("resume", str(folder), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert _summary(folder)["status"] == "completed" and _summary(folder)["iterations"] == 1100
