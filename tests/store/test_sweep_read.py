"""Reading sweeps: member addresses (SWEEP/7, SWEEP:key=value), Sweep objects, listing, show, plot."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from optrun.cli import cli
from optrun.errors import RunReadError, RunSelectionError
from optrun.store.listing import list_runs
from optrun.store.select import load_run, load_sweep, resolve_run, select

CONFIG = {
    "name": "sw",
    "objective": {"name": "sphere", "dim": 2},
    "bounds": [[-1.0, 1.0], [-1.0, 1.0]],
    "algorithm": {"name": "amsgrad", "alpha": 0.05},
    "iterations": 40,
    "seed": 1,
    "trace": {"every": 1, "x": "auto"},
}


def make_sweep(runs_dir, tmp, sweeps, config=None, name="c.yaml"):
    from optrun.execution.sweep import execute_sweep
    from optrun.sweep import load_plan

    path = os.path.join(str(tmp), name)
    with open(path, "w") as f:
        yaml.safe_dump(config or CONFIG, f)
    return execute_sweep(load_plan(path, (), sweeps), str(runs_dir), workers=1)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A runs folder with one single run (older) and a 2 x 4 sweep (alpha x seed, newer)."""
    from optrun.config import load_config
    from optrun.execution.run import execute

    tmp = tmp_path_factory.mktemp("sweepread")
    runs = tmp / "runs"
    cfg = tmp / "single.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    single = execute(load_config(str(cfg)), str(runs))
    sweep = make_sweep(runs, tmp, ["algorithm.alpha=0.01,0.1", "seed=0:4"])
    return str(runs), single, sweep, tmp


def invoke(*args):
    return CliRunner().invoke(cli, list(map(str, args)), env={"NO_COLOR": "1"})


# ------------------------------------------------------------------------------------ addressing


def test_member_by_number_and_by_axis_values(world):
    runs, _, sw, _ = world
    # members are the product, first axis slowest: alpha 0.01 x seeds 0..3, then alpha 0.1 x seeds 0..3
    expect = os.path.join(sw.path, "6")
    for sel in (
        f"{sw.run_id}/6",
        f"{sw.path}/6",
        "-1/6",
        "last/6",
        f"{sw.run_id[:-3]}/6",
        "-1:algorithm.alpha=0.1,seed=2",
        "-1:alpha=0.1,seed=2",
        "last:seed=2,alpha=1e-1",
        f"{sw.run_id}:alpha= 0.1 , seed=2",
    ):
        assert resolve_run(sel, runs) == expect, sel


def test_member_run_is_the_member(world):
    runs, _, sw, _ = world
    run = load_run(resolve_run("-1:alpha=0.1,seed=2", runs))
    row = sw.rows[6]
    assert run.kind == "member" and run.member == 6 and run.id == f"{sw.run_id}/6"
    assert run.summary["final_f"] == row["final_f"] and run.summary["kind"] == "member"
    assert run.config["seed"] == 2 and run.config["algorithm"]["alpha"] == 0.1
    assert run.config["algorithm"]["name"] == "amsgrad" and "sweep" not in run.config
    assert run.algorithm == "amsgrad" and run.dim == 2 and run.f_min == 0.0
    assert load_run(run.path).id == run.id  # the member's path is an address that reads back


def test_member_trace_equals_the_same_run_alone(world):
    """Independent reference: the member's config run by itself writes its own trace.csv."""
    from optrun.config import load_config
    from optrun.execution.run import execute
    from optrun.store.traces import read_trace

    _, _, sw, tmp = world
    member = load_run(os.path.join(sw.path, "6"))
    cfg = tmp / "member6.yaml"
    cfg.write_text(yaml.safe_dump(member.config))
    alone = execute(load_config(str(cfg)), str(tmp / "alone"))
    ref = read_trace(alone.path)
    tr = member.trace()
    assert list(tr) == list(ref) == ["iteration", "f", "grad_norm", "step_norm", "x0", "x1"]
    for c in ref:
        assert tr[c].tobytes() == ref[c].tobytes(), c
    assert tr["f"][-1] == member.summary["final_f"] == alone.summary["final_f"]


