"""Sweep axes: the grammar of a config's ``sweep:`` block and of ``--sweep KEY=SPEC`` options.

An :class:`Axis` is one key, or several zipped keys, with its values; the ``range``, ``logspace``
and ``linspace`` generators are kept in the form they were given, so that the resolved config
rebuilds the very same values (see :mod:`optrun.sweep` for the grammar).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config.checker import Checker
from ..config.yamlio import parse_yaml
from ..errors import ConfigError
from ..text import article
from ..text import type_name as _tname


@dataclass(frozen=True)
class Axis:
    """One sweep axis: one key, or several keys zipped together; ``values[i]`` has one entry per key.

    ``specs[i]`` is the ``{range|logspace|linspace: [...]}`` key i was given as (None for a list):
    the resolved config writes it back in that form, so that a sweep over 100,000 seeds keeps a
    one-line, re-readable ``config.yaml`` whose axis gives the very same values.
    """

    keys: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]
    specs: tuple[Any, ...] = field(default=(), compare=False)
    option: str | None = field(default=None, compare=False)  # the --sweep text it came from, if any

    def spec(self, i: int) -> Any:
        if self.specs and self.specs[i] is not None:
            return copy.deepcopy(self.specs[i])
        return [v[i] for v in self.values]

    def to_yaml(self) -> dict[str, Any]:
        if len(self.keys) == 1:
            return {self.keys[0]: self.spec(0)}
        return {"zip": {k: self.spec(i) for i, k in enumerate(self.keys)}}


def _range_values(args: list[Any]) -> list[int]:
    if not 1 <= len(args) <= 3 or not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        raise ValueError("range takes 1 to 3 whole numbers: [stop], [start, stop] or [start, stop, step]")
    if len(args) == 3 and args[2] == 0:
        raise ValueError("range step must not be 0")
    return list(range(*args))


def _space_values(kind: str, args: list[Any]) -> list[float]:
    if (
        len(args) != 3
        or not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args)
        or not isinstance(args[2], int)
        or args[2] < 1
    ):
        raise ValueError(f"{kind} takes [start, stop, count] with a whole count >= 1")
    a, b, n = float(args[0]), float(args[1]), int(args[2])
    if kind == "logspace":
        if a <= 0 or b <= 0:
            raise ValueError(
                "logspace takes positive ends, the values themselves (not numpy's exponents): "
                "1e-4 to 1e-1 in 7 values is logspace(1e-4,1e-1,7), or {logspace: [1.0e-4, 1.0e-1, 7]} "
                "in a config"
            )
        return [float(v) for v in np.geomspace(a, b, n)]
    return [float(v) for v in np.linspace(a, b, n)]


def axis_values(spec: Any) -> list[Any]:
    """Values of one axis spec: a list, or {range|logspace|linspace: [...]}. ValueError when bad."""
    if isinstance(spec, list):
        if not spec:
            raise ValueError("an axis needs at least one value")
        return list(spec)
    if isinstance(spec, dict) and len(spec) == 1:
        ((kind, args),) = spec.items()
        if not isinstance(args, list):
            raise ValueError(f"{kind} takes a list, e.g. {{{kind}: [0, 10]}}")
        if kind == "range":
            vals = _range_values(args)
        elif kind in ("logspace", "linspace"):
            vals = _space_values(kind, args)
        else:
            raise ValueError(f"unknown axis kind '{kind}'; use a list, range, logspace or linspace")
        if not vals:
            raise ValueError(f"{kind} {args} gives no values")
        return vals
    raise ValueError(
        "an axis is a list of values or one of {range: [...]}, {logspace: [...]}, "
        f"{{linspace: [...]}}, not {spec!r}"
    )


def _generator(spec: Any) -> Any:
    """A valid ``{range|logspace|linspace: [...]}`` spec as plain data, None for a list."""
    if isinstance(spec, dict):
        ((kind, args),) = spec.items()
        return {kind: list(args)}
    return None


def parse_sweep_block(raw: Any, c: Checker) -> list[Axis]:
    """Axes of a config's ``sweep:`` block, in declaration order."""
    if not isinstance(raw, dict):
        raise c.fail("sweep", f"must be a mapping of dotted keys to values, not {article(_tname(raw))}")
    if not raw:
        raise c.fail("sweep", "is empty: give at least one axis, e.g. 'sweep: {seed: {range: [0, 10]}}'")
    axes = []
    for key, spec in raw.items():
        if key == "zip":
            groups = spec if isinstance(spec, list) else [spec]
            for gi, group in enumerate(groups):
                path = "sweep.zip" if not isinstance(spec, list) else f"sweep.zip.{gi}"
                if not isinstance(group, dict) or not group:
                    raise c.fail(
                        path,
                        "must map dotted keys to lists of equal length, "
                        "e.g. {algorithm.beta1: [0.8, 0.9], algorithm.beta2: [0.99, 0.999]}",
                    )
                cols = {}
                for k, v in group.items():
                    try:
                        cols[str(k)] = axis_values(v)
                    except ValueError as e:
                        raise c.fail(f"{path}.{k}", str(e)) from None
                lengths = {len(v) for v in cols.values()}
                if len(lengths) != 1:
                    raise c.fail(
                        path,
                        "zipped axes must have the same number of values, not "
                        + ", ".join(f"{k}: {len(v)}" for k, v in cols.items()),
                    )
                keys = tuple(cols)
                axes.append(
                    Axis(
                        keys, tuple(zip(*(cols[k] for k in keys))), tuple(_generator(group[k]) for k in keys)
                    )
                )
            continue
        try:
            vals = axis_values(spec)
        except ValueError as e:
            raise c.fail(f"sweep.{key}", str(e)) from None
        axes.append(Axis((str(key),), tuple((v,) for v in vals), (_generator(spec),)))
    seen: set[str] = set()
    for ax in axes:
        for k in ax.keys:
            if not _KEY.fullmatch(k):
                raise c.fail("sweep", f"'{k}' is not a dotted key like algorithm.alpha")
            if k in seen:
                raise c.fail(f"sweep.{k}", "is swept twice")
            seen.add(k)
            problem = _key_problem(k) or _seed_problem(k, ax)
            if problem:
                raise c.fail(f"sweep.{k}", problem)
    return axes


