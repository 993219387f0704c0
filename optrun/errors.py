"""One hierarchy of user-facing errors.

Library code raises these; the CLI translates them to one line on stderr and an exit code in a
single place (:func:`optrun.cli.main`). Messages say what is wrong, where, and how to fix it.
"""

from __future__ import annotations


class OptrunError(Exception):
    """Base of every error optrun reports to a user. ``exit_code`` is the CLI's exit status."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(OptrunError):
    """A config file or override is malformed or invalid (exit 2).

    ``source`` names the file (or ``override 'k=v'``), ``path`` the dotted key, ``line`` the
    1-based line in the file when known.
    """

    def __init__(
        self, message: str, *, source: str | None = None, path: str | None = None, line: int | None = None
    ):
        self.source, self.path, self.line, self.detail = source, path, line, message
        where = ""
        if source:
            where = source + (f":{line}" if line else "")
        if path:
            where = f"{where}: {path}" if where else path
        super().__init__(f"{where}: {message}" if where else message)


class UserCodeError(OptrunError):
    """A user-supplied objective or optimizer failed to import or misbehaved (exit 2)."""


class RunSelectionError(OptrunError):
    """A RUN argument matched nothing, matched several runs, or is not a run folder (exit 2)."""


class RunReadError(OptrunError):
    """A run folder exists but a file in it is damaged (exit 2)."""


class FormatVersionError(RunReadError):
    """A run or sweep folder written by a newer optrun, in a format this one does not read (exit 2)."""


class StorageError(OptrunError):
    """The runs folder cannot be created or written (exit 2 before a run starts)."""


class CompareError(OptrunError):
    """These runs cannot be compared the way the options ask (exit 2)."""


class PlotError(OptrunError):
    """A picture cannot be drawn from these runs with these options (exit 2)."""


class PlotUnavailable(PlotError):
    """matplotlib is not installed (exit 2)."""

    def __init__(self) -> None:
        super().__init__(
            "pictures need matplotlib, which is not installed: pip install matplotlib "
            "(or the plot extra: pip install '.[plot]' in the checkout)"
        )
