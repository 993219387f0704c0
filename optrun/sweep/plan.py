"""Plans: what ``optrun run`` will do for one config file, a single run or a sweep's members.

:func:`load_plan` reads the config with its overrides and ``--sweep`` axes, refuses an override
that an axis would overwrite, and validates the base and every distinct member before anything
runs; an invalid member is reported with the axis values that made it.
"""

from __future__ import annotations

import copy
import gc
import itertools
import math
import os
from dataclasses import dataclass, field
from typing import Any

from ..config.load import RawConfig, read_raw
from ..config.model import RunConfig
from ..config.overrides import assign, drop_note, switch_rank, switches_section
from ..config.validate import refuse_sweep_gates, validate
from ..errors import ConfigError
from .axes import Axis, parse_sweep_block, parse_sweep_option

MAX_MEMBERS = 1_000_000


@dataclass
class Plan:
    """What ``optrun run`` will do for one config file: one run, or a sweep of members."""

    source: str
    base: RunConfig
    axes: list[Axis] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    members: list[RunConfig] = field(default_factory=list)
    #: settings a swap dropped, one line per override or axis value
    notes: list[str] = field(default_factory=list)
    #: the config as read, overrides applied, without its sweep block: the members are made from it
    raw: dict[str, Any] = field(default_factory=dict)
    #: the distinct validated configs, and which one each member is (with its own seed)
    bases: list[RunConfig] = field(default_factory=list)
    base_of: list[int] = field(default_factory=list)

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
        keys = [k for ax in self.axes for k in ax.keys]
        learning = "data" in self.base.objective.params
        if learning and any(k.startswith("objective.") for k in keys):
            # a learning objective's dimension and zero start come from its data (data, target,
            # intercept, test): an axis over its keys must not pin the base's on every member
            swapped.add("objective")
        if learning and any(k.startswith("objective.") or k == "iterations" for k in keys):
            # nor its default trace.every (an epoch: data, test, batch_size and iterations decide it)
            given = self.raw.get("trace")
            if not isinstance(given, dict) or "every" not in given:
                d["trace"].pop("every", None)
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
        if learning:  # data files as given are relative to the config's folder, not the sweep's
            _absolute_data_files(d, os.path.dirname(os.path.abspath(self.source)))
        return d


DATA_FILE_KEYS = ("data", "test")


def _absolute_data_files(d: dict[str, Any], base: str) -> None:
    """Make the data file names of a learning objective's section, and of axes over them,
    absolute from ``base`` in the resolved dict ``d`` (in place)."""

    def absolute(v: Any) -> Any:
        return os.path.normpath(os.path.join(base, v)) if isinstance(v, str) else v

    obj = d.get("objective")
    if isinstance(obj, dict):
        for key in DATA_FILE_KEYS:
            if key in obj:
                obj[key] = absolute(obj[key])
    blocks = [d.get("sweep", {})]
    zips = blocks[0].get("zip")
    blocks += zips if isinstance(zips, list) else [zips] if isinstance(zips, dict) else []
    for block in blocks:
        for key in DATA_FILE_KEYS:
            values = block.get(f"objective.{key}")
            if isinstance(values, list):
                block[f"objective.{key}"] = [absolute(v) for v in values]


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
    raw = read_raw(path, overrides)
    c = raw.checker()
    raw_sweep = raw.data.pop("sweep", None)
    axes = parse_sweep_block(raw_sweep, c) if raw_sweep is not None else []
    add_sweep_options(axes, sweep_options)
    for key, src in raw.overridden.items():
        _conflict(key, raw.given.get(key), src, axes)
    base = validate(raw.data, raw.source, raw.lines, raw.overridden)
    plan = Plan(raw.source, base, axes, notes=raw.notes, raw=raw.data)
    if not axes:
        refuse_sweep_gates(base, c)
        return plan
    n = math.prod(len(a.values) for a in axes)
    if n > MAX_MEMBERS:
        raise ConfigError(
            f"the sweep has {n:,} members; at most {MAX_MEMBERS:,} are allowed", source=raw.source
        )
    collecting = gc.isenabled()
    gc.disable()  # a member adds a few objects, none of them garbage: no collection pass over them
    try:
        _add_members(plan, raw)
    finally:
        if collecting:
            gc.enable()
    return plan


def add_sweep_options(axes: list[Axis], sweep_options: list[str] | tuple[str, ...]) -> None:
    """Add the ``--sweep`` axes to the config's, in place: an option takes the place of the
    config's axis for the same key (so the member order stays the config's), others go last."""
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
        same = [i for i, a in enumerate(axes) if a.keys == ax.keys]
        if same:
            axes[same[0]] = ax
        else:
            axes.append(ax)


def _add_members(plan: Plan, raw: RawConfig) -> None:
    """The members of the product of the plan's axes, first axis slowest. Members that differ only
    by seed share one validated config (``with_seed``), so 100,000 seeds validate once: the config
    is found by the positions of the member's values on the axes other than a seed axis (then by
    the values themselves, so equal values on two positions share one config too)."""
    cache: dict[str, int] = {}  # the sorted, repr'd assignment of a config: its place in plan.bases
    options = {a.keys[0]: a.option for a in plan.axes if a.option is not None}
    seen_notes: set[str] = set()
    axes = plan.axes
    keys = [k for a in axes for k in a.keys]
    others = [j for j, a in enumerate(axes) if tuple(a.keys) != ("seed",)]
    by_position: dict[tuple, int] = {}
    chain = itertools.chain.from_iterable
    for at in itertools.product(*(range(len(a.values)) for a in axes)):
        assignment = dict(zip(keys, chain([a.values[i] for a, i in zip(axes, at)])))
        plan.assignments.append(assignment)
        where = tuple([at[j] for j in others])
        b = by_position.get(where)
        if b is None:
            # algorithm/objective swaps first, so that their hyperparameter axes apply to the new one
            rest = sorted(
                ((k, v) for k, v in assignment.items() if k != "seed"), key=lambda kv: switch_rank(kv[0])
            )
            ck = repr(rest)
            b = cache.get(ck)
            if b is None:
                b = cache[ck] = len(plan.bases)
                plan.bases.append(_member(plan, raw, rest, assignment, options, seen_notes))
            by_position[where] = b
        plan.base_of.append(b)
        cfg = plan.bases[b]
        seed = assignment.get("seed")
        if seed is not None:
            cfg = cfg.with_seed(seed)
        plan.members.append(cfg)


def _member(
    plan: Plan,
    raw: RawConfig,
    rest: list[tuple[str, Any]],
    assignment: dict[str, Any],
    options: dict[str, str],
    seen_notes: set[str],
) -> RunConfig:
    """One member validated: the base's raw data with the axis values ``rest`` assigned, in order.
    A note for the settings a swap dropped goes to the plan once; an error names the axis value."""
    member = copy.deepcopy(raw.data)
    sweep_src, swapped = {}, {}
    for k, v in rest:
        where = (
            f"--sweep '{options[k]}' ({k}={v!r})" if k in options else f"sweep axis {k}={v!r} in {raw.source}"
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
    return validate(member, raw.source, raw.lines, {**raw.overridden, **sweep_src, **swapped})
