"""Sweeps: grids of hyperparameters, seeds, algorithms and objectives, run as vectorized batches.

Declaring axes
--------------
In a config, ``sweep:`` maps dotted keys to values::

    sweep:
      seed: {range: [0, 100]}                 # 0, 1, ..., 99 (Python's range; [start, stop, step])
      algorithm.alpha: {logspace: [1.0e-4, 1.0e-1, 7]}   # 7 log-spaced values, ends included
      algorithm.beta2: [0.99, 0.999]          # a plain list
      zip:                                    # paired axes: values move together
        algorithm.beta1: [0.8, 0.9]
        algorithm.beta2: [0.99, 0.999]

``linspace: [a, b, n]`` is also accepted. On the command line ``--sweep KEY=SPEC`` adds an axis
(Hydra's spirit): ``seed=0:100`` or ``seed=range(0,100)``, ``algorithm.alpha=0.001,0.01,0.1``,
``algorithm.alpha=logspace(1e-4,1e-1,7)``, ``linspace(a,b,n)``; values are typed by YAML rules.
The sweep is the product of the axes, first axis slowest.

Running
-------
Members that share algorithm, variant, non-numeric hyperparameters, objective, iteration budget,
stop rules and trace settings form a group; a group runs as batches of at most ``BATCH_MAX``
members, each ONE numpy loop over ``x`` of shape ``(S, d)`` with numeric hyperparameters as
``(S, 1)`` arrays. A single run goes through the same code with S = 1 (its hyperparameters are
``(1, 1)`` arrays), so a member's trace is bit-identical to that member run alone. Batches run in
a process pool (``--workers``) and their results are merged in member order.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .config import RunConfig, _Checker, _tname, apply_override, parse_override, parse_yaml, validate
from .errors import ConfigError

BATCH_MAX = 4096
MAX_MEMBERS = 1_000_000


@dataclass(frozen=True)
class Axis:
    """One sweep axis: one key, or several keys zipped together; ``values[i]`` has one entry per key."""

    keys: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]

    def to_yaml(self) -> dict[str, Any]:
        if len(self.keys) == 1:
            return {self.keys[0]: [v[0] for v in self.values]}
        return {"zip": {k: [v[i] for v in self.values] for i, k in enumerate(self.keys)}}


# --------------------------------------------------------------------------------- grammar


def _range_values(args: list[Any]) -> list[int]:
    if not 1 <= len(args) <= 3 or not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        raise ValueError("range takes 1 to 3 whole numbers: [stop], [start, stop] or [start, stop, step]")
    if len(args) == 3 and args[2] == 0:
        raise ValueError("range step must not be 0")
    return list(range(*args))


def _space_values(kind: str, args: list[Any]) -> list[float]:
    if (len(args) != 3 or not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args)
            or not isinstance(args[2], int) or args[2] < 1):
        raise ValueError(f"{kind} takes [start, stop, count] with a whole count >= 1")
    a, b, n = float(args[0]), float(args[1]), int(args[2])
    if kind == "logspace":
        if a <= 0 or b <= 0:
            raise ValueError("logspace takes positive ends, e.g. [1.0e-4, 1.0e-1, 7]")
        return [float(v) for v in np.geomspace(a, b, n)]
    return [float(v) for v in np.linspace(a, b, n)]


def axis_values(spec: Any) -> list[Any]:
    """Values of one axis spec: a list, or {range|logspace|linspace: [...]}. ValueError when bad."""
    if isinstance(spec, list):
        if not spec:
            raise ValueError("an axis needs at least one value")
        return list(spec)
    if isinstance(spec, dict) and len(spec) == 1:
        (kind, args), = spec.items()
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
    raise ValueError("an axis is a list of values or one of {range: [...]}, {logspace: [...]}, "
                     f"{{linspace: [...]}}, not {spec!r}")


def parse_sweep_block(raw: Any, c: _Checker) -> list[Axis]:
    """Axes of a config's ``sweep:`` block, in declaration order."""
    if not isinstance(raw, dict) or not raw:
        raise c.fail("sweep", f"must be a mapping of dotted keys to values, not a {_tname(raw)}")
    axes = []
    for key, spec in raw.items():
        if key == "zip":
            groups = spec if isinstance(spec, list) else [spec]
            for gi, group in enumerate(groups):
                path = "sweep.zip" if not isinstance(spec, list) else f"sweep.zip.{gi}"
                if not isinstance(group, dict) or len(group) < 1:
                    raise c.fail(path, "must map two or more dotted keys to lists of equal length")
                cols = {}
                for k, v in group.items():
                    try:
                        cols[str(k)] = axis_values(v)
                    except ValueError as e:
                        raise c.fail(f"{path}.{k}", str(e)) from None
                lengths = {len(v) for v in cols.values()}
                if len(lengths) != 1:
                    raise c.fail(path, "zipped axes must have the same number of values, not "
                                       + ", ".join(f"{k}: {len(v)}" for k, v in cols.items()))
                keys = tuple(cols)
                axes.append(Axis(keys, tuple(zip(*(cols[k] for k in keys)))))
            continue
        try:
            vals = axis_values(spec)
        except ValueError as e:
            raise c.fail(f"sweep.{key}", str(e)) from None
        axes.append(Axis((str(key),), tuple((v,) for v in vals)))
    _check_axis_keys(axes, c)
    return axes


