"""Reference trajectories of torch.optim and optax, for tests/test_references.py.

The tests replay every case through optrun's kernels and hold them to 1e-12 relative (1e-14
absolute near zero); they need only numpy. This script is the only place torch and optax are
used, and only to produce the data files in tests/references/.

Regenerate (CPU only; a few minutes):

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 numpy      # CPU wheel, no CUDA
    /tmp/refvenv/bin/pip install jax optax
    /tmp/refvenv/bin/python tools/make_references.py      # from the repository root

What it writes:

- tests/references/problems.npz: the quadratic's matrix A, vector b and start x0.
- tests/references/cases/<algorithm>-<library>-<hyper>-<problem>.npz, one per case: ``x`` holds
  the iterates at steps 0, 10, ..., 1000 (``steps``), ``meta`` a JSON string with the algorithm,
  the optrun variant, the optrun hyperparameters that differ from optrun's defaults (``params``;
  the "default" cases pass none, so they also check that optrun's defaults are the library's),
  the library call, and the library versions.
- tests/references/schedules.json: learning rates of optax's schedules and torch's StepLR and
  ExponentialLR, evaluated in float64.

Each case is run on the library's native CPU path (``x``), on a portable one (``x_alt``) and
from a start one ulp away (``x_near``), see CONFIGS below: the tests hold optrun to 1e-12 over
the steps where the three agree to 1e-13, i.e. where the library's answer is determined.

Problems (gradients written out here and, identically, in the tests):

- quadratic: f(x) = 0.5 x'Ax - b'x with A = Q diag(logspace(0, 3, 6)) Q' (condition number
  1000, Q from the QR factorisation of a seeded normal matrix); g = A x - b computed as
  ``(A * x[..., None, :]).sum(-1) - b`` so that every row of a batch is computed alike.
- rosenbrock: f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 from (-1.2, 1.0).

torch runs its default CPU code path (``foreach=False`` single-tensor kernels, which torch
picks on CPU anyway) on float64 parameters with the default dtype left at float32, as most users
have it; optax runs with ``jax_enable_x64`` and a jitted ``update``.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "references")
STEPS = 1000
EVERY = 10
SEED = 20240611
DIM = 6

# ----------------------------------------------------------------------------- problems


def make_quadratic():
    rng = np.random.default_rng(SEED)
    q, _ = np.linalg.qr(rng.standard_normal((DIM, DIM)))
    lam = np.logspace(0.0, 3.0, DIM)
    a = (q * lam) @ q.T
    a = 0.5 * (a + a.T)
    b = rng.standard_normal(DIM)
    x0 = rng.standard_normal(DIM)
    return a, b, x0


def quadratic_grad(a, b):
    return lambda x: (a * x[..., None, :]).sum(-1) - b


def rosenbrock_grad(x):
    g = np.empty_like(x)
    u, v = x[..., 0], x[..., 1]
    r = v - u * u
    g[..., 0] = -2.0 * (1.0 - u) - 400.0 * u * r
    g[..., 1] = 200.0 * r
    return g


ROSENBROCK_X0 = np.array([-1.2, 1.0])

# ----------------------------------------------------------------------------- cases
# (algorithm, library, hyper name, optrun params, library kwargs); "default" cases give the
# library only what it has no default for (optax's learning rate, SGD's momentum).

T, O = "torch", "optax"  # noqa: E741 - two letters keep the case table below readable
CASES = [
    ("gd", T, "default", {}, {}),
    ("gd", T, "custom", {"alpha": 4e-4}, {"lr": 4e-4}),
    ("gd", O, "default", {}, {"learning_rate": 1e-3}),
    ("gd", O, "custom", {"alpha": 4e-4}, {"learning_rate": 4e-4}),
    ("momentum", T, "default", {}, {"momentum": 0.9}),
    (
        "momentum",
        T,
        "custom",
        {"alpha": 5e-4, "momentum": 0.8, "dampening": 0.1, "weight_decay": 0.01},
        {"lr": 5e-4, "momentum": 0.8, "dampening": 0.1, "weight_decay": 0.01},
    ),
    ("momentum", O, "default", {}, {"learning_rate": 1e-3, "momentum": 0.9}),
    ("momentum", O, "custom", {"alpha": 5e-4, "momentum": 0.8}, {"learning_rate": 5e-4, "momentum": 0.8}),
    ("nesterov", T, "default", {}, {"momentum": 0.9, "nesterov": True}),
    (
        "nesterov",
        T,
        "custom",
        {"alpha": 5e-4, "momentum": 0.95, "weight_decay": 0.01},
        {"lr": 5e-4, "momentum": 0.95, "weight_decay": 0.01, "nesterov": True},
    ),
    ("nesterov", O, "default", {}, {"learning_rate": 1e-3, "momentum": 0.9, "nesterov": True}),
    (
        "nesterov",
        O,
        "custom",
        {"alpha": 5e-4, "momentum": 0.95},
        {"learning_rate": 5e-4, "momentum": 0.95, "nesterov": True},
    ),
    ("adagrad", T, "default", {}, {}),
    (
        "adagrad",
        T,
        "custom",
        {
            "alpha": 0.05,
            "lr_decay": 0.01,
            "weight_decay": 1e-3,
            "initial_accumulator_value": 0.5,
            "eps": 1e-6,
        },
        {"lr": 0.05, "lr_decay": 0.01, "weight_decay": 1e-3, "initial_accumulator_value": 0.5, "eps": 1e-6},
    ),
    ("adagrad", O, "default", {}, {"learning_rate": 0.01}),
    (
        "adagrad",
        O,
        "custom",
        {"alpha": 0.05, "initial_accumulator_value": 0.5, "eps": 1e-5},
        {"learning_rate": 0.05, "initial_accumulator_value": 0.5, "eps": 1e-5},
    ),
    ("rmsprop", T, "default", {}, {}),
    (
        "rmsprop",
        T,
        "centered",
        {"alpha": 1e-3, "decay": 0.95, "eps": 1e-6, "weight_decay": 1e-3, "momentum": 0.5, "centered": True},
        {"lr": 1e-3, "alpha": 0.95, "eps": 1e-6, "weight_decay": 1e-3, "momentum": 0.5, "centered": True},
    ),
    (
        "rmsprop",
        T,
        "momentum",
        {"alpha": 2e-3, "decay": 0.9, "momentum": 0.9},
        {"lr": 2e-3, "alpha": 0.9, "momentum": 0.9},
    ),
    ("rmsprop", O, "default", {}, {"learning_rate": 0.01}),
    (
        "rmsprop",
        O,
        "centered",
        {
            "alpha": 1e-3,
            "decay": 0.95,
            "eps": 1e-6,
            "initial_scale": 0.1,
            "eps_in_sqrt": False,
            "centered": True,
            "momentum": 0.5,
            "nesterov": True,
        },
        {
            "learning_rate": 1e-3,
            "decay": 0.95,
            "eps": 1e-6,
            "initial_scale": 0.1,
            "eps_in_sqrt": False,
            "centered": True,
            "momentum": 0.5,
            "nesterov": True,
        },
    ),
    ("rmsprop", O, "momentum", {"alpha": 2e-3, "momentum": 0.9}, {"learning_rate": 2e-3, "momentum": 0.9}),
    # small steps: RMSProp and Adadelta at their default rates settle into a chaotic
    # oscillation within a few hundred steps (see main()); these stay in the transient
    (
        "rmsprop",
        T,
        "slow",
        {"alpha": 1e-4, "centered": True, "weight_decay": 1e-3},
        {"lr": 1e-4, "centered": True, "weight_decay": 1e-3},
    ),
    ("rmsprop", T, "slowmomentum", {"alpha": 2e-5, "momentum": 0.9}, {"lr": 2e-5, "momentum": 0.9}),
    ("rmsprop", O, "slow", {"alpha": 1e-4, "decay": 0.99}, {"learning_rate": 1e-4, "decay": 0.99}),
    (
        "rmsprop",
        O,
        "slowmomentum",
        {"alpha": 1e-5, "momentum": 0.9, "nesterov": True},
        {"learning_rate": 1e-5, "momentum": 0.9, "nesterov": True},
    ),
    ("adadelta", T, "slow", {"alpha": 0.05}, {"lr": 0.05}),
    (
        "adadelta",
        O,
        "slow",
        {"alpha": 0.05, "weight_decay": 0.01},
        {"learning_rate": 0.05, "weight_decay": 0.01},
    ),
    ("adadelta", T, "default", {}, {}),
    (
        "adadelta",
        T,
        "custom",
        {"alpha": 0.5, "rho": 0.95, "eps": 1e-5, "weight_decay": 0.01},
        {"lr": 0.5, "rho": 0.95, "eps": 1e-5, "weight_decay": 0.01},
    ),
    ("adadelta", O, "default", {}, {"learning_rate": 1.0}),
    (
        "adadelta",
        O,
        "custom",
        {"alpha": 0.5, "rho": 0.95, "eps": 1e-5, "weight_decay": 0.01},
        {"learning_rate": 0.5, "rho": 0.95, "eps": 1e-5, "weight_decay": 0.01},
    ),
    ("adam", T, "default", {}, {}),
    (
        "adam",
        T,
        "custom",
        {"alpha": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.01},
        {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01},
    ),
    ("adam", O, "default", {}, {"learning_rate": 1e-3}),
    (
        "adam",
        O,
        "custom",
        {"alpha": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "eps_root": 1e-8},
        {"learning_rate": 0.01, "b1": 0.8, "b2": 0.99, "eps": 1e-6, "eps_root": 1e-8},
    ),
    ("adamw", T, "default", {}, {}),
    (
        "adamw",
        T,
        "custom",
        {"alpha": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.1},
        {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1},
    ),
    ("adamw", O, "default", {}, {"learning_rate": 1e-3}),
    (
        "adamw",
        O,
        "custom",
        {"alpha": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "eps_root": 1e-8, "weight_decay": 0.05},
        {"learning_rate": 0.01, "b1": 0.8, "b2": 0.99, "eps": 1e-6, "eps_root": 1e-8, "weight_decay": 0.05},
    ),
    ("adamax", T, "default", {}, {}),
    (
        "adamax",
        T,
        "custom",
        {"alpha": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.01},
        {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01},
    ),
    ("adamax", O, "default", {}, {"learning_rate": 2e-3}),
    (
        "adamax",
        O,
        "custom",
        {"alpha": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6},
        {"learning_rate": 0.01, "b1": 0.8, "b2": 0.99, "eps": 1e-6},
    ),
    ("nadam", T, "default", {}, {}),
    (
        "nadam",
        T,
        "custom",
        {
            "alpha": 0.01,
            "beta1": 0.8,
            "beta2": 0.99,
            "eps": 1e-6,
            "weight_decay": 0.01,
            "momentum_decay": 0.01,
        },
        {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01, "momentum_decay": 0.01},
    ),
    (
        "nadam",
        T,
        "decoupled",
        {"alpha": 0.01, "weight_decay": 0.05, "decoupled_weight_decay": True},
        {"lr": 0.01, "weight_decay": 0.05, "decoupled_weight_decay": True},
    ),
    ("nadam", T, "float64", {"mu_product_float32": False}, {"_default_dtype": "float64"}),
    ("nadam", O, "default", {}, {"learning_rate": 2e-3}),
    (
        "nadam",
        O,
        "custom",
        {"alpha": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "eps_root": 1e-8},
        {"learning_rate": 0.01, "b1": 0.8, "b2": 0.99, "eps": 1e-6, "eps_root": 1e-8},
    ),
    ("amsgrad", T, "default", {}, {"amsgrad": True}),
    (
        "amsgrad",
        T,
        "custom",
        {"alpha": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.01},
        {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01, "amsgrad": True},
    ),
    ("amsgrad", O, "default", {}, {"learning_rate": 1e-3}),
    (
        "amsgrad",
        O,
        "custom",
        {"alpha": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "eps_root": 1e-8},
        {"learning_rate": 0.01, "b1": 0.8, "b2": 0.99, "eps": 1e-6, "eps_root": 1e-8},
    ),
]

# optimizers with a learning-rate schedule: (algorithm, library, hyper, optrun params with
# schedule, library kwargs, library schedule)
SCHEDULED = [
    (
        "adam",
        O,
        "cosine",
        {
            "alpha": 0.02,
            "schedule": {
                "name": "cosine",
                "decay_steps": 800,
                "alpha_min": 1e-4,
                "warmup_steps": 100,
                "warmup_init": 0.0,
            },
        },
        {},
        (
            "warmup_cosine",
            {
                "init_value": 0.0,
                "peak_value": 0.02,
                "warmup_steps": 100,
                "decay_steps": 800,
                "end_value": 1e-4,
            },
        ),
    ),
    (
        "momentum",
        O,
        "exponential",
        {
            "alpha": 1e-3,
            "schedule": {"name": "exponential", "decay_rate": 0.5, "decay_steps": 300, "staircase": False},
        },
        {"momentum": 0.9},
        ("exponential", {"init_value": 1e-3, "transition_steps": 300, "decay_rate": 0.5}),
    ),
    (
        "adam",
        T,
        "step",
        {"alpha": 0.02, "schedule": {"name": "step", "decay_steps": 250, "decay_rate": 0.5}},
        {"lr": 0.02},
        ("StepLR", {"step_size": 250, "gamma": 0.5}),
    ),
    (
        "adagrad",
        T,
        "exponential",
        {
            "alpha": 0.05,
            "schedule": {"name": "exponential", "decay_rate": 0.999, "decay_steps": 1, "staircase": False},
        },
        {"lr": 0.05},
        ("ExponentialLR", {"gamma": 0.999}),
    ),
]

TORCH_CLASS = {
    "gd": "SGD",
    "momentum": "SGD",
    "nesterov": "SGD",
    "adagrad": "Adagrad",
    "rmsprop": "RMSprop",
    "adadelta": "Adadelta",
    "adam": "Adam",
    "adamw": "AdamW",
    "adamax": "Adamax",
    "nadam": "NAdam",
    "amsgrad": "Adam",
}
OPTAX_FUNCTION = {
    "gd": "sgd",
    "momentum": "sgd",
    "nesterov": "sgd",
    "adagrad": "adagrad",
    "rmsprop": "rmsprop",
    "adadelta": "adadelta",
    "adam": "adam",
    "adamw": "adamw",
    "adamax": "adamax",
    "nadam": "nadam",
    "amsgrad": "amsgrad",
}

# ----------------------------------------------------------------------------- runners


def run_torch(algorithm, kwargs, x0, grad, lr_schedule=None):
    import torch

    kwargs = dict(kwargs)
    dtype = kwargs.pop("_default_dtype", None)
    old = torch.get_default_dtype()
    if dtype == "float64":
        torch.set_default_dtype(torch.float64)
    try:
        p = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        opt = getattr(torch.optim, TORCH_CLASS[algorithm])([p], foreach=False, **kwargs)
        sched = None
        if lr_schedule is not None:
            kind, skw = lr_schedule
            sched = getattr(torch.optim.lr_scheduler, kind)(opt, **skw)
        xs = [p.detach().numpy().copy()]
        for _ in range(STEPS):
            g = grad(p.detach().numpy().copy())
            p.grad = torch.from_numpy(g)
            opt.step()
            if sched is not None:
                sched.step()
            xs.append(p.detach().numpy().copy())
    finally:
        torch.set_default_dtype(old)
    return np.array(xs)


def run_optax(algorithm, kwargs, x0, grad, lr_schedule=None):
    import jax
    import jax.numpy as jnp
    import optax

    kwargs = dict(kwargs)
    if lr_schedule is not None:
        kind, skw = lr_schedule
        fn = {"warmup_cosine": optax.warmup_cosine_decay_schedule, "exponential": optax.exponential_decay}[
            kind
        ]
        sched = fn(**skw)
        # optax calls a schedule with its int32 step count, and jax promotes int32 with Python
        # floats to float32: the learning rates come out in float32 even with jax_enable_x64.
        # The references pass the count as float64 so that the schedule is compared in float64;
        # optrun's schedules are float64 (a documented difference of <= 6e-8 relative in lr).
        kwargs["learning_rate"] = lambda count: sched(jnp.asarray(count, dtype=jnp.float64))
    opt = getattr(optax, OPTAX_FUNCTION[algorithm])(**kwargs)
    params = jnp.asarray(x0, dtype=jnp.float64)
    state = opt.init(params)
    update = jax.jit(opt.update)
    xs = [np.asarray(params).copy()]
    for _ in range(STEPS):
        g = jnp.asarray(grad(np.asarray(params).copy()))
        updates, state = update(g, state, params)
        params = optax.apply_updates(params, updates)
        xs.append(np.asarray(params).copy())
    return np.array(xs)


def schedule_values():
    """Learning rates lr(k), k = 0..N, from the libraries' own schedule objects."""
    import optax
    import torch

    out = []
    n = 1200
    k = np.arange(n + 1)
    for spec, fn, kw in [
        (
            {"name": "cosine", "decay_steps": 1000, "alpha_min": 0.0, "warmup_steps": 0, "warmup_init": 0.0},
            optax.cosine_decay_schedule,
            {"init_value": 0.1, "decay_steps": 1000, "alpha": 0.0},
        ),
        (
            {
                "name": "cosine",
                "decay_steps": 1000,
                "alpha_min": 1e-3,
                "warmup_steps": 100,
                "warmup_init": 0.01,
            },
            optax.warmup_cosine_decay_schedule,
            {
                "init_value": 0.01,
                "peak_value": 0.1,
                "warmup_steps": 100,
                "decay_steps": 1000,
                "end_value": 1e-3,
            },
        ),
        (
            {"name": "exponential", "decay_rate": 0.5, "decay_steps": 200, "staircase": False},
            optax.exponential_decay,
            {"init_value": 0.1, "transition_steps": 200, "decay_rate": 0.5},
        ),
        (
            {"name": "exponential", "decay_rate": 0.5, "decay_steps": 200, "staircase": True},
            optax.exponential_decay,
            {"init_value": 0.1, "transition_steps": 200, "decay_rate": 0.5, "staircase": True},
        ),
    ]:
        f = fn(**kw)
        out.append(
            {
                "library": "optax",
                "call": f"optax.{fn.__name__}(**{kw})",
                "alpha": 0.1,
                "schedule": spec,
                "lr": [float(f(int(i))) for i in k],
            }
        )
    for spec, cls, kw in [
        ({"name": "step", "decay_steps": 150, "decay_rate": 0.3}, "StepLR", {"step_size": 150, "gamma": 0.3}),
        (
            {"name": "exponential", "decay_rate": 0.995, "decay_steps": 1, "staircase": False},
            "ExponentialLR",
            {"gamma": 0.995},
        ),
    ]:
        p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1)
        sch = getattr(torch.optim.lr_scheduler, cls)(opt, **kw)
        lrs = []
        for _ in k:
            lrs.append(float(opt.param_groups[0]["lr"]))
            opt.step()
            sch.step()
        out.append(
            {
                "library": "torch",
                "call": f"torch.optim.lr_scheduler.{cls}(opt, **{kw})",
                "alpha": 0.1,
                "schedule": spec,
                "lr": lrs,
            }
        )
    return out


