"""Where a run came from, for its ``meta.json``: the git commit of the working tree."""

from __future__ import annotations

import os
import re


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
