"""Kernels and the runner loop, against references written out here with Python floats.

The references are the tutorials' own per-coordinate loops (``math.sqrt`` on Python floats, no
numpy, no optrun code), performing the same floating-point operations in the same order as the
kernels, so the kernels must agree with them bit for bit. Sources: the AdaGrad tutorial
(Duchi, Hazan & Singer 2011 as written there), the AMSGrad tutorial (Reddi, Kale & Kumar 2018,
no bias correction, beta1(t) = beta1**t), plain gradient descent x <- x - alpha * grad f(x) on
f(x) = sum x_i^2, grad f = 2 x.
"""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from interrupts import interrupt_at

from optrun import runner
from optrun.cli import cli
from optrun.objectives import get_objective
from optrun.optimizers import get_algorithm
from optrun.runner import Problem, chunk_rows, run
from optrun.store.folder import TraceWriter

# ------------------------------------------------------------------------------ references


def ref_gd(x, alpha, steps):
    xs = [list(x)]
    for _ in range(steps):
        x = [xi - alpha * (2.0 * xi) for xi in x]
        xs.append(x)
    return xs


def ref_adagrad(x, alpha, eps, steps):
    """The AdaGrad tutorial: s += g**2; x -= step_size / (1e-8 + sqrt(s)) * g, per coordinate."""
    s = [0.0] * len(x)
    xs = [list(x)]
    for _ in range(steps):
        g = [2.0 * xi for xi in x]
        s = [si + gi * gi for si, gi in zip(s, g)]
        x = [xi - (alpha / (eps + math.sqrt(si))) * gi for xi, si, gi in zip(x, s, g)]
        xs.append(x)
    return xs


def ref_amsgrad(x, alpha, beta1, beta2, eps, schedule, steps):
    """The AMSGrad tutorial with t counted from 1 (its beta1**(t+1) with a 0-based t)."""
    d = len(x)
    m, v, vhat = [0.0] * d, [0.0] * d, [0.0] * d
    xs = [list(x)]
    for t in range(1, steps + 1):
        b1 = {"power": beta1**t, "inverse": beta1 / t, "constant": beta1}[schedule]
        g = [2.0 * xi for xi in x]
        x = list(x)
        for i in range(d):
            m[i] = b1 * m[i] + (1.0 - b1) * g[i]
            v[i] = beta2 * v[i] + (1.0 - beta2) * (g[i] * g[i])
            vhat[i] = max(vhat[i], v[i])
            x[i] = x[i] - alpha * m[i] / (math.sqrt(vhat[i]) + eps)
        xs.append(x)
    return xs


def sphere_f(x):
    return sum(xi * xi for xi in x)


# ------------------------------------------------------------------------------ helpers


def optimizer(name, batch=False, **params):
    """A built-in kernel; ``batch`` passes numeric hyperparameters as (1, 1) arrays like the CLI."""
    if batch:
        params = {k: np.array([[v]]) if isinstance(v, float) else v for k, v in params.items()}
    return get_algorithm(name).variant(None).build(**params)


def collect(problem, **kw):
    """Run and return (results, per-member list of (iteration, f, grad_norm, step_norm, x))."""
    S = problem.x0.shape[0]
    rows = [[] for _ in range(S)]

    def on_chunk(c):
        for s in range(S):
            for j in range(int(c.rows[s])):
                rows[s].append(
                    (
                        c.first_iteration + j,
                        float(c.f[j, s]),
                        float(c.grad_norm[j, s]),
                        float(c.step_norm[j, s]),
                        c.x[j, s].tolist(),
                    )
                )

    return run(problem, on_chunk, **kw), rows


def sphere(d):
    return get_objective("sphere").build(d)


X0 = [0.5, -0.25]


# ------------------------------------------------------------------------------ kernels


