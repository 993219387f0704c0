"""optrun: a command-line experiment runner for first-order optimizers.

The library is usable without the CLI::

    from optrun import load_run, load_sweep, list_runs
    run = load_run("last")              # any RUN selector the CLI takes: -2, an id prefix, SWEEP/7
    sweep = load_sweep("-1", runs_dir="runs")

    from optrun import load_config, execute
    outcome = execute(load_config("configs/amsgrad.yaml"), "runs")

``__all__`` lists the public names; each is imported on first use, so ``import optrun`` stays
light (no numpy until a name that needs it is touched).
"""

__version__ = "0.1.0"

# Lazy exports: ``from optrun import load_run, list_runs`` without importing numpy on ``import optrun``.
_LAZY = {
    "load_run": "optrun.store.select",
    "list_runs": "optrun.store.listing",
    "resolve_run": "optrun.store.select",
    "Run": "optrun.store.run",
    "load_sweep": "optrun.store.select",
    "Sweep": "optrun.store.sweep",
    "select_members": "optrun.store.select",
    "MemberGroup": "optrun.store.select",
    "load_config": "optrun.config",
    "execute": "optrun.execution.run",
    "OptrunError": "optrun.errors",
    "ConfigError": "optrun.errors",
    "UserCodeError": "optrun.errors",
    "RunSelectionError": "optrun.errors",
    "RunReadError": "optrun.errors",
    "StorageError": "optrun.errors",
}

__all__ = [
    "ConfigError",
    "MemberGroup",
    "OptrunError",
    "Run",
    "RunReadError",
    "RunSelectionError",
    "StorageError",
    "Sweep",
    "UserCodeError",
    "__version__",
    "execute",
    "list_runs",
    "load_config",
    "load_run",
    "load_sweep",
    "resolve_run",
    "select_members",
]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'optrun' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def _hand_store_its_hooks() -> None:
    """store reads folders below config and sweep (it imports neither): hand it, once, the YAML
    typing of selector values and the sweep plan a member's config comes from. Both import their
    module only when first called, so ``import optrun`` stays light."""
    from .store import hooks

    def parse_value(text: str, source: str):
        from .config.yamlio import parse_yaml

        return parse_yaml(text, source)[0]

    def load_plan(config_path: str):
        from .sweep.plan import load_plan

        return load_plan(config_path)

    hooks.register(parse_value=parse_value, load_plan=load_plan)


_hand_store_its_hooks()
