"""Benchmark 1, peers: torch.optim (fused and foreach) and optax under jit, one library per process.

Run by ``run.py`` as a child process (possibly under another interpreter, the venv where the
peers are installed)::

    python bench_peers.py torch|optax '{"algorithms": [...], "sizes": [...], "dtypes": [...], ...}'

and prints one JSON object per line on stdout. Only the standard library and the peer library
are imported, and each library gets a process of its own, so two threaded runtimes never share
the cores: torch's intra-op pool is set with ``torch.set_num_threads`` to the ``threads`` of the
spec (default: the usable cores; inter-op pool 1), and the results are labelled with it; XLA
runs with its default CPU thread pool and the
``XLA_FLAGS`` the parent passes. The optrun kernels (numpy ufuncs) are single-threaded.

The step timed is the library's whole optimizer step for one parameter tensor of ``d``
elements with a fixed gradient: ``opt.step()`` for torch; for optax the jitted
``update`` + ``apply_updates`` with the state and parameters donated (updated in place).
Hyperparameters are each library's defaults; the cost does not depend on their values.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time

# algorithm name in optrun's registry -> (torch.optim class, extra kwargs)
TORCH = {
    "gd": ("SGD", {"lr": 1e-3}),
    "sgd": ("SGD", {"lr": 1e-3}),
    "momentum": ("SGD", {"lr": 1e-3, "momentum": 0.9}),
    "nesterov": ("SGD", {"lr": 1e-3, "momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", {}),
    "rmsprop": ("RMSprop", {}),
    "adadelta": ("Adadelta", {}),
    "adam": ("Adam", {}),
    "adamax": ("Adamax", {}),
    "nadam": ("NAdam", {}),
    "adamw": ("AdamW", {}),
    "amsgrad": ("Adam", {"amsgrad": True}),
}

# algorithm name -> (optax factory, kwargs)
OPTAX = {
    "gd": ("sgd", {"learning_rate": 1e-3}),
    "sgd": ("sgd", {"learning_rate": 1e-3}),
    "momentum": ("sgd", {"learning_rate": 1e-3, "momentum": 0.9}),
    "nesterov": ("sgd", {"learning_rate": 1e-3, "momentum": 0.9, "nesterov": True}),
    "adagrad": ("adagrad", {"learning_rate": 1e-2}),
    "rmsprop": ("rmsprop", {"learning_rate": 1e-2}),
    "adadelta": ("adadelta", {"learning_rate": 1.0}),
    "adam": ("adam", {"learning_rate": 1e-3}),
    "adamax": ("adamax", {"learning_rate": 2e-3}),
    "nadam": ("nadam", {"learning_rate": 2e-3}),
    "adamw": ("adamw", {"learning_rate": 1e-3}),
    "amsgrad": ("amsgrad", {"learning_rate": 1e-3}),
}


def emit(**obj) -> None:
    print(json.dumps(obj), flush=True)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def sample(fn, n: int, rounds: int) -> float:
    """Median over ``rounds`` of the time per step of ``fn(n)`` (n steps), gc off."""
    gc.disable()
    try:
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            fn(n)
            times.append((time.perf_counter() - t0) / n)
        return statistics.median(times)
    finally:
        gc.enable()


def inner(fn, sample_s: float) -> int:
    fn(2)
    t0 = time.perf_counter()
    fn(1)
    one = time.perf_counter() - t0
    return max(1, int(sample_s / max(one, 1e-9)))


def run_torch(spec: dict) -> None:
    try:
        import torch
    except ImportError:
        emit(skip="torch is not installed in " + sys.executable)
        return
    torch.set_num_threads(int(spec.get("threads") or usable_cores()))
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    threads = torch.get_num_threads()
    emit(info={"torch": torch.__version__, "threads": threads})
    gen = torch.Generator().manual_seed(2024)
    for dtype in spec["dtypes"]:
        tdt = getattr(torch, dtype)
        for d in spec["sizes"]:
            g = torch.randn(d, generator=gen, dtype=torch.float64).to(tdt)
            for alg in spec["algorithms"]:
                if alg not in TORCH:
                    continue
                cls_name, kw = TORCH[alg]
                for mode in spec.get("modes", ("fused", "foreach")):
                    key = {
                        "lib": f"torch-{mode}-{threads}t",
                        "algorithm": alg,
                        "dtype": dtype,
                        "d": d,
                        "what": f"torch.optim.{cls_name}({', '.join(f'{k}={v}' for k, v in kw.items())}"
                        f"{', ' if kw else ''}{mode}=True)",
                    }
                    try:
                        p = torch.zeros(d, dtype=tdt, requires_grad=True)
                        p.grad = g
                        opt = getattr(torch.optim, cls_name)([p], **kw, **{mode: True})

                        def steps(n: int, opt=opt) -> None:
                            for _ in range(n):
                                opt.step()

                        n = inner(steps, spec["sample_s"])
                        rounds = spec["rounds"] if d < 10**7 else spec["rounds_big"]
                        emit(**key, seconds=sample(steps, n, rounds))
                        del opt, p
                    except Exception as e:  # e.g. no fused CPU kernel for this optimizer
                        emit(**key, error=f"{type(e).__name__}: {str(e).splitlines()[0][:100]}")
            del g


def run_optax(spec: dict) -> None:
    try:
        import jax
        import jax.numpy as jnp
        import optax
    except ImportError as e:
        emit(skip=f"optax/jax not installed in {sys.executable} ({e.name})")
        return
    jax.config.update("jax_enable_x64", True)
    import warnings

    warnings.filterwarnings("ignore", message=".*donat.*")
    emit(
        info={
            "jax": jax.__version__,
            "optax": optax.__version__,
            "devices": str(jax.devices()),
            "XLA_FLAGS": os.environ.get("XLA_FLAGS", ""),
        }
    )
    key0 = jax.random.PRNGKey(2024)
    for dtype in spec["dtypes"]:
        jdt = getattr(jnp, dtype)
        for d in spec["sizes"]:
            g = jax.random.normal(key0, (d,), dtype=jnp.float64).astype(jdt)
            for alg in spec["algorithms"]:
                if alg not in OPTAX:
                    continue
                name, kw = OPTAX[alg]
                key = {
                    "lib": "optax-jit",
                    "algorithm": alg,
                    "dtype": dtype,
                    "d": d,
                    "what": f"optax.{name}({', '.join(f'{k}={v}' for k, v in kw.items())}) under jax.jit",
                }
                try:
                    tx = getattr(optax, name)(**kw)

                    def one_step(grad, state, params, tx=tx):
                        updates, state = tx.update(grad, state, params)
                        return optax.apply_updates(params, updates), state

                    step = jax.jit(one_step, donate_argnums=(1, 2))
                    box = [jnp.zeros(d, dtype=jdt)]
                    box.append(tx.init(box[0]))

                    def steps(n: int, step=step, box=box, g=g) -> None:
                        x, st = box
                        for _ in range(n):
                            x, st = step(g, st, x)
                        jax.block_until_ready(x)
                        box[0], box[1] = x, st

                    n = inner(steps, spec["sample_s"])
                    emit(**key, seconds=sample(steps, n, spec["rounds"] if d < 10**7 else spec["rounds_big"]))
                    del box, step
                except Exception as e:
                    emit(**key, error=f"{type(e).__name__}: {str(e).splitlines()[0][:100]}")
            del g


def main() -> None:
    lib, spec = sys.argv[1], json.loads(sys.argv[2])
    {"torch": run_torch, "optax": run_optax}[lib](spec)


if __name__ == "__main__":
    main()
