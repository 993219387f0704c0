"""One writer per run or sweep folder (issue 14): ``optrun run`` and ``optrun resume`` claim the
folder with an exclusive lock held until the summary is final; a second resume exits 2 with one
line naming the holder; a lock left by a dead process blocks nobody. Readers refuse a trace whose
iterations do not increase (what two interleaved writers leave).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from optrun.errors import RunSelectionError
from optrun.store.folder import FolderLock

BUSY = re.compile(r"^Error: (run|sweep) \S+ is being written by another optrun process \(pid (\d+)\)$")


def _popen(optrun_bin: str, runs_dir: Path, cwd: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "OPTRUN_RUNS_DIR": str(runs_dir), "NO_COLOR": "1"}
    return subprocess.Popen(
        [optrun_bin, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _only_folder(runs_dir: Path) -> Path:
    (folder,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    return folder


def _summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def _wait(predicate, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def _interrupted_run(optrun_bin, runs_dir, tmp_path, configs_dir) -> Path:
    p = _popen(
        optrun_bin,
        runs_dir,
        tmp_path,
        "run",
        str(configs_dir / "amsgrad.yaml"),
        "iterations=400000000",
        "trace.checkpoint_s=0.2",
    )
    _wait(lambda: runs_dir.exists() and any(runs_dir.iterdir()), "the run folder")
    folder = _only_folder(runs_dir)
    _wait(lambda: (folder / "checkpoint.npz").exists(), "a checkpoint")
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=60)
    assert p.returncode == 130 and _summary(folder)["status"] == "interrupted"
    return folder


def _race(procs: list[subprocess.Popen]) -> tuple[subprocess.Popen, subprocess.CompletedProcess]:
    """Wait for the one that is refused; returns (the one still writing, the refused one's output)."""
    _wait(lambda: any(p.poll() is not None for p in procs), "one of the two to be refused")
    (lost,) = [p for p in procs if p.poll() is not None]
    (won,) = [p for p in procs if p is not lost]
    out, err = lost.communicate(timeout=30)
    return won, subprocess.CompletedProcess(lost.args, lost.returncode, out, err)


def test_two_concurrent_resumes_of_a_run_one_is_refused(
    optrun_bin, runs_dir, tmp_path, configs_dir, run_optrun
):
    folder = _interrupted_run(optrun_bin, runs_dir, tmp_path, configs_dir)
    rows_before = len((folder / "trace.csv").read_text().splitlines())
    procs = [_popen(optrun_bin, runs_dir, tmp_path, "resume", str(folder)) for _ in range(2)]
    try:
        won, lost = _race(procs)
        assert lost.returncode == 2, lost.stderr
        lines = lost.stderr.strip().splitlines()
        assert len(lines) == 1 and BUSY.match(lines[0]), lines
        assert int(BUSY.match(lines[0]).group(2)) == won.pid
        assert won.poll() is None  # the other one goes on writing
        _wait(lambda: len((folder / "trace.csv").read_text().splitlines()) > rows_before + 1000, "new rows")
        won.send_signal(signal.SIGINT)
        won.communicate(timeout=60)
        assert won.returncode == 130
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert _summary(folder)["status"] == "interrupted"
    its = [int(line.split(",", 1)[0]) for line in (folder / "trace.csv").read_text().splitlines()[1:]]
    assert its == list(range(len(its)))  # one writer: no interleaved rows
    assert run_optrun("show", str(folder)).returncode == 0
    assert not (folder / ".lock").exists()  # removed with the lock when the summary was final


def test_a_running_run_cannot_be_resumed_and_a_dead_ones_lock_blocks_nobody(
    optrun_bin, runs_dir, tmp_path, configs_dir, run_optrun
):
    p = _popen(
        optrun_bin,
        runs_dir,
        tmp_path,
        "run",
        str(configs_dir / "amsgrad.yaml"),
        "iterations=400000000",
        "trace.checkpoint_s=0.2",
    )
    try:
        _wait(lambda: runs_dir.exists() and any(runs_dir.iterdir()), "the run folder")
        folder = _only_folder(runs_dir)
        _wait(lambda: (folder / "checkpoint.npz").exists(), "a checkpoint")
        r = run_optrun("resume", str(folder))
        assert r.returncode == 2 and BUSY.match(r.stderr.strip()), r.stderr
        assert int(BUSY.match(r.stderr.strip()).group(2)) == p.pid
    finally:
        p.kill()
        p.communicate(timeout=30)
    assert (folder / ".lock").exists()  # SIGKILL left it; the kernel released the lock
    q = _popen(optrun_bin, runs_dir, tmp_path, "resume", str(folder))
    try:
        _wait(
            lambda: _summary(folder)["status"] == "running" and _summary(folder).get("pid") == q.pid,
            "the resume to take over",
        )
        q.send_signal(signal.SIGINT)
        q.communicate(timeout=60)
    finally:
        if q.poll() is None:
            q.kill()
    assert q.returncode == 130 and _summary(folder)["status"] == "interrupted"


SWEEP = ",".join(str(400000 + i) for i in range(6))


def test_two_concurrent_resumes_of_a_sweep_one_is_refused(optrun_bin, runs_dir, tmp_path, configs_dir):
    p = _popen(
        optrun_bin,
        runs_dir,
        tmp_path,
        "run",
        str(configs_dir / "amsgrad.yaml"),
        "--workers",
        "1",
        "--sweep",
        f"iterations={SWEEP}",
    )
    _wait(lambda: runs_dir.exists() and any(runs_dir.iterdir()), "the sweep folder")
    folder = _only_folder(runs_dir)
    _wait(lambda: any((folder / "traces").glob("batch-*")), "the first batch")
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=60)
    assert _summary(folder)["status"] == "interrupted"
    procs = [
        _popen(optrun_bin, runs_dir, tmp_path, "resume", str(folder), "--workers", "1") for _ in range(2)
    ]
    try:
        won, lost = _race(procs)
        assert lost.returncode == 2, lost.stderr
        lines = lost.stderr.strip().splitlines()
        assert len(lines) == 1 and BUSY.match(lines[0]) and BUSY.match(lines[0]).group(1) == "sweep", lines
        assert int(BUSY.match(lines[0]).group(2)) == won.pid
        won.send_signal(signal.SIGINT)
        won.communicate(timeout=60)
    finally:
        for q in procs:
            if q.poll() is None:
                q.kill()
    assert _summary(folder)["status"] == "interrupted"
    assert not (folder / ".lock").exists()