def _check_axis_keys(axes: list[Axis], c: _Checker) -> None:
    seen: set[str] = set()
    for ax in axes:
        for k in ax.keys:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_0-9][A-Za-z0-9_]*)*", k):
                raise c.fail("sweep", f"'{k}' is not a dotted key like algorithm.alpha")
            if k in seen:
                raise c.fail(f"sweep.{k}", "is swept twice")
            if k.split(".")[0] in ("sweep", "name"):
                raise c.fail(f"sweep.{k}", "cannot be swept")
            seen.add(k)


_CALL = re.compile(r"^(range|logspace|linspace)\((.*)\)$")


def parse_sweep_option(text: str) -> Axis:
    """One ``--sweep KEY=SPEC`` option (see the module doc for the grammar)."""
    src = f"--sweep '{text}'"
    key, sep, spec = text.partition("=")
    key, spec = key.strip(), spec.strip()
    if not sep or not key or not spec:
        raise ConfigError("a sweep axis is KEY=VALUES, e.g. seed=0:100 or algorithm.alpha=0.001,0.01",
                          source=src)
    parts, _ = parse_override(f"{key}=0")  # validates the dotted key

    def typed(s: str) -> Any:
        v, _ = parse_yaml(s, src)
        return v

    try:
        m = _CALL.match(spec)
        if m:
            args = [typed(a) for a in m.group(2).split(",") if a.strip()]
            vals = axis_values({m.group(1): args})
        elif re.fullmatch(r"-?\d+:-?\d+(:-?\d+)?", spec):
            vals = _range_values([int(a) for a in spec.split(":")])
            if not vals:
                raise ValueError(f"{spec} gives no values")
        else:
            vals = axis_values([typed(a) for a in spec.split(",")])
    except ValueError as e:
        raise ConfigError(str(e), source=src) from None
    return Axis((".".join(parts),), tuple((v,) for v in vals))


# --------------------------------------------------------------------------------- plans


@dataclass
class Plan:
    """What ``optrun run`` will do for one config file: one run, or a sweep of members."""

    source: str
    base: RunConfig
    axes: list[Axis] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    members: list[RunConfig] = field(default_factory=list)

    @property
    def is_sweep(self) -> bool:
        return bool(self.axes)

    def resolved_dict(self) -> dict[str, Any]:
        d = self.base.to_dict()
        if self.axes:
            sweep: dict[str, Any] = {}
            zips = []
            for ax in self.axes:
                y = ax.to_yaml()
                if "zip" in y:
                    zips.append(y["zip"])
                else:
                    sweep.update(y)
            if zips:
                sweep["zip"] = zips if len(zips) > 1 else zips[0]
            d["sweep"] = sweep
        return d


def _accepted_keys(section: str, raw: dict[str, Any]) -> set[str] | None:
    """Keys the named algorithm/objective accepts, or None when it is unknown (validation says so)."""
    name = raw.get("name")
    if not isinstance(name, str):
        return None
    try:
        if section == "algorithm":
            from .optimizers import get_algorithm

            v = get_algorithm(name).variant(raw.get("variant"))
            return {"name", "variant", "schedule"} | {p.name for p in v.params}
        from .objectives import config_keys

        return set(config_keys(name))
    except (KeyError, AttributeError):
        return None


def _assign(data: dict[str, Any], key: str, value: Any, src: str) -> None:
    parts = key.split(".")
    if parts[0] in ("algorithm", "objective") and (len(parts) == 1 or parts[1] == "name"):
        section = parts[0]
        base = data.get(section)
        base = {"name": base} if isinstance(base, str) else dict(base or {})
        new = value if len(parts) == 1 else {**base, "name": value}
        if isinstance(new, str):
            new = {"name": new}
        if isinstance(new, dict):
            # a new algorithm/objective keeps the base's settings it accepts, drops the rest
            merged = {**base, **new} if len(parts) == 1 else new
            if new.get("name") != base.get("name"):
                ok = _accepted_keys(section, merged)
                if ok is not None:
                    merged = {k: v for k, v in merged.items() if k in ok}
                merged.pop("variant", None) if "variant" not in new else None
            data[section] = merged
            return
    apply_override(data, parts, value, src)


