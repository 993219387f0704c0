"""Reading run folders: optrun.store (load_run, list_runs, resolve_run, status reconciliation)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from optrun.errors import RunReadError, RunSelectionError
from optrun.store.folder import process_start_ticks
from optrun.store.listing import list_runs
from optrun.store.select import load_run, resolve_run

CONFIG = """name: t
objective: {name: sphere, dim: 2}
algorithm: {name: gd, alpha: 0.1}
iterations: 3
"""


def make_run(runs_dir, run_id, *, status="completed", started_at=None, trace=None, **summary):
    """A hand-written run folder (independent of optrun's writer)."""
    path = os.path.join(str(runs_dir), run_id)
    os.makedirs(path)
    s = {
        "format_version": 1,
        "id": run_id,
        "status": status,
        "algorithm": "gd",
        "objective": "sphere",
        "dim": 2,
        "started_at": started_at
        or f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T{run_id[9:11]}:{run_id[11:13]}:{run_id[13:15]}.000Z",
    }
    s.update(summary)
    with open(os.path.join(path, "summary.json"), "w") as f:
        json.dump(s, f)
    with open(os.path.join(path, "config.yaml"), "w") as f:
        f.write(CONFIG)
    with open(os.path.join(path, "meta.json"), "w") as f:
        json.dump({"format_version": 1}, f)
    with open(os.path.join(path, "trace.csv"), "w") as f:
        f.write(
            trace if trace is not None else "iteration,f,grad_norm,step_norm,x0,x1\n0,2.0,2.8,0.0,1.0,1.0\n"
        )
    return path


@pytest.fixture
def runs(tmp_path):
    d = tmp_path / "runs"
    d.mkdir()
    make_run(d, "20250101-120000.000-a-111111")
    make_run(d, "20250101-120000.000-a-222222")  # same second as the first: id breaks the tie
    make_run(d, "20250102-090000.500-b-333333")
    return str(d)


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


# ------------------------------------------------------------------------------------ load


def test_real_run_reads_back_bit_for_bit(tmp_path):
    from optrun.config import load_config
    from optrun.execution.run import execute

    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG.replace("iterations: 3", "iterations: 40"))
    out = execute(load_config(str(cfg)), str(tmp_path / "runs"))
    run = load_run(out.path)
    assert run.id == out.run_id and run.status == "completed"
    assert run.config["algorithm"]["alpha"] == 0.1 and run.config["iterations"] == 40
    assert run.meta["optrun"] and run.summary["final_f"] == out.summary["final_f"]
    tr = run.trace()
    # the JSON Lines trace is an independent copy of the same rows
    with open(os.path.join(out.path, "trace.jsonl")) as fh:
        rows = [json.loads(line) for line in fh]
    assert tr["iteration"].dtype == np.int64 and list(tr["iteration"]) == list(range(41))
    for col in ("f", "grad_norm", "step_norm", "x0", "x1"):
        assert tr[col].tolist() == [r[col] for r in rows]
    assert tr["f"][-1] == out.summary["final_f"]


def test_partial_last_line_is_dropped(tmp_path):
    p = make_run(
        tmp_path,
        "20250101-000000.000-x-aaaaaa",
        trace="iteration,f,grad_norm,step_norm\n0,1.5,1,0\n1,0.5,1,0.1\n2,0.2",
    )
    tr = load_run(p).trace()
    assert tr["iteration"].tolist() == [0, 1] and tr["f"].tolist() == [1.5, 0.5]


def test_nonfinite_values_are_kept(tmp_path):
    p = make_run(
        tmp_path,
        "20250101-000000.000-x-aaaaaa",
        trace="iteration,f,grad_norm,step_norm\n0,1.5,1,0\n1,inf,nan,1e308\n",
    )
    tr = load_run(p).trace()
    assert np.isinf(tr["f"][1]) and np.isnan(tr["grad_norm"][1])


def test_empty_trace_of_a_fresh_run(tmp_path):
    p = make_run(tmp_path, "20250101-000000.000-x-aaaaaa", trace="", status="running")
    tr = load_run(p).trace()
    assert set(tr) == {"iteration", "f", "grad_norm", "step_norm"} and tr["f"].size == 0