def test_folder_lock_in_process(tmp_path):
    first = FolderLock.acquire(str(tmp_path), "run x")
    with pytest.raises(
        RunSelectionError, match=rf"^run x is being written by another optrun process \(pid {os.getpid()}\)$"
    ):
        FolderLock.acquire(str(tmp_path), "run x")
    first.release()
    with FolderLock.acquire(str(tmp_path), "run x"):
        assert (tmp_path / ".lock").read_text() == f"{os.getpid()}\n"
    assert not (tmp_path / ".lock").exists()


def _damage_order(folder: Path) -> int:
    """Append a row whose iteration repeats an earlier one (what two writers interleaving leave);
    returns its line number in trace.csv."""
    lines = (folder / "trace.csv").read_text().splitlines()
    with open(folder / "trace.csv", "a") as f:
        f.write(lines[5] + "\n")
    return len(lines) + 1


def test_readers_refuse_a_trace_whose_iterations_do_not_increase(run_optrun, runs_dir, configs_dir):
    assert run_optrun("run", str(configs_dir / "amsgrad.yaml"), "-q").returncode == 0
    assert run_optrun("run", str(configs_dir / "adagrad.yaml"), "-q").returncode == 0
    damaged = min(runs_dir.iterdir())
    line = _damage_order(damaged)
    for args in (("show", str(damaged)), ("compare", str(damaged), "last")):
        r = run_optrun(*args)
        assert r.returncode == 2, (args, r.stdout)
        (msg,) = r.stderr.strip().splitlines()
        assert "trace.csv is damaged" in msg and f"line {line}: iteration 4 after 100" in msg
        assert "iterations must increase" in msg
    listed = run_optrun("runs", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    status = {e["id"]: e["status"] for e in json.loads(listed.stdout)}
    assert status[damaged.name] == "damaged" and list(status.values()).count("completed") == 1


def test_the_refused_process_waits_for_the_holders_pid(tmp_path):
    """Two processes starting together: the winner writes its pid just after it locks; the loser
    names it rather than 'pid unknown'."""
    import fcntl
    import threading

    fd = os.open(tmp_path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)  # locked, no pid written yet
    other = os.open(tmp_path / ".lock", os.O_RDWR)  # another open file: flock conflicts with it
    try:
        threading.Timer(0.05, lambda: os.pwrite(fd, b"4242\n", 0)).start()
        with pytest.raises(RunSelectionError, match=r"\(pid 4242\)$"):
            FolderLock.acquire(str(tmp_path), "run x")
    finally:
        os.close(other)
        os.close(fd)


def test_readers_refuse_a_sweep_member_whose_iterations_do_not_increase(run_optrun, runs_dir, configs_dir):
    assert run_optrun("run", str(configs_dir / "amsgrad.yaml"), "--sweep", "seed=0:2", "-q").returncode == 0
    (sweep,) = runs_dir.iterdir()
    batch = sweep / "traces" / "batch-0000.csv"
    lines = batch.read_text().splitlines()
    batch.write_text("\n".join(lines + lines[10:20]) + "\n")  # rows of member 0 again, after the others
    for args in (("show", f"{sweep}/0"), ("plot", str(sweep), "-o", str(runs_dir / "s.png"))):
        r = run_optrun(*args)
        assert r.returncode == 2, (args, r.stdout)
        (msg,) = r.stderr.strip().splitlines()
        assert "batch-0000.csv is damaged (member 0: iteration 9 after 100; iterations must increase)" in msg


def test_a_folder_of_a_newer_format_is_refused_in_one_line_and_listed_unreadable(
    run_optrun, runs_dir, configs_dir
):
    """format_version is checked on every read: a folder written by a newer optrun is refused
    (exit 2, one line naming the folder and both formats); the listing shows it and goes on."""
    assert run_optrun("run", str(configs_dir / "amsgrad.yaml"), "-q").returncode == 0
    assert run_optrun("run", str(configs_dir / "amsgrad.yaml"), "--sweep", "seed=0:2", "-q").returncode == 0
    assert run_optrun("run", str(configs_dir / "adagrad.yaml"), "-q").returncode == 0
    newer = sorted(runs_dir.iterdir())[:2]  # the run and the sweep
    for folder in newer:
        s = json.loads((folder / "summary.json").read_text())
        (folder / "summary.json").write_text(json.dumps({**s, "format_version": 99}))
    for folder in newer:
        r = run_optrun("show", str(folder))
        assert r.returncode == 2, r.stdout
        (line,) = r.stderr.strip().splitlines()
        assert folder.name in line and "folder format 99" in line and "reads format 1" in line
        assert "upgrade optrun" in line
    r = run_optrun("runs", "--format", "json")
    assert r.returncode == 0, r.stderr
    status = {e["id"]: e["status"] for e in json.loads(r.stdout)}
    assert [status[f.name] for f in newer] == ["unreadable", "unreadable"]
    assert list(status.values()).count("completed") == 1
