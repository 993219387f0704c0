"""The config model: frozen dataclasses of a fully resolved run, and the schema's key lists.

:meth:`RunConfig.to_dict` is the resolved form written to a run folder's ``config.yaml``, which
reruns the run bit for bit; the schema is documented in the README ("Config format").
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .yamlio import dump_yaml

TOP_KEYS = (
    "name",
    "objective",
    "bounds",
    "constraint",
    "start",
    "algorithm",
    "iterations",
    "seed",
    "rng",
    "backend",
    "stop",
    "expect",
    "trace",
    "sweep",
)
STOP_KEYS = ("f_target", "grad_norm")
EXPECT_KEYS = ("status", "f_final_max", "f_best_max", "f_gap_max", "grad_norm_max", "distance_max")
SWEEP_EXPECT_KEYS = ("success_rate_min", "f_gap_median_max")  # gates over a sweep's members
ONLINE_EXPECT_KEYS = ("avg_regret_max",)  # online objectives: written to config.yaml only when set
TRACE_KEYS = ("every", "log_per_decade", "x", "checkpoint_s", "formats")
TRACE_FORMATS = ("csv", "jsonl")  # the trace files a run can write: trace.csv, trace.jsonl
RNG_MODES = ("generator", "legacy")
CONSTRAINTS = ("none", "box")  # box: x is projected onto the bounds after every step (a clip)
BACKENDS = ("auto", "numpy", "numba")  # optrun.backends: how the built-in kernels are computed
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEFAULT_ITERATIONS = 100


@dataclass(frozen=True)
class AlgorithmConfig:
    name: str
    variant: str
    params: dict[str, Any]


@dataclass(frozen=True)
class ObjectiveConfig:
    name: str
    dim: int
    params: dict[str, Any]
    #: gradient noise, resolved (``optrun.objectives.rounds.validate_noise``); None: exact gradients
    noise: dict[str, Any] | None = None


@dataclass(frozen=True)
class StopConfig:
    f_target: float | None = None
    grad_norm: float | None = None


@dataclass(frozen=True)
class ExpectConfig:
    status: str | None = None
    f_final_max: float | None = None
    f_best_max: float | None = None
    f_gap_max: float | None = None
    grad_norm_max: float | None = None
    distance_max: float | None = None
    success_rate_min: float | None = None  # sweeps only: share of members that meet the rules above
    f_gap_median_max: float | None = None  # sweeps only: median over the members of final f - f*
    avg_regret_max: float | None = None  # online objectives: final R_T / T

    def active(self) -> dict[str, Any]:
        """The per-member rules that are set (what each run or member is checked against)."""
        keys = EXPECT_KEYS + ONLINE_EXPECT_KEYS
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}

    def sweep_gates(self) -> dict[str, Any]:
        """The sweep-level gates that are set."""
        return {k: getattr(self, k) for k in SWEEP_EXPECT_KEYS if getattr(self, k) is not None}


@dataclass(frozen=True)
class TraceConfig:
    every: int = 1
    x: str | int = "auto"  # auto | all | none | N (the first N coordinates)
    checkpoint_s: float | None = 10.0  # seconds between checkpoints (for optrun resume); null: off
    log_per_decade: int | None = None  # N log-spaced rows per decade + first target crossings; null: off
    formats: tuple[str, ...] = TRACE_FORMATS  # which of trace.csv, trace.jsonl a run writes (sweeps: CSV)

    def x_columns(self, dim: int) -> int:
        """How many x coordinates the trace files carry."""
        if self.x == "all":
            return dim
        if self.x == "none":
            return 0
        if self.x == "auto":
            return dim if dim <= 32 else 0
        return min(int(self.x), dim)


@dataclass(frozen=True)
class RunConfig:
    """A fully resolved run: every default filled in."""

    name: str
    objective: ObjectiveConfig
    bounds: Bounds  # one (low, high) pair per dimension; UniformBounds when they are all one pair
    start: str | tuple[float, ...]
    algorithm: AlgorithmConfig
    iterations: int
    seed: int
    rng: str
    stop: StopConfig = field(default_factory=StopConfig)
    expect: ExpectConfig = field(default_factory=ExpectConfig)
    trace: TraceConfig = field(default_factory=TraceConfig)
    source: str = "<config>"
    backend: str = "auto"  # auto | numpy | numba (optrun.backends); results are the same bits
    constraint: str = "none"  # none | box (CONSTRAINTS)

    @property
    def dim(self) -> int:
        return self.objective.dim

    def with_seed(self, seed: int) -> RunConfig:
        """This config with another seed, sharing every section object (the same as
        ``dataclasses.replace(self, seed=seed)``, which a 100,000-member seed sweep feels)."""
        new = object.__new__(RunConfig)
        new.__dict__.update(self.__dict__, seed=seed)
        return new

    def with_source(self, source: str) -> RunConfig:
        """This config read from ``source`` (an absolute path, for a process elsewhere whose
        working folder differs), sharing every section object."""
        new = object.__new__(RunConfig)
        new.__dict__.update(self.__dict__, source=source)
        return new

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain YAML-ready data, in the documented key order."""
        return {
            "name": self.name,
            "objective": {
                "name": self.objective.name,
                "dim": self.objective.dim,
                **self.objective.params,
                **({"noise": self.objective.noise} if self.objective.noise else {}),
            },
            # one pair when every dimension shares it: a d = 1e6 config stays small and re-readable
            "bounds": (
                list(self.bounds[0])
                if len(self.bounds) > 1 and uniform_bounds(self.bounds)
                else [list(b) for b in self.bounds]
            ),
            "constraint": self.constraint,
            "start": self.start if isinstance(self.start, str) else list(self.start),
            "algorithm": {
                "name": self.algorithm.name,
                "variant": self.algorithm.variant,
                **self.algorithm.params,
            },
            "iterations": self.iterations,
            "seed": self.seed,
            "rng": self.rng,
            "backend": self.backend,
            "stop": {k: getattr(self.stop, k) for k in STOP_KEYS},
            "expect": {
                **{k: getattr(self.expect, k) for k in EXPECT_KEYS},
                **{k: v for k in ONLINE_EXPECT_KEYS if (v := getattr(self.expect, k)) is not None},
                **self.expect.sweep_gates(),
            },
            "trace": {
                "every": self.trace.every,
                "log_per_decade": self.trace.log_per_decade,
                "x": self.trace.x,
                "checkpoint_s": self.trace.checkpoint_s,
                "formats": list(self.trace.formats),
            },
        }

    def to_yaml(self) -> str:
        return dump_yaml(self.to_dict())


