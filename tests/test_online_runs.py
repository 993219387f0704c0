"""Online and stochastic runs end to end (``optrun run`` through CliRunner and a subprocess):
regret recomputed from the trace's own points, the projection, noisy gradients reconstructed from
the steps, a sweep member equal to the run alone, common random numbers, resume, and bad input."""

from __future__ import annotations

import csv
import itertools
import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from optrun.cli import cli
from optrun.objectives.rounds import NOISE_STREAM


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def write(tmp_path: Path, data: dict, name: str = "c.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def run_json(cfg: Path, runs: Path, *overrides) -> dict:
    res = invoke("run", cfg, *overrides, "--runs-dir", runs, "--format", "json")
    assert res.exit_code in (0, 1), res.output
    return json.loads(res.stdout.strip().splitlines()[-1])


def rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as f:
        recs = list(csv.reader(f))
    return recs[0], recs[1:]


def columns(path: Path) -> dict[str, np.ndarray]:
    head, body = rows(path)
    data = np.array(body, dtype=float)
    return {h: data[:, j] for j, h in enumerate(head)}


ONLINE = {
    "name": "online",
    "objective": "reddi-online",
    "start": [0.0],
    "constraint": "box",
    "algorithm": {"name": "adam", "alpha": 0.5},
    "iterations": 700,
    "seed": 3,
}


def test_an_online_runs_regret_is_the_sum_of_its_rounds_losses_at_the_points_it_played(tmp_path):
    out = run_json(write(tmp_path, ONLINE), tmp_path / "runs")
    folder = Path(out["path"])
    head, _ = rows(folder / "trace.csv")
    assert head[:7] == ["iteration", "f", "grad_norm", "step_norm", "regret", "avg_regret", "x0"]
    c = columns(folder / "trace.csv")
    t = c["iteration"] + 1  # row r is round r + 1
    a = np.where(t % 101 == 1, 1010.0, -10.0)
    x = c["x0"]
    assert (np.abs(x) <= 1.0).all() and x.max() == 1.0  # projected onto [-1, 1], and it hit the wall
    np.testing.assert_array_equal(c["f"], a * x)
    np.testing.assert_array_equal(c["grad_norm"], np.abs(a))
    regret = np.cumsum(a * x - a * -1.0)
    np.testing.assert_allclose(c["regret"], regret, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(c["avg_regret"], regret / t, rtol=1e-12, atol=1e-12)
    s = json.loads((folder / "summary.json").read_text())
    assert s["final_regret"] == c["regret"][-1] and s["final_avg_regret"] == c["avg_regret"][-1]
    assert s["constraint"] == "box" and s["f_min"] is None
    assert yaml.safe_load((folder / "config.yaml").read_text())["constraint"] == "box"


def test_without_the_box_the_point_leaves_the_bounds(tmp_path):
    out = run_json(write(tmp_path, {**ONLINE, "constraint": "none", "iterations": 300}), tmp_path / "runs")
    x = columns(Path(out["path"]) / "trace.csv")["x0"]
    assert x.max() > 1.0  # Adam walks past +1 when nothing projects it back
    assert json.loads((Path(out["path"]) / "summary.json").read_text())["constraint"] == "none"


def test_gradient_noise_is_what_the_steps_show_and_f_stays_noise_free(tmp_path):
    cfg = write(
        tmp_path,
        {
            "objective": {"name": "sphere", "dim": 3, "noise": {"std": 0.1}},
            "start": [0.5, -0.5, 0.25],
            "algorithm": {"name": "gd", "alpha": 0.1},
            "iterations": 60,
            "seed": 42,
        },
    )
    c = columns(Path(run_json(cfg, tmp_path / "runs")["path"]) / "trace.csv")
    x = np.stack([c[f"x{i}"] for i in range(3)], axis=1)
    np.testing.assert_allclose(c["f"], np.sum(x * x, axis=1), rtol=1e-14)  # the noise-free f
    np.testing.assert_allclose(c["grad_norm"], np.linalg.norm(2 * x, axis=1), rtol=1e-14)
    z = np.random.Generator(np.random.PCG64(np.random.SeedSequence([42, NOISE_STREAM]))).standard_normal(
        (60, 3)
    )
    seen = (x[:-1] - x[1:]) / 0.1  # gd: x_{t+1} = x_t - alpha (g(x_t) + noise_t)
    np.testing.assert_allclose(seen, 2 * x[:-1] + 0.1 * z, rtol=1e-9, atol=1e-12)


STOCHASTIC = {
    "name": "stoch",
    "objective": {"name": "reddi-stochastic", "noise": {"std": 1.0, "spike_prob": 0.01, "spike_size": 50}},
    "start": "random",
    "constraint": "box",
    "algorithm": {"name": "adam", "alpha": 0.02},
    "iterations": 150,
}


def test_members_equal_runs_alone_and_share_their_noise_by_seed(tmp_path):
    cfg = write(tmp_path, STOCHASTIC)
    res = invoke(
        "run", cfg, "--sweep", "algorithm.name=adam,amsgrad", "--sweep", "seed=0:3",
        "--sweep", "algorithm.alpha=0.02,0.05", "--runs-dir", tmp_path / "runs", "--workers", "2", "--quiet",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    (folder,) = [p for p in (tmp_path / "runs").iterdir() if (p / "traces").is_dir()]
    members: dict[int, list[list[str]]] = {}
    for p in sorted((folder / "traces").glob("batch-*.csv")):
        head, body = rows(p)
        assert head[:7] == ["member", "iteration", "f", "grad_norm", "step_norm", "regret", "avg_regret"]
        for rec in body:
            members.setdefault(int(rec[0]), []).append(rec[1:])
    grid = list(itertools.product(["adam", "amsgrad"], range(3), [0.02, 0.05]))
    for m, (algo, seed, alpha) in enumerate(grid):
        alone = run_json(
            cfg, tmp_path / "alone", f"algorithm.name={algo}", f"seed={seed}", f"algorithm.alpha={alpha}"
        )
        assert members[m] == rows(Path(alone["path"]) / "trace.csv")[1], (algo, seed, alpha)
    # the same seed: the same rounds (which ones drew the large slope), whatever the algorithm
    large = {m: [r[2] == "1010.0" for r in rs] for m, rs in members.items()}
    for (m1, g1), (m2, g2) in itertools.combinations(enumerate(grid), 2):
        if g1[1] == g2[1]:
            assert large[m1] == large[m2]
    assert large[0] != large[2]  # another seed, other draws
    table = json.loads((folder / "summary.json").read_text())
    assert "final_avg_regret" in table["columns"]
    assert all(isinstance(r["final_avg_regret"], float) for r in table["rows"])


def test_an_interrupted_noisy_online_run_resumes_to_the_same_bytes(tmp_path, optrun_bin):
    noisy = {**STOCHASTIC, "iterations": 100_000, "backend": "numpy"}  # step by step: time to interrupt it
    cfg = write(tmp_path, {**noisy, "trace": {"checkpoint_s": 0.1, "every": 50}})
    env = {"OPTRUN_RUNS_DIR": str(tmp_path / "runs"), "NO_COLOR": "1", "PATH": str(Path(optrun_bin).parent)}
    p = subprocess.Popen([optrun_bin, "run", str(cfg), "-q"], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = list((tmp_path / "runs").glob("*/checkpoint.npz"))
        if found:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=60)
    if p.returncode == 0:
        pytest.skip("the run finished before the interrupt")
    assert p.returncode == 130
    resumed = subprocess.run([optrun_bin, "resume", "last", "-q"], env=env, capture_output=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    (folder,) = list((tmp_path / "runs").iterdir())
    ref = run_json(folder / "config.yaml", tmp_path / "ref")
    assert (folder / "trace.csv").read_bytes() == (Path(ref["path"]) / "trace.csv").read_bytes()
    s, r = (json.loads((f / "summary.json").read_text()) for f in (folder, Path(ref["path"])))
    assert s["final_regret"] == r["final_regret"] and s["final_x"] == r["final_x"]


USER_ONLINE = """
import numpy as np

def f(x, t):
    a = 3.0 if t % 3 == 1 else -1.0
    return a * x[:, 0], np.full(x.shape, a)

def wrong(x, t):
    return x[:, 0], x[:, 0]

def boom(x, t):
    raise ValueError("no such round")
"""


def test_a_users_online_function_of_x_and_t(tmp_path):
    (tmp_path / "mine.py").write_text(USER_ONLINE)
    base = {
        "objective": {"function": "mine:f", "online": True, "minima": [-1.0]},
        "bounds": [[-1.0, 1.0]],
        "start": [1.0],
        "constraint": "box",
        "algorithm": {"name": "adagrad", "alpha": 0.1},
        "iterations": 90,
    }
    mine = run_json(write(tmp_path, base), tmp_path / "runs")
    builtin = run_json(write(tmp_path, {**base, "objective": "reddi-theorem1"}, "b.yaml"), tmp_path / "b")
    a, b = (columns(Path(o["path"]) / "trace.csv") for o in (mine, builtin))
    for k in ("f", "regret", "avg_regret", "x0"):
        np.testing.assert_array_equal(a[k], b[k])


def test_a_users_online_function_of_the_wrong_shape_is_one_line_and_no_folder(tmp_path):
    (tmp_path / "mine.py").write_text(USER_ONLINE)
    cfg = write(
        tmp_path,
        {
            "objective": {"function": "mine:wrong", "online": True},
            "bounds": [[-1.0, 1.0]],
            "algorithm": "adam",
        },
    )
    res = invoke("run", cfg, "--runs-dir", tmp_path / "runs")
    assert res.exit_code == 2
    (line,) = res.output.strip().splitlines()
    assert "online function 'mine:wrong'" in line and "(S, d)" in line
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"objective": {"name": "sphere", "noise": {"std": -0.5}}}, "objective.noise.std"),
        ({"objective": {"name": "sphere", "noise": {"std": 0.1, "law": "levy"}}}, "objective.noise.law"),
        ({"constraint": "sphere"}, "constraint"),
        ({"objective": {"name": "reddi-online", "rotate": True}}, "objective.rotate"),
        (
            {"algorithm": {"name": "adam", "schedule": {"name": "inverse_sqrt", "power": 2}}},
            "algorithm.schedule",
        ),
    ],
)
def test_bad_stochastic_input_is_one_line_exit_2_and_no_folder(tmp_path, change, words):
    res = invoke("run", write(tmp_path, {**ONLINE, **change}), "--runs-dir", tmp_path / "runs")
    assert res.exit_code == 2
    (line,) = res.output.strip().splitlines()
    assert words in line
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_the_numba_backend_plays_the_same_points_with_noise_and_the_box(tmp_path):
    pytest.importorskip("numba")
    cfg = write(tmp_path, {**STOCHASTIC, "algorithm": {"name": "amsgrad", "variant": "paper", "alpha": 0.5}})
    a, b = (
        columns(Path(run_json(cfg, tmp_path / backend, f"backend={backend}", "seed=5")["path"]) / "trace.csv")
        for backend in ("numpy", "numba")
    )
    for k in ("f", "grad_norm", "regret", "avg_regret", "x0"):
        np.testing.assert_array_equal(a[k], b[k])
    np.testing.assert_allclose(a["step_norm"], b["step_norm"], rtol=1e-14)  # (a fused norm's order)


