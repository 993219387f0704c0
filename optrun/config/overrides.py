"""Overrides and swaps: setting one dotted key in a raw config, as ``KEY=VALUE`` on the command
line or as a sweep axis value.

Swapping ``algorithm.name``, ``algorithm.variant`` or ``objective.name`` (or the whole section by
a plain name) keeps every setting of the base that the new one accepts, a pinned variant included
where the new algorithm has one of that name, and reports what it drops, so that a comparison
stays like for like or says why not. A whole section given as a mapping replaces the base's.
"""

from __future__ import annotations

import copy
from typing import Any

from ..errors import ConfigError
from ..text import article as _a
from ..text import type_name as _tname
from .yamlio import parse_override


def accepted_keys(section: str, raw: dict[str, Any]) -> set[str] | None:
    """Keys the named algorithm/objective accepts, or None when it is unknown (validation says so)."""
    name = raw.get("name")
    if not isinstance(name, str):
        return None
    try:
        if section == "algorithm":
            from ..optimizers import get_algorithm

            v = get_algorithm(name).variant(raw.get("variant"))
            return {"name", "variant", "schedule"} | {p.name for p in v.params}
        from ..objectives import config_keys

        return set(config_keys(name))
    except (KeyError, AttributeError):
        return None


def switches_section(key: str) -> bool:
    """``algorithm``, ``algorithm.name``, ``algorithm.variant``, ``objective``, ``objective.name``:
    axes that swap what runs (and so which other keys of the section are valid)."""
    parts = key.split(".")
    return parts[0] in ("algorithm", "objective") and (
        len(parts) == 1 or parts[1:] == ["name"] or parts == ["algorithm", "variant"]
    )


def switch_rank(key: str) -> int:
    """Apply swaps of the whole section or its name first, then the variant, then everything else."""
    if not switches_section(key):
        return 2
    return 1 if key == "algorithm.variant" else 0


def variant_of(raw: dict[str, Any]) -> str | None:
    """The variant a raw algorithm section resolves to (None when validation will refuse it)."""
    try:
        from ..optimizers import get_algorithm

        return get_algorithm(raw.get("name")).variant(raw.get("variant")).name
    except (KeyError, AttributeError, TypeError):
        return None


def assign(data: dict[str, Any], key: str, value: Any, src: str) -> dict[str, Any]:
    """Set one override or axis value in a raw config; returns the base's settings it dropped.

    Swapping the algorithm, its variant or the objective by name keeps every base setting the
    new one accepts: a pinned ``variant`` (when the new algorithm has a variant of that name, so
    that ``adam (torch)`` swapped to ``amsgrad`` runs ``amsgrad (torch)``), a shared ``alpha``,
    ``dim``, ``shift``; the rest is dropped and returned as ``{dotted key: value}``, for the
    caller to name. Keys the value itself gives are always kept, so that validation reports a
    wrong one. A whole section given as a mapping (``algorithm={name: adam, alpha: 0.1}``) IS
    the section: it replaces the base's and nothing is carried over.
    """
    parts = key.split(".")
    section = parts[0]
    if switches_section(key) and len(parts) == 1 and isinstance(value, dict):
        data[section] = copy.deepcopy(value)
        return {}
    if not switches_section(key) or not (len(parts) == 2 or isinstance(value, str)):
        apply_override(data, parts, value, src)
        return {}
    base = data.get(section)
    base = {"name": base} if isinstance(base, str) else dict(base) if isinstance(base, dict) else {}
    field_ = "variant" if key == "algorithm.variant" else "name"
    merged = {**base, field_: value}
    if value == base.get(field_):
        data[section] = merged
        return {}
    if section == "algorithm" and field_ == "name" and "variant" in merged:
        from ..optimizers.user import is_user_name

        if isinstance(value, str) and is_user_name(value):
            keep = False  # a user optimizer has no variants
        else:
            keep = variant_of(merged) is not None or variant_of({"name": value}) is None
        if not keep:
            merged.pop("variant")
    ok = accepted_keys(section, merged)
    if ok is not None:
        merged = {k: v for k, v in merged.items() if k in ok or k == field_}
    data[section] = merged
    return {f"{section}.{k}": v for k, v in base.items() if k not in merged}