# ----------------------------------------------------------------------------- main
#
# Each library runs twice, in two subprocesses: on its native CPU code path ("x", the
# reference) and on a second, portable path ("x_alt": torch with ATEN_CPU_CAPABILITY=default and
# MKL limited to SSE4.2, XLA limited to SSE4.2: no fused multiply-adds, no approximate
# reciprocal square roots, correctly rounded square roots). Where
# the two disagree the library's own answer depends on the machine it runs on (fused
# multiply-adds, approximate reciprocal square roots), and chaotic dynamics amplify that. A
# third run ("x_near", native path) starts one ulp away from x0: where it leaves x by more than
# 1e-13 the trajectory is not determined to 1e-12 by its inputs at all (torch's float64 sqrt,
# for one, is not correctly rounded on CPU: ~1% of results are an ulp off). The tests hold
# optrun to 1e-12 over the steps where the three runs agree to 1e-13.

CONFIGS = {
    "native": {},
    "portable": {
        "ATEN_CPU_CAPABILITY": "default",
        "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
        "XLA_FLAGS": "--xla_cpu_max_isa=SSE4_2",
    },
}


def all_cases():
    todo = [(c[0], c[1], c[2], c[3], c[4], None) for c in CASES] + list(SCHEDULED)
    a, b, x0 = make_quadratic()
    problems = {"quadratic": (x0, quadratic_grad(a, b)), "rosenbrock": (ROSENBROCK_X0, rosenbrock_grad)}
    for algorithm, lib, hyper, params, kwargs, lr_schedule in todo:
        for pname, (start, grad) in problems.items():
            yield (
                f"{algorithm}-{lib}-{hyper}-{pname}",
                (algorithm, lib, hyper, params, kwargs, lr_schedule, pname, start, grad),
            )


