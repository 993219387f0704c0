"""The whole files of a run or sweep folder, read: ``summary.json``, ``config.yaml``, ``meta.json``.

Every read checks ``format_version`` first: a folder written by a newer format is refused
(:class:`~optrun.errors.FormatVersionError`, one line naming the folder, its format and the one
read here) or, read leniently for a listing, reported ``unreadable``. A damaged file raises
:class:`~optrun.errors.RunReadError` naming the folder and the problem, or reads as ``{}`` with the
problem listed. :func:`folder_kind` tells a sweep folder from a run folder by the head of its summary,
:func:`member_of` a sweep member's address from a folder of its own.

``config.yaml`` is read with yaml's safe loader, not with optrun's config reader (store reads below
config): it was written by ``optrun.config.yamlio.dump_yaml``, whose dumper quotes every string the config
reader's YAML 1.2 rules would read otherwise (``'1e-3'``, ``'yes'``), so both read it to the same values.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import yaml

from ..errors import FormatVersionError, RunReadError
from .folder import FORMAT_VERSION

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_KIND_RE = re.compile(rb'"kind"\s*:\s*"([A-Za-z_]+)"')


def get_path(d: dict[str, Any], *keys: str) -> Any:
    """``d[k1][k2]...``, or ``None`` where a key is missing or a level is not a mapping."""
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def _read_json(path: str, run_id: str, name: str, kind: str = "run") -> dict[str, Any]:
    what = f"{kind} {run_id}"
    try:
        with open(os.path.join(path, name), encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise RunReadError(f"{what}: {name} is missing") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RunReadError(f"{what}: cannot read {name}: {getattr(e, 'strerror', None) or e}") from None
    except json.JSONDecodeError as e:
        raise RunReadError(f"{what}: {name} is damaged (invalid JSON at line {e.lineno}: {e.msg})") from None
    if not isinstance(data, dict):
        raise RunReadError(f"{what}: {name} is damaged (a JSON object expected, found {type(data).__name__})")
    return data


def read_parts(
    path: str, folder_id: str, kind: str, lenient: bool, check_summary: Any
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """summary.json, config.yaml and meta.json of a run or sweep folder, and what is wrong with them.

    Strict: the first problem raises :class:`RunReadError`. Lenient: a damaged file reads as ``{}``
    and its problem is listed. ``check_summary(summary)`` names damage inside a parsed summary.
    """
    parts: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for name in ("summary.json", "config.yaml", "meta.json"):
        try:
            parts[name] = (
                _read_config(path, folder_id, kind)
                if name == "config.yaml"
                else _read_json(path, folder_id, name, kind)
            )
        except RunReadError as e:
            if not lenient:
                raise
            parts[name] = {}
            problems.append(e.message.split(": ", 1)[1])
        if name == "summary.json" and (newer := newer_format(parts[name])):
            # nothing else of a newer format is read: its files may mean other things
            if not lenient:
                raise FormatVersionError(f"{kind} {folder_id}: {newer}")
            return {**parts, "config.yaml": {}, "meta.json": {}}, [newer]
    if "summary.json" not in " ".join(problems):
        bad = check_summary(parts["summary.json"])
        if bad:
            if not lenient:
                raise RunReadError(f"{kind} {folder_id}: summary.json is damaged ({bad})")
            problems.insert(0, f"summary.json is damaged ({bad})")
    return parts, problems


def read_heads(path: str, folder_id: str, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``summary.json`` and ``meta.json`` as a lenient :func:`read_parts` gives them (``{}`` when
    damaged, meta ``{}`` for a newer format), without reading ``config.yaml``."""
    try:
        summary = _read_json(path, folder_id, "summary.json", kind)
    except RunReadError:
        summary = {}
    if newer_format(summary):
        return summary, {}
    try:
        return summary, _read_json(path, folder_id, "meta.json", kind)
    except RunReadError:
        return summary, {}


NEWER_FORMAT = "written by a newer optrun"  # how an unreadable folder's problem begins


def newer_format(summary: dict[str, Any]) -> str | None:
    """Why a folder whose ``summary.json`` says ``format_version`` N > :data:`FORMAT_VERSION`
    cannot be read here (None when it can: this or an older format, or none recorded)."""
    v = summary.get("format_version")
    if isinstance(v, int) and not isinstance(v, bool) and v > FORMAT_VERSION:
        return (
            f"{NEWER_FORMAT} (folder format {v}; this optrun reads format {FORMAT_VERSION} and older): "
            "upgrade optrun to read it (pip install -U optrun)"
        )
    return None


