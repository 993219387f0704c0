"""What reading folders needs from the layers above store, handed down by them.

store imports only :mod:`optrun.errors` and its own modules, yet two things it reads are defined
above it: a member selector's values are typed by the config's YAML rules
(``optrun.config.yamlio.parse_yaml``), and a sweep member's config is the member of the sweep's plan
(``optrun.sweep.load_plan``). The package root, ``optrun/__init__.py``, registers both with
:func:`register` when optrun is imported, which is before any of its modules runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: ``parse_value(text, source)``: a value typed by YAML rules; raises ConfigError
ValueParser = Callable[[str, str], Any]
#: ``load_plan(config_path)``: the sweep's plan, with ``assignments`` and ``members`` (``to_dict()``)
PlanLoader = Callable[[str], Any]

_registered: dict[str, Callable[..., Any]] = {}


def register(*, parse_value: ValueParser, load_plan: PlanLoader) -> None:
    """Hand store the YAML typing of selector values and the sweep-plan loader."""
    _registered.update(parse_value=parse_value, load_plan=load_plan)


def _hook(name: str) -> Callable[..., Any]:
    try:
        return _registered[name]
    except KeyError:
        raise RuntimeError(
            f"optrun.store.hooks: no {name} registered (optrun/__init__.py registers it)"
        ) from None


def parse_value(text: str, source: str) -> Any:
    """``text`` typed by the config's YAML rules (``0.01`` a number, ``adam`` a string, ...)."""
    return _hook("parse_value")(text, source)


def load_plan(config_path: str) -> Any:
    """The sweep plan of a sweep folder's ``config.yaml``, every member validated."""
    return _hook("load_plan")(config_path)