def test_first_steps_by_hand():
    """One step from x = (0.5, -0.25), g = (1, -0.5), worked out on paper."""
    x = np.array([X0])
    g = 2.0 * x
    gd = optimizer("gd", alpha=0.1)
    step, _ = gd.update(g, gd.init(x), x, 1)
    assert (x + step).tolist() == [[0.4, -0.2]]  # x - 0.1 * 2x = 0.8 x
    # AdaGrad, eps = 0: s = g^2, step = -alpha * g / |g| = -alpha * sign(g): each coordinate moves alpha
    ada = optimizer("adagrad", alpha=0.1, eps=0.0)
    step, _ = ada.update(g, ada.init(x), x, 1)
    assert (x + step)[0].tolist() == pytest.approx([0.4, -0.15], rel=1e-15)
    # AMSGrad, t = 1, power schedule: m = (1 - b1) g, vhat = (1 - b2) g^2,
    # step = -alpha (1 - b1) / sqrt(1 - b2) sign(g) = -0.007 * 0.1 / 0.1 = -0.007 sign(g)
    ams = optimizer("amsgrad", alpha=0.007, beta1=0.9, beta2=0.99, eps=0.0, beta1_schedule="power")
    step, _ = ams.update(g, ams.init(x), x, 1)
    assert step[0].tolist() == pytest.approx([-0.007, 0.007], rel=1e-12)


@pytest.mark.parametrize("batch", [False, True])
def test_gd_matches_reference_bit_for_bit(batch):
    p = Problem(sphere(2), optimizer("gd", batch, alpha=0.05), np.array([X0]), 40)
    (res,), (rows,) = collect(p)
    ref = ref_gd(X0, 0.05, 40)
    assert [r[4] for r in rows] == ref
    assert [r[1] for r in rows] == pytest.approx([sphere_f(x) for x in ref], rel=1e-15)
    assert res.final_x.tolist() == ref[-1] and res.iterations == 40


@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize("eps", [0.0, 1e-8])
def test_adagrad_matches_tutorial_loop_bit_for_bit(batch, eps):
    p = Problem(sphere(2), optimizer("adagrad", batch, alpha=0.1, eps=eps), np.array([X0]), 50)
    _, (rows,) = collect(p)
    assert [r[4] for r in rows] == ref_adagrad(X0, 0.1, eps, 50)


@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize("schedule", ["power", "inverse", "constant"])
@pytest.mark.parametrize("eps", [0.0, 1e-8])
def test_amsgrad_matches_tutorial_loop_bit_for_bit(batch, schedule, eps):
    x0 = [0.3, -0.7, 0.05]
    opt = optimizer("amsgrad", batch, alpha=0.02, beta1=0.9, beta2=0.99, eps=eps, beta1_schedule=schedule)
    _, (rows,) = collect(Problem(sphere(3), opt, np.array([x0]), 60))
    ref = ref_amsgrad(x0, 0.02, 0.9, 0.99, eps, schedule, 60)
    if batch and schedule == "power":
        # numpy's array power is not Python's (C libm) pow: 0.9**12 differs in the last bit, so
        # with (1, 1) hyperparameters beta1**t, and through it x, agree to rounding only
        got = np.array([r[4] for r in rows])
        np.testing.assert_allclose(got, np.array(ref), rtol=1e-13, atol=0)
    else:
        assert [r[4] for r in rows] == ref


def test_amsgrad_schedules_really_differ():
    """The three beta1 schedules are different rules (a test of the reference as much as the kernel)."""
    schedules = ("power", "inverse", "constant")
    finals = {s: ref_amsgrad(X0, 0.02, 0.9, 0.99, 0.0, s, 20)[-1][0] for s in schedules}
    assert len(set(finals.values())) == 3


def test_recorded_norms():
    p = Problem(sphere(2), optimizer("gd", alpha=0.1), np.array([X0]), 3)
    _, (rows,) = collect(p)
    ref = ref_gd(X0, 0.1, 3)
    for t, (it, _f, gn, sn, x) in enumerate(rows):
        assert it == t and x == ref[t]
        assert gn == pytest.approx(math.hypot(2 * ref[t][0], 2 * ref[t][1]), rel=1e-15)
        want_sn = 0.0 if t == 0 else math.hypot(ref[t][0] - ref[t - 1][0], ref[t][1] - ref[t - 1][1])
        assert sn == pytest.approx(want_sn, rel=1e-14)


# ------------------------------------------------------------------------------ batching