@pytest.mark.parametrize(
    "trace, needle",
    [
        ("iteration,f,grad_norm,step_norm\n0,1.5,1,0\n1,abc,1,0\n2,1,1,1\n", "line 3: 'abc' is not a number"),
        (
            "iteration,f,grad_norm,step_norm\n0,1.5,1,0\n1,1,0\n2,1,1,1\n",
            "line 3 has 3 values, the header names 4",
        ),
        ("it,f\n0,1\n", "header"),
        ("iteration,f,grad_norm,step_norm\n0.5,1.5,1,0\n", "whole number"),
    ],
)
def test_damaged_trace_names_run_and_problem(tmp_path, trace, needle):
    p = make_run(tmp_path, "20250101-000000.000-x-aaaaaa", trace=trace)
    with pytest.raises(RunReadError) as e:
        load_run(p).trace()
    assert "20250101-000000.000-x-aaaaaa" in str(e.value) and needle in str(e.value)


def test_missing_trace(tmp_path):
    p = make_run(tmp_path, "20250101-000000.000-x-aaaaaa")
    os.unlink(os.path.join(p, "trace.csv"))
    with pytest.raises(RunReadError, match="trace.csv is missing"):
        load_run(p).trace()


@pytest.mark.parametrize(
    "name, text, needle",
    [
        ("summary.json", '{"status": "completed", ', "summary.json is damaged (invalid JSON at line 1"),
        ("summary.json", "[1, 2]", "summary.json is damaged (a JSON object expected"),
        ("summary.json", '{"id": "x"}', "no status"),
        (
            "summary.json",
            '{"status": "completed", "final_f": "small"}',
            'summary.json is damaged (final_f is "small", expected a number or null)',
        ),
        (
            "summary.json",
            '{"status": "completed", "iterations": 2.5}',
            "iterations is 2.5, expected an integer",
        ),
        ("summary.json", '{"status": "completed", "dim": true}', "dim is true"),
        ("config.yaml", "a: [1, 2\n", "config.yaml is damaged"),
        ("meta.json", "", "meta.json is damaged"),
    ],
)
def test_damaged_files_strict_and_lenient(tmp_path, name, text, needle):
    p = make_run(tmp_path, "20250101-000000.000-x-aaaaaa")
    with open(os.path.join(p, name), "w") as f:
        f.write(text)
    with pytest.raises(RunReadError) as e:
        load_run(p)
    assert str(e.value).startswith("run 20250101-000000.000-x-aaaaaa: ") and needle in str(e.value)
    run = load_run(p, lenient=True)
    assert run.status == "damaged" and needle in run.problem and run.summary["problem"] == run.problem


def test_not_a_run_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunSelectionError, match="not a run folder"):
        load_run(str(tmp_path / "empty"))
    with pytest.raises(RunSelectionError, match="does not exist"):
        load_run(str(tmp_path / "nope"))


def test_trace_frame_without_pandas(tmp_path, monkeypatch):
    p = make_run(tmp_path, "20250101-000000.000-x-aaaaaa")
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    with pytest.raises(ImportError, match="pip install pandas"):
        load_run(p).trace_frame()


def test_trace_frame_with_pandas(tmp_path):
    pd = pytest.importorskip("pandas")
    p = make_run(tmp_path, "20250101-000000.000-x-aaaaaa")
    frame = load_run(p).trace_frame()
    assert isinstance(frame, pd.DataFrame) and list(frame.columns)[:2] == ["iteration", "f"]
    assert frame["f"].tolist() == [2.0]


# ------------------------------------------------------------------------------------ status


def test_running_with_dead_pid_is_crashed(tmp_path):
    p = make_run(
        tmp_path,
        "20250101-000000.000-x-aaaaaa",
        status="running",
        pid=dead_pid(),
        pid_start=12345,
        hostname=socket.gethostname(),
    )
    run = load_run(p)
    assert run.status == "crashed" and run.summary["recorded_status"] == "running"
    assert "is gone" in run.summary["status_note"]


def test_running_live_process_stays_running(tmp_path):
    me = os.getpid()
    p = make_run(
        tmp_path,
        "20250101-000000.000-x-aaaaaa",
        status="running",
        pid=me,
        pid_start=process_start_ticks(me),
        hostname=socket.gethostname(),
    )
    assert load_run(p).status == "running"


def test_running_reused_pid_is_crashed(tmp_path):
    me = os.getpid()
    p = make_run(
        tmp_path,
        "20250101-000000.000-x-aaaaaa",
        status="running",
        pid=me,
        pid_start=process_start_ticks(me) + 1,
        hostname=socket.gethostname(),
    )
    run = load_run(p)
    assert run.status == "crashed" and "another process" in run.summary["status_note"]


