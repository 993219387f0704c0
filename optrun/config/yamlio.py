"""Reading config text: YAML by the 1.2 core schema's rules, safely, with a line for every key.

``yaml.SafeLoader`` only (Python tags refused, alias bombs refused before they are expanded);
values YAML 1.1 reads otherwise than 1.2 are refused with what to write; every error names the
file (or the override) and the line. Also ``KEY=VALUE`` overrides, typed by the same rules. A leaf:
it imports nothing of optrun but errors and the text helpers.
"""

from __future__ import annotations

import os
import re
from typing import Any

import yaml

from ..errors import ConfigError
from ..text import article as _a
from ..text import type_name as _tname

MAX_NODES = 20_000  # YAML nodes visited, aliases included: refuses "billion laughs" quickly


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that reads plain scalars by YAML 1.2's core schema where it is unambiguous.

    PyYAML implements YAML 1.1, where ``1e-3`` and ``0o17`` are *strings*; YAML 1.2's core schema
    (yaml.org/spec/1.2.2, section 10.3.2) and every other YAML library read them as numbers, which
    is what a user writing ``algorithm.alpha=1e-3`` means, so they are read as numbers here. Plain
    scalars that YAML 1.1 and 1.2 read differently (``yes``/``no``/``on``/``off``, ``1_000``,
    ``010``, ``0b101``, ``1:20``) are refused by :func:`_ambiguous` with what to write instead:
    reading them either way would surprise the users of the other version.
    """


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+.0123456789"),
)
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?0o[0-7]+$"), list("-+0"))


class _Dumper(yaml.SafeDumper):
    """``yaml.SafeDumper`` that quotes every string :class:`_Loader` would read as something else
    (``'1e5'``, ``'0o17'``) or refuse (``'yes'``, ``'1_000'``), so that written configs read back."""


_Dumper.yaml_implicit_resolvers = {k: list(v) for k, v in _Loader.yaml_implicit_resolvers.items()}


def dump_yaml(data: Any) -> str:
    """Config data as YAML text that :func:`parse_yaml` reads back to the same data."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=None)


_BOOL_TAG, _INT_TAG, _FLOAT_TAG = (
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
)


def _ambiguous(node: yaml.ScalarNode) -> str | None:
    """Why a plain scalar is refused (YAML 1.1 and 1.2 read it differently), or None."""
    if node.style is not None:  # quoted: a string under both
        return None
    v = node.value
    if node.tag == _BOOL_TAG and v.lower() in ("yes", "no", "on", "off"):
        word = "true" if v.lower() in ("yes", "on") else "false"
        return (
            f"'{v}' is a boolean in YAML 1.1 but a string in YAML 1.2: write {word} "
            f"(or quote it, '{v}', for the text)"
        )
    if node.tag not in (_INT_TAG, _FLOAT_TAG):
        return None
    if ":" in v:
        return (
            f"'{v}' is a base-60 number in YAML 1.1 but a string in YAML 1.2: write the number "
            f"({_sexagesimal(v)}) or quote the text"
        )
    if "_" in v:
        return f"'{v}' is a number in YAML 1.1 but a string in YAML 1.2: write {v.replace('_', '')}"
    digits = v.lstrip("+-")
    if node.tag == _INT_TAG and digits[:2].lower() == "0b":
        return f"'{v}' is binary in YAML 1.1 but a string in YAML 1.2: write {int(v.replace('b', '', 1), 2)}"
    if (
        node.tag == _INT_TAG
        and len(digits) > 1
        and digits[0] == "0"
        and digits[1] in "01234567"
        and int(v, 8) != int(v, 10)
    ):
        return (
            f"'{v}' is octal ({int(v, 8)}) in YAML 1.1 but decimal ({int(v, 10)}) in YAML 1.2: "
            f"write {int(v, 10)}, or 0o{digits.lstrip('0') or '0'} for octal"
        )
    return None


def _sexagesimal(v: str) -> str:
    sign = -1 if v.startswith("-") else 1
    total = 0.0
    for part in v.lstrip("+-").split(":"):
        total = total * 60 + float(part)
    return f"{sign * total:g}"


