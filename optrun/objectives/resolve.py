"""From the ``objective:`` config keys to an :class:`Objective`.

Config keys (documented in the README):

* a built-in: ``name``, ``dim``, the function's own parameters (``optrun objectives NAME``), and
  the transform keys ``shift`` (``false``, ``true`` = seeded random, or a list of ``d`` numbers:
  the displacement of the minimizer), ``rotate`` (``false`` or ``true`` = seeded random rotation
  about the minimizer) and ``transform_seed`` (an integer, default 0) -- see :mod:`.transform`;
* a user function: ``function: "pkg.mod:f"``, optional ``gradient: "pkg.mod:g"``;
* an expression: ``expression: "x0**2 + 10*x1**2"``;
* for both user kinds, optional ``name`` (a label), ``f_min`` and ``minima`` (the known optimum
  value and minimizers, for ``f_gap`` and ``distance_to_optimum``).

Config validation (:mod:`optrun.config`) calls :func:`builtin_params` / :func:`user_params` and
:func:`dim_problem`; the run calls :func:`build`. Validation never imports user code (a run folder's
config can be read anywhere); :func:`build` does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from . import get_objective
from .base import Objective, ObjectiveSpec
from .transform import MAX_ROTATE_DIM, transform

USER_KEYS = (
    "name",
    "dim",
    "function",
    "gradient",
    "expression",
    "f_min",
    "minima",
    "timeout_s",
    "online",
    "noise",
)
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ObjectiveKeyError(ValueError):
    """A bad value under ``objective.<key>``; config validation adds file and line."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key, self.message = key, message


@dataclass(frozen=True)
class UserSpec:
    """What config validation needs to know of a user objective (no default bounds)."""

    name: str
    kind: str  # function | expression
    default_dim: int | None
    min_dim: int = 1
    bounds: None = None

    def accepts_dim(self, d: int) -> bool:
        return d >= self.min_dim

    def dims_text(self) -> str:
        return f"d >= {self.min_dim} (it uses x{self.min_dim - 1})"


def is_user(params: dict[str, Any]) -> bool:
    return "function" in params or "expression" in params