def test_sweep_table_and_traces_against_summary_csv(world):
    _, _, sw, _ = world
    s = load_sweep(sw.path)
    assert s.kind == "sweep" and s.size == 8 and s.axes == ["algorithm.alpha", "seed"]
    assert s.counts == {"completed": 8} and s.status == "completed"
    t = s.table()
    with open(os.path.join(sw.path, "summary.csv")) as f:
        rows = list(csv.DictReader(f))
    assert list(t) == list(rows[0])
    assert t["member"].dtype == np.int64 and t["member"].tolist() == list(range(8))
    assert t["seed"].tolist() == [int(r["seed"]) for r in rows]
    assert t["final_f"].tolist() == [float(r["final_f"]) for r in rows]
    assert t["status"].tolist() == ["completed"] * 8
    hits = [np.nan if r["hit_1e-8"] == "" else float(r["hit_1e-8"]) for r in rows]
    np.testing.assert_array_equal(t["hit_1e-8"], hits)
    traces = s.traces()
    assert sorted(traces) == list(range(8))
    for m in (0, 5, 7):
        one = s.member(m).trace()
        assert all(one[c].tobytes() == traces[m][c].tobytes() for c in one)
        assert traces[m]["iteration"].tolist() == list(range(41))


def test_table_frame_without_pandas(world, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        load_sweep(world[2].path).table_frame()


@pytest.mark.parametrize(
    "sel, needle",
    [
        ("-1:alpha=0.5", "no member of sweep .* has algorithm.alpha=0.5; algorithm.alpha takes 0.01, 0.1"),
        (
            "-1:seed=3",
            r"2 members of sweep .* have seed=3 \(members 3, 7\): add algorithm.alpha=\.\.\. to pick one",
        ),
        ("-1:beta=1", r"has no axis 'beta' \(its axes: algorithm.alpha, seed\)"),
        ("-1/8", "has members 0 to 7; there is no member 8"),
        ("-1:alpha", "no run matches"),
        ("-1:alpha=[1,", "invalid YAML"),
        ("-2/0", "names a member of a sweep, but '-2' is the run"),
        ("nosuch/3", "no run matches 'nosuch'"),
    ],
)
def test_bad_member_addresses(world, sel, needle):
    with pytest.raises(RunSelectionError, match=needle):
        resolve_run(sel, world[0])


def test_ambiguous_short_key(tmp_path):
    runs = tmp_path / "runs"
    sw = make_sweep(runs, tmp_path, ["algorithm.name=adam,amsgrad", "objective.name=sphere,rosenbrock"])
    with pytest.raises(RunSelectionError, match="'name' matches the axes algorithm.name, objective.name"):
        resolve_run("-1:name=adam", str(runs))
    # a section stands for its name; string values typed by YAML
    assert resolve_run("-1:algorithm=amsgrad,objective=sphere", str(runs)) == os.path.join(sw.path, "2")
    assert load_run(os.path.join(sw.path, "3")).config["objective"]["name"] == "rosenbrock"


def test_sweep_folder_is_not_a_run(world):
    with pytest.raises(RunSelectionError, match=r"is a sweep, not one run: name a member as .*/0"):
        load_run(world[2].path)
    with pytest.raises(RunSelectionError, match="not a sweep folder"):
        load_sweep(world[1].path)


def test_listing_and_relative_selectors_include_sweeps(world):
    runs, single, sw, _ = world
    entries = list_runs(runs)
    assert [(e.kind, e.id) for e in entries] == [("sweep", sw.run_id), ("run", single.run_id)]
    assert [e.id for e in list_runs(runs, kind="run")] == [single.run_id]
    assert resolve_run("-1", runs) == sw.path and resolve_run("-2", runs) == single.path
    assert select("-1", runs).kind == "sweep" and select("-2", runs).kind == "run"
    assert select("-1/3", runs).kind == "member"


def test_running_and_damaged_sweeps(world, tmp_path):
    src = world[2].path
    run_dir = tmp_path / "runs"
    run_dir.mkdir()
    live = run_dir / "20990101-000000.000-live-aaaaaa"
    shutil.copytree(src, live)
    s = json.loads((live / "summary.json").read_text())
    s.update(status="running", pid=os.getpid())
    s.pop("rows")
    (live / "summary.json").write_text(json.dumps(s))
    with pytest.raises(RunSelectionError, match="is still running: its member table is written when it ends"):
        resolve_run(f"{live.name}/1", str(run_dir))
    broken = run_dir / "20980101-000000.000-broken-bbbbbb"
    shutil.copytree(src, broken)
    text = (broken / "summary.json").read_text()
    (broken / "summary.json").write_text(text.replace('"member":3,', '"member":"x",'))
    with pytest.raises(
        RunReadError, match=r"sweep .*broken-bbbbbb: summary.json is damaged \(row 3 is member \"x\""
    ):
        load_sweep(str(broken))
    listed = {e.id: e for e in list_runs(str(run_dir))}
    assert listed[broken.name].status == "damaged" and "row 3" in listed[broken.name].problem
    assert listed[live.name].status == "running" and listed[live.name].rows == []


def test_partial_batch_file_and_damaged_rows(world, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(world[2].path, folder)
    batch = folder / "traces" / "batch-0000.csv"
    text = batch.read_text()
    os.rename(batch, str(batch) + ".partial")  # a batch still being written
    (folder / "traces" / "batch-0000.csv.partial").write_text(text + "3,41,0.5,0.1")  # cut mid-line
    s = load_sweep(str(folder))
    assert s.member(3).trace()["iteration"].tolist() == list(range(41))
    line = text.split("\n").index(next(x for x in text.split("\n") if x.startswith("3,5,"))) + 1
    (folder / "traces" / "batch-0000.csv.partial").write_text(text.replace("\n3,5,", "\n3,5,oops", 1))
    with pytest.raises(RunReadError, match=rf"traces/batch-0000.csv.partial is damaged \(line {line}: 'oops"):
        load_sweep(str(folder)).member(3).trace()  # the line number is the file's, not the filtered rows'
    with pytest.raises(RunReadError, match=rf"\(line {line}: 'oops"):
        load_sweep(str(folder)).traces()


def test_member_never_run_has_an_empty_trace(world, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(world[2].path, folder)
    s = json.loads((folder / "summary.json").read_text())
    s["rows"][5] = {k: v for k, v in s["rows"][5].items() if k in ("member", "algorithm.alpha", "seed")}
    s["rows"][5].update(status="pending", batch=None)
    (folder / "summary.json").write_text(json.dumps(s))
    m = load_sweep(str(folder)).member(5)
    assert m.status == "pending" and m.trace()["f"].size == 0


# ------------------------------------------------------------------------------------ CLI


def test_cli_show_member_and_sweep(world):
    runs, _, sw, _ = world
    r = invoke("show", "-1:alpha=0.1,seed=2", "--runs-dir", runs, "--rows", "2")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"run {sw.run_id}/6: completed\n")
    assert f"  final_f: {sw.rows[6]['final_f']!r}" in r.stdout and "trace: 41 rows" in r.stdout
    r = invoke("show", "-1", "--runs-dir", runs, "--best", "3")
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert out.startswith(f"sweep {sw.run_id}: completed\n") and "members: 8 completed" in out
    assert "  algorithm.alpha: 2 values (0.01, 0.1)" in out and "  seed: 4 values (0, 1, 2, 3)" in out
    best3 = sorted(sw.rows, key=lambda row: row["f_gap"])[:3]
    table = out.split("best 3 of 8 members by final f - f*:\n", 1)[1].splitlines()[2:5]
    assert [int(line.split()[0]) for line in table] == [row["member"] for row in best3]
    j = json.loads(invoke("show", sw.path, "--format", "json", "--best", "2").stdout)
    assert j["kind"] == "sweep" and [b["member"] for b in j["best"]] == [row["member"] for row in best3[:2]]
    assert j["axes"] == {"algorithm.alpha": [0.01, 0.1], "seed": [0, 1, 2, 3]}


def test_cli_runs_lists_sweeps(world):
    runs, single, sw, _ = world
    r = invoke("runs", "--runs-dir", runs)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    best = min(row["final_f"] for row in sw.rows)
    assert lines[2].split()[:6] == [sw.run_id, "sweep", "completed", "8", "completed", "amsgrad/tutorial"]
    assert lines[2].split()[-3] == f"{best:.6g}"
    assert lines[3].split()[:4] == [single.run_id, "run", "completed", "-"]
    data = json.loads(invoke("runs", "--runs-dir", runs, "--format", "json").stdout)
    assert [d["kind"] for d in data] == ["sweep", "run"]
    assert (
        data[0]["best_final_f"] == best and data[0]["members"] == 8 and data[0]["counts"] == {"completed": 8}
    )
    assert "rows" not in data[0]
    only = json.loads(invoke("runs", "--runs-dir", runs, "--format", "json", "--kind", "sweep").stdout)
    assert [d["id"] for d in only] == [sw.run_id]
    rows = list(
        csv.DictReader(
            __import__("io").StringIO(invoke("runs", "--runs-dir", runs, "--format", "csv").stdout)
        )
    )
    assert rows[0]["kind"] == "sweep" and float(rows[0]["best_final_f"]) == best


def test_cli_member_selector_errors_exit_2(world):
    r = invoke("show", "-1:alpha=0.5", "--runs-dir", world[0])
    assert r.exit_code == 2 and "algorithm.alpha takes 0.01, 0.1" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_plot_sweep_and_member_through_the_installed_command(world, optrun_bin, tmp_path):
    pytest.importorskip("matplotlib")
    runs, _, sw, _ = world
    env = {**os.environ, "OPTRUN_RUNS_DIR": runs, "NO_COLOR": "1"}
    out = tmp_path / "sweep.png"
    # -1:alpha=... holds letters Click could read as short options (-h, -o): it must reach RUN
    p = subprocess.run(
        [optrun_bin, "plot", "-1", "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(out) and out.stat().st_size > 10_000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    p = subprocess.run(
        [optrun_bin, "plot", "-1:alpha=0.1,seed=2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == os.path.join(sw.path, "contour-member-6.png")
    assert os.path.getsize(p.stdout.strip()) > 10_000
    bad = subprocess.run(
        [optrun_bin, "plot", "-1", "--kind", "contour"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (
        bad.returncode == 2 and "drawn as convergence curves" in bad.stderr and "Traceback" not in bad.stderr
    )


def test_sweep_curves_median_band_data(world):
    """The plotted matrix of a configuration holds each member's f - f* at every iteration."""
    from optrun.plot import sweep_curves

    _, _, sw, _ = world
    s = load_sweep(sw.path)
    series, gap = sweep_curves([s])
    assert gap and [c.label for c in series] == ["alpha=0.01", "alpha=0.1"]
    first = series[1]
    assert first.values.shape == (4, 41) and first.iterations.tolist() == list(range(41))
    for k, m in enumerate([4, 5, 6, 7]):
        np.testing.assert_array_equal(first.values[k], s.member(m).trace()["f"] - 0.0)
    few, _ = sweep_curves([s], max_members=2)  # evenly spaced members: the first and the last
    assert few[1].label == "alpha=0.1, sample of 4" and few[1].values.shape == (2, 41)
    np.testing.assert_array_equal(few[1].values[1], s.member(7).trace()["f"])


def test_sweep_curves_hold_a_stopped_member_at_its_last_value(tmp_path):
    from optrun.plot import sweep_curves

    cfg = {**CONFIG, "stop": {"f_target": 1e-3, "grad_norm": None}, "algorithm": {"name": "gd", "alpha": 0.2}}
    out = make_sweep(tmp_path / "runs", tmp_path, ["seed=0:3"], config=cfg)
    s = load_sweep(out.path)
    (curve,), _ = sweep_curves([s])
    lengths = [len(s.member(m).trace()["f"]) for m in range(3)]
    assert min(lengths) < max(lengths) == curve.iterations.size  # members stopped at different steps
    for m in range(3):
        f = s.member(m).trace()["f"]
        assert (curve.values[m, : f.size] == f).all() and (curve.values[m, f.size :] == f[-1]).all()


def test_lazy_exports():
    import optrun

    assert optrun.load_sweep is load_sweep and optrun.Sweep.__name__ == "Sweep"


def test_member_config_follows_the_row_when_zip_axes_come_first(tmp_path):
    """config.yaml lists zipped axes after the others, so re-planning it orders members differently
    from the table; a member's config is matched by its axis values, not by position."""
    cfg = {
        **CONFIG,
        "sweep": {
            "zip": {"algorithm.beta1": [0.8, 0.9], "algorithm.beta2": [0.99, 0.999]},
            "seed": [0, 1, 2],
        },
    }
    path = tmp_path / "z.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    from optrun.execution.sweep import execute_sweep
    from optrun.sweep import load_plan

    out = execute_sweep(load_plan(str(path)), str(tmp_path / "runs"), workers=1)
    s = load_sweep(out.path)
    for i, row in enumerate(s.rows):
        c = s.member(i).config
        assert (c["algorithm"]["beta1"], c["algorithm"]["beta2"], c["seed"]) == (
            row["algorithm.beta1"],
            row["algorithm.beta2"],
            row["seed"],
        )
