"""Checks of the benchmark machinery itself (not timings): run with
``pytest -q benchmarks/test_bench.py``. The project's test run (testpaths = tests) does not
collect this file; it needs no peer library and takes about a second.
"""

from __future__ import annotations

import os
import sys
from typing import NamedTuple

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_kernels as K
import bench_processes as P
from bench_util import Table, child_env, interleaved, verdict


class _Variant(NamedTuple):
    params: tuple
    build: object


class _S(NamedTuple):
    m: np.ndarray  # persistent: read then written
    out: np.ndarray  # scratch: written before read


def _momentum(beta=0.9):
    from optrun.optimizers import Optimizer

    def init(x):
        return _S(np.zeros_like(x), np.empty_like(x))

    def update(g, s, x, t):
        np.multiply(s.m, beta, out=s.m)
        np.add(s.m, g, out=s.m)
        np.multiply(s.m, -0.1, out=s.out)
        return s.out, s

    return Optimizer(init, update)


def test_state_layout_separates_persistent_from_scratch_by_behaviour():
    lay = K.state_layout(_Variant((), _momentum))
    assert lay.persistent == ["m"] and lay.scratch == ["out"]
    assert lay.arrays_moved == 5  # g, x, m read; x, m written


@pytest.mark.parametrize("name, k", [("gd", 0), ("adagrad", 1), ("amsgrad", 3)])
def test_state_layout_of_builtins_matches_their_update_rules(name, k):
    # gd keeps nothing between steps; AdaGrad the sum of squares; AMSGrad m, v and vhat.
    from optrun.optimizers import ALGORITHMS

    alg = ALGORITHMS[name]
    assert K.state_layout(alg.variant(None)).k == k


@pytest.mark.parametrize("block", [None, 3, 4, 100])
def test_roof_adds_g_to_every_array_whatever_the_blocking(block):
    g = np.arange(10.0)
    x0 = np.ones(10)
    roof = K.Roof(g, x0, k=2)
    roof.body(block)(3)
    np.testing.assert_array_equal(roof.x, 1.0 + 3 * g)
    for s in roof.states:
        np.testing.assert_array_equal(s, 0.5 + 3 * g)


def test_allocations_detect_a_kernel_that_allocates_temporaries():
    from optrun.optimizers import Optimizer

    def alloc_build():
        return Optimizer(lambda x: None, lambda g, s, x, t: (-0.1 * g * g, s))  # two temporaries

    class V(NamedTuple):
        name: str
        params: tuple
        build: object

    orig = K.registry_variants
    K.registry_variants = lambda: [("toy", V("alloc", (), alloc_build)), ("toy", V("inplace", (), _momentum))]
    try:
        res = {r.variant: r for r in K.allocations(d=50_000, steps=2)}
    finally:
        K.registry_variants = orig
    assert res["alloc"].peak_bytes >= 50_000 * 8  # at least one d-sized float64 array alive
    assert res["inplace"].peak_bytes < 50_000 * 8 // 2


def test_interleaved_rotates_the_order_each_round():
    calls = []
    out = interleaved({n: (lambda n=n: calls.append(n) or len(calls)) for n in "abc"}, 3)
    assert calls == list("abcbcacab")
    assert out == {"a": [1, 6, 8], "b": [2, 4, 9], "c": [3, 5, 7]}


def test_importtime_parser_credits_lazy_imports_to_their_own_package(tmp_path):
    p = tmp_path / "it.txt"
    p.write_text(
        "import time: self [us] | cumulative | imported package\n"
        "import time:       100 |        100 |     numpy.core\n"
        "import time:        50 |        150 |   numpy\n"
        "import time:        10 |        160 | optrun.config\n"
        "import time:        30 |         30 |   click.core\n"
        "import time:        20 |         50 | click\n"
    )
    got = dict(P._slowest_imports(str(p)))
    assert got["optrun"] == 160 and got["numpy"] == 150 and got["click"] == 50


def test_table_markdown_and_verdicts():
    t = Table("t", ["a", "bb"])
    t.add(1, "x")
    assert t.markdown().splitlines() == ["| a | bb |", "|---|----|", "| 1 | x  |"]
    assert verdict(1.0, 1.0).startswith("PASS") and verdict(1.01, 1.0).startswith("MISS")
    assert verdict(None, 1.0) == "—"


