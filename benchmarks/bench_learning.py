"""Issue 19: a minibatch learning sweep, against the bare matrix products and against torch.

The problem of the issue: logistic regression on 100,000 seeded synthetic samples with 100 features
(and an intercept: d = 101), l2 = 1e-4, minibatches of 128, 1,000 members, Adam (alpha 1e-3). The
figures are member-steps per second:

* ``kernel loop``: ``DataLoss.batch_value_and_grad`` of all members and an Adam update in numpy;
* ``bare products`` (the roof): the same gathers of the members' rows and the two batched
  matrix-vector products (scores ``X_b w``, gradient ``X_b^T r``) and nothing else, in the same
  chunks of members;
* ``optrun run``: the real thing, a sweep over 1,000 seeds of ``objective: {name: logistic,
  batch_size: 128, sampling: replace}`` on the same data (an NPZ file) with ``trace.every`` beyond
  the end, run in fresh processes: once for 1 step (which caches f* beside the file), then for
  ``--steps-run`` steps and a tenth of that; the difference of the two wall times over the
  difference of their steps cancels start-up, reading the data and the full-data rows the trace
  keeps (its first and last);
* torch (when importable): (i) a loop over members, each its own parameter and ``torch.optim.Adam``
  (a subset of ``--torch-members`` members is timed and the rate is theirs: a member's step does
  not depend on how many others there are); (ii) one batched computation, one ``(S, d)`` parameter
  with ``torch.optim.Adam`` and the loss the sum of the members' minibatch means. Each with 1 and
  2 torch threads (``torch.set_num_threads``): on a busy 2-core machine one thread is often faster.

The in-process contenders are timed in turn, the order rotated every round
(:func:`bench_util.interleaved`), and the fastest round of each is kept; every contender draws its
minibatches from the same pool of ``POOL`` index arrays drawn beforehand (uniform, with
replacement), so index drawing is timed by none of them (the real run draws its own: its figure
includes it). Steps are a sample of the issue's 1,000 (the time a step takes does not change along
the run); the seconds the issue's 1,000 x 1,000 would take are printed too.

    python benchmarks/bench_learning.py            # about 2 minutes
    python benchmarks/bench_learning.py --quick    # about 30 s
    flock /tmp/bench.lock python benchmarks/bench_learning.py   # on a shared machine
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import yaml
from bench_util import Machine, Table, fmt_ratio, fmt_time, interleaved, progress, run_process

N, FEATURES, BATCH, MEMBERS, STEPS = 100_000, 100, 128, 1_000, 1_000
L2, ALPHA, BETA1, BETA2, EPS = 1e-4, 1e-3, 0.9, 0.999, 1e-8
POOL = 8


def problem():
    """The training objective and the pool of minibatch index arrays ``(S, B)``."""
    from optrun.objectives.data_losses import data_loss
    from optrun.objectives.data_prep import synthetic

    data = synthetic("classification", N, FEATURES, seed=0, noise=1.0)
    loss, _ = data_loss("logistic", data, L2)
    rng = np.random.default_rng(1)
    return loss, [rng.integers(0, N, (MEMBERS, BATCH)) for _ in range(POOL)]


def kernel_loop(loss, pool):
    """``steps -> seconds a step``: minibatch gradients and Adam on (S, d) arrays, in place."""
    x = np.zeros((MEMBERS, loss.dim))
    m, v, t = np.zeros_like(x), np.zeros_like(x), [0]

    def run(steps: int) -> float:
        t0 = time.perf_counter()
        for _ in range(steps):
            t[0] += 1
            _, g = loss.batch_value_and_grad(x, pool[t[0] % POOL])
            np.multiply(m, BETA1, out=m)
            m.__iadd__((1 - BETA1) * g)
            np.multiply(v, BETA2, out=v)
            v.__iadd__((1 - BETA2) * (g * g))
            den = np.sqrt(v / (1 - BETA2 ** t[0]))
            den += EPS
            x.__isub__((ALPHA / (1 - BETA1 ** t[0])) * m / den)
        return (time.perf_counter() - t0) / steps

    return run


def bare_products(loss, pool):
    """``steps -> seconds a step`` of the gathers and the two batched matrix-vector products alone."""
    from optrun.objectives import data_losses

    X, p = loss.X, FEATURES
    w = np.random.default_rng(2).standard_normal((MEMBERS, p, 1)) * 0.01
    chunk = max(1, data_losses.BATCH_BYTES // (8 * BATCH * (p + 3)))  # the kernel's chunks

    def run(steps: int) -> float:
        t0 = time.perf_counter()
        for s in range(steps):
            idx = pool[s % POOL]
            for lo in range(0, MEMBERS, chunk):
                Xb = X[idx[lo : lo + chunk]]
                z = Xb @ w[lo : lo + chunk]
                Xb.transpose(0, 2, 1) @ z
        return (time.perf_counter() - t0) / steps

    return run


def torch_contenders(loss, pool, loop_members: int) -> dict:
    """The two torch versions (``{}`` without torch): ``steps -> seconds a member-step``."""
    try:
        import torch
    except ImportError:
        return {}
    X, y = torch.from_numpy(loss.X), torch.from_numpy(loss.y)
    tpool = [torch.from_numpy(i) for i in pool]
    p = FEATURES

    def adam(param):
        return torch.optim.Adam([param], lr=ALPHA, betas=(BETA1, BETA2), eps=EPS)

    def member_loss(w, idx):
        z = X[idx] @ w[:p] + w[p]
        return torch.nn.functional.softplus(-y[idx] * z).mean() + 0.5 * L2 * w[:p].dot(w[:p])

    ws = [torch.zeros(p + 1, dtype=torch.float64, requires_grad=True) for _ in range(loop_members)]
    opts = [adam(w) for w in ws]

    def loop(steps: int) -> float:
        t0 = time.perf_counter()
        for s in range(steps):
            idx = tpool[s % POOL]
            for j, (w, opt) in enumerate(zip(ws, opts)):
                opt.zero_grad()
                member_loss(w, idx[j]).backward()
                opt.step()
        return (time.perf_counter() - t0) / (steps * loop_members)

    W = torch.zeros((MEMBERS, p + 1), dtype=torch.float64, requires_grad=True)
    opt = adam(W)

    def batched(steps: int) -> float:
        t0 = time.perf_counter()
        for s in range(steps):
            idx = tpool[s % POOL]
            z = torch.bmm(X[idx], W[:, :p, None])[..., 0] + W[:, p, None]
            reg = 0.5 * L2 * (W[:, :p] * W[:, :p]).sum()
            opt.zero_grad()
            (torch.nn.functional.softplus(-y[idx] * z).mean(dim=1).sum() + reg).backward()
            opt.step()
        return (time.perf_counter() - t0) / (steps * MEMBERS)

    def threads(n: int, fn):
        def run(steps: int) -> float:
            torch.set_num_threads(n)
            return fn(steps)

        return run

    return {
        f"torch, {name}, {n} thread{'s' * (n > 1)}": threads(n, fn)
        for name, fn in (("a loop over members", loop), ("one batched computation", batched))
        for n in (1, 2)
    }


def full_data(loss, members: int = 64) -> dict:
    """The full-data loss and gradient of ``members`` points (the trace's rows) against its two
    matrix products alone, all members' columns in one GEMM each: ``() -> seconds``."""
    x = np.random.default_rng(3).standard_normal((members, loss.dim)) * 0.01
    Wst = np.ascontiguousarray(x[:, :FEATURES].T)

    def timed(fn):
        def run() -> float:
            t0 = time.perf_counter()
            fn()
            return time.perf_counter() - t0

        return run

    return {
        "value_and_grad": timed(lambda: loss.value_and_grad(x)),
        "X @ W, X.T @ R (roof)": timed(lambda: loss.X.T @ (loss.X @ Wst)),
    }


def real_run(loss, steps: int) -> float | None:
    """Seconds a step of ``optrun run`` on the sweep: the data written to an NPZ file, one untimed
    run of 1 step (it caches f* beside the file), then runs of a tenth of ``steps`` and ``steps``."""
    with tempfile.TemporaryDirectory(prefix="bench-learning-") as tmp:
        np.savez(os.path.join(tmp, "train.npz"), X=loss.X, y=loss.y)
        config = {
            "name": "bench-learning",
            "objective": {
                "name": "logistic",
                "data": "train.npz",
                "l2": L2,
                "batch_size": BATCH,
                "sampling": "replace",
            },
            "algorithm": {"name": "adam", "alpha": ALPHA},
            "trace": {"every": 10 * STEPS},
            "sweep": {"seed": {"range": [0, MEMBERS]}},
        }
        walls = {}
        for iterations in (1, max(2, steps // 10), steps):
            path = os.path.join(tmp, f"sweep-{iterations}.yaml")
            with open(path, "w") as fh:
                yaml.safe_dump({**config, "iterations": iterations}, fh)
            cmd = [sys.executable, "-m", "optrun", "run", path, "--runs-dir", os.path.join(tmp, "runs")]
            progress(f"optrun run: {MEMBERS} members x {iterations} steps")
            res = run_process([*cmd, "-q", "--workers", "1"], stderr_path=os.path.join(tmp, "err"))
            if res.returncode != 0:
                with open(os.path.join(tmp, "err")) as fh:
                    progress(f"optrun run failed ({res.returncode}): {fh.read()[-500:]}")
                return None
            walls[iterations] = res.wall_s
            progress(f"  {res.wall_s:.1f} s")
    short = max(2, steps // 10)
    return (walls[steps] - walls[short]) / (steps - short)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps and rounds (about 30 s)")
    ap.add_argument("--steps", type=int, default=None, help="steps a round of each contender times")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--steps-run", type=int, default=None, help="steps of the longer optrun run")
    ap.add_argument("--torch-members", type=int, default=10, help="members the torch loop times")
    ap.add_argument("--no-run", action="store_true", help="skip the optrun run part")
    args = ap.parse_args(argv)
    steps = args.steps or (4 if args.quick else 12)
    rounds = args.rounds or (2 if args.quick else 3)
    steps_run = args.steps_run or (30 if args.quick else 100)
    machine = Machine.describe()
    progress("building the data set")
    loss, pool = problem()
    per_step = {
        "optrun kernel loop": kernel_loop(loss, pool),
        "bare products (roof)": bare_products(loss, pool),
    }
    per_member = torch_contenders(loss, pool, args.torch_members)
    fns = {k: (lambda f=f: f(steps) / MEMBERS) for k, f in per_step.items()}
    fns.update({k: (lambda f=f: f(steps)) for k, f in per_member.items()})
    for f in fns.values():  # warm-up: first touches, torch's allocator
        f()
    progress(f"timing {len(fns)} contenders, {rounds} rounds of {steps} steps")
    got = {k: min(v) for k, v in interleaved(fns, rounds).items()}
    progress("timing the full-data loss and gradient of 64 members")
    full = {k: min(v) for k, v in interleaved(full_data(loss), rounds + 2).items()}
    if not args.no_run:
        run = real_run(loss, steps_run)
        got["optrun run (sweep, whole command)"] = None if run is None else run / MEMBERS
    print_table(got, machine, steps, rounds, steps_run, args)
    roof = full["X @ W, X.T @ R (roof)"]
    print(f"\n### Full-data loss and gradient (the trace's rows), {N:,} x {FEATURES}, 64 members\n")
    for name, sec in full.items():
        print(
            f"- {name}: {fmt_time(sec)} ({fmt_ratio(sec / roof)} the roof; fastest of {rounds + 2} interleaved)"
        )
    return 0


def print_table(got: dict, machine: Machine, steps: int, rounds: int, steps_run: int, args) -> None:
    roof, kernel = got["bare products (roof)"], got["optrun kernel loop"]
    table = Table(
        f"Logistic regression, n = {N:,}, {FEATURES} features, minibatch {BATCH}, {MEMBERS:,} members, Adam",
        ["contender", "member-steps/s", "1,000 x 1,000 would take", "÷ roof", "optrun kernel is"],
    )
    for name, sec in got.items():
        if sec is None:
            table.add(name, "failed", "", "", "")
            continue
        faster = "" if name == "optrun kernel loop" else f"{sec / kernel:.2f}x as fast"
        table.add(name, f"{1 / sec:,.0f}", fmt_time(sec * MEMBERS * STEPS), fmt_ratio(sec / roof), faster)
    table.notes += [
        f"in-process contenders: fastest of {rounds} interleaved rounds of {steps} steps "
        f"(the torch loop: {args.torch_members} members timed, its rate per member-step)",
        f"optrun run: the difference of two whole commands' wall times ({steps_run} and "
        f"{max(2, steps_run // 10)} steps, --workers 1, f* cached by a first run) over their steps' difference",
        "target: the optrun kernel loop and the real run within 2x of the bare products",
    ]
    for k, v in machine.rows:
        print(f"- {k}: {v}")
    print(f"- load average at the end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    print()
    print(f"### {table.title}\n")
    print(table.markdown())


if __name__ == "__main__":
    sys.exit(main())
