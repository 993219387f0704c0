"""The one atomic writer of whole files in run and sweep folders (and of pictures).

A whole file (``summary.json``, ``meta.json``, ``config.yaml``, ``checkpoint.npz``, ``x.npz``,
``summary.csv``, a batch's ``points-NNNN.npz``, a picture) is written to a hidden temporary name in
its own folder, ``.<name>.<pid>.<6 hex>.tmp``, and renamed over its target once complete, so a
reader sees the old file or the whole new one, never half of one. The temporary file is removed
on any failure, a Ctrl-C included; only a killed process can leave one behind (readers ignore it).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import IO, Any


def temp_path(path: str) -> str:
    """The temporary name :func:`replace_atomically` writes ``path`` under (same folder)."""
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{name}.{os.getpid()}.{os.urandom(3).hex()}.tmp")


def replace_atomically(path: str, save: Callable[[str], None]) -> str:
    """Have ``save(tmp)`` write the whole new file to a temporary path beside ``path``, then rename
    it over ``path``; return ``path``. The temporary file is removed whatever fails (``save``, the
    rename, an interruption); the exception reaches the caller."""
    tmp = temp_path(path)
    try:
        save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path


@contextlib.contextmanager
def atomic_open(path: str, mode: str = "w", **open_args: Any) -> Iterator[IO[Any]]:
    """``with atomic_open(path) as f: f.write(...)``: the file opened (``open(tmp, mode,
    **open_args)``; ``encoding="utf-8"`` for text by default) is renamed over ``path`` when the block
    ends without an exception, and removed when it raises."""
    if "b" not in mode:
        open_args.setdefault("encoding", "utf-8")
    tmp = temp_path(path)
    try:
        with open(tmp, mode, **open_args) as f:
            yield f
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write_text(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w") as f:
        f.write(text)


def write_npz(path: str, arrays: dict[str, Any]) -> None:
    """Write the named ``arrays`` to the ``.npz`` file ``path`` atomically (numpy is the caller's:
    it is imported here only when this is called)."""
    import numpy as np

    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)