def test_own_rss_reports_the_child_not_the_fat_parent():
    from bench_util import run_process

    ballast = np.ones(400 * 2**20 // 8)  # 400 MiB touched in this process
    try:
        r = run_process([sys.executable, "-c", "pass"], own_rss=True)
    finally:
        del ballast
    assert r.returncode == 0
    assert 1_000 < r.maxrss_kib < 100 * 1024  # a bare interpreter: a few MiB, far below the parent's 400


def test_child_env_caches_bytecode_outside_the_source_tree(monkeypatch):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("OPTRUN_RUNS_DIR", "/somewhere")
    env = child_env()
    assert "PYTHONDONTWRITEBYTECODE" not in env and "OPTRUN_RUNS_DIR" not in env
    prefix = env["PYTHONPYCACHEPREFIX"]
    assert os.path.isdir(prefix) and not prefix.startswith(str(P.REPO_ROOT))
    assert child_env(bytecode_cache=False)["PYTHONDONTWRITEBYTECODE"] == "1"


def test_full_suite_writes_outside_the_committed_record_unless_asked(tmp_path):
    import subprocess

    import run as R

    default = os.path.abspath(R.parse_args([]).output)
    committed = os.path.join(os.path.dirname(os.path.abspath(R.__file__)), "results", "latest.md")
    assert default != committed
    assert os.path.abspath(R.parse_args(["--output", committed]).output) == committed
    root = os.path.dirname(os.path.dirname(os.path.abspath(R.__file__)))
    p = subprocess.run(["git", "check-ignore", "-q", os.path.relpath(default, root)], cwd=root)
    assert p.returncode == 0, f"{default} is not ignored by git"


def test_bound_verdict_marks_figures_within_their_passes():
    from bench_util import bound_verdict

    assert bound_verdict(2.9, 3.0, 3.6).startswith("PASS")
    assert bound_verdict(3.4, 3.0, 3.6).startswith("BOUND")
    assert bound_verdict(3.7, 3.0, 3.6).startswith("MISS")
    assert bound_verdict(3.4, 3.0, 2.5).startswith("MISS")  # passes that allow 3x give no excuse
    assert bound_verdict(None, 3.0, 3.6) == "—"


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_two_core_roof_adds_g_like_the_one_core_roof(threads):
    pytest.importorskip("numba")
    g = np.arange(11.0)
    x0 = np.ones(11)
    one, two = K.Roof(g, x0, k=2, r=1), K.Roof(g, x0, k=2, r=1)
    one.body(None)(3)
    two.two_cores(threads)(3)
    np.testing.assert_array_equal(two.x, one.x)
    np.testing.assert_array_equal(two.stacked, one.stacked)


def test_bounds_verdict_names_the_tightest_bound_a_figure_is_within():
    from bench_util import bounds_verdict

    bounds = {"its passes'": 3.6, "floor + roof": 4.2}
    assert bounds_verdict(2.9, 3.0, bounds).startswith("PASS")
    assert bounds_verdict(3.5, 3.0, bounds) == "BOUND (≤ its passes' 3.60×)"
    assert bounds_verdict(3.9, 3.0, bounds) == "BOUND (≤ floor + roof 4.20×)"
    assert (
        bounds_verdict(4.3, 3.0, bounds)
        == "MISS (> 3, > its passes' 3.60× by 19%, > floor + roof 4.20× by 2%)"
    )
    assert bounds_verdict(3.5, 3.0, {"its passes'": 2.5, "floor + roof": None}) == "MISS (> 3)"


def test_a_numpy_row_at_1e7_is_bound_by_its_floor_plus_one_roof():
    row = K.KernelResult("adagrad", "torch", "float64", 10**7, None, ratio=3.5, floor_ratio=2.7)
    assert row.floor_bound == pytest.approx(3.7)
    assert row.target() == "BOUND (≤ floor + roof 3.70×)"
    from types import SimpleNamespace

    row.layout, row.traffic = SimpleNamespace(arrays_moved=5), SimpleNamespace(arrays=20)
    assert row.passes_bound == 4.0
    row.ratio = 3.8  # within its passes' 4x, which bound an unblocked step only: no excuse at 1e7
    assert row.target() == "MISS (> 3, > floor + roof 3.70× by 3%)"
    row.floor_ratio = None  # no floor measured: the passes' bound is the one printed
    assert row.target() == "BOUND (≤ its passes' 4.00×)"
    row.d = 10**6
    assert row.target() == ""  # the numpy target is at d = 1e7


def test_numpy_extras_time_the_floor_the_threads_and_the_control(monkeypatch):
    """Each added sample is a positive time; the two-thread step is optrun's team (counted)."""
    from optrun import threads

    runs = []
    monkeypatch.setattr(threads, "team", lambda n, team=threads.team: runs.append(n) or team(n))
    monkeypatch.setattr(threads, "available", lambda: 2)
    (_, v) = next((a, v) for a, v in K.registry_variants() if a == "adam")
    rng = np.random.default_rng(0)
    d = 1 << 20  # blocked and threaded as at 1e7; the floor is a smaller problem scaled up
    fns = K.numpy_extras(v, rng.standard_normal(d), rng.standard_normal(d), 1)
    want = {"floor", "threads", "ctl_one", "ctl_team"} if K.compute_control(2) else {"floor", "threads"}
    assert set(fns) == want
    assert all(fns[k]() > 0 for k in fns)
    # the threaded step: its warm-up's second step and the sample (a first step finds the step
    # field on one thread); the control: its warm-up and the sample
    assert runs == [2] * (4 if "ctl_team" in fns else 2)
