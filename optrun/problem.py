"""A config's problem: its objective, its optimizer, its bounds and its start points.

Shared by everything that rebuilds a run from its config: running and resuming
(:mod:`optrun.execution`), comparing and plotting runs, and ``optrun objectives``.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from .config import RunConfig
from .errors import ConfigError, OptrunError
from .objectives import Objective, get_objective
from .optimizers import Optimizer, get_algorithm
from .store.records import config_path, recorded_module_dirs


def build_objective(
    config: RunConfig,
    start: np.ndarray | None = None,
    bounds: np.ndarray | None = None,
    check_start: bool = True,
) -> Objective:
    """The config's objective: a built-in (shifted/rotated as configured) or a user's function or
    expression, which is imported/compiled here and checked at the start point (raises
    :class:`~optrun.errors.UserCodeError` naming the function, before any run folder exists).
    ``start`` and ``bounds``: ``start_point(config)`` and ``bounds_array(config.bounds)`` when the
    caller has them already (checking that ten million pairs are equal takes tens of ms).
    ``check_start``: False when the caller checks a built-in at the start itself."""
    from .objectives.resolve import build

    return build(
        config.objective.name,
        config.objective.dim,
        config.objective.params,
        bounds_array(config.bounds) if bounds is None else bounds,
        start_point(config) if start is None else start,
        config.source,
        recorded_module_dirs(config.source),
        check_start,
    )


def recorded_objective(config: dict[str, Any], folder: str) -> Objective:
    """The objective of a recorded run, rebuilt from the config it recorded (messages name the
    folder's ``config.yaml``); raises what validating or building it raises."""
    from .config import validate

    return build_objective(validate(dict(config), source=config_path(folder)))


def build_optimizer(config: RunConfig, params: dict[str, Any] | None = None) -> Optimizer:
    """The config's optimizer. ``params`` replaces ``config.algorithm.params`` when given: a batch
    passes its numeric hyperparameters as ``(S, 1)`` arrays (see :func:`optrun.sweep.batch_params`)."""
    from .optimizers.schedules import scheduled
    from .optimizers.user import build_user_optimizer, is_user_name

    given = config.algorithm.params
    params = dict(given if params is None else params)
    schedule = params.pop("schedule", None)
    if is_user_name(config.algorithm.name):
        # a batch's numeric values arrive as (S, 1) arrays; equal ones go back to the config's
        # scalar so user code sees plain numbers unless a sweep really varies them
        for k, v in params.items():
            if isinstance(v, np.ndarray) and k in given and np.all(v == given[k]):
                params[k] = given[k]
        opt = build_user_optimizer(
            config.algorithm.name, params, config.dim, config.source, recorded_module_dirs(config.source)
        )
        alpha = params.get("alpha", 1.0)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.ndarray)):
            alpha = 1.0
        return scheduled(opt, schedule, alpha, in_place=False)
    from .backends import build_variant

    variant = get_algorithm(config.algorithm.name).variant(config.algorithm.variant)
    return build_variant(variant, params, run_backend(config), config.dim, schedule)


#: ``auto`` takes numba for online rounds from this many rounds up: numba's first compile of a
#: chunk loop takes seconds (once per cache), what numpy spends on about 100,000 rounds
AUTO_NUMBA_ROUNDS = 100_000


def run_backend(config: RunConfig) -> str:
    """The config's ``backend``, except that ``auto`` takes numba (when installed) for a built-in
    online objective whose rounds run as compiled chunks, at least :data:`AUTO_NUMBA_ROUNDS` of them (its gradient does not depend on x:
    :attr:`optrun.objectives.rounds.Rounds.chunks`), where numba is 25-60 times faster a round and
    the trace is the numpy backend's, byte for byte (at d = 1 no sum can be reordered)."""
    from .backends import numba_available
    from .objectives.resolve import is_user

    params = config.objective.params
    if (
        config.backend != "auto"
        or config.dim != 1
        or is_user(params)
        or "data" in params
        or config.iterations < AUTO_NUMBA_ROUNDS
    ):
        return config.backend
    spec = get_objective(config.objective.name)
    if spec.online is None:
        return config.backend
    own = {p.name: params[p.name] for p in spec.params if p.name in params}
    linear = getattr(spec.online(config.dim, **own), "slopes", None) is not None
    return "numba" if linear and numba_available() else config.backend


