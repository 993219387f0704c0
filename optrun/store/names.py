"""The names that tell a run or sweep folder and a runs folder, with the standard library alone.

Shell completion (``optrun/cli/options.py``) answers a TAB from these without importing numpy,
yaml or store's readers; the readers use the same names, so both agree on what a run folder is.
"""

from __future__ import annotations

import os

RUN_FILES = ("summary.json", "config.yaml", "meta.json", "trace.csv", "trace.jsonl")  # any one: a run folder


def default_runs_dir() -> str:
    """The runs folder the CLI uses without ``--runs-dir``: ``$OPTRUN_RUNS_DIR``, else ``runs``."""
    return os.environ.get("OPTRUN_RUNS_DIR") or "runs"


def has_run_files(path: str) -> bool:
    """Whether ``path`` holds any file of a run or sweep folder (:data:`RUN_FILES`)."""
    return any(os.path.isfile(os.path.join(path, name)) for name in RUN_FILES)


def run_names(runs_dir: str) -> list[str]:
    """The names of the run and sweep folders in ``runs_dir`` (hidden ones skipped), newest first
    (ids begin with their start time); ``[]`` when it cannot be listed. No file is read."""
    try:
        names = os.listdir(runs_dir)
    except OSError:
        return []
    return sorted(
        (n for n in names if not n.startswith(".") and has_run_files(os.path.join(runs_dir, n))),
        reverse=True,
    )
