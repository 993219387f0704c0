"""Issue 17: ``reddi-online`` at 10^6 rounds, numpy vs numba step by step vs numba in compiled chunks.

An online run whose gradient does not depend on x (the three Reddi objectives, with or without
gradient noise) runs on the numba backend in compiled chunks of up to 1,024 steps: the rounds'
gradients are computed for the chunk first (vectorized), one compiled call steps through them with
the box projection, and the chunk's f, gradient norms and regret are computed at once
(``optrun.backends.stepper.GivenStepper``). Step by step, each round costs a Python trip through
the runner, the optimizer and the rounds.

Method: the runner's loop alone (``optrun.runner.run`` with no trace writer), each path timed in
turn, the order rotated every repeat (:func:`bench_util.interleaved`), the fastest repeat kept;
the step-by-step paths run fewer rounds (their cost per round is flat) and their seconds for
10^6 rounds are that cost times 10^6. Then the whole command, ``optrun run`` in a fresh process
with its trace written (every row: two files), chunked at 10^6 rounds and numpy at fewer.
Variants: adam (torch, its default), amsgrad (tutorial, its default; torch), and ``paper`` of
both when it is registered. Every variant is checked first to give the same trace rows chunked
and step by step.

    python benchmarks/bench_online.py            # about 1.5 minutes (10^6 rounds in chunks)
    python benchmarks/bench_online.py --quick    # about 20 s
    flock /tmp/bench.lock python benchmarks/bench_online.py   # on a shared machine
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import yaml
from bench_util import Table, fmt_ratio, fmt_time, interleaved, progress, run_process, sibling_executable

ROUNDS = 10**6
CONFIG = {
    "name": "bench-online",
    "objective": "reddi-online",
    "start": [0.0],
    "constraint": "box",
    "algorithm": {"name": "adam", "alpha": 0.5},
    "seed": 0,
}


def variants() -> list[tuple[str, str, dict | None]]:
    """(algorithm, variant, schedule): the defaults, ``paper`` when registered, and one scheduled
    row (``inverse_sqrt`` when registered: the paper's step size)."""
    from optrun.optimizers import get_algorithm
    from optrun.optimizers.schedules import SCHEDULES

    out: list[tuple[str, str, dict | None]] = [("adam", "torch", None), ("amsgrad", "tutorial", None)]
    out.append(("amsgrad", "torch", None))
    paper = [
        name for name in ("adam", "amsgrad") if "paper" in [v.name for v in get_algorithm(name).variants]
    ]
    out += [(name, "paper", None) for name in paper]
    sched = (
        {"name": "inverse_sqrt"}
        if "inverse_sqrt" in SCHEDULES
        else {"name": "inverse_time", "decay_rate": 1.0}
    )
    out.append(("amsgrad", "paper" if "amsgrad" in paper else "tutorial", sched))
    return out


def config_file(folder: str, algorithm: str, variant: str, schedule: dict | None = None) -> str:
    path = os.path.join(folder, f"{algorithm}-{variant}{'-scheduled' if schedule else ''}.yaml")
    data = {**CONFIG, "algorithm": {"name": algorithm, "variant": variant, "alpha": 0.5}}
    if schedule:
        data["algorithm"]["schedule"] = schedule
    with open(path, "w") as f:
        yaml.safe_dump(data, f, sort_keys=False)
    return path


def problem(path: str, backend: str, rounds: int, chunks: bool):
    from optrun.config.load import load_config
    from optrun.problem import build_objective, build_optimizer, build_rounds, projection, start_points
    from optrun.runner import Problem
    from optrun.sweep import batch_params

    cfg = [load_config(path, [f"backend={backend}", f"iterations={rounds}"])]
    x0 = start_points(cfg)
    objective = build_objective(cfg[0], x0[0], None)
    optimizer = build_optimizer(cfg[0], batch_params(cfg))
    return Problem(
        objective,
        optimizer,
        x0,
        rounds,
        chunks=chunks,
        own_buffers=True,  # as a single run of a built-in optimizer (optrun.execution.drive)
        project=projection(cfg[0]),
        rounds=build_rounds(cfg, objective),
    )


def loop_seconds(path: str, backend: str, rounds: int, chunks: bool) -> float:
    """Seconds per round of the runner's loop (no trace writer), built outside the timing."""
    from optrun.runner import run

    p = problem(path, backend, rounds, chunks)
    t0 = time.perf_counter()
    run(p)
    return (time.perf_counter() - t0) / rounds


def check_same_rows(path: str) -> None:
    """The chunked run's rows are the step-by-step run's (and compiles the chunk loop)."""
    import numpy as np

    from optrun.runner import run

    rows = []
    for chunks in (True, False):
        got: list = []
        run(
            problem(path, "numba", 5000, chunks),
            lambda c, got=got: got.append((c.f.copy(), c.x.copy(), c.extra["regret"].copy())),
        )
        rows.append([np.concatenate(col).tobytes() for col in zip(*got)])
    if rows[0] != rows[1]:
        raise SystemExit(f"{path}: chunked rows differ from step by step")


def loop_table(folder: str, chunked_rounds: int, step_rounds: int, repeats: int) -> Table:
    t = Table(
        f"reddi-online, the runner's loop: µs per round, and seconds for {ROUNDS:,} rounds in chunks",
        [
            "algorithm",
            "numpy",
            "numpy, chunks",
            "numba",
            "numba, chunks",
            f"{ROUNDS:.0e} rounds in chunks",
            "numpy / numba chunks",
            "numba / numba chunks",
        ],
    )
    for algorithm, variant, schedule in variants():
        path = config_file(folder, algorithm, variant, schedule)
        name = f"{algorithm}/{variant}" + (f", {schedule['name']}" if schedule else "")
        progress(f"loop: {name}")
        check_same_rows(path)
        got = interleaved(
            {
                "numpy": lambda path=path: loop_seconds(path, "numpy", step_rounds, False),
                "numpy chunks": lambda path=path: loop_seconds(path, "numpy", step_rounds, True),
                "step": lambda path=path: loop_seconds(path, "numba", step_rounds, False),
                "chunks": lambda path=path: loop_seconds(path, "numba", chunked_rounds, True),
            },
            repeats,
        )
        best = {k: min(v) for k, v in got.items()}
        t.add(
            name,
            fmt_time(best["numpy"]),
            fmt_time(best["numpy chunks"]),
            fmt_time(best["step"]),
            fmt_time(best["chunks"]),
            fmt_time(best["chunks"] * ROUNDS),
            fmt_ratio(best["numpy"] / best["chunks"]),
            fmt_ratio(best["step"] / best["chunks"]),
        )
    t.notes.append(
        f"numpy and numba step by step ran {step_rounds:,} rounds, numba in chunks {chunked_rounds:,}; "
        f"fastest of {repeats} interleaved repeats. Chunks: the rounds' gradients computed a chunk at "
        "a time and the rows observed at once; numba steps the chunk in one compiled call, numpy in "
        "a Python loop of its steps."
    )
    return t


def command_table(folder: str, chunked_rounds: int, numpy_rounds: int) -> Table:
    """``optrun run`` as a user runs it (trace written), adam's default variant."""
    exe = sibling_executable("optrun") or "optrun"
    path = config_file(folder, "adam", "torch")
    t = Table(
        "reddi-online, `optrun run` (adam, constraint: box, trace of every row written)",
        ["command", "rounds", "wall", "per round"],
    )
    for backend, rounds in (("numba", chunked_rounds), ("numpy", numpy_rounds)):
        args = [exe, "run", path, f"backend={backend}", f"iterations={rounds}", "-q"]
        args += ["--runs-dir", os.path.join(folder, "runs")]
        progress(f"command: {' '.join(args[1:])}")
        r = run_process(args)
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed with exit status {r.returncode}")
        t.add(
            f"optrun run … backend={backend}", f"{rounds:,}", fmt_time(r.wall_s), fmt_time(r.wall_s / rounds)
        )
    t.notes.append(
        "the wall time of the whole process: start-up, numba's cached compiled code loaded, the run, its trace"
    )
    return t


def tables(quick: bool) -> list[Table]:
    """The two tables, measured (``--quick``: 2 x 10^5 chunked rounds, 2 x 10^4 step by step)."""
    chunked, step, repeats = (2 * 10**5, 2 * 10**4, 2) if quick else (ROUNDS, 5 * 10**4, 3)
    with tempfile.TemporaryDirectory() as folder:
        return [loop_table(folder, chunked, step, repeats), command_table(folder, chunked, step)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer rounds and repeats (about 20 s)")
    a = p.parse_args(argv)
    for table in tables(a.quick):
        print(table.markdown() + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
