"""Validation: raw config data in, a fully resolved :class:`~optrun.config.model.RunConfig` out.

One validator per section (objective; dimension, bounds and start; algorithm; stop; expect;
trace), called in the order the checks have always run, so that a config with several mistakes
reports the same first one. Every key and value is checked before any work starts; unknown keys
are refused with the nearest valid name suggested; every error names the file, the dotted key
path and, where known, the line (see :class:`~optrun.config.checker.Checker`).
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

from ..params import yaml_repr
from ..registry import unknown
from ..text import article as _a
from ..text import type_name as _tname
from .checker import Checker, short
from .model import (
    BACKENDS,
    CONSTRAINTS,
    DEFAULT_ITERATIONS,
    EXPECT_KEYS,
    NAME_RE,
    ONLINE_EXPECT_KEYS,
    RNG_MODES,
    STOP_KEYS,
    SWEEP_EXPECT_KEYS,
    TOP_KEYS,
    TRACE_FORMATS,
    TRACE_KEYS,
    AlgorithmConfig,
    ExpectConfig,
    ObjectiveConfig,
    RunConfig,
    StopConfig,
    TraceConfig,
    UniformBounds,
)


def validate(
    data: dict[str, Any],
    source: str,
    lines: dict[tuple[str, ...], int] | None = None,
    overridden: dict[str, str] | None = None,
) -> RunConfig:
    """Validate raw config data and resolve every default. Raises :class:`ConfigError`."""
    c = Checker(source, lines or {}, overridden or {})
    c.mapping("", data, TOP_KEYS)
    for key in ("objective", "algorithm"):
        if key not in data:
            raise c.fail(key, "is required (see the README's config format)")
    raw_objective = data.get("objective")
    noise = None
    if isinstance(raw_objective, dict) and "noise" in raw_objective:
        noise = _noise(c, raw_objective["noise"])
        raw_objective = {k: v for k, v in raw_objective.items() if k != "noise"}
    spec, oparams = _objective(c, raw_objective)
    dim, bounds, start = _space(c, data, spec, oparams)
    constraint = _constraint(c, data.get("constraint", "none"), bounds, start)
    algorithm = _algorithm(c, data.get("algorithm"))
    iterations = c.integer("iterations", data.get("iterations", DEFAULT_ITERATIONS), 0, 10**12)
    seed = c.integer("seed", data.get("seed", 0), 0, 2**32 - 1)
    rng = data.get("rng", "generator")
    if rng not in RNG_MODES:
        raise c.fail("rng", f"must be one of {', '.join(RNG_MODES)}, not {rng!r}")
    backend = _backend(c, data.get("backend", "auto"))
    name = _name(c, data.get("name"), algorithm, spec)
    stop = _stop(c, _section(data, "stop"))
    _online_fits(c, spec, oparams, bounds, stop, "bounds" in data)
    expect = _expect(c, _section(data, "expect"))
    _check_expect_can_pass(c, expect, spec, dim, oparams)
    trace = _trace(c, _section(data, "trace"))
    if getattr(spec, "minibatches", False):
        trace = _minibatch_trace(c, spec, trace, _section(data, "trace"), iterations)
    return RunConfig(
        name=name,
        objective=ObjectiveConfig(name=spec.name, dim=dim, params=oparams, noise=noise),
        bounds=bounds if isinstance(bounds, UniformBounds) else tuple(bounds),
        start=start,
        algorithm=algorithm,
        iterations=iterations,
        seed=seed,
        rng=rng,
        stop=stop,
        expect=expect,
        trace=trace,
        source=source,
        backend=backend,
        constraint=constraint,
    )


def _noise(c: Checker, raw: Any) -> dict[str, Any] | None:
    from ..objectives.rounds import NoiseError, validate_noise

    try:
        return validate_noise(raw)
    except NoiseError as e:
        raise c.fail("objective.noise" + (f".{e.key}" if e.key else ""), e.message) from None


def _constraint(c: Checker, raw: Any, bounds: Any, start: Any) -> str:
    """``none`` or ``box``; a box needs an explicit start inside the bounds it projects onto."""
    if raw not in CONSTRAINTS:
        raise c.fail("constraint", f"must be one of {', '.join(CONSTRAINTS)}, not {raw!r}")
    if raw == "box" and not isinstance(start, str):
        for i, (v, (lo, hi)) in enumerate(zip(start, bounds)):
            if not lo <= v <= hi:
                raise c.fail(
                    "start",
                    f"coordinate {i} ({v!r}) is outside the bounds [{lo!r}, {hi!r}] that "
                    "'constraint: box' keeps every point in",
                )
    return raw


def refuse_sweep_gates(config: RunConfig, c: Checker) -> None:
    """A single run (no ``sweep:`` block, no ``--sweep``) may not set a sweep's gates."""
    gates = config.expect.sweep_gates()
    if gates:
        raise c.fail(
            f"expect.{next(iter(gates))}",
            "applies to sweeps only (a sweep: block or --sweep); a single "
            "run is checked by the other expect: keys",
        )