def status_of(problem: str) -> str:
    """The status a listing shows for a folder with ``problem``: unreadable (a newer format) or damaged."""
    return "unreadable" if problem.startswith(NEWER_FORMAT) else "damaged"


def with_problem(head: dict[str, Any], problem: str) -> dict[str, Any]:
    """A summary read leniently, marked with its ``problem``: the status a listing shows
    (:func:`status_of`), the problem, and the status the folder recorded (``recorded_status``)."""
    marked = {**head, "status": status_of(problem), "problem": problem}
    recorded = head.get("status")
    if isinstance(recorded, str) and recorded not in ("damaged", "unreadable"):
        marked["recorded_status"] = recorded
    return marked


def _read_config(path: str, run_id: str, kind: str = "run") -> dict[str, Any]:
    what = f"{kind} {run_id}"
    try:
        with open(os.path.join(path, "config.yaml"), encoding="utf-8") as f:
            data = yaml.load(f, Loader=_YAML_LOADER)
    except FileNotFoundError:
        raise RunReadError(f"{what}: config.yaml is missing") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RunReadError(f"{what}: cannot read config.yaml: {getattr(e, 'strerror', None) or e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise RunReadError(f"{what}: config.yaml is damaged (invalid YAML{where})") from None
    if not isinstance(data, dict):
        raise RunReadError(f"{what}: config.yaml is damaged (a mapping expected)")
    return data


SUMMARY_TYPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("status",), (str,)),
    **dict.fromkeys(
        (
            "id",
            "name",
            "algorithm",
            "variant",
            "objective",
            "hostname",
            "started_at",
            "updated_at",
            "ended_at",
            "stop_reason",
        ),
        (str, type(None)),
    ),
    **dict.fromkeys(
        ("iterations", "iterations_planned", "best_iteration", "dim", "pid", "pid_start"), (int, type(None))
    ),
    **dict.fromkeys(
        (
            "final_f",
            "best_f",
            "final_grad_norm",
            "f_min",
            "f_gap",
            "distance_to_optimum",
            "wall_time_s",
            "time_per_iteration_s",
        ),
        (int, float, type(None)),
    ),
    **dict.fromkeys(("final_x", "best_x"), (list, type(None))),
    "hits": (dict, type(None)),
}


def summary_problem(summary: dict[str, Any]) -> str | None:
    """What is wrong with a parsed summary's documented fields (``None`` when nothing is)."""
    if "status" not in summary:
        return "no status"
    for key, types in SUMMARY_TYPES.items():
        if key in summary:
            v = summary[key]
            if not isinstance(v, types) or isinstance(v, bool):
                return f"{key} is {json.dumps(v)[:40]}, expected {_type_words(types)}"
    return None


def _type_words(types: tuple[type, ...]) -> str:
    words = {str: "a string", int: "an integer", float: "a number", list: "a list", type(None): "null"}
    names = [words[t] for t in types if not (t is int and float in types)]
    return " or ".join(names)


def folder_kind(path: str) -> str:
    """``sweep`` when ``path/summary.json`` says ``"kind": "sweep"``, else ``run``.

    Sweep summaries write ``kind`` near the top, so only the head of a large file is read."""
    try:
        with open(os.path.join(path, "summary.json"), "rb") as f:
            head = f.read(4096)
            m = _KIND_RE.search(head)
            if m is None and len(head) == 4096:
                m = _KIND_RE.search(head + f.read())
    except OSError:
        return "run"
    return m.group(1).decode() if m else "run"


def member_of(path: str) -> str | None:
    """The sweep folder ``path`` is a member's address in (``<sweep folder>/<member>``, as
    :func:`optrun.store.select.resolve_run` gives ``SWEEP/7``): ``path`` holds no ``summary.json``
    and its parent folder does. None when ``path`` is a run or sweep folder of its own."""
    parent = os.path.dirname(os.path.normpath(path))
    if os.path.isfile(os.path.join(path, "summary.json")) or not os.path.isfile(
        os.path.join(parent, "summary.json")
    ):
        return None
    return parent
