"""The disk-space reserve of a run folder (``.reserve``): set aside when the run starts, freed
just before its final summary is written, so a run that fills the disk can still record that it
failed and how far it got."""

from __future__ import annotations

import os

RESERVE = ".reserve"
RESERVE_BYTES = 64 * 1024


def reserve_space(folder) -> None:
    """Set aside disk space for the final summary of ``folder`` (a :class:`~.folder.RunFolder`)."""
    fd = os.open(folder.file(RESERVE), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        try:
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
        except (AttributeError, OSError):
            os.write(fd, b"\0" * RESERVE_BYTES)
    finally:
        os.close(fd)


def release_space(folder) -> None:
    """Free the reserve (nothing happens when it is gone already)."""
    try:
        os.unlink(folder.file(RESERVE))
    except OSError:
        pass