def worker(path: str, perturbed: bool) -> None:
    """Run every case in this process's configuration (``perturbed``: also from a start one ulp
    away); save the trajectories to ``path``."""
    import warnings

    import jax

    warnings.filterwarnings("ignore")
    jax.config.update("jax_enable_x64", True)
    import optax
    import torch

    out = {}
    for name, (algorithm, lib, _, _, kwargs, lr_schedule, _, start, grad) in all_cases():
        runner = run_torch if lib == T else run_optax
        out[name] = runner(algorithm, kwargs, start, grad, lr_schedule)
        if perturbed:
            out[name + "/perturbed"] = runner(
                algorithm, kwargs, np.nextafter(start, np.inf), grad, lr_schedule
            )
    out["__versions__"] = np.array(
        json.dumps(
            {
                "torch": torch.__version__,
                "optax": optax.__version__,
                "jax": jax.__version__,
                "numpy": np.__version__,
                "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            }
        )
    )
    np.savez(path, **out)


def main() -> int:
    import subprocess
    import tempfile

    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3] == "native")
        return 0
    runs, versions = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for config, env in CONFIGS.items():
            path = os.path.join(tmp, config + ".npz")
            subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--worker", path, config],
                env={**os.environ, **env},
                check=True,
            )
            with np.load(path) as z:
                runs[config] = {k: z[k] for k in z.files}
            versions[config] = json.loads(str(runs[config].pop("__versions__")))
    a, b, x0 = make_quadratic()
    os.makedirs(os.path.join(OUT, "cases"), exist_ok=True)
    for old in os.listdir(os.path.join(OUT, "cases")):
        os.remove(os.path.join(OUT, "cases", old))
    np.savez(os.path.join(OUT, "problems.npz"), A=a, b=b, x0=x0)
    keep = np.arange(0, STEPS + 1, EVERY)
    written = 0
    for name, (algorithm, lib, hyper, params, kwargs, lr_schedule, pname, _, _) in all_cases():
        xs, alt, near = runs["native"][name], runs["portable"][name], runs["native"][name + "/perturbed"]
        if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(alt)) and np.all(np.isfinite(near))):
            print(f"{name}: not finite, case skipped", file=sys.stderr)
            continue
        call = (
            f"torch.optim.{TORCH_CLASS[algorithm]}(foreach=False, **{kwargs})"
            if lib == T
            else f"optax.{OPTAX_FUNCTION[algorithm]}(**{kwargs})"
        )
        if lr_schedule is not None:
            call += f" with {lr_schedule[0]}(**{lr_schedule[1]})"
        meta = {
            "algorithm": algorithm,
            "variant": lib,
            "hyper": hyper,
            "problem": pname,
            "params": params,
            "library_call": call,
            "steps": STEPS,
            "x": "native CPU path",
            "x_alt": CONFIGS["portable"],
            "x_near": "native CPU path from nextafter(x0, inf), one ulp away",
            "versions": versions,
        }
        np.savez_compressed(
            os.path.join(OUT, "cases", name + ".npz"),
            x=xs[keep],
            x_alt=alt[keep],
            x_near=near[keep],
            steps=keep,
            meta=np.array(json.dumps(meta)),
        )
        written += 1
    import warnings

    warnings.filterwarnings("ignore")
    import jax

    jax.config.update("jax_enable_x64", True)
    with open(os.path.join(OUT, "schedules.json"), "w") as f:
        json.dump({"versions": versions["native"], "schedules": schedule_values()}, f)
    print(f"wrote {written} trajectories and schedules.json to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