@pytest.mark.parametrize(
    "name, hyper",
    [
        ("gd", {"alpha": [0.01, 0.1, 0.3, 0.45, 0.05]}),
        ("adagrad", {"alpha": [0.01, 0.1, 0.5, 1.0, 0.2], "eps": [0.0, 1e-8, 1e-3, 1e-8, 0.0]}),
        ("amsgrad", {"alpha": [0.001, 0.01, 0.1, 0.007, 0.05], "beta2": [0.99, 0.999, 0.9, 0.99, 0.5]}),
    ],
)
@pytest.mark.parametrize("d", [3, 40])
def test_batch_equals_single_runs_bit_for_bit(name, hyper, d):
    S = 5
    variant = get_algorithm(name).variant(None)
    defaults = {p.name: p.default for p in variant.params}
    x0 = np.random.default_rng(7).uniform(-1, 1, (S, d))
    batch_params = {**defaults, **{k: np.array(v).reshape(S, 1) for k, v in hyper.items()}}
    _, batch_rows = collect(Problem(sphere(d), variant.build(**batch_params), x0, 30))
    for s in range(S):
        single = {**defaults, **{k: np.array([[v[s]]]) for k, v in hyper.items()}}
        _, (rows,) = collect(Problem(sphere(d), variant.build(**single), x0[s : s + 1], 30))
        assert rows == batch_rows[s]
    assert len({r[-1][1] for r in batch_rows}) == S  # the members really are different runs


def test_batch_members_stop_independently(monkeypatch):
    """A member that meets f_target, and one that diverges, end there; the others run on."""
    monkeypatch.setattr(runner, "MAX_CHUNK_ROWS", 4)
    alphas = np.array([[0.1], [0.3], [1000.0], [0.01]])
    x0 = np.tile(X0, (4, 1))
    results, rows = collect(Problem(sphere(2), optimizer("gd", alpha=alphas), x0, 60, f_target=1e-6))
    stops = []
    for s, a in enumerate(alphas[:, 0]):
        ref = ref_gd(X0, float(a), 60)
        fs = [sphere_f(x) for x in ref]
        stop = next((t for t, f in enumerate(fs) if not f <= 1.79e308 or f <= 1e-6), 60)
        stops.append(stop)
        assert [r[0] for r in rows[s]] == list(range(stop + 1)), s
        assert [r[4] for r in rows[s][:-1]] == ref[:stop]
    assert [r.status for r in results] == ["completed", "completed", "diverged", "completed"]
    assert [r.stop_reason for r in results] == ["f_target", "f_target", "nonfinite", "iterations"]
    assert [r.iterations for r in results] == stops and stops == [29, 7, 47, 60]


# ------------------------------------------------------------------------------ stopping


@pytest.mark.parametrize("chunk", [1, 3, 4, 1024])
@pytest.mark.parametrize("target", [1e-3, 1e-6, 0.3125])
def test_f_target_stops_at_the_exact_iteration(monkeypatch, chunk, target):
    monkeypatch.setattr(runner, "MAX_CHUNK_ROWS", chunk)
    ref = ref_gd(X0, 0.1, 200)
    want = next(t for t, x in enumerate(ref) if sphere_f(x) <= target)  # 0.3125 = f(x0): row 0
    (res,), (rows,) = collect(
        Problem(sphere(2), optimizer("gd", alpha=0.1), np.array([X0]), 200, f_target=target)
    )
    assert (res.status, res.stop_reason, res.iterations) == ("completed", "f_target", want)
    assert rows[-1][0] == want and len(rows) == want + 1
    assert res.final_x.tolist() == ref[want]
    assert rows[-2][1] > target if want else True


@pytest.mark.parametrize("chunk", [2, 5, 1024])
def test_grad_norm_stops_at_the_exact_iteration(monkeypatch, chunk):
    monkeypatch.setattr(runner, "MAX_CHUNK_ROWS", chunk)
    ref = ref_adagrad(X0, 0.1, 1e-8, 300)
    tol = 1e-2
    want = next(t for t, x in enumerate(ref) if math.hypot(2 * x[0], 2 * x[1]) <= tol)
    assert 5 < want < 300
    (res,), (rows,) = collect(
        Problem(sphere(2), optimizer("adagrad", alpha=0.1, eps=1e-8), np.array([X0]), 300, grad_norm_tol=tol)
    )
    assert (res.status, res.stop_reason, res.iterations) == ("completed", "grad_norm", want)
    assert rows[-1][0] == want and rows[-1][2] <= tol < rows[-2][2]


