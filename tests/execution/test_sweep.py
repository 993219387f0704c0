"""Sweeps run: masking of stopped and diverged members, target hits, failed and pending rows, batch
start points (the plan's grammar is tested in tests/sweep/test_plan.py).

References are independent of optrun: gradient descent on the sphere written out with Python
floats (``x <- x - (2 x) * alpha``, the kernel's operations in its order), whose crossing
iterations are worked out by hand where the step halves or quarters x exactly.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from sweeps import BASE, invoke, plan_of, write

from optrun.problem import start_point, start_points


def test_batch_start_points_equal_single_run_start_points(tmp_path):
    plan = plan_of(
        tmp_path,
        "sweep:\n  seed: [0, 1, 2, 4294967295]\n  rng: [legacy, generator]\n"
        "  bounds: [[[-1.0, 1.0], [-1.0, 1.0]], [[0.0, 3.0], [-5.0, -4.0]]]\n",
    )
    x0 = start_points(plan.members)
    ref = np.stack([start_point(m) for m in plan.members])
    assert x0.tobytes() == ref.tobytes()
    # the tutorials' numbers: seed(1); rand(2) on the legacy global generator, scaled to [-1, 1]
    np.random.seed(1)
    r = np.random.rand(2)
    m = plan_of(tmp_path, "", options=("seed=1,2",), overrides=("rng=legacy",)).members
    assert start_points(m)[0].tolist() == (-1.0 + r * 2.0).tolist()


# ------------------------------------------------------------------------------ masking and hits


def ref_gd_sphere(x, alpha, iterations, f_target=None, grad_norm=None):
    """Rows (iteration, f, grad_norm, step_norm, x0, x1) of gd on x0^2 + x1^2, Python floats,
    until the budget, a stop rule, or the first non-finite figure (the runner's rules)."""
    rows = [(0, x[0] * x[0] + x[1] * x[1], math.sqrt((2 * x[0]) ** 2 + (2 * x[1]) ** 2), 0.0, *x)]
    for t in range(1, iterations + 1):
        step = [-((2.0 * xi) * alpha) for xi in x]
        x = [xi + si for xi, si in zip(x, step)]
        g = [2.0 * xi for xi in x]
        f = x[0] * x[0] + x[1] * x[1]
        gn = math.sqrt(g[0] * g[0] + g[1] * g[1])
        sn = math.sqrt(step[0] * step[0] + step[1] * step[1])
        rows.append((t, f, gn, sn, *x))
        if not all(map(math.isfinite, (f, gn, sn))):
            return rows, "diverged", "nonfinite"
        if f_target is not None and f <= f_target:
            return rows, "completed", "f_target"
        if grad_norm is not None and gn <= grad_norm:
            return rows, "completed", "grad_norm"
    return rows, "completed", "iterations"


MASK_CFG = """\
name: mask
objective: sphere
start: [0.5, 0.25]
algorithm: {name: gd}
iterations: 600
"""


def read_members(folder: Path) -> tuple[dict[int, dict], dict[int, list[list[str]]]]:
    summary = json.loads((folder / "summary.json").read_text())
    rows = {r["member"]: r for r in summary["rows"]}
    traces: dict[int, list[list[str]]] = {}
    for p in sorted((folder / "traces").glob("batch-*.csv")):
        with open(p, newline="") as f:
            for rec in list(csv.reader(f))[1:]:
                traces.setdefault(int(rec[0]), []).append(rec[1:])
    return rows, traces


def same_rows(got: list[list[str]], ref: list[tuple]) -> bool:
    """Iteration and x bit for bit; f and the norms to 2 ulp (numpy's vecdot may sum with an FMA
    where the reference rounds twice)."""
    if len(got) != len(ref):
        return False
    for g, r in zip(got, ref):
        if int(g[0]) != r[0] or [float(v) for v in g[4:]] != list(r[4:]):
            return False
        for a, b in zip(map(float, g[1:4]), r[1:4]):
            if not (a == b or abs(a - b) <= 2 * math.ulp(b)):
                return False
    return True


@pytest.mark.parametrize(
    "stop, key", [("stop: {f_target: 1.0e-9}\n", "f_target"), ("stop: {grad_norm: 1.0e-4}\n", "grad_norm")]
)
def test_stopped_and_diverged_members_are_frozen_while_others_go_on(tmp_path, stop, key):
    # alpha 0.25 halves x, 0.375 quarters it, 1.5 doubles it with a sign flip (exact in binary),
    # 1e-3 creeps and uses the whole budget
    alphas = [0.25, 0.375, 1.5, 1e-3]
    cfg = write(tmp_path, MASK_CFG + stop + "sweep: {algorithm.alpha: [0.25, 0.375, 1.5, 0.001]}\n")
    res = invoke("run", cfg, "--runs-dir", tmp_path / "runs", "--workers", "1")
    assert res.exit_code == 1, res.output  # a member diverged
    (folder,) = (tmp_path / "runs").iterdir()
    rows, traces = read_members(folder)
    assert len(list((folder / "traces").glob("*.csv"))) == 1  # one batch: masking, not separate runs
    limits = {"f_target": 1e-9} if key == "f_target" else {"grad_norm": 1e-4}
    for m, alpha in enumerate(alphas):
        ref, status, reason = ref_gd_sphere([0.5, 0.25], alpha, 600, **limits)
        assert same_rows(traces[m], ref), (m, alpha)  # every row, and no row after the stop
        assert (rows[m]["status"], rows[m]["stop_reason"], rows[m]["iterations"]) == (
            status,
            reason,
            ref[-1][0],
        )
    # by hand: f_t = 0.3125 * 4^-t (alpha 0.25) and 0.3125 * 16^-t (0.375); gn = 2 sqrt(f)
    if key == "f_target":  # first t with f_t <= 1e-9
        assert [rows[m]["iterations"] for m in (0, 1)] == [15, 8]
    else:  # first t with 2 sqrt(0.3125) 2^-t <= 1e-4, resp. 4^-t
        assert [rows[m]["iterations"] for m in (0, 1)] == [14, 7]
    # the doubling member: |g0| = 2^t overflows g0*g0 at t = 512, before f does
    assert rows[2]["iterations"] == 512 and rows[2]["final_f"] == math.ldexp(0.3125, 1024)
    assert rows[3]["iterations"] == 600 and rows[3]["stop_reason"] == "iterations"
    with open(folder / "summary.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["status"] for r in table] == ["completed", "completed", "diverged", "completed"]
    assert table[2]["stop_reason"] == "nonfinite" and table[0]["stop_reason"] == key


def test_hit_columns_match_crossings_worked_out_by_hand(tmp_path):
    cfg = write(tmp_path, MASK_CFG.replace("600", "40") + "sweep: {algorithm.alpha: [0.25, 0.375, 0.001]}\n")
    res = invoke("run", cfg, "--runs-dir", tmp_path / "runs", "--workers", "1")
    assert res.exit_code == 0, res.output
    (folder,) = (tmp_path / "runs").iterdir()
    with open(folder / "summary.csv", newline="") as f:
        table = list(csv.DictReader(f))
    cols = [f"hit_1e-{k}" for k in range(1, 9)]
    got = [[int(r[c]) if r[c] else None for c in cols] for r in table]
    # f_t = 0.3125 q^t with q = 1/4 (alpha 0.25) or 1/16 (alpha 0.375): the first t with
    # f_t <= 10^-k is ceil(log(0.3125 * 10^k) / log(1/q))
    for q, row in ((4, got[0]), (16, got[1])):
        assert row == [math.ceil(math.log(0.3125 * 10**k) / math.log(q)) for k in range(1, 9)]
    assert got[0] == [1, 3, 5, 6, 8, 10, 11, 13]
    assert got[1] == [1, 2, 3, 3, 4, 5, 6, 7]
    # alpha 1e-3 for 40 steps: f_40 = 0.3125 (1 - 2e-3)^80 = 0.266 > 0.1: no target reached
    assert got[2] == [None] * 8
    js = json.loads((folder / "summary.json").read_text())["rows"]
    assert [r["hit_1e-6"] for r in js] == [10, 5, None]


def test_failed_and_pending_rows_in_the_summary_are_explicit(tmp_path):
    """A run that fails (a user objective raising mid-run) keeps the other batch's results."""
    mod = tmp_path / "raising_obj_mask.py"
    mod.write_text(
        "import numpy as np\n"
        "def f(x):\n"
        "    if np.any(np.abs(x) < 0.1):\n"
        "        raise ValueError('too close to the origin')\n"
        "    return np.sum(x * x, axis=-1)\n"
        "def g(x):\n"
        "    return 2.0 * x\n"
    )
    cfg = write(
        tmp_path,
        "name: raising\nobjective: sphere\nbounds: [[0.5, 1.0], [0.5, 1.0]]\n"
        "algorithm: {name: gd, alpha: 0.1}\niterations: 50\n"
        "sweep:\n  objective: [sphere, {function: 'raising_obj_mask:f', "
        "gradient: 'raising_obj_mask:g'}]\n  seed: [0, 1]\n",
    )
    import os

    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        res = invoke("run", cfg, "--runs-dir", tmp_path / "runs", "--workers", "1")
    finally:
        os.chdir(old)
    assert res.exit_code == 1
    (folder,) = (tmp_path / "runs").iterdir()
    rows, _ = read_members(folder)
    assert [rows[m]["status"] for m in range(4)] == ["completed", "completed", "failed", "failed"]
    assert "too close to the origin" in rows[2]["error"]
    assert rows[2]["iterations"] is None
    assert res.stderr.count("failed: ") == 2  # reported as they happen, one line per member


def test_member_order_is_the_product_order(tmp_path):
    cfg = write(tmp_path, BASE + "sweep: {algorithm.alpha: [0.1, 0.2, 0.3], seed: [5, 6]}\n")
    res = invoke("run", cfg, "--runs-dir", tmp_path / "runs", "--workers", "1", "--quiet")
    assert res.exit_code == 0
    (folder,) = (tmp_path / "runs").iterdir()
    with open(folder / "summary.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [(r["member"], r["algorithm.alpha"], r["seed"]) for r in table] == [
        (str(i), str(a), str(s)) for i, (a, s) in enumerate(itertools.product([0.1, 0.2, 0.3], [5, 6]))
    ]


def test_final_distances_of_a_batch_equal_each_member_alone():
    # blocks of rows keep the temporaries small (here 209 rows of d = 5000 per block)
    from optrun.execution.results import final_distances
    from optrun.objectives import get_objective

    obj = get_objective("rastrigin").build(5000)
    rng = np.random.default_rng(3)
    xs = rng.standard_normal((500, 5000))
    xs[7, 3], xs[400, 0] = np.inf, np.nan
    got = final_distances(obj, xs)
    with np.errstate(all="ignore"):
        alone = [float(obj.distance_to_optimum(x)) for x in xs]
    assert np.array_equal(np.array(got), np.array(alone), equal_nan=True)
    assert got[7] == np.inf and np.isnan(got[400])
    assert final_distances(get_objective("sphere").build(3), xs[:2, :3]) == [
        float(np.sqrt(np.sum(xs[0, :3] ** 2))),
        float(np.sqrt(np.sum(xs[1, :3] ** 2))),
    ]
