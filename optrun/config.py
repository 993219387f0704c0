"""Config files: YAML in, a validated, fully resolved :class:`RunConfig` out.

The text is read by :mod:`optrun.configio` (safe YAML by the 1.2 rules, a line for every key)
and overrides are applied by :mod:`optrun.overrides`; this module holds the model and validates it.
Every key and value is checked before any work starts; unknown keys are refused
with the nearest valid name suggested. Every error names the file, the dotted key path and, where
known, the line (:class:`~optrun.errors.ConfigError`). ``KEY=VALUE`` overrides are typed by YAML
rules and validated by the same code, with the override itself named as the source.

The schema is documented in the README ("Config format"); :meth:`RunConfig.to_dict` is the
resolved form written to a run folder's ``config.yaml``, which reruns the run bit for bit.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from typing import Any

from .configio import (  # noqa: F401 - the YAML reading, also reached as optrun.config.<name>
    MAX_NODES,
    STDIN,
    config_source,
    dump_yaml,
    parse_override,
    parse_yaml,
    read_config_file,
)
from .errors import ConfigError
from .params import Param, yaml_repr
from .text import article as _a
from .text import type_name as _tname

TOP_KEYS = (
    "name",
    "objective",
    "bounds",
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
TRACE_KEYS = ("every", "log_per_decade", "x", "checkpoint_s", "formats")
TRACE_FORMATS = ("csv", "jsonl")  # the trace files a run can write: trace.csv, trace.jsonl
RNG_MODES = ("generator", "legacy")
BACKENDS = ("auto", "numpy", "numba")  # optrun.backends: how the built-in kernels are computed
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEFAULT_ITERATIONS = 100


# ------------------------------------------------------------------------------------ model


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

    def active(self) -> dict[str, Any]:
        """The per-member rules that are set (what each run or member is checked against)."""
        return {k: getattr(self, k) for k in EXPECT_KEYS if getattr(self, k) is not None}

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
    bounds: tuple[tuple[float, float], ...]
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

    @property
    def dim(self) -> int:
        return self.objective.dim

    def with_seed(self, seed: int) -> RunConfig:
        """This config with another seed, sharing every section object (the same as
        ``dataclasses.replace(self, seed=seed)``, which a 100,000-member seed sweep feels)."""
        new = object.__new__(RunConfig)
        new.__dict__.update(self.__dict__, seed=seed)
        return new

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain YAML-ready data, in the documented key order."""
        return {
            "name": self.name,
            "objective": {"name": self.objective.name, "dim": self.objective.dim, **self.objective.params},
            # one pair when every dimension shares it: a d = 1e6 config stays small and re-readable
            "bounds": (
                list(self.bounds[0])
                if len(self.bounds) > 1 and uniform_bounds(self.bounds)
                else [list(b) for b in self.bounds]
            ),
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
            "expect": {**{k: getattr(self.expect, k) for k in EXPECT_KEYS}, **self.expect.sweep_gates()},
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


# ------------------------------------------------------------------------------------ validation


def _short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters so that an error stays one readable line."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f" ({len(value)} characters)" if isinstance(value, str) else ""
    return f"{text[: limit - 4]}...{text[-1]}{size}"


def suggest(name: str, valid: list[str] | tuple[str, ...]) -> str:
    import difflib  # only when a name is wrong

    close = difflib.get_close_matches(str(name), list(valid), n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else f"; valid keys: {', '.join(valid)}"


class _Checker:
    """Raises ConfigError with source, key path and line for a given dotted path."""

    def __init__(self, source: str, lines: dict[tuple[str, ...], int], overridden: dict[str, str]):
        self.source, self.lines, self.overridden = source, lines, overridden

    def fail(self, path: str, message: str) -> ConfigError:
        for key, src in self.overridden.items():
            if path == key or path.startswith(key + "."):
                return ConfigError(message, source=src, path=path)
        for key, src in self.overridden.items():  # an override set something inside this path
            if path and key.startswith(path + "."):
                return ConfigError(message, source=f"{self.source} with {src}", path=path)
        line = None
        parts = tuple(path.split(".")) if path else ()
        while parts and line is None:
            line = self.lines.get(parts)
            parts = parts[:-1]
        return ConfigError(message, source=self.source, path=path or None, line=line)

    def mapping(self, path: str, value: Any, valid: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"must be a mapping, not {_a(_tname(value))}")
        for k in value:
            if not isinstance(k, str):
                raise self.fail(f"{path}.{k}" if path else str(k), f"key {k!r} is not a string")
            if k not in valid:
                where = f"{path}.{k}" if path else k
                raise self.fail(where, f"unknown key '{k}'{suggest(k, valid)}")
        return value

    def param(self, path: str, p: Param, value: Any) -> Any:
        try:
            return p.validate(value)
        except ValueError as e:
            raise self.fail(path, str(e)) from None

    def number(
        self,
        path: str,
        value: Any,
        *,
        nullable: bool = True,
        positive: bool = False,
        low: float | None = None,
    ) -> float | None:
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(
                path, f"must be a finite number{' or null' if nullable else ''}, not {yaml_repr(value)}"
            )
        if positive and value <= 0:
            raise self.fail(path, f"must be greater than 0, not {yaml_repr(value)}")
        if low is not None and value < low:
            raise self.fail(path, f"must be at least {low:g}, not {yaml_repr(value)}")
        return float(value)

    def integer(self, path: str, value: Any, low: int, high: int | None = None) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"must be a whole number, not {yaml_repr(value)}")
        if value < low or (high is not None and value > high):
            rng = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise self.fail(path, f"must be {rng}, not {value}")
        return value


def _objective(c: _Checker, raw: Any) -> tuple[Any, dict[str, Any]]:
    """``(spec, params)``: a built-in's spec, or a user objective's (``function``/``expression``).

    ``params`` holds every other key, resolved (the function's parameters and the transform keys
    of a built-in; the references or expression of a user objective), so that
    ``{name, dim, **params}`` reruns identically. User code is not imported here.
    """
    from .objectives import TRANSFORM_KEYS, get_objective, objective_names
    from .objectives.resolve import USER_KEYS, ObjectiveKeyError, transform_params, user_params

    if isinstance(raw, str):
        raw = {"name": raw}
    if raw is None:
        raise c.fail("objective", "is required, e.g. 'objective: sphere'")
    if not isinstance(raw, dict):
        raise c.fail("objective", f"must be a name or a mapping, not {_a(_tname(raw))}")
    try:
        if "function" in raw or "expression" in raw:
            c.mapping("objective", raw, USER_KEYS)
            return user_params(raw, objective_names())
        name = raw.get("name")
        if not isinstance(name, str):
            raise c.fail(
                "objective.name" if "name" in raw else "objective",
                "needs a name, e.g. 'objective: sphere', '{name: rosenbrock, dim: 10}', "
                "'{function: \"module:f\"}' or '{expression: \"x0**2 + x1**2\"}'",
            )
        try:
            spec = get_objective(name)
        except KeyError:
            raise c.fail(
                "objective.name",
                f"unknown objective '{name}'{suggest(name, objective_names())} (see 'optrun objectives')",
            ) from None
        valid = ("name", "dim") + tuple(p.name for p in spec.params) + TRANSFORM_KEYS
        c.mapping("objective", raw, valid)
        params = {p.name: c.param(f"objective.{p.name}", p, raw.get(p.name, p.default)) for p in spec.params}
        params.update(transform_params(raw))
        return spec, params
    except ObjectiveKeyError as e:
        raise c.fail(f"objective.{e.key}", e.message) from None


def _bounds(c: _Checker, raw: Any) -> tuple[list[tuple[float, float]] | None, bool]:
    """Returns (pairs, single): ``single`` when one [low, high] pair is given for every dimension."""
    if raw is None:
        return None, False
    if (
        isinstance(raw, list)
        and len(raw) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw)
    ):
        pairs, single = [raw], True
    elif isinstance(raw, list) and raw:
        pairs, single = raw, False
    else:
        raise c.fail(
            "bounds",
            "must be a list of [low, high] pairs, one per dimension, "
            "e.g. [[-1.0, 1.0], [-1.0, 1.0]], or one pair for every dimension",
        )
    out = []
    for i, pair in enumerate(pairs):
        p = "bounds" if single else f"bounds.{i}"
        if not isinstance(pair, list) or len(pair) != 2:
            raise c.fail(p, f"must be a [low, high] pair, not {pair!r}")
        lo = c.number(p, pair[0], nullable=False)
        hi = c.number(p, pair[1], nullable=False)
        if not lo < hi:
            raise c.fail(p, f"impossible bounds: low {pair[0]!r} must be less than high {pair[1]!r}")
        if not math.isfinite(hi - lo):  # a random start lo + r * (hi - lo) would overflow
            raise c.fail(
                p,
                f"the width {pair[1]!r} - ({pair[0]!r}) overflows a float; give bounds "
                "whose width is below 1.7e308",
            )
        out.append((lo, hi))
    return out, single


