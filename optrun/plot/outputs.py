"""Where a picture is written: the checks on a named file (format by extension, an existing
folder, the resolution) made before any drawing starts, and the file names chosen when none is
given (beside the run or sweep, or in the working folder; a part of a sweep under its own name).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence

from ..errors import PlotError
from ..store.pictures import default_picture
from .data import FORMATS
from .where import parse_where


def output_format(path: str) -> str:
    """``png``, ``svg`` or ``pdf`` from the file name, checked before any drawing starts.

    :class:`PlotError` for another extension or a folder that does not exist.
    """
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in FORMATS:
        raise PlotError(
            f"cannot write '{path}': the file name must end in "
            f"{', '.join('.' + f for f in FORMATS)} (the format is chosen by extension)"
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise PlotError(f"cannot write '{path}': the folder {folder} does not exist")
    return ext


def check_dpi(dpi: float) -> None:
    if not (isinstance(dpi, (int, float)) and 10 <= dpi <= 1200):
        raise PlotError(f"--dpi must be between 10 and 1200, not {dpi}")


def default_output(run, kind: str) -> str:
    """Where a picture of one run goes when no file is named: ``<run folder>/<kind>.png``
    (``<sweep folder>/<kind>-member-<N>.png`` for a sweep member)."""
    if getattr(run, "sweep_path", None) is not None:
        return default_picture(run.sweep_path, kind, run.member)
    return default_picture(run.path, kind)


def shared_output(kind: str) -> str:
    """Where a picture of several runs or sweeps goes when no file is named: ``<kind>.png`` in the
    working folder (it belongs to none of them more than to the others); ``kind`` may carry a
    :func:`subset_name` (``convergence-alpha=0.1``)."""
    return os.path.abspath(f"{kind}.png")


SUBSET_NAME_MAX = 80  # characters of a file name given to what was selected (before .png)
_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+-]+")


def subset_name(
    selectors: Sequence[str] = (), where: Sequence[str] = (), only: dict[str, set[int]] | None = None
) -> str:
    """What part of a sweep a picture shows, as it can stand in a file name: the selectors' axis
    values (the text after ``SWEEP:``) joined by ``+``, then the ``where`` conditions joined by
    ``,`` (``algorithm=adam,alpha=0.01``: the same name for a selector and for ``--where``).
    Characters other than letters, digits and ``._=,+-`` become ``_``; a name longer than
    :data:`SUBSET_NAME_MAX` is cut and ends in a hash of the whole, so that two selections never
    share a file. Member numbers (``only`` without selectors, from Python) are named by their hash.
    """
    said = list(dict.fromkeys(re.sub(r"\s*([=,:])\s*", r"\1", str(s).strip()) for s in selectors))
    text = "+".join(said)
    if where:
        text += ("," if text else "") + ",".join(w.text for w in parse_where(where))
    if not text and only:
        text = (
            "members-"
            + hashlib.sha1(repr(sorted((k, sorted(v)) for k, v in only.items())).encode()).hexdigest()[:8]
        )
    safe = _UNSAFE.sub("_", text).strip("_") or "subset"
    if len(safe) > SUBSET_NAME_MAX:
        safe = safe[: SUBSET_NAME_MAX - 9].rstrip("_,+=") + "-" + hashlib.sha1(text.encode()).hexdigest()[:8]
    return safe
