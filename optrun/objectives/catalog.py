"""What ``optrun objectives`` shows: each built-in described as plain data (no console code)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import ObjectiveSpec

TRANSFORM_DOC = (
    "shift: false | true | [s_1, ..., s_d] (seeded random or given displacement of the minimizer); "
    "rotate: false | true (seeded random rotation about the minimizer, d <= 2000); "
    "transform_seed: integer (default 0)"
)


ONLINE_DOC = (
    "round t's gradient (t = 1, 2, ...) is f_t's at the point after t - 1 steps; the trace adds "
    "regret R_t = sum over s <= t of f_s(x_s) - f_s(x*) and avg_regret R_t / t; row r holds round "
    "t = r + 1 (its f is f_t at the point played)"
)


def _num(v: float) -> str:
    return f"{v:.10g}"


def bounds_text(b: np.ndarray, any_dim: bool) -> str:
    """``[-5.12, 5.12]^d`` when every coordinate has the same interval, else ``[..] x [..]``."""
    if (b == b[0]).all():
        power = "d" if any_dim else str(len(b))
        return f"[{_num(b[0, 0])}, {_num(b[0, 1])}]^{power}"
    return " x ".join(f"[{_num(lo)}, {_num(hi)}]" for lo, hi in b)


def point_text(p: np.ndarray, exact: bool = False) -> str:
    """``(3, 0.5)``; ``exact`` prints every digit float64 holds."""
    return "(" + ", ".join(repr(float(v)) if exact else _num(v) for v in p) + ")"


def minima_text(spec: ObjectiveSpec, minima: np.ndarray) -> str:
    if spec.minima_text:
        return spec.minima_text
    if spec.dims[1] is None and minima.shape[0] == 1 and (minima == minima[0, 0]).all():
        return f"x_i = {_num(minima[0, 0])} for all i"
    if minima.shape[0] > 2:
        return f"{point_text(minima[0])} and {minima.shape[0] - 1} more"
    return "; ".join(point_text(p) for p in minima)


def describe(spec: ObjectiveSpec, dim: int | None = None) -> dict[str, Any]:
    """Everything known about a built-in, at dimension ``dim`` (its default when None)."""
    d = spec.default_dim if dim is None else dim
    params = {p.name: p.default for p in spec.params}
    bounds = np.asarray(spec.bounds(d), dtype=float).reshape(d, 2)
    minima = np.asarray(spec.minima(d, **params), dtype=float).reshape(-1, d)
    f_min = spec.f_min(d, **params)
    any_dim = spec.dims[1] is None
    return {
        "name": spec.name,
        "aliases": list(spec.aliases),
        "summary": spec.summary,
        "formula": spec.formula,
        "reference": spec.reference,
        "dims": {"min": spec.dims[0], "max": spec.dims[1]},
        "dims_text": spec.dims_text(),
        "default_dim": spec.default_dim,
        "dim": d,
        "bounds": bounds.tolist(),
        "bounds_text": bounds_text(bounds, any_dim),
        "f_min": f_min,
        "f_min_text": spec.f_min_text or ("unknown" if f_min is None else _num(f_min)),
        "minima": minima.tolist(),
        "minima_text": minima_text(spec, minima),
        "params": [
            {"name": p.name, "default": p.default, "range": p.range_text(), "doc": p.doc} for p in spec.params
        ],
        "transform_keys": "none (an online objective)" if spec.online else TRANSFORM_DOC,
        "online": ONLINE_DOC if spec.online else None,
    }