def _algorithm(c: _Checker, raw: Any) -> AlgorithmConfig:
    from .errors import UserCodeError
    from .optimizers import algorithm_names, get_algorithm
    from .optimizers.schedules import validate_schedule
    from .optimizers.user import is_user_name, load_factory
    from .optimizers.user import validate_params as validate_user_params

    if isinstance(raw, str):
        raw = {"name": raw}
    if raw is None:
        raise c.fail("algorithm", "is required, e.g. 'algorithm: {name: amsgrad, alpha: 0.01}'")
    if not isinstance(raw, dict):
        raise c.fail("algorithm", f"must be a name or a mapping, not {_a(_tname(raw))}")
    name = raw.get("name")
    if not isinstance(name, str):
        raise c.fail(
            "algorithm.name" if "name" in raw else "algorithm",
            "needs a name, e.g. 'algorithm: {name: amsgrad}'",
        )
    schedule = None
    if "schedule" in raw:  # optional learning-rate schedule, resolved with its defaults
        try:
            schedule = validate_schedule(raw["schedule"])
        except ValueError as e:
            key, _, msg = str(e).partition(": ")
            raise c.fail("algorithm.schedule" + (f".{key}" if key else ""), msg) from None
    if is_user_name(name):  # 'package.module:factory': free-form parameters, importable now
        if raw.get("variant", "user") != "user":
            raise c.fail("algorithm.variant", "a user optimizer has no variants; remove the key")
        try:
            load_factory(name, c.source)
        except UserCodeError as e:
            raise c.fail("algorithm.name", e.message) from None
        try:
            params = validate_user_params(
                {k: v for k, v in raw.items() if k not in ("name", "variant", "schedule")}
            )
        except ValueError as e:
            key, _, msg = str(e).partition(": ")
            raise c.fail(f"algorithm.{key}", msg) from None
        if schedule is not None:
            params["schedule"] = schedule
        return AlgorithmConfig(name=name, variant="user", params=params)
    try:
        algo = get_algorithm(name)
    except KeyError:
        raise c.fail(
            "algorithm.name",
            f"unknown algorithm '{name}'{suggest(name, algorithm_names())} (see 'optrun algorithms')",
        ) from None
    vname = raw.get("variant")
    if vname is not None and not isinstance(vname, str):
        raise c.fail("algorithm.variant", f"must be a string, not {vname!r}")
    try:
        variant = algo.variant(vname)
    except KeyError:
        raise c.fail(
            "algorithm.variant",
            f"'{algo.name}' has no variant '{vname}'; choose one of {', '.join(algo.variant_names())}",
        ) from None
    valid = ("name", "variant", "schedule") + tuple(p.name for p in variant.params)
    c.mapping("algorithm", raw, valid)
    params = {p.name: c.param(f"algorithm.{p.name}", p, raw.get(p.name, p.default)) for p in variant.params}
    if schedule is not None:
        params["schedule"] = schedule
    return AlgorithmConfig(name=algo.name, variant=variant.name, params=params)