class UniformBounds(Sequence):
    """``n`` dimensions sharing one ``(low, high)`` pair: a read-only sequence that behaves as the
    tuple ``(pair,) * n`` (indexing, iteration, ``len``, equality and hash with that tuple) without
    holding ``n`` references (80 MB at d = 1e7) or scanning them to learn they are all one pair."""

    __slots__ = ("_hash", "n", "pair")

    def __init__(self, pair: tuple[float, float], n: int):
        self.pair, self.n, self._hash = tuple(pair), int(n), None

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return UniformBounds(self.pair, len(range(*i.indices(self.n))))
        if not -self.n <= i < self.n:
            raise IndexError("bounds index out of range")
        return self.pair

    def __iter__(self):
        return itertools.repeat(self.pair, self.n)

    def count(self, value: Any) -> int:
        return self.n if value == self.pair else 0

    def __eq__(self, other: object) -> bool:
        if isinstance(other, UniformBounds):
            return self.n == other.n and (self.n == 0 or self.pair == other.pair)
        if isinstance(other, tuple):
            return len(other) == self.n and other.count(self.pair) == self.n
        return NotImplemented

    def __hash__(self) -> int:  # the tuple's: equal objects hash alike (computed once, when asked)
        if self._hash is None:
            self._hash = hash(tuple(self))
        return self._hash

    def __repr__(self) -> str:
        return f"(({self.pair!r},) * {self.n})"

    def __reduce__(self):
        return UniformBounds, (self.pair, self.n)


Bounds = tuple[tuple[float, float], ...] | UniformBounds


def uniform_bounds(bounds: Bounds) -> bool:
    """Do all dimensions share one [low, high] pair? Immediate for :class:`UniformBounds` (what the
    loader builds when they do); fast (identity comparisons) for a tuple of shared pair objects."""
    if isinstance(bounds, UniformBounds):
        return bounds.n > 0
    return bool(bounds) and bounds.count(bounds[0]) == len(bounds)


def start_outside_bounds(config: RunConfig) -> str | None:
    """A one-line note when an explicit start point lies outside the config's bounds (allowed:
    bounds only shape random starts and plots; the optimization is unconstrained), else None."""
    if not isinstance(config.start, tuple):
        return None
    for i, (v, (lo, hi)) in enumerate(zip(config.start, config.bounds)):
        if not lo <= v <= hi:
            return (
                f"the start point lies outside the bounds (x{i} = {v:g}, bounds [{lo:g}, {hi:g}]); "
                "bounds only shape random starts and plots, the run is not confined to them"
            )
    return None