def drop_note(src: str, dropped: dict[str, Any], raw: Any) -> str:
    """One line naming the settings a swap dropped and what runs instead, e.g. "override
    'algorithm.name=adam' drops algorithm.variant=tutorial (adam has no variant 'tutorial'; it runs
    its default, torch), algorithm.beta1_schedule=power (not a setting of adam torch)"."""
    raw = raw if isinstance(raw, dict) else {"name": raw}
    name = raw.get("name")
    runs = variant_of(raw) if any(k.startswith("algorithm.") for k in dropped) else None
    what = f"{name} {runs}" if runs else f"{name}"
    parts = []
    for k, v in dropped.items():
        if k == "algorithm.variant":
            parts.append(f"{k}={v} ({name} has no variant '{v}'; it runs its default, {runs})")
        else:
            parts.append(f"{k}={v}")
    others = [k for k in dropped if k != "algorithm.variant"]
    tail = f" ({'not settings' if len(others) > 1 else 'not a setting'} of {what})" if others else ""
    return f"{src} drops {', '.join(parts)}{tail}"


def apply_overrides(
    data: dict[str, Any],
    overrides: list[str] | tuple[str, ...],
    notes: list[str] | None = None,
    given: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Apply ``KEY=VALUE`` overrides to a raw config in place; returns ``{key: source}``.

    ``algorithm.name=adam`` (or the variant, or ``objective.name``) swaps the section as a sweep
    axis would, keeping the settings the new one accepts; a line for each override that dropped
    settings is appended to ``notes``, and each override's parsed value is put in ``given``
    (``{key: value}``). One key twice is an error.
    """
    overridden: dict[str, str] = {}
    drops = []
    for text in overrides:
        parts, value = parse_override(text)
        key = ".".join(parts)
        if key in overridden:
            raise ConfigError(
                f"'{key}' is set twice on the command line (also by {overridden[key]})",
                source=f"override '{text}'",
            )
        inside = [k for k in overridden if k.startswith(key + ".")]
        if inside and isinstance(value, dict):  # the mapping replaces the section: the earlier key is lost
            raise ConfigError(
                f"'{key}' replaces the whole section that {overridden[inside[0]]} set a key "
                f"of; put that key inside the mapping, or give it after",
                source=f"override '{text}'",
            )
        dropped = assign(data, key, value, f"override '{text}'")
        if dropped:
            drops.append((f"override '{text}'", dropped, parts[0]))
        overridden[key] = f"override '{text}'"
        if given is not None:  # as parsed: a later override may set a key inside it in data
            given[key] = copy.deepcopy(value)
    for src, dropped, section in drops:  # a setting a later override sets again is not lost
        dropped = {k: v for k, v in dropped.items() if k not in overridden}
        if dropped and notes is not None:
            notes.append(drop_note(src, dropped, data.get(section)))
    return overridden


def apply_override(data: dict[str, Any], parts: list[str], value: Any, src: str) -> None:
    """Set a dotted key in raw config data, creating mappings on the way."""
    node: Any = data
    for i, p in enumerate(parts[:-1]):
        if isinstance(node, list):  # entered only with an index next: 'bounds.0.0=-2'
            if int(p) >= len(node):
                raise ConfigError(f"index {p} is past the end of a list of {len(node)}", source=src)
            nxt = node[int(p)]
        else:
            nxt = node.get(p)
        if isinstance(nxt, str) and p in ("objective", "algorithm"):
            nxt = {"name": nxt}  # 'objective: sphere' + objective.dim=5
        elif isinstance(nxt, list) and parts[i + 1].isdigit():
            nxt = list(nxt)
        elif not isinstance(nxt, dict):
            if nxt is not None:
                raise ConfigError(
                    f"'{'.'.join(parts[: i + 1])}' is {_a(_tname(nxt))}, it has no key '{parts[i + 1]}'",
                    source=src,
                )
            nxt = {}
        if isinstance(node, list):
            node[int(p)] = nxt
        else:
            node[p] = nxt
        node = nxt
    last = parts[-1]
    if isinstance(node, list):
        idx = int(last)
        if idx >= len(node):
            raise ConfigError(f"index {idx} is past the end of a list of {len(node)}", source=src)
        node[idx] = value
    else:
        node[last] = value