def _check_expect_can_pass(
    c: _Checker, expect: ExpectConfig, spec: Any, dim: int, oparams: dict[str, Any]
) -> None:
    """Refuse an ``expect:`` rule that no run can meet: a final or best f below the objective's
    known minimum f*, or a rule on f - f* or the distance to the minimum where none is known
    (such a CI gate would fail every time, whatever the optimizer does)."""
    from .objectives.resolve import is_user

    if is_user(oparams):
        f_min, minima = oparams.get("f_min"), bool(oparams.get("minima"))
    else:
        own = {p.name: oparams[p.name] for p in spec.params if p.name in oparams}
        f_min = spec.f_min(dim, **own)
        minima = expect.distance_max is None or len(spec.minima(dim, **own)) > 0
    where = "give objective.f_min" if is_user(oparams) else f"'{spec.name}' has none"
    for key in ("f_gap_max", "f_gap_median_max"):
        if getattr(expect, key) is not None and f_min is None:
            raise c.fail(f"expect.{key}", f"can never pass: f - f* needs a known minimum f* ({where})")
    if expect.distance_max is not None and not minima:
        where = "give objective.minima" if is_user(oparams) else f"'{spec.name}' has none"
        raise c.fail("expect.distance_max", f"can never pass: the distance needs a known minimizer ({where})")
    if f_min is None:
        return
    for key in ("f_final_max", "f_best_max"):
        limit = getattr(expect, key)
        if limit is not None and limit < f_min:
            raise c.fail(
                f"expect.{key}", f"can never pass: {limit:g} is below the objective's minimum f* = {f_min:g}"
            )


