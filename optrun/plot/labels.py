"""The words on a picture: legend labels that tell runs apart, titles, and config values as text.

No matplotlib here: these are strings, computed from loaded runs and sweeps (``flatten`` turns a
nested config into dotted keys, as member selectors and ``--where`` name them).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from typing import Any

from ..text import flow
from .data import run_dim


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def algorithm_text(run) -> str:
    v = run.variant
    return (run.algorithm or "?") + (f" ({v})" if v and v not in ("default", "standard") else "")


def value_text(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        from ..compare.configdiff import config_text  # (a long list: its first values and length)

        return config_text(v)
    return f"{v:g}" if isinstance(v, float) else str(v)


def value_label(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k}={value_label(x)}" for k, x in v.items())
    return value_text(v) if not isinstance(v, bool) else flow(v)


def wrap(text: str, width: int = 60) -> str:
    """Long titles and legend labels broken into lines (explicit line breaks are kept)."""
    return "\n".join(line for part in text.split("\n") for line in (textwrap.wrap(part, width) or [""]))


def short_names(keys: Sequence[str]) -> dict[str, str]:
    """``algorithm.alpha`` -> ``alpha``; the full key where the short one would be ambiguous."""
    short = {k: k.rsplit(".", 1)[-1] for k in keys}
    clash = {s for s in short.values() if list(short.values()).count(s) > 1}
    return {k: (k if s in clash else s) for k, s in short.items()}


def run_labels(runs: Sequence[Any]) -> list[str]:
    """Short legend labels that tell the runs apart.

    The run's name when names differ (always for a single run; the title names its algorithm),
    the algorithm when algorithms differ and the name does not already say it, then up to three
    config values that every run has but not all share (``alpha=0.05, seed=3``); the run's
    ``name-hash`` (:func:`run_tag`) when two labels would still be equal (identical configs), and
    ``#2`` on the second copy of a run given twice. A run that did not complete says how it
    ended (``[diverged]``).
    """
    names = [str(r.summary.get("name") or r.config.get("name") or r.id) for r in runs]
    algos = [algorithm_text(r) for r in runs]
    show_name, show_algo = len(runs) == 1 or len(set(names)) > 1, len(set(algos)) > 1
    flat = [flatten(r.config) for r in runs]
    fixed = {
        "name",
        "algorithm.name",
        "algorithm.variant",
        "iterations",  # the picture shows the steps
        "objective.name",
        "objective.dim",
    }  # the title or the panel names the objective
    if len({(r.objective, r.dim) for r in runs}) > 1:
        fixed.add("bounds")  # each objective's own box
    differ = [
        k
        for k in flat[0]
        if k not in fixed
        and not k.startswith(("expect.", "trace."))
        and all(k in f for f in flat)
        and len({repr(f[k]) for f in flat}) > 1
    ]
    labels = []
    for r, name, algo, f in zip(runs, names, algos, flat):
        status = r.status if r.status != "completed" else ""
        head = name if show_name else ""
        if show_algo and (r.algorithm or "?") not in head:
            head = f"{head}: {algo}" if head else algo
        values = ", ".join(f"{k.rsplit('.', 1)[-1]}={value_text(f[k])}" for k in differ[:3])
        labels.append(", ".join(x for x in (head, values) if x) + (f" [{status}]" if status else ""))
    first = list(labels)
    for i, label in enumerate(first):
        if first.count(label) > 1 or not label:
            tag = run_tag(runs[i])
            labels[i] = f"{label} ({tag})" if label and tag not in label else tag
    for i, label in enumerate(labels):  # the same run given twice
        before = labels[:i].count(label)
        if before:
            labels[i] = f"{label} (#{before + 1})"
    return labels


_ID_TIME = re.compile(r"^\d{8}-\d{6}(?:\.\d+)?-")


def run_tag(run) -> str:
    """The run's ``name-hash``: its id without the start time (``amsgrad-tutorial-54a7b9``, or
    ``sweep-c7b8d8/7`` for a member), which tells apart two runs of one config."""
    return _ID_TIME.sub("", str(run.id))


def default_title(runs: Sequence[Any]) -> str:
    """Objective and algorithm(s): ``sphere (d=2): amsgrad (tutorial)``, or ``... vs ...``.

    With more than three algorithms the variants are left out.
    """
    objs: list[str] = []
    algos: list[str] = []
    for r in runs:
        o = f"{r.objective or '?'} (d={run_dim(r)})"
        objs += [o] if o not in objs else []
        a = algorithm_text(r)
        algos += [a] if a not in algos else []
    if len(algos) > 3:
        algos = list(dict.fromkeys(r.algorithm or "?" for r in runs))
    return f"{', '.join(objs)}: {' vs '.join(algos)}"
