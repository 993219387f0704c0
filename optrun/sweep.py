"""Sweeps: grids of hyperparameters, seeds, algorithms and objectives, run as vectorized batches.

Declaring axes
--------------
In a config, ``sweep:`` maps dotted keys to values::

    sweep:
      seed: {range: [0, 100]}                 # 0, 1, ..., 99 (Python's range; [start, stop, step])
      algorithm.alpha: {logspace: [1.0e-4, 1.0e-1, 7]}   # 7 log-spaced values, ends included
      algorithm.name: [amsgrad, adam]         # a plain list (algorithm and objective swaps too)
      zip:                                    # paired axes: values move together
        algorithm.beta1: [0.8, 0.9]
        algorithm.beta2: [0.99, 0.999]

``linspace: [a, b, n]`` is also accepted; ``zip`` may also be a list of such groups. On the
command line ``--sweep KEY=SPEC`` adds an axis (Hydra's spirit): ``seed=0:100`` (or ``0:100:5``,
``range(0,100)``), ``algorithm.alpha=0.001,0.01,0.1``, ``algorithm.alpha=logspace(1e-4,1e-1,7)``,
``linspace(a,b,n)``, ``start=[0.1,0.2],[0.3,0.4]`` (commas inside brackets do not split); values
are typed by YAML rules. A ``--sweep`` key replaces the config's axis of that key; one key twice
on the command line is an error. The sweep is the product of the axes, first axis slowest; members
are numbered 0, 1, ... in that order.

Swapping ``algorithm.name``, ``algorithm.variant`` or ``objective.name`` (or the whole section
by a plain name) keeps the base's settings the new one accepts, a pinned variant included where
the new algorithm has it, and drops the others, naming them in :attr:`Plan.notes`; so the
tutorial's AMSGrad config can sweep ``algorithm.name: [amsgrad, adam, gd]``. A whole section
given as a mapping replaces the base's. An override of a key that an axis also sets is refused.
Every distinct member config is validated before anything runs; an error names the axis value
(the ``--sweep`` option, or the config's block) that made it.

The resolved ``sweep:`` block written to a sweep folder keeps ``range``/``logspace``/``linspace``
axes in that form and the axis order, so ``optrun run SWEEP/config.yaml`` (and ``optrun resume``)
rebuilds the same members with the same numbers, even for 100,000 seeds.

Running
-------
Members that share algorithm, variant, non-numeric hyperparameters, objective, iteration budget,
stop rules and trace settings form a group; a group runs as near-equal batches of at most
``BATCH_MAX`` members, each ONE numpy loop over ``x`` of shape ``(S, d)`` with numeric
hyperparameters as ``(S, 1)`` arrays. A single run goes through the same code with S = 1 (its
hyperparameters are ``(1, 1)`` arrays), so a member's trace is bit-identical to that member run
alone. Batches run in a process pool (``--workers``) and their results are merged in member
order; the batches, and so the files, do not depend on the number of workers.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import RunConfig, _Checker, validate
from .configio import config_source, parse_override, parse_yaml
from .errors import ConfigError
from .overrides import apply_overrides, assign, drop_note, switch_rank, switches_section
from .text import article
from .text import type_name as _tname

BATCH_MAX = 1024
MAX_MEMBERS = 1_000_000


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


# --------------------------------------------------------------------------------- grammar


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


def parse_sweep_block(raw: Any, c: _Checker) -> list[Axis]:
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


# --------------------------------------------------------------------------------- plans


@dataclass
class Plan:
    """What ``optrun run`` will do for one config file: one run, or a sweep of members."""

    source: str
    base: RunConfig
    axes: list[Axis] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    members: list[RunConfig] = field(default_factory=list)
    notes: list[str] = field(
        default_factory=list
    )  # settings a swap dropped, one line per override or axis value
    #: the config as read, overrides applied, without its sweep block: the members are made from it
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def is_sweep(self) -> bool:
        return bool(self.axes)

    def resolved_dict(self) -> dict[str, Any]:
        """The base config with the ``sweep:`` block that gives the same members in the same order.

        Zip groups are contiguous in the axis order (they all come from the block's one ``zip``
        key; ``--sweep`` adds single keys at the end), so writing ``zip`` where the first group
        was keeps the order, and with it every member's number.
        """
        d = self.base.to_dict()
        # A section an axis swaps is written as it was given, not resolved: the members are made by
        # swapping the given section, so a resolved one would pin the base's defaults (its bounds,
        # dimension and step sizes) on every other objective or algorithm when the folder's config
        # is run again or resumed.
        swapped = {k.split(".")[0] for ax in self.axes for k in ax.keys if switches_section(k)}
        for section in sorted(swapped):
            given = self.raw.get(section)
            d[section] = {"name": given} if isinstance(given, str) else copy.deepcopy(given)
        if "objective" in swapped:
            for key in ("bounds", "start"):
                if key in self.raw:
                    d[key] = copy.deepcopy(self.raw[key])
                else:
                    d.pop(key, None)
        if swapped and "name" not in self.raw:
            d.pop("name", None)  # the default name follows the base's algorithm and objective again
        if self.axes:
            sweep: dict[str, Any] = {}
            zips = [ax.to_yaml()["zip"] for ax in self.axes if len(ax.keys) > 1]
            for ax in self.axes:
                if len(ax.keys) == 1:
                    sweep.update(ax.to_yaml())
                elif "zip" not in sweep:
                    sweep["zip"] = zips if len(zips) > 1 else zips[0]
            d["sweep"] = sweep
        return d


def _conflict(key: str, value: Any, src: str, axes: list[Axis]) -> None:
    """Refuse an override that a sweep axis would overwrite in every member (it would be ignored).
    A section given as a mapping beside an axis over its name is a base, as in a config file: the
    axis swaps the name and keeps what the new one accepts."""
    for ax in axes:
        for a in ax.keys:
            names_only = all(isinstance(v[ax.keys.index(a)], str) for v in ax.values)
            inside = key.startswith(a + ".") and not (a in ("algorithm", "objective") and names_only)
            base = isinstance(value, dict) and set(value) - {"name"}
            renamed = a == key + ".name" and key in ("algorithm", "objective") and not base
            if key == a or inside or renamed:
                by = f"--sweep '{ax.option}'" if ax.option is not None else "the config's sweep block"
                fix = (
                    "give one of the two"
                    if ax.option is not None
                    else f"replace that axis with --sweep {a}=VALUES instead"
                )
                raise ConfigError(
                    f"'{key}' is also set by the sweep axis {a} ({by}), which would override it; {fix}",
                    source=src,
                )


def load_plan(
    path: str, overrides: list[str] | tuple[str, ...] = (), sweep_options: list[str] | tuple[str, ...] = ()
) -> Plan:
    """Read a config with overrides and ``--sweep`` axes; validate the base and every member.

    A ``--sweep`` option replaces the config's axis for the same key; giving one key twice on the
    command line, or a key the config zips with others, is an error. Every distinct member config
    is validated before anything runs; an invalid one is reported with the axis values that made it.
    """
    from .configio import read_config_file

    data, lines = read_config_file(path)
    path = config_source(path)
    data = copy.deepcopy(data)
    notes: list[str] = []
    overridden = apply_overrides(data, overrides, notes)
    c = _Checker(path, lines, overridden)
    raw_sweep = data.pop("sweep", None)
    axes = parse_sweep_block(raw_sweep, c) if raw_sweep is not None else []
    from_options: set[str] = set()
    for opt in sweep_options:
        ax = parse_sweep_option(opt)
        k = ax.keys[0]
        if k in from_options:
            raise ConfigError("is swept twice on the command line", source=f"--sweep '{opt}'", path=k)
        from_options.add(k)
        if any(k in a.keys and len(a.keys) > 1 for a in axes):
            raise ConfigError(
                f"'{k}' is zipped with other keys in the config's sweep block; change it there",
                source=f"--sweep '{opt}'",
            )
        # in the place of the config's axis for the key (the member order stays the config's), or last
        same = [i for i, a in enumerate(axes) if a.keys == ax.keys]
        if same:
            axes[same[0]] = ax
        else:
            axes.append(ax)
    given = {".".join(parts): value for parts, value in map(parse_override, overrides)}
    for key, src in overridden.items():
        _conflict(key, given.get(key), src, axes)
    base = validate(data, path, lines, overridden)
    plan = Plan(path, base, axes, notes=notes, raw=data)
    if not axes:
        gates = base.expect.sweep_gates()
        if gates:
            k = next(iter(gates))
            raise c.fail(
                f"expect.{k}",
                "applies to sweeps only (a sweep: block or --sweep); a single run "
                "is checked by the other expect: keys",
            )
        return plan
    n = math.prod(len(a.values) for a in axes)
    if n > MAX_MEMBERS:
        raise ConfigError(f"the sweep has {n:,} members; at most {MAX_MEMBERS:,} are allowed", source=path)
    cache: dict[str, RunConfig] = {}
    options = {a.keys[0]: a.option for a in axes if a.option is not None}
    seen_notes: set[str] = set()
    for combo in itertools.product(*(a.values for a in axes)):
        assignment = {k: v for a, vals in zip(axes, combo) for k, v in zip(a.keys, vals)}
        plan.assignments.append(assignment)
        seed = assignment.get("seed")
        # algorithm/objective swaps first, so that their hyperparameter axes apply to the new one
        rest = sorted(
            ((k, v) for k, v in assignment.items() if k != "seed"), key=lambda kv: switch_rank(kv[0])
        )
        ck = repr(rest)
        cfg = cache.get(ck)
        if cfg is None:
            member = copy.deepcopy(data)
            sweep_src, swapped = {}, {}
            for k, v in rest:
                where = (
                    f"--sweep '{options[k]}' ({k}={v!r})"
                    if k in options
                    else f"sweep axis {k}={v!r} in {path}"
                )
                dropped = assign(member, k, v, where)
                # a setting another axis of this member sets again is not lost
                dropped = {d: dv for d, dv in dropped.items() if d not in assignment}
                if dropped:
                    note = drop_note(where, dropped, member.get(k.split(".")[0]))
                    if note not in seen_notes:
                        seen_notes.add(note)
                        plan.notes.append(note)
                sweep_src[k] = where
                if switches_section(k):  # other errors in a swapped section come from this axis
                    swapped.setdefault(k.split(".")[0], where)
            cfg = validate(member, path, lines, {**overridden, **sweep_src, **swapped})
            cache[ck] = cfg
        if seed is not None:
            cfg = cfg.with_seed(seed)
        plan.members.append(cfg)
    return plan


# --------------------------------------------------------------------------------- gates


def sweep_gate(expect: Any, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The sweep-level ``expect:`` gates over the member rows, or None when none is set.

    ``success_rate_min``: the share of members that passed, i.e. ended with the expected status
    (``expect.status``, else completed) and met every per-member rule, must be at least this.
    ``f_gap_median_max``: the median over all members of their final f - f* must be at most this;
    a member without a finite f - f* (failed, diverged, not run) counts as +inf.
    """
    gates = expect.sweep_gates()
    if not gates:
        return None
    n = len(rows)
    out: dict[str, Any] = {**gates, "members": n}
    ok = True
    if expect.success_rate_min is not None:
        want = expect.status or "completed"
        passed = sum(1 for r in rows if r.get("status") == want and r.get("expect_passed") is True)
        rate = passed / n if n else 0.0
        out.update(members_passed=passed, success_rate=rate)
        out["passed_success_rate"] = rate >= expect.success_rate_min
        ok = ok and out["passed_success_rate"]
    if expect.f_gap_median_max is not None:
        gaps = sorted(
            g if isinstance(g, (int, float)) and math.isfinite(g) else math.inf
            for g in (r.get("f_gap") for r in rows)
        )
        med = (gaps[(n - 1) // 2] + gaps[n // 2]) / 2 if n else math.inf
        out["f_gap_median"] = med if math.isfinite(med) else None
        out["passed_f_gap_median"] = med <= expect.f_gap_median_max
        ok = ok and out["passed_f_gap_median"]
    out["passed"] = ok
    return out


# --------------------------------------------------------------------------------- batches


def batch_key(cfg: RunConfig) -> tuple:
    """Members with equal keys can share one vectorized loop."""
    fixed = tuple(sorted((k, repr(v)) for k, v in cfg.algorithm.params.items() if not _numeric(v)))
    return (
        cfg.algorithm.name,
        cfg.algorithm.variant,
        fixed,
        cfg.objective.name,
        cfg.objective.dim,
        repr(sorted(cfg.objective.params.items())),
        cfg.iterations,
        cfg.stop,
        cfg.trace,
        cfg.backend,
    )


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
    """Member indices grouped into batches, in order of each group's first member.

    A group of n members runs as ceil(n / batch_max) batches of near-equal size (10,000 members:
    ten batches of 1,000), so that a process pool shares the work evenly. The batches depend only
    on the members, never on the number of workers: a sweep's files are the same with any --workers.
    """
    groups: dict[tuple, list[int]] = {}
    # members that differ only in scalars (seed, start) share their section objects: their key
    # is computed once (the members are alive throughout, so the ids stay theirs)
    keys: dict[tuple, tuple] = {}
    for i, cfg in enumerate(members):
        ids = (id(cfg.algorithm), id(cfg.objective), id(cfg.stop), id(cfg.trace), cfg.iterations, cfg.backend)
        key = keys.get(ids)
        if key is None:
            key = keys[ids] = batch_key(cfg)
        groups.setdefault(key, []).append(i)
    out = []
    for idx in groups.values():
        k = -(-len(idx) // batch_max)
        q, r = divmod(len(idx), k)
        j = 0
        for b in range(k):
            size = q + (b < r)
            out.append(idx[j : j + size])
            j += size
    return out
