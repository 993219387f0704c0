"""optrun: a command-line experiment runner for first-order optimizers.

The library is usable without the CLI::

    from optrun.config import load_config
    from optrun.experiment import execute
    outcome = execute(load_config("configs/amsgrad.yaml"), "runs")
"""

__version__ = "0.1.0"