def _line_map(node: yaml.Node, source: str) -> dict[tuple[str, ...], int]:
    """Dotted key path -> 1-based line, from the composed (not constructed) node tree.

    Also refuses a key repeated in one mapping (YAML forbids it; PyYAML would keep the last).
    """
    lines: dict[tuple[str, ...], int] = {}
    count = 0
    stack: list[tuple[yaml.Node, tuple[str, ...]]] = [(node, ())]
    while stack:
        n, path = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ConfigError(
                f"too many YAML nodes (more than {MAX_NODES}, aliases included); "
                "a config this large is refused",
                source=source,
            )
        if isinstance(n, yaml.ScalarNode):
            why = _ambiguous(n)
            if why:
                raise ConfigError(why, source=source, path=".".join(path) or None, line=n.start_mark.line + 1)
        elif isinstance(n, yaml.MappingNode):
            seen: set[str] = set()
            for k, v in n.value:
                key = str(k.value) if isinstance(k, yaml.ScalarNode) else "?"
                why = _ambiguous(k) if isinstance(k, yaml.ScalarNode) else None
                if why:
                    raise ConfigError(
                        f"key {why}", source=source, path=".".join(path) or None, line=k.start_mark.line + 1
                    )
                if key in seen and key != "<<":
                    where = ".".join(path + (key,))
                    raise ConfigError(
                        f"duplicate key '{key}' (each key may appear once)",
                        source=source,
                        path=where,
                        line=k.start_mark.line + 1,
                    )
                seen.add(key)
                lines.setdefault(path + (key,), k.start_mark.line + 1)
                stack.append((v, path + (key,)))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                lines.setdefault(path + (str(i),), v.start_mark.line + 1)
                stack.append((v, path + (str(i),)))
    return lines


def parse_yaml(text: str, source: str) -> tuple[Any, dict[tuple[str, ...], int]]:
    """Safely parse YAML text; returns the data and a key-path -> line map."""
    if "\0" in text:
        raise ConfigError("the file contains a NUL byte; is it a YAML text file?", source=source)
    loader = None
    try:  # parsed once: the node tree gives the line map, then the data (as yaml.load would)
        loader = _Loader(text)  # (its reader already refuses some characters)
        node = loader.get_single_node()
        lines = _line_map(node, source) if node is not None else {}
        data = loader.construct_document(node) if node is not None else None
    except ConfigError:
        raise
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        what = e.problem or e.context or "invalid YAML"
        if e.context and what.startswith("but "):  # "expected a single document ..., but found ..."
            what = f"{e.context}, {what}"
        if isinstance(e, yaml.constructor.ConstructorError) and "tag" in str(what):
            what = f"{what} (only plain YAML is allowed: Python and custom tags are refused)"
        raise ConfigError(f"invalid YAML: {what}", source=source, line=line) from None
    except yaml.reader.ReaderError as e:
        raise ConfigError(
            f"invalid YAML: character {e.character!r} at position {e.position} is not allowed in YAML text",
            source=source,
        ) from None
    except yaml.YAMLError as e:
        raise ConfigError(f"invalid YAML: {' '.join(str(e).split())}", source=source) from None
    except (ValueError, KeyError, AttributeError, TypeError) as e:  # '!!int x': PyYAML's own constructors
        raise ConfigError(
            f"invalid YAML: a value tagged !!int, !!float, !!bool or !!timestamp cannot be "
            f"read as that type ({type(e).__name__}: {e})",
            source=source,
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, lines


STDIN = "-"  # the config path that reads standard input


def config_source(path: str) -> str:
    """How messages name a config: its path, or ``<stdin>`` for ``-``."""
    return "<stdin>" if path == STDIN else path


def read_config_file(path: str) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    """Read and parse a config file (``-``: standard input) into a raw mapping (not yet validated)."""
    if path == STDIN:
        import sys

        path = config_source(path)
        try:
            text = sys.stdin.buffer.read(1_000_001).decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError("not UTF-8 text", source=path) from None
        except (OSError, ValueError, AttributeError) as e:  # closed or absent
            raise ConfigError(f"cannot read: {e}", source=path) from None
        return _config_text(text, path)
    if not os.path.exists(path):
        raise ConfigError("no such file", source=path)
    if os.path.isdir(path):
        raise ConfigError("is a folder, not a config file", source=path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(1_000_001)
    except UnicodeDecodeError:
        raise ConfigError("not a UTF-8 text file", source=path) from None
    except OSError as e:
        raise ConfigError(f"cannot read: {e.strerror}", source=path) from None
    return _config_text(text, path)


def _config_text(text: str, path: str) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    if len(text) > 1_000_000:
        raise ConfigError("larger than 1 MB; a config this large is refused", source=path)
    data, lines = parse_yaml(text, path)
    if data is None:
        raise ConfigError(
            "the file is empty; a config needs at least 'objective' and 'algorithm'", source=path
        )
    if not isinstance(data, dict):
        raise ConfigError(f"the top level must be a mapping of keys, not {_a(_tname(data))}", source=path)
    return data, lines


def parse_override(text: str) -> tuple[list[str], Any]:
    """``'algorithm.alpha=0.01'`` -> (['algorithm', 'alpha'], 0.01), the value typed by YAML."""
    src = f"override '{text}'"
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError("an override is KEY=VALUE, e.g. algorithm.alpha=0.01", source=src)
    parts = key.split(".")
    if any(not p or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*|\d+", p) for p in parts):
        raise ConfigError(f"'{key}' is not a dotted key like algorithm.alpha", source=src)
    try:
        value, _ = parse_yaml(raw, src) if raw.strip() else (None, {})
    except ConfigError as e:  # a line number inside a one-line override says nothing
        raise ConfigError(e.detail, source=src) from None
    return parts, value