def _objective(c: Checker, raw: Any) -> tuple[Any, dict[str, Any]]:
    """``(spec, params)``: a built-in's spec, or a user objective's (``function``/``expression``).

    ``params`` holds every other key, resolved (the function's parameters and the transform keys
    of a built-in; the references or expression of a user objective), so that
    ``{name, dim, **params}`` reruns identically. User code is not imported here.
    """
    from ..objectives import TRANSFORM_KEYS, get_objective, objective_names
    from ..objectives.base import LEARNING_KINDS
    from ..objectives.resolve import USER_KEYS, ObjectiveKeyError, transform_params, user_params

    if isinstance(raw, str):
        raw = {"name": raw}
    if raw is None:
        raise c.fail("objective", "is required, e.g. 'objective: sphere'")
    if not isinstance(raw, dict):
        raise c.fail("objective", f"must be a name or a mapping, not {_a(_tname(raw))}")
    try:
        if raw.get("name") in LEARNING_KINDS:  # least-squares, logistic, softmax on data
            from ..objectives import data_config

            try:
                return data_config.learning_config(raw, c.source)
            except data_config.ObjectiveKeyError as e:
                raise c.fail(f"objective.{e.key}", e.message) from None
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
                unknown("objective", name, objective_names(), "objectives"),
            ) from None
        valid = ("name", "dim") + tuple(p.name for p in spec.params)
        valid += ("noise",) + (() if spec.online else TRANSFORM_KEYS)  # (noise: taken out before)
        c.mapping("objective", raw, valid)
        params = {p.name: c.param(f"objective.{p.name}", p, raw.get(p.name, p.default)) for p in spec.params}
        if not spec.online:
            params.update(transform_params(raw))
        return spec, params
    except ObjectiveKeyError as e:
        raise c.fail(f"objective.{e.key}", e.message) from None


def _bounds(c: Checker, raw: Any) -> tuple[list[tuple[float, float]] | None, bool]:
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


def _space(
    c: Checker, data: dict[str, Any], spec: Any, oparams: dict[str, Any]
) -> tuple[int, list[tuple[float, float]], str | tuple[float, ...]]:
    """``(dim, bounds, start)``: the dimension (given, or implied by the bounds, the start point or
    the objective's default), one bounds pair per dimension and the start point, checked together."""
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
        bounds = UniformBounds(bounds[0], dim)
    if bounds is not None and len(bounds) != dim:
        raise c.fail("bounds", f"has {len(bounds)} pairs but the objective has dimension {dim}")
    if start_dim is not None and start_dim != dim:
        raise c.fail("start", f"has {start_dim} coordinates but the objective has dimension {dim}")
    if not spec.accepts_dim(dim):
        raise c.fail("objective.dim", f"'{spec.name}' is defined for {spec.dims_text()}, not d = {dim}")
    if bounds is None:
        bounds = _default_bounds(c, spec, dim)
    from ..objectives.resolve import dim_problem

    problem = dim_problem(oparams, dim)
    if problem:
        raise c.fail(f"objective.{problem[0]}", problem[1])
    if isinstance(start, list):
        start = tuple(c.number(f"start.{i}", v, nullable=False) for i, v in enumerate(start))
    elif "start" not in data and getattr(spec, "zero_start", False):  # learning: x0 = 0, recorded
        start = (0.0,) * dim
    return dim, bounds, start


