"""Every torch/optax variant replayed against trajectories of the real libraries.

The data in tests/references/ comes from tools/make_references.py (torch 2.13.0, optax 0.2.8,
float64, 1000 steps; see its docstring). Each case holds the library's iterates at steps
0, 10, ..., 1000 on its native CPU path (``x``), on a portable path without fused
multiply-adds or approximate square roots (``x_alt``), and from a start one ulp away
(``x_near``). Where those three agree to 1e-13 the library's answer is determined by its
inputs, and optrun must agree with it to 1e-12 relative (1e-14 absolute near zero). Past that
point (chaotic oscillation of RMSProp or Adadelta at a constant step size), a one-ulp difference
in any rounding grows to O(1) and the library disagrees with itself, so nothing finer can be
asserted; the coverage test makes sure that this leaves most cases checked over all 1000 steps.

The gradients are written here in numpy, identically to the script; no torch or optax needed.
"""

from __future__ import annotations

import glob
import json
import os
from collections import defaultdict

import numpy as np
import pytest

from optrun.optimizers import ALGORITHMS, get_algorithm
from optrun.optimizers.schedules import learning_rate, scheduled, validate_schedule

HERE = os.path.join(os.path.dirname(__file__), "references")
CASES = sorted(glob.glob(os.path.join(HERE, "cases", "*.npz")))
RTOL, ATOL = 1e-12, 1e-14
SELF_RTOL, SELF_ATOL = 5e-13, 1e-15


def quadratic_grad():
    with np.load(os.path.join(HERE, "problems.npz")) as z:
        a, b, x0 = z["A"], z["b"], z["x0"]
    return x0, lambda x: (a * x[..., None, :]).sum(-1) - b


def rosenbrock_grad(x):
    g = np.empty_like(x)
    u, v = x[..., 0], x[..., 1]
    r = v - u * u
    g[..., 0] = -2.0 * (1.0 - u) - 400.0 * u * r
    g[..., 1] = 200.0 * r
    return g


def load(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files} | {"meta": json.loads(str(z["meta"]))}


def replay(meta, steps):
    """optrun's iterates for a case at the given checkpoints (x = x + step, 1000 steps)."""
    variant = get_algorithm(meta["algorithm"]).variant(meta["variant"])
    params = {p.name: p.default for p in variant.params}
    params.update(meta["params"])
    schedule = params.pop("schedule", None)
    opt = scheduled(variant.build(**params), schedule, params["alpha"])
    if meta["problem"] == "quadratic":
        x0, grad = quadratic_grad()
    else:
        x0, grad = np.array([-1.2, 1.0]), rosenbrock_grad
    x = x0.copy()
    state = opt.init(x)
    out = [x.copy()]
    for t in range(1, int(steps[-1]) + 1):
        step, state = opt.update(grad(x), state, x, t)
        x = x + step
        out.append(x.copy())
    return np.array(out)[steps]


def close(a, b, rtol, atol):
    return np.all(np.abs(a - b) <= rtol * np.abs(b) + atol, axis=-1)


def determined(case) -> int:
    """How many checkpoints, from the start, the library agrees with itself to 1e-13."""
    ok = close(case["x_alt"], case["x"], SELF_RTOL, SELF_ATOL) & close(
        case["x_near"], case["x"], SELF_RTOL, SELF_ATOL
    )
    return int(np.argmin(ok)) if not ok.all() else len(ok)


def test_reference_data_is_present_and_small():
    assert len(CASES) >= 100
    total = sum(
        os.path.getsize(p) for p in glob.glob(os.path.join(HERE, "**"), recursive=True) if os.path.isfile(p)
    )
    assert total < 2_000_000


@pytest.mark.parametrize("path", CASES, ids=[os.path.basename(p)[:-4] for p in CASES])
def test_variant_matches_library(path):
    case = load(path)
    meta = case["meta"]
    assert meta["versions"]["native"]["torch"].startswith("2.13.0")
    n = determined(case)
    assert n >= 5, f"the library agrees with itself only for {case['steps'][n - 1]} steps"
    ours = replay(meta, case["steps"])
    np.testing.assert_allclose(
        ours[:n], case["x"][:n], rtol=RTOL, atol=ATOL, err_msg=f"{meta['library_call']} on {meta['problem']}"
    )
    np.testing.assert_allclose(ours[:n], case["x_alt"][:n], rtol=RTOL, atol=ATOL)


def test_references_cover_every_variant_over_1000_steps():
    """Most cases are determined over all 1000 steps, and every torch/optax variant of every
    algorithm has at least one such case, on each problem, with defaults and without."""
    full = defaultdict(set)
    windows = []
    for path in CASES:
        case = load(path)
        n = determined(case)
        windows.append(n == len(case["steps"]))
        if n == len(case["steps"]):
            m = case["meta"]
            full[(m["algorithm"], m["variant"])].add(m["problem"])
    assert np.mean(windows) >= 0.7
    for algo in ALGORITHMS.values():
        for lib in ("torch", "optax"):
            assert full[(algo.name, lib)] == {"quadratic", "rosenbrock"}, (algo.name, lib)


def test_default_cases_check_optrun_defaults():
    """A "default" case calls the library without the hyperparameters it has defaults for, and
    the replay uses optrun's defaults: the two sets must be equal for that to pass, so every
    torch/optax variant needs one."""
    have = {
        (load(p)["meta"]["algorithm"], load(p)["meta"]["variant"])
        for p in CASES
        if load(p)["meta"]["hyper"] == "default"
    }
    for algo in ALGORITHMS.values():
        for lib in ("torch", "optax"):
            assert (algo.name, lib) in have


def test_schedules_match_library_values():
    with open(os.path.join(HERE, "schedules.json")) as f:
        data = json.load(f)
    assert len(data["schedules"]) >= 6
    for entry in data["schedules"]:
        lr = learning_rate(validate_schedule(entry["schedule"]), entry["alpha"])
        ours = np.array([lr(k) for k in range(len(entry["lr"]))])
        np.testing.assert_allclose(ours, entry["lr"], rtol=1e-12, atol=1e-15, err_msg=entry["call"])
