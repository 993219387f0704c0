"""The bad-input corpus, grown to every key of the schema (issue 8).

Generated from the registries, so a new algorithm, variant, hyperparameter or objective parameter
joins the corpus by existing: each gets a value of the wrong type and, where it has a range, a
value outside it. Every case must be refused before any run starts, with exit 2 and exactly one
line on stderr that names the key path, and no run folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from optrun.cli import cli
from optrun.objectives import OBJECTIVES
from optrun.optimizers import ALGORITHMS


def _cases():
    # top-level and nested keys of the run schema: (override, key path the message must name)
    yield "name=../../x", "name"
    yield "name=[1, 2]", "name"
    yield "objective=42", "objective"
    yield "objective.dim=0", "objective.dim"
    yield "objective.dim=two", "objective.dim"
    yield "bounds=[[1.0, -1.0], [-1.0, 1.0]]", "bounds"
    yield "bounds=[[-1, 1], [-1, 1], [-1, 1]]", "bounds"
    yield "bounds=[[-1, .nan], [-1, 1]]", "bounds"
    yield "start=[0.1]", "start"
    yield "start=somewhere", "start"
    yield "start=[0.1, .inf]", "start"
    yield "algorithm=[gd]", "algorithm"
    yield "algorithm.variant=pytorch", "algorithm.variant"
    yield "algorithm.schedule=cosine", "algorithm.schedule"
    yield "algorithm.schedule.name=wiggly", "algorithm.schedule"
    yield "iterations=-1", "iterations"
    yield "iterations=1.5", "iterations"
    yield "iterations=true", "iterations"
    yield "seed=-3", "seed"
    yield "seed=abc", "seed"
    yield "rng=mersenne", "rng"
    yield "stop=[1]", "stop"
    yield "stop.f_target=low", "stop.f_target"
    yield "stop.grad_norm=0", "stop.grad_norm"
    yield "stop.patience=3", "stop.patience"
    yield "expect=yes", "expect"
    yield "expect.status=finished", "expect.status"
    for k in ("f_final_max", "f_best_max", "f_gap_max", "grad_norm_max", "distance_max"):
        yield f"expect.{k}=small", f"expect.{k}"
    yield "expect.f_gap_max=-1", "expect.f_gap_max"
    yield "trace=0", "trace"
    yield "trace.every=0", "trace.every"
    yield "trace.x=some", "trace.x"
    yield "trace.checkpoint_s=0", "trace.checkpoint_s"
    yield "trace.checkpoint_s=soon", "trace.checkpoint_s"
    yield "trace.log_per_decade=0", "trace.log_per_decade"
    yield "sweep=[seed]", "sweep"
    yield "sweep.seed={range: [0]}", "sweep.seed"
    yield "sweep.algorithm.alpha=[]", "sweep.algorithm.alpha"
    yield "unknown_key=1", "unknown_key"
    # every hyperparameter of every algorithm variant
    for algo in ALGORITHMS.values():
        for variant in algo.variants:
            head = [f"algorithm.name={algo.name}", f"algorithm.variant={variant.name}"]
            for p in variant.params:
                key = f"algorithm.{p.name}"
                wrong = "[1, 2]" if p.kind is not str else "42"
                yield (*head, f"{key}={wrong}"), key
                if p.low is not None and p.kind in (int, float):
                    yield (*head, f"{key}={p.low - 1}"), key
                elif p.high is not None and p.kind in (int, float):
                    yield (*head, f"{key}={p.high + 1}"), key
                if p.choices:
                    yield (*head, f"{key}=not-a-choice"), key
    # every parameter of every built-in objective
    for spec in OBJECTIVES.values():
        dim = spec.dims[0] if spec.dims[1] is None or spec.default_dim > spec.dims[1] else spec.default_dim
        head = [f"objective.name={spec.name}", f"objective.dim={dim}"]
        bad_dim = (spec.dims[1] + 1) if spec.dims[1] is not None else None
        if bad_dim is not None:
            yield (f"objective.name={spec.name}", f"objective.dim={bad_dim}"), "objective.dim"
        for p in spec.params:
            key = f"objective.{p.name}"
            yield (*head, f"{key}=[1, 2]"), key
            if p.low is not None and p.kind in (int, float):
                yield (*head, f"{key}={p.low - 1}"), key


CASES = list(_cases())


def _id(case) -> str:
    overrides, _ = case
    text = overrides if isinstance(overrides, str) else " ".join(overrides)
    return text[:60]


def test_the_corpus_covers_every_algorithm_and_objective():
    texts = " ".join(o if isinstance(o, str) else " ".join(o) for o, _ in CASES)
    for name in ALGORITHMS:
        assert f"algorithm.name={name}" in texts
    assert len(CASES) > 150


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_every_key_refuses_bad_values_in_one_line(case, tmp_path: Path):
    overrides, key = case
    overrides = (overrides,) if isinstance(overrides, str) else overrides
    cfg = tmp_path / "c.yaml"
    cfg.write_text("objective: {name: sphere, dim: 2}\nalgorithm: gd\niterations: 5\n")
    runs = tmp_path / "runs"
    r = CliRunner().invoke(cli, ["run", str(cfg), *overrides, "--runs-dir", str(runs)])
    assert r.exit_code == 2, (overrides, r.output)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.output
    top = key.split(".")[0]
    assert key in lines[0] or top in lines[0], (key, lines[0])
    assert not runs.exists()
