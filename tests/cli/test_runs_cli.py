"""`optrun runs` and `optrun show`, through Click's runner (the real command objects)."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

from optrun.cli import cli

CONFIG = {
    "name": "t",
    "objective": {"name": "sphere", "dim": 2},
    "algorithm": {"name": "gd", "alpha": 0.1},
    "iterations": 30,
    "seed": 1,
}


@pytest.fixture
def folder(tmp_path):
    """A runs folder with three real runs (sphere gd, 30 / 12 iterations, one amsgrad), a damaged
    folder and a 'running' run whose process is dead."""
    from optrun.config import load_config
    from optrun.execution.run import execute

    runs = tmp_path / "runs"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    outs = [
        execute(load_config(str(cfg)), str(runs)),
        execute(load_config(str(cfg), ["iterations=12"]), str(runs)),
        execute(load_config(str(cfg), ["algorithm={name: amsgrad, alpha: 0.05}"]), str(runs)),
    ]
    damaged = runs / "20000101-000000.000-broken-aaaaaa"
    damaged.mkdir()
    (damaged / "summary.json").write_text('{"status": "comp')
    (damaged / "config.yaml").write_text("name: broken\n")
    (damaged / "meta.json").write_text("{}")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    crashed = runs / "20000102-000000.000-dead-bbbbbb"
    crashed.mkdir()
    (crashed / "summary.json").write_text(
        json.dumps(
            {
                "format_version": 1,
                "id": crashed.name,
                "status": "running",
                "pid": dead.pid,
                "pid_start": 1,
                "hostname": socket.gethostname(),
                "algorithm": "gd",
                "objective": "sphere",
                "dim": 2,
                "iterations_planned": 100,
                "iterations": 7,
                "started_at": "2000-01-02T00:00:00.000Z",
            }
        )
    )
    (crashed / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    (crashed / "meta.json").write_text("{}")
    (crashed / "trace.csv").write_text("iteration,f,grad_norm,step_norm\n0,1.0,2.0,0.0\n1,0.5,1.0,0.5\n2,0.2")
    return str(runs), outs


def invoke(*args, env=None):
    return CliRunner().invoke(cli, list(args), env={"NO_COLOR": "1", **(env or {})})


# ------------------------------------------------------------------------------------ runs


def test_runs_table_newest_first(folder):
    runs, outs = folder
    r = invoke("runs", "--runs-dir", runs)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].split() == [
        "id",
        "kind",
        "status",
        "members",
        "algorithm",
        "objective",
        "d",
        "iterations",
        "final",
        "f",
        "wall",
        "time",
    ]
    ids = [line.split()[0] for line in lines[2:]]
    assert ids == [
        outs[2].run_id,
        outs[1].run_id,
        outs[0].run_id,
        "20000102-000000.000-dead-bbbbbb",
        "20000101-000000.000-broken-aaaaaa",
    ]
    row = lines[2 + 1].split()
    assert row[1:8] == ["run", "completed", "-", f"gd/{outs[1].summary['variant']}", "sphere", "2", "12"]
    assert row[8] == f"{outs[1].summary['final_f']:.6g}"
    assert lines[2].split()[4] == f"amsgrad/{outs[2].summary['variant']}"
    crashed = lines[5].split()
    assert crashed[2] == "crashed" and crashed[7] == "7/100"
    assert lines[6].split()[2] == "damaged"
    assert "damaged: 20000101-000000.000-broken-aaaaaa: summary.json is damaged" in r.stderr
    assert "\x1b[" not in r.stdout


def test_runs_filters_and_limit(folder):
    runs, outs = folder

    def ids(*args):
        r = invoke("runs", "--runs-dir", runs, "--format", "json", *args)
        assert r.exit_code == 0, r.output
        return [x["id"] for x in json.loads(r.stdout)]

    assert ids("--status", "completed") == [o.run_id for o in reversed(outs)]
    assert ids("--status", "crashed,damaged") == [
        "20000102-000000.000-dead-bbbbbb",
        "20000101-000000.000-broken-aaaaaa",
    ]
    assert ids("--algorithm", "AMSGrad") == [outs[2].run_id]
    assert ids("--algorithm", "gd", "--status", "completed", "--limit", "1") == [outs[1].run_id]
    assert ids("--objective", "rosenbrock") == []
    r = invoke("runs", "--runs-dir", runs, "--objective", "rosenbrock")
    assert r.exit_code == 0 and "no runs match the filters (5 runs in" in r.stderr
    bad = invoke("runs", "--runs-dir", runs, "--status", "done")
    assert bad.exit_code == 2 and "'done' is not a status" in bad.stderr


def test_runs_json_fields(folder):
    runs, outs = folder
    data = json.loads(invoke("runs", "--runs-dir", runs, "--format", "json").stdout)
    first = data[0]
    assert first["id"] == outs[2].run_id and first["path"] == outs[2].path
    assert (
        first["status"] == "completed" and first["algorithm"] == "amsgrad" and first["objective"] == "sphere"
    )
    for key in ("final_f", "best_f", "best_iteration", "iterations", "wall_time_s", "f_gap"):
        assert first[key] == outs[2].summary[key]
    assert data[3]["status"] == "crashed" and data[3]["recorded_status"] == "running"
    assert data[4]["status"] == "damaged" and "summary.json is damaged" in data[4]["problem"]


def test_runs_csv(folder):
    runs, outs = folder
    rows = list(csv.DictReader(io.StringIO(invoke("runs", "--runs-dir", runs, "--format", "csv").stdout)))
    assert [r["id"] for r in rows][:3] == [o.run_id for o in reversed(outs)]
    assert float(rows[0]["final_f"]) == outs[2].summary["final_f"]
    assert rows[4]["status"] == "damaged" and rows[4]["final_f"] == ""


def test_runs_empty_folder(tmp_path):
    r = invoke("runs", "--runs-dir", str(tmp_path / "none"))
    assert r.exit_code == 0 and r.stdout == "" and "no runs in" in r.stderr
    j = invoke("runs", "--format", "json", env={"OPTRUN_RUNS_DIR": str(tmp_path / "none")})
    assert j.exit_code == 0 and json.loads(j.stdout) == []


# ------------------------------------------------------------------------------------ show


def test_show_table(folder):
    runs, outs = folder
    r = invoke("show", "-3", "--runs-dir", runs, "--rows", "3")
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert out.startswith(f"run {outs[0].run_id}: completed\n")
    assert "  algorithm: {name: gd" in out and "  iterations: 30" in out
    assert f"  final_f: {outs[0].summary['final_f']!r}" in out
    assert "trace: 31 rows (iterations 0 to 30), first 3 and last 3:" in out
    table = out.split("first 3 and last 3:\n", 1)[1].splitlines()
    its = [line.split()[0] for line in table if line.strip() and line.split()[0].isdigit()]
    assert its == ["0", "1", "2", "28", "29", "30"]


def test_show_json(folder):
    runs, outs = folder
    r = invoke("show", outs[1].run_id[:-2], "--runs-dir", runs, "--format", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["id"] == outs[1].run_id and d["config"]["iterations"] == 12
    assert d["summary"]["final_f"] == outs[1].summary["final_f"]
    tr = d["trace"]
    assert tr["rows"] == 13 and [x["iteration"] for x in tr["head"]] == [0, 1, 2, 3, 4]
    assert [x["iteration"] for x in tr["tail"]] == [8, 9, 10, 11, 12]
    assert tr["tail"][-1]["f"] == outs[1].summary["final_f"]
    assert tr["columns"] == ["iteration", "f", "grad_norm", "step_norm", "x0", "x1"]


def test_show_crashed_run(folder):
    runs, _ = folder
    r = invoke("show", "20000102", "--runs-dir", runs)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("run 20000102-000000.000-dead-bbbbbb: crashed (process")
    assert "trace: 2 rows (iterations 0 to 1), all:" in r.stdout  # the partial third line is dropped


@pytest.mark.parametrize(
    "selector, needle",
    [
        ("20000101", "summary.json is damaged"),
        ("nosuch", "no run matches 'nosuch'"),
        ("-99", "99th newest run"),
    ],
)
def test_show_errors_are_one_line_exit_2(folder, selector, needle):
    runs, _ = folder
    r = invoke("show", selector, "--runs-dir", runs)
    assert r.exit_code == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_show_damaged_trace(folder):
    runs, outs = folder
    with open(os.path.join(outs[0].path, "trace.csv"), "a") as fh:
        fh.write("31,1,2\n32,1,2,3,4,5\n")
    r = invoke("show", outs[0].run_id, "--runs-dir", runs)
    assert r.exit_code == 2
    assert r.stderr.strip() == (
        f"Error: run {outs[0].run_id}: trace.csv is damaged (line 33 has 3 values, the header names 6)"
    )
