"""A blocked numpy step with its slices shared among threads gives the bits of one thread.

:func:`optrun.optimizers.blocked.blocked` can hand contiguous groups of slices to the team of
:mod:`optrun.threads` (each group with its own scratch and its own copy of the state fields not
shaped like ``x``). Here, with slices of a few dozen elements and threading switched on for every
size: every variant, one member and a batch with ``(S, 1)`` hyperparameters, 1 thread against 2
and 3 (more threads than slices, a team larger than the machine), step by step and state field by
state field (NAdam's ``(S, 1)`` running product included); and through the command line, a sweep
member's trace against the same run alone, with a schedule, on two threads and on one.
"""

from __future__ import annotations

import csv
import functools
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from optrun import threads
from optrun.cli import cli
from optrun.optimizers import ALGORITHMS, get_algorithm
from optrun.optimizers import blocked as B

VARIANTS = [(a.name, v.name) for a in ALGORITHMS.values() for v in a.variants]


def hyper(algo: str, variant: str, S: int) -> dict:
    """Defaults, as ``(S, 1)`` arrays a little different per member when ``S > 1``."""
    out = {}
    for p in get_algorithm(algo).variant(variant).params:
        val = 0.01 if p.name == "weight_decay" else p.default  # the weight-decay branch on
        if S > 1 and isinstance(val, float) and not isinstance(val, bool):
            val = np.array([[val * (1.0 - 0.03 * i)] for i in range(S)])
        out[p.name] = val
    return out


def trajectory(algo, variant, S, d, monkeypatch, n_threads):
    monkeypatch.setenv("OPTRUN_THREADS", str(n_threads))
    v = get_algorithm(algo).variant(variant)
    opt = B.blocked(
        v.build(**hyper(algo, variant, S)),
        block=48 * S,
        min_elements=0,
        min_width=1,
        threads=threads,
        parallel_min=0,
    )
    rng = np.random.default_rng(7)
    x = rng.standard_normal((S, d)) if S > 1 else rng.standard_normal(d)
    state = opt.init(x)
    scratch = set(getattr(type(state), "SCRATCH", ()))
    out = []
    with np.errstate(all="ignore"):
        for t in range(1, 7):
            step, state = opt.update(rng.standard_normal(x.shape) + 0.5 * x, state, x, t)
            out.append(step.tobytes())
            np.add(x, step, out=x)
            out += [f.tobytes() for k, f in zip(state._fields, state) if k not in scratch]
    assert np.isfinite(x).all()
    return out


@pytest.mark.parametrize(("algo", "variant"), VARIANTS)
@pytest.mark.parametrize(("S", "d"), [(1, 1001), (3, 500)])
def test_threads_give_the_bits_of_one_thread(monkeypatch, algo, variant, S, d):
    runs = []
    real = threads.team

    def counting(n):
        runs.append(n)
        return real(n)

    monkeypatch.setattr(threads, "team", counting)
    one = trajectory(algo, variant, S, d, monkeypatch, 1)
    assert runs == []  # OPTRUN_THREADS=1: never the team
    for n in (2, 3):
        assert trajectory(algo, variant, S, d, monkeypatch, n) == one, f"{n} threads"
        assert runs.count(n) == 5  # every step but the first (which finds the step field)


def test_nadam_running_product_ends_the_step_as_on_one_thread(monkeypatch):
    """The ``(S, 1)`` field every slice updates: restored before each slice in every group, and
    the state's own array holds the one-thread value after each step."""
    one = trajectory("nadam", "torch", 3, 500, monkeypatch, 1)
    two = trajectory("nadam", "torch", 3, 500, monkeypatch, 2)
    assert two == one


def test_threads_only_when_given_and_from_the_threshold(monkeypatch):
    """Without ``threads`` (as the numpy backend builds it) one thread; with them, from
    :data:`PARALLEL_MIN_ELEMENTS` elements (read when a step is planned)."""
    runs = []
    monkeypatch.setattr(threads, "team", lambda n, team=threads.team: runs.append(n) or team(n))
    monkeypatch.setenv("OPTRUN_THREADS", "2")
    v = get_algorithm("adam").variant("torch")
    for given, limit, want in ((None, 1000, []), (threads, 4000, []), (threads, 1000, [2, 2])):
        monkeypatch.setattr(B, "PARALLEL_MIN_ELEMENTS", limit)
        opt = B.blocked(
            v.build(**hyper("adam", "torch", 1)), block=100, min_elements=0, min_width=1, threads=given
        )
        x = np.ones(2000)
        state = opt.init(x)
        for t in range(1, 4):
            state = opt.update(np.full(2000, 0.5), state, x, t)[1]
        assert runs == want
        runs.clear()


def read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))[1:]


@pytest.mark.parametrize("n_threads", ["2", "1"])
def test_a_sweep_member_on_threads_equals_the_run_alone(tmp_path, monkeypatch, n_threads):
    monkeypatch.setattr(
        B,
        "blocked",
        functools.partial(B.blocked, block=256, min_elements=0, min_width=1, threads=threads, parallel_min=0),
    )
    monkeypatch.setenv("OPTRUN_THREADS", n_threads)
    runs = []
    monkeypatch.setattr(threads, "team", lambda n, team=threads.team: runs.append(n) or team(n))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "name": "threads",
                "objective": {"name": "rosenbrock", "dim": 700},
                "bounds": [-1.0, 1.0],
                "algorithm": {
                    "name": "nadam",
                    "variant": "torch",
                    "schedule": {"name": "cosine", "decay_steps": 20},
                },
                "backend": "numpy",
                "iterations": 25,
                "trace": {"checkpoint_s": None},
            }
        )
    )

    def invoke(*args):
        res = CliRunner().invoke(cli, [str(a) for a in args])
        assert res.exit_code in (0, 1), res.output
        return res

    invoke(
        "run",
        cfg,
        "--sweep",
        "seed=0,1",
        "--sweep",
        "algorithm.alpha=0.002,0.001",
        "--runs-dir",
        tmp_path / "runs",
        "--workers",
        "1",
        "--quiet",
    )
    (folder,) = [p for p in (tmp_path / "runs").iterdir() if (p / "traces").is_dir()]
    members: dict[int, list[list[str]]] = {}
    for p in sorted((folder / "traces").glob("batch-*.csv")):
        for rec in read_rows(p):
            members.setdefault(int(rec[0]), []).append(rec[1:])
    assert len(members) == 4
    for m, (seed, a) in enumerate([(0, 0.002), (0, 0.001), (1, 0.002), (1, 0.001)]):
        res = invoke(
            "run",
            cfg,
            f"seed={seed}",
            f"algorithm.alpha={a}",
            "--runs-dir",
            tmp_path / "alone",
            "--format",
            "json",
        )
        path = Path(json.loads(res.stdout.strip().splitlines()[-1])["path"])
        alone = read_rows(path / "trace.csv")
        assert len(alone) > 5 and members[m] == alone, (seed, a)
    assert set(runs) == ({2} if n_threads == "2" else set())  # the batch and the runs alone on the team
    assert len(runs) >= 5 * 24 * (n_threads == "2")
