"""Picture files (``optrun plot``, ``run --plot``, ``compare --plot``): where a folder's picture
goes by default (:func:`default_picture`), and writing one atomically.

A picture goes to a hidden temporary file beside its target, which is renamed over the target
once it is complete (:mod:`optrun.store.files`), so a reader (an image viewer, a browser that
reloads the file) sees the old picture or the new one, never half of one, and a failed or
interrupted drawing leaves neither a partial picture nor the temporary file behind. The drawing
itself is the caller's: this module knows nothing of matplotlib (the caller passes a function
that saves to a path).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from .files import replace_atomically


def default_picture(folder: str, name: str, member: int | None = None) -> str:
    """Where a picture goes in a run or sweep folder when no file is named: ``<folder>/<name>.png``,
    or ``<sweep folder>/<name>-member-<N>.png`` for member N of the sweep at ``folder``."""
    return os.path.join(folder, f"{name}.png" if member is None else f"{name}-member-{member}.png")


def write_picture(path: str, save: Callable[[str], None]) -> str:
    """Have ``save(tmp)`` write the picture to a temporary file in ``path``'s folder, then rename
    it over ``path``; return ``path``.

    The temporary file (``.<name>.<pid>.<random>.tmp``) is removed whatever happens. ``OSError``
    (a folder that cannot be written, a full disk) reaches the caller, which words it.
    """
    return replace_atomically(path, save)