def bounds_array(bounds: tuple[tuple[float, float], ...]) -> np.ndarray:
    """A config's bounds as a ``(d, 2)`` float64 array. When all dimensions share one pair it is
    a read-only broadcast view of that pair (converting a million pairs one by one takes most of
    a second, and a copy per dimension costs 160 MB at d = 1e7): copy it to write into it."""
    from .config import uniform_bounds

    if len(bounds) > 1 and uniform_bounds(bounds):
        return np.broadcast_to(np.array(bounds[0], dtype=np.float64), (len(bounds), 2))
    return np.asarray(bounds, dtype=np.float64).reshape(len(bounds), 2)


def start_point(config: RunConfig, seed: int | None = None, bounds: np.ndarray | None = None) -> np.ndarray:
    """The ``(d,)`` start point: explicit, or uniform inside the bounds.

    ``rng: legacy`` draws ``RandomState(seed).random_sample(d)``, the same numbers as the
    tutorials' ``seed(seed); rand(d)`` on numpy's global legacy generator (without touching the
    global state); ``rng: generator`` draws ``default_rng(seed).random(d)``. Either way
    ``x0 = low + r * (high - low)``, the tutorials' expression. ``bounds``:
    ``bounds_array(config.bounds)`` when the caller has it already.
    """
    if not isinstance(config.start, str):
        return np.array(config.start, dtype=np.float64)
    seed = config.seed if seed is None else seed
    b = bounds_array(config.bounds) if bounds is None else bounds
    d = len(b)
    if config.rng == "legacy":
        r = np.random.RandomState(seed).random_sample(d)
    else:
        r = np.random.default_rng(seed).random(d)
    if b.strides[0] == 0:  # one pair for every dimension: the same operations on scalars, in place
        low, high = b[0]
        return np.add(np.multiply(r, high - low, out=r), low, out=r)  # low + r * (high - low)
    return b[:, 0] + r * (b[:, 1] - b[:, 0])


def start_points(configs: list[RunConfig]) -> np.ndarray:
    """The ``(S, d)`` start points of a batch, row s exactly ``start_point(configs[s])``.

    For ``rng: legacy`` one ``RandomState`` is reseeded per member instead of constructing one
    (``RandomState(seed)`` and ``rs.seed(seed)`` run the same legacy seeding and give the same
    numbers; construction costs about 50 times more, which dominates a 10,000-seed sweep); the
    draws are then moved into their boxes a block of members at a time (the same two roundings,
    ``low + r * (high - low)``, per element).
    """
    x0 = np.empty((len(configs), configs[0].dim))
    rs = None
    drawn: dict[tuple, list[int]] = {}  # bounds: the rows of x0 that hold legacy draws in [0, 1)
    rows: list[int] = []
    bounds = None
    for s, c in enumerate(configs):
        if c.start == "random" and c.rng == "legacy":
            if rs is None:
                rs = np.random.RandomState()
            if c.bounds is not bounds:  # (members share their bounds object)
                bounds = c.bounds
                rows = drawn.setdefault(bounds, [])
            rs.seed(c.seed)
            x0[s] = rs.random_sample(c.dim)
            rows.append(s)
        else:
            x0[s] = start_point(c)
    for key, at in drawn.items():
        b = bounds_array(key)
        low, width = b[:, 0], b[:, 1] - b[:, 0]
        if len(at) == len(x0):
            x0 *= width
            x0 += low
        else:
            x0[at] = low + x0[at] * width
    return x0