def _finite(key: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ObjectiveKeyError(key, f"must be a finite number, not {v!r}")
    return float(v)


def transform_params(raw: dict[str, Any]) -> dict[str, Any]:
    """Validated ``shift``, ``rotate``, ``transform_seed`` with their defaults."""
    shift = raw.get("shift", False)
    if isinstance(shift, list):
        if not shift:
            raise ObjectiveKeyError("shift", "must be true, false or a list of d numbers, not []")
        shift = [_finite(f"shift.{i}", v) for i, v in enumerate(shift)]
    elif not isinstance(shift, bool):
        raise ObjectiveKeyError("shift", f"must be true, false or a list of d numbers, not {shift!r}")
    rotate = raw.get("rotate", False)
    if not isinstance(rotate, bool):
        raise ObjectiveKeyError("rotate", f"must be true or false, not {rotate!r}")
    seed = raw.get("transform_seed", 0)
    if isinstance(seed, float) and seed.is_integer():
        seed = int(seed)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ObjectiveKeyError(
            "transform_seed", f"must be a whole number from 0 to {2**32 - 1}, not {seed!r}"
        )
    return {"shift": shift, "rotate": rotate, "transform_seed": seed}


def user_params(raw: dict[str, Any], builtin_names: list[str]) -> tuple[UserSpec, dict[str, Any]]:
    """Validate a user objective's keys (``raw`` holds only :data:`USER_KEYS`); nothing is imported."""
    # a user's objective brings its own machinery: a built-in run never imports it (start-up)
    from .expression import Expression, ExpressionError
    from .user import check_ref

    if "function" in raw and "expression" in raw:
        raise ObjectiveKeyError("expression", "give either 'function' or 'expression', not both")
    label = raw.get("name")
    if label is not None:
        if not isinstance(label, str) or not LABEL_RE.match(label):
            raise ObjectiveKeyError(
                "name",
                f"a user objective's name is a label of 1-64 letters, digits, '.', '_' or '-', not {label!r}",
            )
        if label in builtin_names:
            raise ObjectiveKeyError(
                "name",
                f"'{label}' is a built-in objective; with "
                f"'{'function' if 'function' in raw else 'expression'}' the name "
                "is only a label: choose another one or leave it out",
            )
    f_min = raw.get("f_min")
    if f_min is not None:
        f_min = _finite("f_min", f_min)
    minima = raw.get("minima")
    if minima is not None:
        if not isinstance(minima, list) or not minima:
            raise ObjectiveKeyError("minima", "must be a point [x0, x1, ...] or a list of points")
        if not isinstance(minima[0], list):
            minima = [minima]
        pts = []
        for i, p in enumerate(minima):
            if not isinstance(p, list) or not p:
                raise ObjectiveKeyError(f"minima.{i}", f"must be a point [x0, x1, ...], not {p!r}")
            pts.append([_finite(f"minima.{i}.{j}", v) for j, v in enumerate(p)])
        minima = pts
    online = raw.get("online", False)
    if not isinstance(online, bool):
        raise ObjectiveKeyError("online", f"must be true or false, not {online!r}")
    if online and "function" not in raw:
        raise ObjectiveKeyError(
            "online", "applies to 'function' objectives: f(x, t) returning values and gradients"
        )
    if online and raw.get("gradient") is not None:
        raise ObjectiveKeyError(
            "gradient", "an online function f(x, t) returns its values and gradients: leave 'gradient' out"
        )
    if online and minima is not None and len(minima) != 1:
        raise ObjectiveKeyError(
            "minima", "an online function's x* (regret is measured against it) is one point"
        )
    if "function" in raw:
        ref, gref = raw["function"], raw.get("gradient")
        for key, r in (("function", ref), ("gradient", gref)):
            problem = check_ref(r) if (key == "function" or r is not None) else None
            if problem:
                raise ObjectiveKeyError(key, problem)
        name = label or _label(ref)
        spec = UserSpec(name=name, kind="function", default_dim=None)
        out = {"function": ref, "gradient": gref, "f_min": f_min, "minima": minima}
        if online:
            out["online"] = True
        if raw.get("timeout_s") is not None:  # the longest one call of the function may take
            timeout = _finite("timeout_s", raw["timeout_s"])
            if timeout <= 0:
                raise ObjectiveKeyError(
                    "timeout_s", f"must be a number of seconds above 0, not {raw['timeout_s']!r}"
                )
            out["timeout_s"] = timeout
        return spec, out
    if "timeout_s" in raw:
        raise ObjectiveKeyError(
            "timeout_s",
            "applies to 'function' objectives (Python code that may hang); "
            "an expression is evaluated by optrun",
        )
    if "gradient" in raw:
        raise ObjectiveKeyError(
            "gradient", "applies to 'function' objectives; an expression's gradient is derived exactly"
        )
    text = raw["expression"]
    try:
        expr = Expression(text)
    except ExpressionError as e:
        raise ObjectiveKeyError("expression", str(e)) from None
    spec = UserSpec(
        name=label or "expression",
        kind="expression",
        default_dim=expr.min_dim or None,
        min_dim=max(1, expr.min_dim),
    )
    return spec, {"expression": text, "f_min": f_min, "minima": minima}


def _label(ref: str) -> str:
    mod, _, attr = ref.partition(":")
    return f"{mod.rsplit('.', 1)[-1]}.{attr}"[:64]


def dim_problem(params: dict[str, Any], dim: int) -> tuple[str, str] | None:
    """``(key, message)`` when a parameter does not fit dimension ``dim``; None when all do."""
    shift = params.get("shift")
    if isinstance(shift, list) and len(shift) != dim:
        return "shift", f"has {len(shift)} numbers but the objective has dimension {dim}"
    if params.get("rotate") and dim > MAX_ROTATE_DIM:
        return "rotate", (
            f"a rotation is a d x d matrix; it is limited to d <= {MAX_ROTATE_DIM}, not d = {dim}"
        )
    for i, p in enumerate(params.get("minima") or ()):
        if len(p) != dim:
            return f"minima.{i}", f"has {len(p)} coordinates but the objective has dimension {dim}"
    return None


def build(
    spec_or_name: ObjectiveSpec | str,
    dim: int,
    params: dict[str, Any],
    bounds: np.ndarray | None = None,
    start: np.ndarray | None = None,
    source: str | None = None,
    recorded: Sequence[str] = (),
    check_start: bool = True,
) -> Objective:
    """The objective a resolved config describes.

    User objectives import and probe the user's code (or compile the expression) and check value
    and gradient at ``start`` (the centre of ``bounds`` when None); errors are
    :class:`~optrun.errors.UserCodeError`. Their modules are found beside the config file
    ``source`` and in the folders its run folder ``recorded`` (:func:`.user.module_dirs`).
    A built-in is checked at ``start`` (:func:`finite_at_start`) unless ``check_start`` is False
    (a caller that checks it itself, keeping the values).
    """
    name = spec_or_name if isinstance(spec_or_name, str) else spec_or_name.name
    if is_user(params):
        if bounds is None:
            raise ValueError("a user objective needs bounds")
        b = np.asarray(bounds, dtype=np.float64).reshape(dim, 2)
        from .user import expression_objective, function_objective

        make = function_objective if "function" in params else expression_objective
        if params.get("online"):
            from .user_online import online_function_objective as make
        return make(
            name,
            dim,
            params,
            b,
            None if start is None else np.asarray(start, dtype=np.float64),
            source,
            recorded,
        )
    if "data" in params:  # a learning objective (validated by .data_config)
        from .data_config import data_objective

        obj = data_objective(name, dim, params, bounds)
        if start is not None and check_start:
            finite_at_start(obj, np.asarray(start, dtype=np.float64))
        return obj
    spec = get_objective(name) if isinstance(spec_or_name, str) else spec_or_name
    own = {p.name: params[p.name] for p in spec.params if p.name in params}
    obj = spec.build(dim, **own)
    obj = transform(
        obj, params.get("shift", False), params.get("rotate", False), params.get("transform_seed", 0)
    )
    if start is not None and check_start:
        finite_at_start(obj, np.asarray(start, dtype=np.float64))
    return replace(obj, info={**obj.info, "params": dict(params)})


def finite_at_start(
    obj: Objective, start: np.ndarray, g: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Refuse a start (e.g. ``start: [1e200, 1e200]`` on rosenbrock) where a built-in's value or
    gradient overflows: the run would diverge at iteration 0 and report nothing useful. Returns
    ``f`` and the gradient at ``start[None, :]`` (written into ``g``, a ``(1, d)`` buffer, when
    given and the objective has ``evaluate_into``: the same bits either way)."""
    from .user import check_start

    with np.errstate(all="ignore"):
        if g is not None and obj.evaluate_into is not None:
            f = obj.evaluate_into(start[None, :], g)
        else:
            f, g = obj.value_and_grad(start[None, :])
    check_start(f"objective '{obj.name}'", f, g, start, f"the gradient of objective '{obj.name}'")
    return f, g