def test_divergence_is_detected_at_the_first_nonfinite_row():
    """gd with alpha = 1000 on the sphere: x(t) = (1 - 2000)^t x0 until x*x overflows."""
    ref = ref_gd(X0, 1000.0, 200)
    bad = next(t for t, x in enumerate(ref) if not math.isfinite(sphere_f(x)))
    (res,), (rows,) = collect(Problem(sphere(2), optimizer("gd", alpha=1000.0), np.array([X0]), 200))
    assert (res.status, res.stop_reason, res.iterations) == ("diverged", "nonfinite", bad)
    assert [r[0] for r in rows] == list(range(bad + 1))
    assert all(math.isfinite(r[1]) for r in rows[:-1]) and rows[-1][1] == math.inf
    assert (res.best_f, res.best_iteration) == (0.3125, 0)


def test_should_stop_interrupts_between_steps():
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) > 7

    (res,), (rows,) = collect(
        Problem(sphere(2), optimizer("gd", alpha=0.1), np.array([X0]), 100), should_stop=should_stop
    )
    assert (res.status, res.stop_reason, res.iterations) == ("interrupted", "interrupted", 7)
    assert [r[4] for r in rows] == ref_gd(X0, 0.1, 7)


def test_best_is_the_earliest_of_equal_values():
    """alpha = 1 flips the sign: x(t) = (-1)^t x0, f constant; best stays at row 0."""
    (res,), _ = collect(Problem(sphere(2), optimizer("gd", alpha=1.0), np.array([X0]), 9))
    assert (res.best_iteration, res.best_f, res.final_x.tolist()) == (0, 0.3125, [-0.5, 0.25])


# ------------------------------------------------------------------------------ chunks


@pytest.mark.parametrize(
    "chunk, iterations",
    [(4, 3), (4, 4), (4, 5), (4, 8), (4, 12), (1, 6), (1024, 1023), (1024, 1024), (1024, 2048)],
)
def test_chunk_boundaries_lose_and_repeat_no_row(monkeypatch, chunk, iterations):
    monkeypatch.setattr(runner, "MAX_CHUNK_ROWS", chunk)
    assert chunk_rows(1, 2) == chunk
    (res,), (rows,) = collect(Problem(sphere(2), optimizer("gd", alpha=0.001), np.array([X0]), iterations))
    assert [r[0] for r in rows] == list(range(iterations + 1))
    assert rows[-1][4] == ref_gd(X0, 0.001, iterations)[-1]
    assert res.iterations == iterations and res.status == "completed"


def test_zero_iterations_records_the_start_only():
    (res,), (rows,) = collect(Problem(sphere(2), optimizer("gd", alpha=0.1), np.array([X0]), 0))
    assert len(rows) == 1 and rows[0][0] == 0 and rows[0][4] == X0
    assert (res.status, res.stop_reason) == ("completed", "iterations")
    assert res.iterations == 0 and res.best_iteration == 0
    assert res.final_f == 0.3125 and rows[0][3] == 0.0


@pytest.mark.parametrize("S, d", [(1, 2), (1, 10**6), (4096, 2), (64, 1000)])
def test_chunk_memory_is_bounded(S, d):
    k = chunk_rows(S, d)
    assert k >= 1 and (k == 1 or k * S * (d + 3) <= runner.CHUNK_ELEMENTS)


# ------------------------------------------------------------------------------ trace thinning


def _trace_iterations(folder):
    with open(folder / "trace.csv", newline="") as f:
        return [int(r["iteration"]) for r in csv.DictReader(f)]


def test_trace_writer_every_k_keeps_the_last_row(tmp_path):
    w = TraceWriter(str(tmp_path), 2, every=3)
    x = np.arange(22.0).reshape(11, 2)
    w.add(0, np.arange(5.0), np.ones(5), np.zeros(5), x[:5])  # iterations 0..4
    w.add(5, np.arange(5.0, 11.0), np.ones(6), np.zeros(6), x[5:], last=True)  # 5..10, the end
    w.close()
    assert _trace_iterations(tmp_path) == [0, 3, 6, 9, 10]
    lines = (tmp_path / "trace.jsonl").read_text().splitlines()
    assert [json.loads(ln)["iteration"] for ln in lines] == [0, 3, 6, 9, 10]
    assert json.loads(lines[-1])["x1"] == 21.0