def test_running_on_other_host_uses_heartbeat(tmp_path):
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    stale = make_run(
        tmp_path,
        "20250101-000000.000-x-aaaaaa",
        status="running",
        pid=1,
        hostname="elsewhere.invalid",
        updated_at="2020-01-01T00:00:00.000Z",
    )
    fresh = make_run(
        tmp_path,
        "20250101-000000.000-x-bbbbbb",
        status="running",
        pid=1,
        hostname="elsewhere.invalid",
        updated_at=now,
    )
    assert load_run(stale).status == "crashed"
    assert load_run(fresh).status == "running"


# ------------------------------------------------------------------------------------ listing


def test_list_runs_newest_first_with_damaged_and_crashed(runs):
    damaged = os.path.join(runs, "20250103-000000.000-c-444444")
    os.makedirs(damaged)
    with open(os.path.join(damaged, "summary.json"), "w") as f:
        f.write("{broken")
    make_run(
        runs, "20241231-000000.000-d-555555", status="running", pid=dead_pid(), hostname=socket.gethostname()
    )
    os.makedirs(os.path.join(runs, "not-a-run"))  # no run files: skipped
    os.makedirs(os.path.join(runs, ".hidden"))
    listed = list_runs(runs)
    assert [r.id for r in listed] == [
        "20250103-000000.000-c-444444",
        "20250102-090000.500-b-333333",
        "20250101-120000.000-a-222222",
        "20250101-120000.000-a-111111",
        "20241231-000000.000-d-555555",
    ]
    assert [r.status for r in listed] == ["damaged", "completed", "completed", "completed", "crashed"]
    assert "summary.json is damaged" in listed[0].problem


def test_list_runs_orders_by_started_at_not_name(tmp_path):
    make_run(tmp_path, "zzz-late-name", started_at="2025-01-01T00:00:00Z")
    make_run(tmp_path, "aaa-early-name", started_at="2025-06-01T00:00:00Z")
    assert [r.id for r in list_runs(str(tmp_path))] == ["aaa-early-name", "zzz-late-name"]


def test_list_runs_missing_folder_is_empty(tmp_path):
    assert list_runs(str(tmp_path / "nothing")) == []


# ------------------------------------------------------------------------------------ selectors


def test_relative_selectors(runs):
    assert os.path.basename(resolve_run("last", runs)) == "20250102-090000.500-b-333333"
    assert resolve_run("-1", runs) == resolve_run("last", runs)
    assert os.path.basename(resolve_run("-2", runs)) == "20250101-120000.000-a-222222"
    assert os.path.basename(resolve_run("-3", runs)) == "20250101-120000.000-a-111111"
    with pytest.raises(RunSelectionError, match="4th newest run but .* holds 3 runs"):
        resolve_run("-4", runs)
    with pytest.raises(RunSelectionError, match="-0"):
        resolve_run("-0", runs)


def test_prefix_and_path_selectors(runs):
    assert os.path.basename(resolve_run("20250102", runs)) == "20250102-090000.500-b-333333"
    assert os.path.basename(resolve_run("20250101-120000.000-a-1", runs)) == "20250101-120000.000-a-111111"
    full = os.path.join(runs, "20250101-120000.000-a-222222")
    assert resolve_run(full, "/nonexistent") == full  # a path works whatever the runs folder
    assert resolve_run("20250101-120000.000-a-222222", runs) == full


def test_ambiguous_prefix_lists_candidates(runs):
    with pytest.raises(RunSelectionError) as e:
        resolve_run("20250101", runs)
    msg = str(e.value)
    assert "matches 2 runs" in msg and "20250101-120000.000-a-111111" in msg and "a-222222" in msg


def test_no_match(runs, tmp_path):
    with pytest.raises(RunSelectionError, match="no run matches 'nosuch'"):
        resolve_run("nosuch", runs)
    with pytest.raises(RunSelectionError, match="holds no runs"):
        resolve_run("abc", str(tmp_path / "empty"))
    with pytest.raises(RunSelectionError, match="holds no runs"):
        resolve_run("last", str(tmp_path / "empty"))
    (tmp_path / "plain").mkdir()
    with pytest.raises(RunSelectionError, match="not a run folder"):
        resolve_run(str(tmp_path / "plain"), runs)


def test_import_optrun_stays_light():
    code = (
        "import sys, optrun; assert 'numpy' not in sys.modules; "
        "from optrun import load_run, list_runs; print(load_run.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "optrun.store.select"