def build_rounds(configs: list[RunConfig], objective: Objective):
    """The :class:`~optrun.objectives.rounds.Rounds` of a run or a batch (``configs``, one per
    member, sharing objective and noise) whose objective is online, whose gradients are noisy or
    which learns on data with minibatches or a test set; None otherwise. Each member's streams are seeded by its own ``seed``."""
    from .objectives.rounds import Rounds, needs_rounds

    noise = configs[0].objective.noise
    if not needs_rounds(objective, noise):
        return None
    seeds, c = [c.seed for c in configs], configs[0]
    if objective.learning is not None:  # minibatches, test columns (see .objectives.data_rounds)
        from .objectives.data_rounds import DataRounds

        return DataRounds(objective, noise, seeds, c.dim, c.trace.every, c.iterations)
    return Rounds(objective, noise, seeds, c.dim)


def records_regret(config: RunConfig) -> bool:
    """Does a run of ``config`` record regret (an online objective whose ``x*`` is known)? Read
    from the config alone: nothing is built or imported."""
    from .objectives.resolve import is_user

    params = config.objective.params
    if is_user(params):
        return bool(params.get("online") and params.get("minima"))
    if "data" in params:  # a learning objective: not online
        return False
    return get_objective(config.objective.name).online is not None


def summary_fields(config: RunConfig) -> tuple[str, ...]:
    """The fields a member of ``config`` adds to a sweep's summary: its final regret (an online
    objective whose ``x*`` is known) or its final test loss and accuracy (a learning problem with
    test data). Read from the config alone."""
    if records_regret(config):
        return ("final_regret", "final_avg_regret")
    from .objectives.base import learning_columns

    params = config.objective.params
    tested = "data" in params and params.get("test") is not None
    return tuple(f"final_{c}" for c in learning_columns(config.objective.name, tested))


def projection(config: RunConfig):
    """``project(x)`` for ``constraint: box`` (a clip of each row of ``x`` onto the bounds, in
    place, the paper's projection onto a box), None for ``constraint: none``."""
    if config.constraint != "box":
        return None
    b = bounds_array(config.bounds)
    if b.strides[0] == 0:  # one pair for every coordinate
        lo, hi = float(b[0, 0]), float(b[0, 1])
    else:
        lo, hi = np.ascontiguousarray(b[:, 0]), np.ascontiguousarray(b[:, 1])

    maximum, minimum = np.maximum, np.minimum

    def project(x: np.ndarray) -> None:  # np.clip's values, without its Python-level wrapper
        minimum(maximum(x, lo, out=x), hi, out=x)

    project.box = (lo, hi)  # what it clips onto: compiled chunks of steps clip so too
    return project


@contextlib.contextmanager
def located(config: RunConfig, key: str):
    """User code fails when it is built, after validation: name the config file and key too."""
    try:
        yield
    except ConfigError as e:
        if e.source:
            raise
        raise ConfigError(e.detail, source=config.source, path=e.path or key) from None
    except OptrunError as e:
        raise ConfigError(e.message, source=config.source, path=key) from None


def build_single(config: RunConfig) -> tuple[Objective, Optimizer, np.ndarray]:
    """A single run's objective, optimizer and ``(1, d)`` start point. Its numeric hyperparameters
    are ``(1, 1)`` arrays: the same numpy operations as a member of a batched sweep."""
    objective, optimizer, x0, _ = build_started(config)
    return objective, optimizer, x0


def build_started(
    config: RunConfig,
) -> tuple[Objective, Optimizer, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """:func:`build_single` and, for a built-in objective, ``(f, g)`` at the start point: its
    check's values (:func:`optrun.objectives.resolve.finite_at_start`), the gradient in a
    ``(1, d)`` buffer, for the run's first row (``Problem.start_values``: one gradient, not two);
    None for a user objective (which checks itself at the start point)."""
    from .objectives.resolve import finite_at_start, is_user
    from .sweep import batch_params

    bounds = bounds_array(config.bounds)
    x0 = start_point(config, bounds=bounds)
    builtin = not is_user(config.objective.params)
    values = None
    with located(config, "objective"):
        objective = build_objective(config, x0, bounds, check_start=not builtin)
        if builtin:
            values = finite_at_start(objective, x0, np.empty((1, len(x0))))
    with located(config, "algorithm"):
        optimizer = build_optimizer(config, batch_params([config]))
    return objective, optimizer, x0[None, :], values
