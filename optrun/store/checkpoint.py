"""A run's ``checkpoint.npz``: named arrays written whole by :mod:`optrun.store.files` (a temporary
name renamed over the file), read back as a dict. What the arrays mean (the loop's state, the optimizer's
state by field name, the trace's target hits) is :mod:`optrun.execution.checkpoints`' business."""

from __future__ import annotations

import os

import numpy as np

from ..errors import RunReadError
from .files import write_npz

CHECKPOINT = "checkpoint.npz"


def write_checkpoint(folder: str, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``folder/checkpoint.npz`` atomically (a reader sees the old checkpoint
    or the new one)."""
    write_npz(os.path.join(folder, CHECKPOINT), arrays)


def read_checkpoint(path: str) -> dict[str, np.ndarray]:
    """The arrays of the checkpoint file at ``path``; :class:`RunReadError` when it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise RunReadError(f"{path}: unreadable checkpoint ({e})") from None


def checkpoint_path(folder: str) -> str | None:
    """The path of ``folder``'s checkpoint, or None when it has none."""
    path = os.path.join(folder, CHECKPOINT)
    return path if os.path.exists(path) else None


def drop_checkpoint(folder: str) -> None:
    """Remove ``folder``'s checkpoint if it has one (a finished run needs none); raises OSError."""
    path = os.path.join(folder, CHECKPOINT)
    if os.path.exists(path):
        os.unlink(path)