_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_0-9][A-Za-z0-9_]*)*")


def _key_problem(key: str) -> str | None:
    if key.split(".")[0] in ("sweep", "name"):
        return "cannot be swept (the sweep's name labels its folder)" if key == "name" else "cannot be swept"
    if key in ("expect", "expect.success_rate_min", "expect.f_gap_median_max"):
        return "cannot be swept (a sweep's gates hold for all its members)"
    return None


def _seed_problem(key: str, ax: Axis) -> str | None:
    """Seeds bypass member validation (members differing only by seed share one config)."""
    if key != "seed":
        return None
    i = ax.keys.index("seed")
    for v in ax.values:
        seed = v[i]
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
            return f"seed values must be whole numbers in [0, 2**32), not {seed!r}"
    return None


def _split_top(text: str) -> list[str]:
    """Split at commas outside brackets, braces and quotes: 'a,[1,2],b' -> ['a', '[1,2]', 'b']."""
    out, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur))
    return out


_CALL = re.compile(r"^(range|logspace|linspace)\((.*)\)$")
SWEEP_FORMS = (
    "KEY=a,b,c, KEY=START:STOP[:STEP], KEY=range(START,STOP[,STEP]), "
    "KEY=logspace(a,b,n) or KEY=linspace(a,b,n)"
)


def parse_sweep_option(text: str) -> Axis:
    """One ``--sweep KEY=SPEC`` option (see the module doc for the grammar).

    Errors name the option itself (``--sweep 'X'``) as their source, not the config file, and a
    malformed spec lists the accepted forms."""
    src = f"--sweep '{text}'"

    def bad(message: str) -> ConfigError:
        return ConfigError(f"{message} (accepted: {SWEEP_FORMS})", source=src)

    key, sep, spec = text.partition("=")
    key, spec = key.strip(), spec.strip()
    if not sep or not key or not spec:
        raise bad("a sweep axis is KEY=VALUES, e.g. seed=0:100 or algorithm.alpha=0.001,0.01")
    if not _KEY.fullmatch(key):
        raise bad(f"'{key}' is not a dotted key like algorithm.alpha")
    if _key_problem(key):
        raise ConfigError(_key_problem(key), source=src, path=key)
    parts = key.split(".")

    def typed(s: str) -> Any:
        try:
            v, _ = parse_yaml(s, src)
        except ConfigError as e:  # a line number inside a one-line option says nothing
            raise ConfigError(e.detail, source=src) from None
        return v

    generator = None
    try:
        m = _CALL.match(spec)
        if m:
            generator = {m.group(1): [typed(a) for a in m.group(2).split(",") if a.strip()]}
            vals = axis_values(generator)
        elif re.fullmatch(r"-?\d+:-?\d+(:-?\d+)?", spec):
            generator = {"range": [int(a) for a in spec.split(":")]}
            vals = _range_values(generator["range"])
            if not vals:
                raise ValueError(f"{spec} gives no values")
        elif re.fullmatch(r"[-+0-9.eE]*:[-+0-9.eE:]*", spec):
            raise ValueError(f"'{spec}' is not START:STOP[:STEP] with whole numbers")
        elif re.fullmatch(r"[A-Za-z_]\w*\(.*\)", spec):
            raise ValueError(f"'{spec.partition('(')[0]}(...)' is not a sweep generator")
        else:
            vals = axis_values([typed(a) for a in _split_top(spec)])
    except ValueError as e:
        raise bad(str(e)) from None
    axis = Axis((".".join(parts),), tuple((v,) for v in vals), (generator,), option=text)
    problem = _seed_problem(axis.keys[0], axis)
    if problem:
        raise ConfigError(problem, source=src)
    return axis