def test_ci_can_gate_an_online_run_on_its_average_regret(tmp_path):
    base = {
        "objective": "reddi-theorem1",
        "start": [1.0],
        "constraint": "box",
        "algorithm": {
            "name": "amsgrad",
            "variant": "paper",
            "alpha": 0.5,
            "beta1": 0.0,
            "beta2": 0.1,
            "schedule": "inverse_sqrt",
        },
        "iterations": 3000,
        "expect": {"avg_regret_max": 0.05},
    }
    ok = invoke("run", write(tmp_path, base), "--runs-dir", tmp_path / "runs", "--quiet")
    assert ok.exit_code == 0, ok.output
    bad = invoke(
        "run", write(tmp_path, base), "algorithm.name=adam", "--runs-dir", tmp_path / "runs", "--quiet"
    )
    assert bad.exit_code == 1
    assert "final average regret" in bad.output and "(avg_regret_max)" in bad.output
    never = invoke(
        "run", write(tmp_path, {**base, "objective": "sphere", "start": [0.5, 0.5]}), "--runs-dir", tmp_path
    )
    assert never.exit_code == 2
    assert (
        "expect.avg_regret_max: can never pass" in never.output
        and len(never.output.strip().splitlines()) == 1
    )


def test_auto_takes_numba_only_for_online_rounds_that_run_as_compiled_chunks():
    pytest.importorskip("numba")
    from optrun.config import validate
    from optrun.problem import AUTO_NUMBA_ROUNDS, run_backend

    def backend(**data):
        return run_backend(validate({"algorithm": "adam", **data}, "c.yaml"))

    long = {"iterations": AUTO_NUMBA_ROUNDS}
    assert backend(objective="reddi-online", **long) == "numba"
    assert backend(objective={"name": "reddi-stochastic", "noise": {"std": 1.0}}, **long) == "numba"
    assert backend(objective="reddi-online", backend="numpy", **long) == "numpy"
    assert backend(objective={"name": "sphere", "dim": 1}, **long) == "auto"  # (numpy at d = 1)
    # a short run would wait longer for numba's first compile than numpy takes for all of it
    assert backend(objective="reddi-online", iterations=AUTO_NUMBA_ROUNDS - 1) == "auto"


