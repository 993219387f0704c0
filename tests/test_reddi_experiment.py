"""The AMSGrad paper's experiment as shipped (configs/reddi-*.yaml), held to an independent scalar
transcription of Reddi, Kale & Kumar (ICLR 2018), Algorithms 1 (Adam) and 2 (AMSGrad), written
here in plain Python floats, and to the paper's result on shortened runs."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from optrun.cli import cli
from optrun.objectives.rounds import OBJECTIVE_STREAM

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def algorithm_1_or_2(amsgrad, slopes, x, alpha, beta1, beta2, eps=0.0):
    """The paper's Algorithm 2 (AMSGrad; Algorithm 1, Adam, without the max) on f_t(x) = a_t x
    over [-1, 1]: m_t = b1 m + (1 - b1) g, v_t = b2 v + (1 - b2) g^2, vhat_t = max(vhat, v_t),
    x_{t+1} = Pi(x_t - alpha / sqrt(t) * m_t / (sqrt(vhat_t) + eps)); no bias correction.
    Returns each round's point x_t (t = 1 .. T) and R_t / t."""
    m = v = vhat = 0.0
    points, avg, regret = [], [], 0.0
    for t, a in enumerate(slopes, start=1):
        points.append(x)
        regret += a * x - a * -1.0  # f_t(x_t) - f_t(x*), x* = -1
        avg.append(regret / t)
        m = beta1 * m + (1 - beta1) * a
        v = beta2 * v + (1 - beta2) * a * a
        vhat = max(vhat, v)
        x = x - alpha / math.sqrt(t) * m / (math.sqrt(vhat if amsgrad else v) + eps)
        x = min(max(x, -1.0), 1.0)
    return np.array(points), np.array(avg)


def members(folder: Path) -> dict[int, dict[str, np.ndarray]]:
    out: dict[int, list] = {}
    head = None
    for p in sorted((folder / "traces").glob("batch-*.csv")):
        with open(p, newline="") as f:
            recs = list(csv.reader(f))
        head = recs[0]
        for r in recs[1:]:
            out.setdefault(int(r[0]), []).append([float(v) for v in r])
    return {m: {h: np.array(rows)[:, j] for j, h in enumerate(head)} for m, rows in out.items()}


def run_config(name: str, tmp_path: Path, *options: str) -> dict[int, dict[str, np.ndarray]]:
    res = CliRunner().invoke(
        cli, ["run", str(CONFIGS / name), *options, "--runs-dir", str(tmp_path), "--quiet", "--workers", "2"]
    )
    assert res.exit_code == 0, res.output
    (folder,) = [p for p in tmp_path.iterdir() if (p / "traces").is_dir()]
    return members(folder)


EVERY_ROW = ("trace.log_per_decade=null", "trace.every=1")


@pytest.mark.parametrize(
    ("config", "slope", "start", "beta1", "beta2"),
    [
        ("reddi-online.yaml", lambda t: 1010.0 if t % 101 == 1 else -10.0, 0.0, 0.9, 0.99),
        ("reddi-theorem1.yaml", lambda t: 3.0 if t % 3 == 1 else -1.0, 1.0, 0.0, 0.1),
    ],
)
def test_the_shipped_online_runs_are_algorithms_1_and_2(tmp_path, config, slope, start, beta1, beta2):
    T = 20_000
    got = run_config(config, tmp_path, f"iterations={T}", *EVERY_ROW)
    slopes = [slope(t) for t in range(1, T + 2)]  # rows 0 .. T are rounds 1 .. T + 1
    for m, amsgrad in ((0, False), (1, True)):
        x, avg = algorithm_1_or_2(amsgrad, slopes, start, 0.5, beta1, beta2)
        rows = got[m]
        assert len(rows["x0"]) == T + 1
        np.testing.assert_allclose(rows["x0"], x, rtol=0, atol=1e-9)
        np.testing.assert_allclose(rows["avg_regret"], avg, rtol=1e-9, atol=1e-9)
    adam, ams = got[0], got[1]
    # the paper's result, already at 20,000 rounds: Adam at the worst point, AMSGrad at the optimum
    assert adam["x0"][-1] > 0.99 and ams["x0"][-1] < -0.75
    assert adam["avg_regret"][-1] > 1.5 * ams["avg_regret"][-1]


def test_the_stochastic_sweep_is_algorithms_1_and_2_on_each_members_own_draws(tmp_path):
    T, seeds = 100_000, 4
    got = run_config(
        "reddi-stochastic.yaml",
        tmp_path,
        f"iterations={T}",
        "trace.log_per_decade=10",
        "--sweep",
        f"seed=0:{seeds}",
    )
    # members: algorithm.name (adam, amsgrad) x seed, in the config's order
    for s in range(seeds):
        u = np.random.Generator(np.random.PCG64(np.random.SeedSequence([s, OBJECTIVE_STREAM]))).random(T + 1)
        slopes = np.where(u < 0.01, 1010.0, -10.0).tolist()
        adam, ams = got[s], got[seeds + s]
        for rows, amsgrad in ((adam, False), (ams, True)):
            x, avg = algorithm_1_or_2(amsgrad, slopes, 0.0, 0.5, 0.9, 0.99)
            it = rows["iteration"].astype(int)
            np.testing.assert_allclose(rows["x0"], x[it], rtol=0, atol=1e-8)
            np.testing.assert_allclose(rows["avg_regret"], avg[it], rtol=1e-8, atol=1e-9)
        assert ams["x0"][-1] < adam["x0"][-1]  # AMSGrad ends below Adam, seed by seed