def load_plan(path: str, overrides: list[str] | tuple[str, ...] = (),
              sweep_options: list[str] | tuple[str, ...] = ()) -> Plan:
    """Read a config with overrides and ``--sweep`` axes; validate the base and every member."""
    from .config import read_config_file

    data, lines = read_config_file(path)
    data = copy.deepcopy(data)
    overridden: dict[str, str] = {}
    for text in overrides:
        parts, value = parse_override(text)
        apply_override(data, parts, value, f"override '{text}'")
        overridden[".".join(parts)] = f"override '{text}'"
    c = _Checker(path, lines, overridden)
    raw_sweep = data.pop("sweep", None)
    axes = parse_sweep_block(raw_sweep, c) if raw_sweep is not None else []
    for opt in sweep_options:
        ax = parse_sweep_option(opt)
        axes = [a for a in axes if a.keys != ax.keys] + [ax]
        if any(k in ax.keys for a in axes[:-1] for k in a.keys):
            raise ConfigError(f"'{ax.keys[0]}' is already zipped with other keys", source=f"--sweep '{opt}'")
    base = validate(data, path, lines, overridden)
    plan = Plan(path, base, axes)
    if not axes:
        return plan
    n = math.prod(len(a.values) for a in axes)
    if n > MAX_MEMBERS:
        raise ConfigError(f"the sweep has {n:,} members; at most {MAX_MEMBERS:,} are allowed", source=path)
    cache: dict[str, RunConfig] = {}
    for combo in itertools.product(*(a.values for a in axes)):
        assignment = {k: v for a, vals in zip(axes, combo) for k, v in zip(a.keys, vals)}
        plan.assignments.append(assignment)
        seed = assignment.get("seed")
        rest = {k: v for k, v in assignment.items() if k != "seed"}
        ck = repr(sorted(rest.items(), key=lambda kv: kv[0]))
        cfg = cache.get(ck)
        if cfg is None:
            member = copy.deepcopy(data)
            for k, v in rest.items():
                _assign(member, k, v, f"sweep axis '{k}'")
            sweep_src = {k: f"sweep axis {k}={v!r} in {path}" for k, v in rest.items()}
            cfg = validate(member, path, lines, {**overridden, **sweep_src})
            cache[ck] = cfg
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
                raise ConfigError(f"seed values must be whole numbers in [0, 2**32), not {seed!r}",
                                  source=path, path="sweep.seed", line=lines.get(("sweep", "seed")))
            cfg = replace(cfg, seed=seed)
        plan.members.append(cfg)
    return plan


# --------------------------------------------------------------------------------- batches


def batch_key(cfg: RunConfig) -> tuple:
    """Members with equal keys can share one vectorized loop."""
    fixed = tuple(sorted((k, repr(v)) for k, v in cfg.algorithm.params.items()
                         if not _numeric(v)))
    return (cfg.algorithm.name, cfg.algorithm.variant, fixed, cfg.objective.name, cfg.objective.dim,
            repr(sorted(cfg.objective.params.items())), cfg.iterations, cfg.stop, cfg.trace)


def _numeric(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def batch_params(configs: list[RunConfig]) -> dict[str, Any]:
    """The batch's hyperparameters: numeric ones as ``(S, 1)`` float arrays, others as they are.

    Single runs use this too (S = 1), so that a member and the same run alone compute with the
    same numpy operations and agree bit for bit.
    """
    out: dict[str, Any] = {}
    for k, v in configs[0].algorithm.params.items():
        if _numeric(v):
            out[k] = np.array([[float(c.algorithm.params[k])] for c in configs])
        else:
            out[k] = v
    return out


def make_batches(members: list[RunConfig], batch_max: int = BATCH_MAX) -> list[list[int]]:
    """Member indices grouped into batches, in order of each group's first member."""
    groups: dict[tuple, list[int]] = {}
    for i, cfg in enumerate(members):
        groups.setdefault(batch_key(cfg), []).append(i)
    out = []
    for idx in groups.values():
        for j in range(0, len(idx), batch_max):
            out.append(idx[j:j + batch_max])
    return out
