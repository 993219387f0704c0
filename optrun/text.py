"""Small helpers for the words of printed messages: counts with the right noun, and articles.

``plural(1, "iteration")`` is ``"1 iteration"``, ``plural(3000, "member")`` is ``"3,000 members"``
(the thousands separator every printed count uses); ``article("integer")`` is ``"an integer"``.
Import-light: the CLI uses them before numpy is loaded.
"""

from __future__ import annotations

_IRREGULAR = {"batch": "batches", "axis": "axes", "minimum": "minima", "process": "processes"}


def plural(n: float, noun: str, many: str | None = None) -> str:
    """``n`` with thousands separators and ``noun`` in the singular for exactly one, else ``many``
    (default: the noun's regular plural)."""
    count = f"{n:,.0f}" if isinstance(n, float) and n.is_integer() else f"{n:,}"
    if n == 1:
        return f"{count} {noun}"
    return f"{count} {many or _IRREGULAR.get(noun) or noun + 's'}"


def article(noun: str) -> str:
    """``noun`` with "a" or "an" (by its first letter: "an integer", "a mapping", "a null")."""
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


def flow(value) -> str:
    """A config value as YAML's flow style writes it, for one-line labels (``seed=3``,
    ``objective={name: rosenbrock, dim: 10}``, ``eps=null``), not Python's repr."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return str(value)


def type_name(v) -> str:
    """The YAML word for a value's type (mapping, list, string, boolean, integer, number, null)."""
    return {
        dict: "mapping",
        list: "list",
        str: "string",
        bool: "boolean",
        int: "integer",
        float: "number",
        type(None): "null",
    }.get(type(v), type(v).__name__)
