"""Shared fixtures: a temporary runs folder, the repository's paths, and the real installed CLI.

Other test files use these; keep this file small. Fixtures:

* ``repo_root`` / ``configs_dir``: the checkout and its shipped ``configs/``.
* ``runs_dir``: an empty temporary runs folder (a path that does not exist yet).
* ``optrun_bin``: the installed ``optrun`` console script next to the running interpreter.
* ``run_optrun(*args, cwd=None, env=None, timeout=60)``: runs the real ``optrun`` in a subprocess
  with ``OPTRUN_RUNS_DIR=runs_dir`` and ``NO_COLOR=1``; returns the ``CompletedProcess`` (text).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def configs_dir() -> Path:
    return REPO_ROOT / "configs"


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"


@pytest.fixture(scope="session")
def optrun_bin() -> str:
    """The console script installed with the project (the one a user types)."""
    here = Path(sys.executable).parent
    found = shutil.which("optrun", path=str(here)) or shutil.which("optrun")
    if found is None:
        pytest.fail("the optrun console script is not installed; run pip install -e '.[test]'")
    return found


@pytest.fixture
def run_optrun(optrun_bin: str, runs_dir: Path, tmp_path: Path):
    """Run the installed ``optrun`` as a subprocess (plain output, runs under ``runs_dir``)."""

    def _run(
        *args: str,
        cwd: str | os.PathLike | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess:
        full_env = {**os.environ, "OPTRUN_RUNS_DIR": str(runs_dir), "NO_COLOR": "1"}
        full_env.pop("OPTRUN_DEBUG", None)
        full_env.update(env or {})
        return subprocess.run(
            [optrun_bin, *map(str, args)],
            check=False,
            cwd=cwd or tmp_path,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return _run