def _online_fits(
    c: Checker, spec: Any, oparams: dict[str, Any], bounds: Any, stop: StopConfig, given: bool
) -> None:
    """An online objective's f and gradient are one round's: a stop rule on them would end a run
    on one lucky round. A built-in's x* (regret's reference) is the best point of its own box,
    so other bounds are refused rather than measured against the wrong point."""
    from ..objectives.resolve import is_user

    online = bool(oparams.get("online")) if is_user(oparams) else spec.online is not None
    if not online:
        return
    for key in ("f_target", "grad_norm"):
        if getattr(stop, key) is not None:
            raise c.fail(
                f"stop.{key}",
                "does not apply to an online objective: its f and gradient are one round's "
                "(gate on regret with expect.avg_regret_max, or shorten iterations)",
            )
    if given and not is_user(oparams):
        own = tuple(map(float, spec.bounds(len(bounds))[0]))
        if any(tuple(b) != own for b in bounds):
            raise c.fail(
                "bounds",
                f"'{spec.name}' is defined on [{own[0]:g}, {own[1]:g}] (its x* = "
                f"{spec.minima(1)[0][0]:g} is measured against that box): leave bounds out or give "
                f"[{own[0]:g}, {own[1]:g}]",
            )


def _default_bounds(c: Checker, spec: Any, dim: int) -> list[tuple[float, float]] | UniformBounds:
    """The objective's own bounds for ``dim``; a user objective has none, so they must be given."""
    if spec.bounds is None:
        raise c.fail(
            "bounds",
            "a user objective has no default bounds: give them, e.g. "
            f"bounds: {[[-5.0, 5.0]] * min(dim, 2)}{' (one pair per dimension)' if dim > 2 else ''}",
        )
    box = spec.bounds(dim)  # a (d, 2) array
    if box.strides[0] == 0 or (box == box[0]).all():  # one pair: nothing per dimension here or downstream
        return UniformBounds((float(box[0, 0]), float(box[0, 1])), dim)
    return list(map(tuple, box.tolist()))


def _algorithm(c: Checker, raw: Any) -> AlgorithmConfig:
    from ..errors import UserCodeError
    from ..optimizers import algorithm_names, get_algorithm
    from ..optimizers.schedules import validate_schedule
    from ..optimizers.user import is_user_name, load_factory
    from ..optimizers.user import validate_params as validate_user_params

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
            from ..store.records import recorded_module_dirs

            load_factory(name, c.source, recorded_module_dirs(c.source))
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
            unknown("algorithm", name, algorithm_names(), "algorithms"),
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
    c: Checker, expect: ExpectConfig, spec: Any, dim: int, oparams: dict[str, Any]
) -> None:
    """Refuse an ``expect:`` rule that no run can meet: a final or best f below the objective's
    known minimum f*, or a rule on f - f* or the distance to the minimum where none is known
    (such a CI gate would fail every time, whatever the optimizer does)."""
    from ..objectives.resolve import is_user

    if is_user(oparams):
        f_min, minima = oparams.get("f_min"), bool(oparams.get("minima"))
    else:
        own = {p.name: oparams[p.name] for p in spec.params if p.name in oparams}
        f_min = spec.f_min(dim, **own)
        minima = expect.distance_max is None or len(spec.minima(dim, **own)) > 0
    if expect.avg_regret_max is not None:
        online = oparams.get("online") and oparams.get("minima") if is_user(oparams) else spec.online
        if not online:
            hint = (
                "give objective.minima: the x* regret is measured against"
                if is_user(oparams) and oparams.get("online")
                else f"'{spec.name}' is not one; see optrun objectives"
            )
            raise c.fail(
                "expect.avg_regret_max",
                f"can never pass: regret needs an online objective whose x* is known ({hint})",
            )
    later = getattr(spec, "f_min_from_data", False)  # learning: checked once the data give f*
    where = "give objective.f_min" if is_user(oparams) else f"'{spec.name}' has none"
    for key in ("f_gap_max", "f_gap_median_max"):
        if getattr(expect, key) is not None and f_min is None and not later:
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


