"""Names and aliases: find a registered entry by its name or an alias, and suggest the nearest
valid name when a name is wrong.

Shared by the optimizer and objective registries (entries with ``name`` and ``aliases``) and by
every message about an unknown name or key ("unknown algorithm 'adma'; did you mean 'adam'?").
Import-light: :mod:`difflib` is loaded only when a name is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar


class Named(Protocol):
    """What a registry holds: an entry with a name and alternative names."""

    name: str
    aliases: tuple[str, ...]


T = TypeVar("T", bound=Named)


def lookup(name: str, entries: Mapping[str, T]) -> T:
    """The entry registered as ``name``, or the one that has ``name`` among its aliases;
    ``KeyError`` when there is none."""
    if name in entries:
        return entries[name]
    for entry in entries.values():
        if name in entry.aliases:
            return entry
    raise KeyError(name)


def all_names(entries: Mapping[str, Named]) -> list[str]:
    """Every registered name, then every alias, in registration order (what suggestions pick from)."""
    names = list(entries)
    for entry in entries.values():
        names.extend(entry.aliases)
    return names


def suggest(name: str, valid: Sequence[str], listing: str = "valid keys") -> str:
    """The tail of an "unknown name" message: ``"; did you mean 'adam'?"`` for the nearest valid
    name, or ``"; valid keys: a, b, c"`` (``listing`` names that list) when none is near."""
    import difflib  # only when a name is wrong

    close = difflib.get_close_matches(str(name), list(valid), n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else f"; {listing}: {', '.join(valid)}"


def unknown(kind: str, name: str, valid: Sequence[str], command: str) -> str:
    """``"unknown algorithm 'adma'; did you mean 'adam'? (see 'optrun algorithms')"``."""
    return f"unknown {kind} '{name}'{suggest(name, valid)} (see 'optrun {command}')"
