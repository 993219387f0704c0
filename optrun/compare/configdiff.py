"""The config diff of a run comparison: config keys (dotted) side by side, only those whose values
differ (or all of them), and the provenance (optrun, numpy, Python, git commit) that can explain a
difference; values as display text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .metrics import Row
from .runstats import RunStats


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config as dotted keys (``algorithm.alpha``); an empty mapping stays a leaf."""
    if not isinstance(d, dict) or (not d and prefix):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


MISSING = object()


def config_rows(stats: Sequence[RunStats], all_keys: bool = False) -> list[Row]:
    """Config keys (dotted) side by side: only those that differ, or all with ``all_keys``.

    Provenance that can explain a difference (optrun, numpy and Python versions, git commit) joins
    as ``meta.*`` rows when it differs."""
    flats = [flatten(s.config) for s in stats]
    keys: list[str] = []
    for fl in flats:
        keys += [k for k in fl if k not in keys]
    rows = []
    for k in keys:
        vals = [fl.get(k, MISSING) for fl in flats]
        differ = len({repr(v) for v in vals}) > 1
        if differ or all_keys:
            rows.append(
                Row(
                    f"config.{k}",
                    k,
                    [None if v is MISSING else v for v in vals],
                    ["(absent)" if v is MISSING else config_text(v) for v in vals],
                    section="config",
                )
            )
    for k in ("optrun", "numpy", "python", "git_commit"):
        vals = [s.meta.get(k) for s in stats]
        if len({repr(v) for v in vals}) > 1 or (all_keys and any(v is not None for v in vals)):
            rows.append(Row(f"meta.{k}", f"meta.{k}", vals, [config_text(v) for v in vals], section="config"))
    return rows


#: a list longer than this prints its first three values and its length
LIST_SHOWN = 8


def config_text(v: Any) -> str:
    """A config value as a cell's text: ``null``, ``true``, a float's repr, ``[a, b]``, else ``str``.

    Not :func:`optrun.text.flow`: a mapping inside a list prints here as Python writes it
    (``[{'a': 1}]``, flow: ``[{a: 1}]``), and so does a numpy float; folding the two would
    change such cells."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        if len(v) > LIST_SHOWN:  # (a learning run's start: hundreds of zeros)
            return "[" + ", ".join(config_text(x) for x in v[:3]) + f", ... {len(v)} values]"
        return "[" + ", ".join(config_text(x) for x in v) + "]"
    return str(v)
