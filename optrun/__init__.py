"""optrun: a command-line experiment runner for first-order optimizers.

The library is usable without the CLI::

    from optrun.config import load_config
    from optrun.experiment import execute
    outcome = execute(load_config("configs/amsgrad.yaml"), "runs")
"""

__version__ = "0.1.0"

# Lazy exports: ``from optrun import load_run, list_runs`` without importing numpy on ``import optrun``.
_LAZY = {"load_run": "optrun.store.read", "list_runs": "optrun.store.read",
         "resolve_run": "optrun.store.read", "Run": "optrun.store.read",
         "load_sweep": "optrun.store.read", "Sweep": "optrun.store.read"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'optrun' has no attribute {name!r}")