def _section(data: dict[str, Any], key: str) -> Any:
    """An optional mapping section: absent or null is empty; anything else is checked as given
    (so 'stop: []' or 'trace: 0' is refused, not read as empty)."""
    raw = data.get(key)
    return {} if raw is None else raw


def validate(
    data: dict[str, Any],
    source: str,
    lines: dict[tuple[str, ...], int] | None = None,
    overridden: dict[str, str] | None = None,
) -> RunConfig:
    """Validate raw config data and resolve every default. Raises :class:`ConfigError`."""
    c = _Checker(source, lines or {}, overridden or {})
    c.mapping("", data, TOP_KEYS)
    for key in ("objective", "algorithm"):
        if key not in data:
            raise c.fail(key, "is required (see the README's config format)")

    spec, oparams = _objective(c, data.get("objective"))
    raw_obj = data["objective"] if isinstance(data["objective"], dict) else {}
    dim = None
    if "dim" in raw_obj:
        dim = c.integer("objective.dim", raw_obj["dim"], 1, 100_000_000)
    bounds, single = _bounds(c, data.get("bounds"))
    start = data.get("start", "random")
    if isinstance(start, list):
        start_dim = len(start)
    elif start == "random":
        start_dim = None
    else:
        raise c.fail("start", f"must be 'random' or a list of numbers, not {start!r}")
    if dim is None:
        dim = len(bounds) if bounds and not single else start_dim or spec.default_dim
    if dim is None:
        raise c.fail(
            "objective.dim",
            "the dimension of a user function is not known: give objective.dim, "
            "one bounds pair per dimension, or an explicit start point",
        )
    if bounds is not None and single:
        bounds = bounds * dim
    if bounds is not None and len(bounds) != dim:
        raise c.fail("bounds", f"has {len(bounds)} pairs but the objective has dimension {dim}")
    if start_dim is not None and start_dim != dim:
        raise c.fail("start", f"has {start_dim} coordinates but the objective has dimension {dim}")
    if not spec.accepts_dim(dim):
        raise c.fail("objective.dim", f"'{spec.name}' is defined for {spec.dims_text()}, not d = {dim}")
    if bounds is None:
        if spec.bounds is None:
            raise c.fail(
                "bounds",
                "a user objective has no default bounds: give them, e.g. "
                f"bounds: {[[-5.0, 5.0]] * min(dim, 2)}{' (one pair per dimension)' if dim > 2 else ''}",
            )
        box = spec.bounds(dim)  # a (d, 2) array
        if (box == box[0]).all():  # one shared pair object: O(1) per dimension here and downstream
            bounds = [(float(box[0, 0]), float(box[0, 1]))] * dim
        else:
            bounds = list(map(tuple, box.tolist()))
    from .objectives.resolve import dim_problem

    problem = dim_problem(oparams, dim)
    if problem:
        raise c.fail(f"objective.{problem[0]}", problem[1])
    if isinstance(start, list):
        start = tuple(c.number(f"start.{i}", v, nullable=False) for i, v in enumerate(start))

    algorithm = _algorithm(c, data.get("algorithm"))
    iterations = c.integer("iterations", data.get("iterations", DEFAULT_ITERATIONS), 0, 10**12)
    seed = c.integer("seed", data.get("seed", 0), 0, 2**32 - 1)
    rng = data.get("rng", "generator")
    if rng not in RNG_MODES:
        raise c.fail("rng", f"must be one of {', '.join(RNG_MODES)}, not {rng!r}")
    backend = data.get("backend", "auto")
    if backend not in BACKENDS:
        raise c.fail("backend", f"must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "numba":
        from .backends import INSTALL_HINT, numba_available

        if not numba_available():
            raise c.fail("backend", f"numba is not installed: {INSTALL_HINT} (or use backend: auto or numpy)")

    name = data.get("name")
    if name is None:  # user functions ("pkg.mod:f") become "pkg.mod.f": a safe folder label
        name = re.sub(r"[^A-Za-z0-9._-]+", ".", f"{algorithm.name}-{spec.name}").strip(".")[:64] or "run"
    elif not isinstance(name, str) or not NAME_RE.match(name):
        raise c.fail(
            "name",
            "must be 1-64 letters, digits, '.', '_' or '-', starting with a "
            f"letter or digit (it becomes part of the run folder's name), "
            f"not {_short(name)}",
        )

    raw = _section(data, "stop")
    c.mapping("stop", raw, STOP_KEYS)
    stop = StopConfig(
        f_target=c.number("stop.f_target", raw.get("f_target")),
        grad_norm=c.number("stop.grad_norm", raw.get("grad_norm"), positive=True),
    )

    raw = _section(data, "expect")
    c.mapping("expect", raw, EXPECT_KEYS + SWEEP_EXPECT_KEYS)
    status = raw.get("status")
    if status is not None and status not in ("completed", "diverged"):
        raise c.fail("expect.status", f"must be 'completed' or 'diverged', not {status!r}")
    expect = ExpectConfig(
        status=status,
        **{
            k: c.number(
                f"expect.{k}", raw.get(k), low=0.0 if k != "f_final_max" and k != "f_best_max" else None
            )
            for k in EXPECT_KEYS + SWEEP_EXPECT_KEYS
            if k != "status"
        },
    )
    if expect.success_rate_min is not None and expect.success_rate_min > 1:
        raise c.fail(
            "expect.success_rate_min",
            f"is a share of the members, between 0 and 1, not {yaml_repr(expect.success_rate_min)}",
        )
    _check_expect_can_pass(c, expect, spec, dim, oparams)

    raw = _section(data, "trace")
    c.mapping("trace", raw, TRACE_KEYS)
    every = c.integer("trace.every", raw.get("every", 1), 1)
    x = raw.get("x", "auto")
    if isinstance(x, bool) or not (x in ("auto", "all", "none") or (isinstance(x, int) and x >= 0)):
        raise c.fail("trace.x", f"must be auto, all, none or a number of coordinates, not {x!r}")
    checkpoint_s = c.number("trace.checkpoint_s", raw.get("checkpoint_s", 10.0), positive=True)
    log_per_decade = raw.get("log_per_decade")
    if log_per_decade is not None:
        log_per_decade = c.integer("trace.log_per_decade", log_per_decade, 1, 100)
        if every != 1:
            raise c.fail(
                "trace.log_per_decade", "thins the trace on its own: give it or trace.every, not both"
            )
    formats = raw.get("formats", list(TRACE_FORMATS))
    if isinstance(formats, str):
        formats = [formats]
    if not isinstance(formats, list) or not formats:
        raise c.fail(
            "trace.formats",
            f"must be a non-empty list of {' and '.join(TRACE_FORMATS)}, "
            f"not {formats!r} (e.g. formats: [csv])",
        )
    for fmt in formats:
        if fmt not in TRACE_FORMATS:
            raise c.fail("trace.formats", f"unknown trace format {fmt!r}: give csv, jsonl or both")
    formats = tuple(f for f in TRACE_FORMATS if f in formats)  # file order, duplicates dropped

    return RunConfig(
        name=name,
        objective=ObjectiveConfig(name=spec.name, dim=dim, params=oparams),
        bounds=tuple(bounds),
        start=start,
        algorithm=algorithm,
        iterations=iterations,
        seed=seed,
        rng=rng,
        stop=stop,
        expect=expect,
        trace=TraceConfig(
            every=every, x=x, checkpoint_s=checkpoint_s, log_per_decade=log_per_decade, formats=formats
        ),
        source=source,
        backend=backend,
    )


def uniform_bounds(bounds: tuple[tuple[float, float], ...]) -> bool:
    """Do all dimensions share one [low, high] pair? Fast (identity comparisons) for the pairs
    the loader builds, which share one tuple object whenever they are equal."""
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


def load_config(path: str, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Read, override and validate one config file (its ``sweep:`` block, if any, is not applied:
    this is the base config). Overrides behave as on the command line of ``optrun run``:
    ``algorithm.name=adam`` swaps the algorithm, keeping the settings it accepts."""
    from .overrides import apply_overrides

    data, lines = read_config_file(path)
    path = config_source(path)
    data = copy.deepcopy(data)
    overridden = apply_overrides(data, overrides)
    config = validate(data, path, lines, overridden)
    gates = config.expect.sweep_gates()
    if gates and "sweep" not in data:
        raise _Checker(path, lines, overridden).fail(
            f"expect.{next(iter(gates))}",
            "applies to sweeps only (a sweep: block or --sweep); a single "
            "run is checked by the other expect: keys",
        )
    return config