def _backend(c: Checker, backend: Any) -> str:
    if backend not in BACKENDS:
        raise c.fail("backend", f"must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "numba":
        from ..backends import INSTALL_HINT, numba_available

        if not numba_available():
            raise c.fail("backend", f"numba is not installed: {INSTALL_HINT} (or use backend: auto or numpy)")
    return backend


def _name(c: Checker, name: Any, algorithm: AlgorithmConfig, spec: Any) -> str:
    """The run's name, or the default one made of the algorithm's and the objective's names."""
    if name is None:  # user functions ("pkg.mod:f") become "pkg.mod.f": a safe folder label
        return re.sub(r"[^A-Za-z0-9._-]+", ".", f"{algorithm.name}-{spec.name}").strip(".")[:64] or "run"
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise c.fail(
            "name",
            "must be 1-64 letters, digits, '.', '_' or '-', starting with a "
            f"letter or digit (it becomes part of the run folder's name), "
            f"not {short(name)}",
        )
    return name


def _stop(c: Checker, raw: Any) -> StopConfig:
    c.mapping("stop", raw, STOP_KEYS)
    return StopConfig(
        f_target=c.number("stop.f_target", raw.get("f_target")),
        grad_norm=c.number("stop.grad_norm", raw.get("grad_norm"), positive=True),
    )


SIGNED_LIMITS = ("f_final_max", "f_best_max", "avg_regret_max")  # limits that may be negative


def _expect(c: Checker, raw: Any) -> ExpectConfig:
    c.mapping("expect", raw, EXPECT_KEYS + ONLINE_EXPECT_KEYS + SWEEP_EXPECT_KEYS)
    status = raw.get("status")
    if status is not None and status not in ("completed", "diverged"):
        raise c.fail("expect.status", f"must be 'completed' or 'diverged', not {status!r}")
    expect = ExpectConfig(
        status=status,
        **{
            k: c.number(f"expect.{k}", raw.get(k), low=None if k in SIGNED_LIMITS else 0.0)
            for k in EXPECT_KEYS + ONLINE_EXPECT_KEYS + SWEEP_EXPECT_KEYS
            if k != "status"
        },
    )
    if expect.success_rate_min is not None and expect.success_rate_min > 1:
        raise c.fail(
            "expect.success_rate_min",
            f"is a share of the members, between 0 and 1, not {yaml_repr(expect.success_rate_min)}",
        )
    return expect


def _minibatch_trace(c: Checker, spec: Any, trace: TraceConfig, raw: Any, iterations: int) -> TraceConfig:
    """A minibatch run computes the full loss on the rows its trace keeps: by default once an
    epoch (at most 200 rows); log-spaced rows are not offered."""
    if trace.log_per_decade is not None:
        raise c.fail(
            "trace.log_per_decade",
            "a minibatch run computes the full loss only on the rows it records: "
            "thin it with trace.every instead",
        )
    if "every" in raw:
        return trace
    return replace(trace, every=spec.default_every(iterations))


def _trace(c: Checker, raw: Any) -> TraceConfig:
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
    return TraceConfig(
        every=every, x=x, checkpoint_s=checkpoint_s, log_per_decade=log_per_decade, formats=formats
    )
