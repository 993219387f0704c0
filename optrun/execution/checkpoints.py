"""A run's checkpoint as the runner sees it (:class:`~optrun.runner.Checkpoint`, the optimizer's
state by field name, the trace's target hits) turned into the named arrays that
:mod:`optrun.store.checkpoint` writes, and back."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import RunReadError
from ..runner import Checkpoint
from ..store.checkpoint import read_checkpoint, write_checkpoint
from ..store.folder import RunFolder

CK_FIELDS = ("x", "status", "last_row", "final_f", "final_g", "final_x", "best_f", "best_it", "best_x")


def save_checkpoint(
    folder: RunFolder, ck: Checkpoint, trace_last_forced: bool = False, hits: np.ndarray | None = None
) -> bool:
    """Write ``checkpoint.npz`` atomically; False when the optimizer state is not arrays by name.

    ``hits`` (the trace writer's first iteration at each target, -1: not yet) covers the rows up
    to the checkpoint: a resumed run keeps them rather than guessing them from its best f."""
    state = ck.opt_state
    if not (
        isinstance(state, tuple)
        and hasattr(state, "_fields")
        and all(isinstance(v, np.ndarray) for v in state)
    ):
        return False
    arrays = {k: getattr(ck, k) for k in CK_FIELDS}
    arrays["iteration"] = np.array(ck.iteration)
    arrays["reason"] = np.array(ck.reason)
    # an interrupted thinned trace ends with a row kept only because it was last: resuming drops it
    arrays["trace_last_forced"] = np.array(trace_last_forced)
    if hits is not None:
        arrays["hits"] = np.array(hits, dtype=np.int64)
    arrays.update({f"state.{k}": v for k, v in zip(state._fields, state)})
    arrays.update({f"extra.{k}": np.asarray(v) for k, v in ck.extra.items()})  # regret and its rounds
    write_checkpoint(folder.path, arrays)
    return True


def load_checkpoint(path: str, template_state: Any) -> tuple[Checkpoint, bool, np.ndarray | None]:
    """Read ``checkpoint.npz`` into a :class:`Checkpoint`, filling a fresh ``init(x)`` state; the
    flag says whether the trace's last row was kept only because it was last (see save); then the
    target hits saved with it (``None`` in a checkpoint written before they were)."""
    data = read_checkpoint(path)
    fields = getattr(template_state, "_fields", None)
    if fields is None or any(f"state.{k}" not in data for k in fields):
        raise RunReadError(f"{path}: the checkpoint does not match this optimizer's state")
    state = type(template_state)(*(data[f"state.{k}"] for k in fields))
    forced = "trace_last_forced" in data and bool(data["trace_last_forced"])
    hits = data["hits"].astype(np.int64) if "hits" in data else None
    return (
        Checkpoint(
            int(data["iteration"]),
            data["x"],
            state,
            data["status"],
            [str(r) for r in data["reason"]],
            data["last_row"],
            data["final_f"],
            data["final_g"],
            data["final_x"],
            data["best_f"],
            data["best_it"],
            data["best_x"],
            {k[len("extra.") :]: data[k] for k in data if k.startswith("extra.")},
        ),
        forced,
        hits,
    )
