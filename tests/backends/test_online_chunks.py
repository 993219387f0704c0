"""Compiled chunks of steps for online objectives whose gradient does not depend on x (numba
backend): every row, result, checkpoint and trace byte equal to the step-by-step run's, for a run
alone, sweep members, the box projection, gradient noise, and a resume from a checkpoint."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

pytest.importorskip("numba")

from optrun.backends.stepper import FusedStepper, GivenLoop, GivenStepper, Stepper
from optrun.cli import cli
from optrun.config.load import load_config
from optrun.objectives import rounds as R
from optrun.problem import build_objective, build_optimizer, build_rounds, projection, start_points
from optrun.runner import Loop, Problem, run
from optrun.sweep import batch_params

BASE = {
    "name": "oc",
    "objective": "reddi-online",
    "start": [0.0],
    "constraint": "box",
    "algorithm": {"name": "adam", "alpha": 0.5},
    "backend": "numba",
    "iterations": 2600,  # past two chunks of 1024 rows and a last partial one
    "seed": 3,
}


def configs(tmp_path: Path, seeds=(3,), *overrides: str, **changes):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({**BASE, **changes}, sort_keys=False))
    out = []
    for s in seeds:
        out.append(load_config(str(p), [*overrides, f"seed={s}"]))
    return out


def problem(cfgs, chunks: bool, alphas=None, own: bool = True) -> Problem:
    x0 = start_points(cfgs)
    objective = build_objective(cfgs[0], x0[0], None)
    params = batch_params(cfgs)
    if alphas is not None:
        params["alpha"] = np.array(alphas, dtype=np.float64)[:, None]
    optimizer = build_optimizer(cfgs[0], params)
    return Problem(
        objective,
        optimizer,
        x0,
        cfgs[0].iterations,
        chunks=chunks,
        own_buffers=own,  # a single run of a built-in optimizer
        project=projection(cfgs[0]),
        rounds=build_rounds(cfgs, objective),
    )


def record(p: Problem, **kw):
    """Every row handed on, per column, as bytes-comparable arrays, and the results."""
    got: dict[str, list] = {"f": [], "g": [], "s": [], "x": [], "rows": [], "first": []}
    extra: dict[str, list] = {}

    def on_chunk(c):
        got["first"].append(c.first_iteration)
        got["f"].append(c.f.copy())
        got["g"].append(c.grad_norm.copy())
        got["s"].append(c.step_norm.copy())
        got["x"].append(c.x.copy())
        got["rows"].append(c.rows.copy())
        for k, v in c.extra.items():
            extra.setdefault(k, []).append(v.copy())

    results = run(p, on_chunk, **kw)
    out = {k: np.concatenate(v) for k, v in got.items() if k not in ("first",)}
    out.update({k: np.concatenate(v) for k, v in extra.items()})
    return out, results


def same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].shape == b[k].shape, k
        assert a[k].tobytes() == b[k].tobytes(), k


def same_results(ra, rb) -> None:
    for a, b in zip(ra, rb, strict=True):
        assert (a.status, a.stop_reason, a.iterations, a.best_iteration) == (
            b.status,
            b.stop_reason,
            b.iterations,
            b.best_iteration,
        )
        for f in ("final_f", "final_grad_norm", "best_f"):
            assert np.float64(getattr(a, f)).tobytes() == np.float64(getattr(b, f)).tobytes(), f
        assert a.final_x.tobytes() == b.final_x.tobytes() and a.best_x.tobytes() == b.best_x.tobytes()
        assert a.extra.keys() == b.extra.keys()
        for k in a.extra:
            assert np.float64(a.extra[k]).tobytes() == np.float64(b.extra[k]).tobytes(), k


CASES = [
    ("reddi-online", ()),
    ("reddi-online", ("constraint=none",)),
    ("reddi-online", ("algorithm.name=amsgrad",)),
    ("reddi-online", ("algorithm.name=amsgrad", "algorithm.variant=tutorial")),
    ("reddi-online", ("algorithm.name=adagrad",)),
    ("reddi-online", ("algorithm.name=sgd", "algorithm.alpha=0.001")),
    ("reddi-stochastic", ()),
    ("reddi-stochastic", ("algorithm.name=amsgrad", "constraint=none")),
    ("reddi-theorem1", ("algorithm.beta1=0.0", "algorithm.beta2=0.1")),
    ("reddi-online", ("objective.noise={std: 0.5}",)),
    ("reddi-online", ("objective.noise={std: 0.5, relative: true, spike_prob: 0.1, spike_size: 3}",)),
    ("reddi-stochastic", ("objective.noise={law: student_t, std: 0.2}", "algorithm.name=amsgrad")),
    ("reddi-stochastic", ("objective.noise={law: cauchy, std: 0.1, spike_prob: 0.05, spike_size: 2}",)),
    # a schedule: the kernel's step scaled by lr(t - 1) / alpha in the compiled loop
    ("reddi-online", ("algorithm.schedule={name: exponential, decay_rate: 0.5, decay_steps: 100}",)),
    (
        "reddi-theorem1",
        ("algorithm.schedule={name: inverse_time, decay_rate: 0.1}", "algorithm.name=amsgrad"),
    ),
    (
        "reddi-stochastic",
        ("algorithm.schedule={name: cosine, decay_steps: 2000}", "objective.noise={std: 0.2}"),
    ),
]


@pytest.mark.parametrize("objective, overrides", CASES)
def test_a_chunked_online_run_is_the_step_by_step_run_bit_for_bit(
    tmp_path, objective, overrides, monkeypatch
):
    monkeypatch.setattr(R, "BLOCK_NUMBERS", 700)  # stream blocks of 700 rows: chunks straddle them
    cfg = configs(tmp_path, (3,), f"objective={objective}", *overrides)
    chunked, alone = problem(cfg, True), problem(cfg, False)
    assert type(Loop(chunked, chunked.x0.copy()).stepper(chunked)) is GivenStepper
    scheduled = any("schedule" in o for o in overrides)  # no fused apply: update, then the scaling
    assert type(Loop(alone, alone.x0.copy()).stepper(alone)) is (Stepper if scheduled else FusedStepper)
    a, ra = record(chunked)
    b, rb = record(alone)
    same(a, b)
    same_results(ra, rb)
    assert len(a["f"]) == BASE["iterations"] + 1


LOOPS = [
    ("backend=numpy",),
    ("backend=numpy", "algorithm.name=amsgrad", "objective.noise={std: 0.5, spike_prob: 0.1, spike_size: 2}"),
    ("backend=numpy", "objective=reddi-stochastic", "constraint=none"),
    ("backend=numpy", "algorithm.schedule={name: inverse_time, decay_rate: 0.1}"),
]


@pytest.mark.parametrize("overrides", LOOPS)
def test_steps_without_a_compiled_chunk_loop_take_the_rounds_a_chunk_at_a_time(
    tmp_path, overrides, monkeypatch
):
    monkeypatch.setattr(R, "BLOCK_NUMBERS", 700)
    cfg = configs(tmp_path, (3,), *overrides)
    chunked, alone = problem(cfg, True), problem(cfg, False)
    assert type(Loop(chunked, chunked.x0.copy()).stepper(chunked)) is GivenLoop
    assert type(Loop(alone, alone.x0.copy()).stepper(alone)) is Stepper
    a, ra = record(chunked)
    b, rb = record(alone)
    same(a, b)
    same_results(ra, rb)
    # an optimizer that may keep the gradient it is given (a user's) gets it step by step
    shared = problem(cfg, True, own=False)
    assert type(Loop(shared, shared.x0.copy()).stepper(shared)) is Stepper


def test_a_chunk_is_one_call_for_its_rounds_not_one_per_step(tmp_path, monkeypatch):
    cfg = configs(tmp_path, (3,), "objective=reddi-stochastic", "objective.noise={std: 0.5}")
    p = problem(cfg, True)
    asked: list[tuple[int, int]] = []
    gradients = p.rounds.gradients
    monkeypatch.setattr(p.rounds, "gradients", lambda row, n: asked.append((row, n)) or gradients(row, n))
    observed = []
    one = p.rounds.observe
    monkeypatch.setattr(p.rounds, "observe", lambda *a: observed.append(a[1]) or one(*a))
    record(p)
    # rows 0 and 1 step by step (the start, the first step alone), then chunks up to 1024 rows
    assert observed == [0, 1]
    assert asked == [(2, 1022), (1024, 1024), (2048, 553)]  # rows 2 .. 2600


@pytest.mark.parametrize("schedule", [(), ("algorithm.schedule={name: inverse_time, decay_rate: 0.3}",)])
def test_sweep_members_equal_the_runs_alone_when_chunked(tmp_path, schedule):
    seeds, alphas = [3, 4, 3, 9], [0.5, 0.1, 0.02, 0.5]
    over = ("objective=reddi-stochastic", "objective.noise={std: 0.3, relative: true}", *schedule)
    batch, _ = record(problem(configs(tmp_path, seeds, *over), True, alphas))
    for s, (seed, alpha) in enumerate(zip(seeds, alphas)):
        alone, _ = record(problem(configs(tmp_path, (seed,), *over), True, [alpha]))
        for k in alone.keys() - {"rows"}:
            assert batch[k][:, s].tobytes() == alone[k][:, 0].tobytes(), (k, seed, alpha)


def test_a_resume_from_a_checkpoint_at_a_chunk_boundary_continues_bit_for_bit(tmp_path):
    over = ("objective=reddi-stochastic", "objective.noise={std: 0.5, spike_prob: 0.1, spike_size: 2}")
    cfg = configs(tmp_path, (5, 6), *over, iterations=3500)
    full, rfull = record(problem(cfg, True))
    kept = []
    record(problem(cfg, True), on_checkpoint=kept.append, checkpoint_every_s=1e-9)
    cp = kept[1]  # after two chunks
    assert cp.iteration == 2047 and "rounds.regret" in cp.extra
    after, rafter = record(problem(cfg, True), resume=copy.deepcopy(cp))  # (a resume steps its state)
    for k in full.keys() - {"rows"}:
        assert after[k].tobytes() == full[k][cp.iteration + 1 :].tobytes(), k
    same_results(rafter, rfull)
    # and the step-by-step run resumed from the same checkpoint gives those rows too
    stepwise, _ = record(problem(cfg, False), resume=copy.deepcopy(cp))
    same(stepwise, after)


def test_the_compiled_box_clips_as_the_runners_projection():
    from optrun.backends.drivers import box

    values = [np.nan, -np.inf, np.inf, -2.0, -1.0, -0.0, 0.0, 0.5, 1.0, 3.0, -np.nan]
    for lo, hi in [(-1.0, 1.0), (0.0, 1.0), (-0.0, 0.0), (-1.0, -0.0)]:
        x = np.array(values)[:, None]
        want = np.minimum(np.maximum(x, lo), hi)
        got = x.copy()
        box(got, np.array([lo]), np.array([hi]))
        assert got.tobytes() == want.tobytes(), (lo, hi)


def test_rounds_that_depend_on_x_are_not_chunked(tmp_path):
    cfg = configs(
        tmp_path, (3,), "objective=sphere", "objective.noise={std: 0.1}", "constraint=none", start=[0.5]
    )
    p = problem(cfg, True)
    assert not p.rounds.chunks
    assert type(Loop(p, p.x0.copy()).stepper(p)) is FusedStepper


def test_a_streams_rows_at_once_are_its_rows_one_by_one(monkeypatch):
    monkeypatch.setattr(R, "BLOCK_NUMBERS", 2 * 3 * 5)  # blocks of 5 rows
    a = R.MemberStreams([4, 4, 8], 2, R.uniform, R.SPIKE_STREAM)
    b = R.MemberStreams([4, 4, 8], 2, R.uniform, R.SPIKE_STREAM)
    want = np.stack([a.row(r).copy() for r in range(40)], axis=1)
    spans = [(0, 1), (1, 3), (4, 12), (16, 4), (20, 20)]  # within a block, across two, across three
    got = np.concatenate([b.rows(r, n).copy() for r, n in spans], axis=1)  # (a view: valid until the next)
    assert got.tobytes() == want.tobytes()


def test_the_cli_writes_the_same_trace_chunked_and_step_by_step(tmp_path, monkeypatch):
    p = tmp_path / "c.yaml"
    p.write_text(
        yaml.safe_dump({**BASE, "objective": "reddi-stochastic", "iterations": 3000}, sort_keys=False)
    )
    runner, out = CliRunner(), []
    for chunks in (True, False):
        if not chunks:
            monkeypatch.setattr(R.Rounds, "chunks", property(lambda self: False))
        res = runner.invoke(
            cli, ["run", str(p), "--runs-dir", str(tmp_path / str(chunks)), "--format", "json"]
        )
        assert res.exit_code == 0, res.output
        out.append(json.loads(res.stdout.strip().splitlines()[-1]))
    a, b = (Path(o["path"]) for o in out)
    for name in ("trace.csv", "trace.jsonl"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    timing = ("path", "id", "pid", "pid_start", "started_at", "updated_at", "ended_at", "wall_time_s")
    sa, sb = ({k: v for k, v in o.items() if k not in (*timing, "time_per_iteration_s")} for o in out)
    assert sa == sb and "final_avg_regret" in sa
