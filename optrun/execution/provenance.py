"""Where a run or sweep came from: the one builder of ``meta.json`` (versions, platform, command
line, working folder, git commit, user modules) and of the process fields of ``summary.json``
that tell a live writer from a dead one, for single runs and sweeps alike."""

from __future__ import annotations

import os
import re
import sys
from typing import Any

from ..config import RunConfig
from ..store import FORMAT_VERSION
from ..store.folder import hostname, process_start_ticks


def platform_text() -> str:
    """``platform.platform()``'s text (e.g. Linux-6.1-x86_64-with-glibc2.36) without its cost:
    the standard function runs ``uname -p`` in a subprocess on Linux, and the module takes 2 ms
    to import."""
    try:
        u = os.uname()
    except AttributeError:  # pragma: no cover - not POSIX
        import platform

        return platform.platform()
    try:  # 'glibc 2.36', as platform.libc_ver() reads it
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):  # not glibc
        libc = ""
    return f"{u.sysname}-{u.release}-{u.machine}" + (f"-with-{libc.replace(' ', '')}" if libc else "")


def machine_name() -> str:
    """The processor architecture (``x86_64``, ``arm64``), as ``platform.machine()`` gives it."""
    try:
        return os.uname().machine
    except AttributeError:  # pragma: no cover - not POSIX
        import platform

        return platform.machine()


def python_version() -> str:
    """``platform.python_version()`` (e.g. 3.11.7) without importing platform."""
    return sys.version.split()[0]


def meta_record(
    configs: list[RunConfig],
    argv: list[str] | None,
    started: str,
    sweep: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``meta.json`` of a run (``configs``: its one config) or of a sweep (``sweep``: its
    ``workers`` and ``batches``; ``configs``: its members). The keys keep each kind's order."""
    import numpy as np

    from .. import __version__
    from ..objectives.user import module_record
    from ..store.records import recorded_module_dirs

    cwd = os.getcwd()
    versions = {"optrun": __version__, "numpy": np.__version__, "python": python_version()}
    command = argv if argv is not None else list(sys.argv)
    if sweep is not None:
        return {
            "format_version": FORMAT_VERSION,
            "kind": "sweep",
            **versions,
            "platform": platform_text(),
            "command": command,
            "cwd": cwd,
            "git_commit": git_commit(cwd),
            "started_at": started,
            **sweep,
            **module_record(*configs, recorded=recorded_module_dirs),
        }
    return {
        "format_version": FORMAT_VERSION,
        **versions,
        "platform": platform_text(),
        "machine": machine_name(),
        "command": command,
        "cwd": cwd,
        **module_record(*configs, recorded=recorded_module_dirs),
        "git_commit": git_commit(cwd),
        "started_at": started,
    }


def process_record() -> dict[str, Any]:
    """The ``pid``, ``pid_start`` and ``hostname`` a running summary carries (see :func:`still_running`)."""
    return {"pid": os.getpid(), "pid_start": process_start_ticks(os.getpid()), "hostname": hostname()}


def still_running(summary: dict[str, Any]) -> bool:
    """Does the process a ``running`` summary names still run on this machine (the same pid,
    started at the same kernel tick: not a reused pid)?"""
    pid, ticks = summary.get("pid"), summary.get("pid_start")
    return (
        summary.get("hostname") == hostname()
        and isinstance(pid, int)
        and ticks is not None
        and process_start_ticks(pid) == ticks
    )


def git_commit(cwd: str) -> str | None:
    """The commit checked out in the git working tree that holds ``cwd``, or None.

    Read from ``.git`` directly (HEAD, then the loose ref or packed-refs): no ``git`` process
    is started, so a run does not pay for one. Worktrees (a ``.git`` file) are followed.
    """
    d = os.path.abspath(cwd)
    while True:
        dot = os.path.join(d, ".git")
        if os.path.exists(dot):
            break
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent
    try:
        if os.path.isfile(dot):  # a worktree or submodule: "gitdir: <path>"
            with open(dot, encoding="utf-8") as f:
                line = f.read().strip()
            if not line.startswith("gitdir:"):
                return None
            dot = os.path.normpath(os.path.join(d, line.split(":", 1)[1].strip()))
        with open(os.path.join(dot, "HEAD"), encoding="utf-8") as f:
            head = f.read().strip()
        if not head.startswith("ref:"):
            return head if re.fullmatch(r"[0-9a-f]{40,64}", head) else None
        ref = head.split(":", 1)[1].strip()
        common = dot
        if os.path.isfile(os.path.join(dot, "commondir")):
            with open(os.path.join(dot, "commondir"), encoding="utf-8") as f:
                common = os.path.normpath(os.path.join(dot, f.read().strip()))
        for base in (dot, common):
            loose = os.path.join(base, ref)
            if os.path.isfile(loose):
                with open(loose, encoding="utf-8") as f:
                    sha = f.read().strip()
                return sha if re.fullmatch(r"[0-9a-f]{40,64}", sha) else None
        packed = os.path.join(common, "packed-refs")
        if os.path.isfile(packed):
            with open(packed, encoding="utf-8") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 2 and parts[1] == ref:
                        return parts[0]
    except OSError:
        return None
    return None  # a branch with no commits yet