def test_compare_of_an_online_sweep_speaks_of_regret_and_pairs_by_seed(tmp_path):
    cfg = write(tmp_path, {**STOCHASTIC, "iterations": 300})
    res = invoke(
        "run", cfg, "--sweep", "algorithm.name=adam,amsgrad", "--sweep", "seed=0:6",
        "--runs-dir", tmp_path / "runs", "--quiet",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    (folder,) = list((tmp_path / "runs").iterdir())
    out = invoke("compare", folder, "--group-by", "algorithm.name", "--runs-dir", tmp_path / "runs").output
    assert out.startswith("final average regret across seeds (lower is better)")
    assert "f - f* <= t" not in out  # no f-targets for an online objective
    assert "Wilcoxon signed-rank tests of the members paired by seed" in out and "6 pairs by seed" in out


def test_a_users_online_function_that_raises_is_one_line_naming_it_and_the_round(tmp_path):
    (tmp_path / "mine.py").write_text(USER_ONLINE)
    cfg = write(
        tmp_path,
        {
            "objective": {"function": "mine:boom", "online": True},
            "bounds": [[-1.0, 1.0]],
            "algorithm": "adam",
        },
    )
    res = invoke("run", cfg, "--runs-dir", tmp_path / "runs")
    assert res.exit_code == 2
    (line,) = res.output.strip().splitlines()
    assert "online function 'mine:boom' raised ValueError at round 1: no such round" in line