@pytest.mark.parametrize(
    "overrides, want",
    [
        (["iterations=10", "trace.every=3"], [0, 3, 6, 9, 10]),
        (["iterations=9", "trace.every=3"], [0, 3, 6, 9]),  # the last row is kept once
        (["iterations=100", "trace.every=5", "stop.f_target=1e-3"], [0, 5, 10, 13]),  # stops at 13
        (["iterations=8", "trace.every=100"], [0, 8]),
    ],
)
def test_thinned_trace_through_the_cli(monkeypatch, tmp_path, overrides, want):
    monkeypatch.setattr(runner, "MAX_CHUNK_ROWS", 4)  # rows cross several chunks
    cfg = tmp_path / "c.yaml"
    cfg.write_text("objective: sphere\nalgorithm: {name: gd, alpha: 0.1}\nstart: [0.5, -0.25]\n")
    res = CliRunner().invoke(cli, ["run", str(cfg), *overrides, "--runs-dir", str(tmp_path / "runs"), "-q"])
    assert res.exit_code == 0, res.stderr
    (folder,) = (tmp_path / "runs").iterdir()
    assert _trace_iterations(folder) == want
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["iterations"] == want[-1]


def test_divergence_through_the_cli(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "objective: sphere\nalgorithm: {name: gd, alpha: 1000.0}\nstart: [0.5, -0.25]\niterations: 500\n"
    )
    res = CliRunner().invoke(cli, ["run", str(cfg), "--runs-dir", str(tmp_path / "runs")])
    assert res.exit_code == 1
    assert res.stdout.startswith("diverged at iteration 47: ")
    assert "Warning" not in res.stderr and "Traceback" not in res.stderr
    (folder,) = (tmp_path / "runs").iterdir()
    ref = ref_gd(X0, 1000.0, 47)
    with open(folder / "trace.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["iteration"]) for r in rows] == list(range(48))
    assert [[float(r["x0"]), float(r["x1"])] for r in rows] == ref
    assert rows[-1]["f"] == "inf" and math.isfinite(float(rows[-2]["f"]))
    last = json.loads((folder / "trace.jsonl").read_text().splitlines()[-1])
    assert last["iteration"] == 47 and last["f"] is None
    s = json.loads((folder / "summary.json").read_text())
    assert (s["status"], s["stop_reason"], s["iterations"]) == ("diverged", "nonfinite", 47)
    assert (s["best_f"], s["best_iteration"], s["final_f"]) == (0.3125, 0, None)


@pytest.mark.parametrize("target", [None, 1e-3])
def test_handing_on_partial_chunks_by_time_changes_no_row(target):
    # flush_every_s = 0: every step is handed on alone; the rows, the stop and the results are
    # those of whole chunks
    def problem():
        return Problem(
            sphere(2), optimizer("adagrad", alpha=0.1, eps=1e-8), np.array([X0]), 300, f_target=target
        )

    whole, whole_rows = collect(problem())
    timed, timed_rows = collect(problem(), flush_every_s=0.0)
    assert timed_rows == whole_rows and len(whole_rows[0]) > 10
    assert (len(whole_rows[0]) < 301) == (target is not None)  # the stop rule ends it early
    for a, b in zip(timed, whole):
        for k, v in vars(a).items():
            assert np.array_equal(v, getattr(b, k)), k
    chunks = []
    run(problem(), lambda c: chunks.append(c.n), flush_every_s=0.0)
    assert set(chunks) == {1} and len(chunks) == len(whole_rows[0])


def test_an_interrupt_right_after_a_flush_hands_no_row_on_twice():
    """A Ctrl-C landing between a flush and the reset of the chunk (injected there with a line
    tracer) must not hand the flushed rows on again (they would get their norms rooted twice)."""
    chunks = []
    problem = Problem(sphere(2), optimizer("gd", alpha=0.01), np.array([X0]), 3000)
    with interrupt_at(runner.run, "first += k") as fired, pytest.raises(KeyboardInterrupt):
        run(problem, on_chunk=lambda c: chunks.append((c.first_iteration, c.n, c.grad_norm.copy())))
    assert fired
    firsts = [f for f, _, _ in chunks]
    assert len(firsts) == len(set(firsts)) == 1  # the first chunk, once
    ((_, n, gn),) = chunks
    x = np.array(X0) * (1 - 0.02) ** np.arange(n)[:, None]  # gd on the sphere: x_t = 0.98^t x0
    np.testing.assert_allclose(gn[:, 0], 2 * np.sqrt((x * x).sum(axis=1)), rtol=1e-12)
