"""f*, the optimum of a learning objective's regularised training loss, and its cache.

:func:`optimum` runs Newton's method (exact Hessian built a block of samples at a time, a solve
with a tiny ridge, Armijo backtracking) when the ``d x d`` Hessian fits in :data:`HESSIAN_BYTES`,
else L-BFGS (memory 20, the same line search), until the full gradient's norm is below
:data:`TOLERANCE` times max(1, its norm at 0) (a problem whose gradients are large, such as least
squares on targets near 1e6, cannot get an absolute 1e-10 out of rounding). The losses are
convex, so that point is the global minimum. A classifier without ``l2`` whose iterate classifies
every training sample strictly right has no finite optimum (scaling the weights up lowers the
loss without end): f* is then unknown, and :class:`Optimum` says why; so it is, with the gradient
norm reached, when the solver stalls or runs out of iterations above the tolerance.

:func:`cached_optimum` keeps the answer in ``.optrun-fstar/<key>.json`` beside the data file, the
key a SHA-256 of the training arrays' bytes (after split and standardisation) and the problem's
parameters, so a changed file or parameter never reuses a stale f*.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .data_losses import DataLoss

TOLERANCE = 1e-10
HESSIAN_BYTES = 256 * 1024**2
CACHE_DIR = ".optrun-fstar"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Optimum:
    """``f_star`` (None when there is no finite optimum: ``reason`` says why), the solver, its
    iterations and the gradient norm reached."""

    f_star: float | None
    solver: str
    iterations: int
    grad_norm: float
    reason: str | None = None


def hessian(loss: DataLoss, w: np.ndarray) -> np.ndarray:
    """The ``d x d`` Hessian of ``loss`` at one point ``w`` ``(d,)``, summed over blocks of
    samples so that the temporaries besides it stay near :data:`HESSIAN_BYTES` / 4."""
    n, p = loss.X.shape
    k, rows = loss.classes, loss.rows
    H = np.zeros((loss.dim, loss.dim))
    H4 = H.reshape(rows, k, rows, k)
    block = max(1, HESSIAN_BYTES // 4 // (8 * rows * (k + 1)))
    for lo in range(0, n, block):
        X = loss.X[lo : lo + block]
        A = np.hstack([X, np.ones((len(X), 1))]) if loss.intercept else X
        if loss.kind == "least-squares":
            H += A.T @ A
        elif loss.kind == "logistic":
            z = A @ w
            s = 1.0 / (1.0 + np.exp(-z))
            H += (A * (s * (1.0 - s))[:, None]).T @ A
        else:
            Z = A @ w.reshape(rows, k)
            P = np.exp(Z - Z.max(axis=1, keepdims=True))
            P /= P.sum(axis=1, keepdims=True)
            B = (A[:, :, None] * P[:, None, :]).reshape(len(A), -1)  # (m, rows k), row-major like w
            H -= B.T @ B
            for c in range(k):
                H4[:, c, :, c] += (A * P[:, c, None]).T @ A
    H /= n
    reg = np.zeros((rows, k))
    reg[:p] = loss.l2
    return H + np.diag(reg.ravel())


def newton_step(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The Newton step ``-H^-1 g`` by an LU solve of ``H`` plus a ridge of 1e-12 of its mean
    diagonal (the softmax intercept's shift is a null direction of ``H``, which the gradient has
    no part in); least squares (an SVD, ten times slower) if that is singular still. A step is
    only a direction: the line search and the gradient norm decide."""
    d = H.shape[0]
    ridge = 1e-12 * max(float(np.trace(H)) / d, np.finfo(float).tiny)
    try:
        step = np.linalg.solve(H + ridge * np.eye(d), -g)
        if np.all(np.isfinite(step)):
            return step
    except np.linalg.LinAlgError:
        pass
    return np.linalg.lstsq(H, -g, rcond=None)[0]


def separated(loss: DataLoss, w: np.ndarray) -> bool:
    """Does ``w`` classify every training sample strictly right (a proof of separability)?"""
    if loss.kind == "least-squares" or loss.l2 > 0:
        return False
    Z = loss.scores(w.reshape(1, loss.rows, loss.classes))[0]
    if loss.kind == "logistic":
        return bool(np.all(loss.y * Z[:, 0] > 0))
    yi = loss.y.astype(np.intp)
    own = Z[np.arange(len(yi)), yi]
    Z[np.arange(len(yi)), yi] = -np.inf
    return bool(np.all(own > Z.max(axis=1)))


def _line_search(loss: DataLoss, w: np.ndarray, f: float, g: np.ndarray, step: np.ndarray) -> tuple:
    slope = float(g @ step)
    if slope >= 0:  # not a descent direction (rounding near the optimum): steepest descent
        step, slope = -g, -float(g @ g)
    t = 1.0
    for _ in range(60):
        w_new = w + t * step
        f_new, g_new = loss.value_and_grad(w_new)
        if f_new <= f + 1e-4 * t * slope:
            return w_new, float(f_new), g_new
        # near the optimum f's rounding hides the decrease: a smaller gradient decides
        if f_new <= f + 4 * np.finfo(float).eps * abs(f) and np.linalg.norm(g_new) < np.linalg.norm(g):
            return w_new, float(f_new), g_new
        t /= 2
    return w, f, g  # no decrease left at this precision


def optimum(loss: DataLoss, max_iterations: int | None = None, hessian_bytes: int = HESSIAN_BYTES) -> Optimum:
    """f* of ``loss`` (see the module docstring); ``max_iterations`` defaults to 200 Newton or
    1,000 L-BFGS iterations."""
    newton = loss.dim**2 * 8 <= hessian_bytes
    if max_iterations is None:
        max_iterations = 200 if newton else 1000
    w = np.zeros(loss.dim)
    f, g = loss.value_and_grad(w)
    f = float(f)
    tolerance = TOLERANCE * max(1.0, float(np.linalg.norm(g)))
    S, Y = [], []
    for it in range(max_iterations + 1):
        norm = float(np.linalg.norm(g))
        if norm < tolerance:
            return Optimum(f, "newton" if newton else "l-bfgs", it, norm)
        if separated(loss, w):
            return Optimum(
                None,
                "newton" if newton else "l-bfgs",
                it,
                norm,
                "no finite optimum: the training data are separable and l2 is 0 (set l2 > 0)",
            )
        if it == max_iterations:
            break
        if newton:
            step = newton_step(hessian(loss, w), g)
        else:
            step = _two_loop(g, S, Y)
        w_new, f_new, g_new = _line_search(loss, w, f, g, step)
        if not newton:
            s, y = w_new - w, g_new - g
            if s @ y > 1e-300:
                S, Y = (S + [s])[-20:], (Y + [y])[-20:]
        if f_new == f and np.array_equal(w_new, w):
            break
        w, f, g = w_new, f_new, g_new
    return Optimum(
        None,
        "newton" if newton else "l-bfgs",
        it,
        norm,
        f"f* unknown: the solver stopped at gradient norm {norm:.3g}, not below {tolerance:.3g} "
        "(an ill-conditioned problem: standardize: true or a larger l2 may help)",
    )


def _two_loop(g: np.ndarray, S: list, Y: list) -> np.ndarray:
    q = -g.copy()
    alphas = []
    for s, y in zip(reversed(S), reversed(Y)):
        a = (s @ q) / (s @ y)
        q -= a * y
        alphas.append(a)
    if S:
        q *= (S[-1] @ Y[-1]) / (Y[-1] @ Y[-1])
    for (s, y), a in zip(zip(S, Y), reversed(alphas)):
        q += (a - (y @ q) / (s @ y)) * s
    return q


def array_hash(X: np.ndarray, y: np.ndarray, *extra: bytes) -> str:
    """The SHA-256 of two arrays' shapes, types and bytes, then ``extra`` (a test set's content
    hash; with the problem's parameters, f*'s cache key)."""
    h = hashlib.sha256()
    for a in (X, y):
        h.update(repr((a.shape, a.dtype.str)).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    for b in extra:
        h.update(b)
    return h.hexdigest()


def cache_key(loss: DataLoss) -> str:
    params = [loss.kind, loss.l2.hex(), loss.intercept, loss.classes, TOLERANCE]
    return array_hash(loss.X, loss.y, json.dumps(params).encode())


def cached_optimum(loss: DataLoss, beside: str | Path | None) -> Optimum:
    """:func:`optimum`, read from or written to the cache beside the data file ``beside`` (no
    cache when None, e.g. synthetic data, or when that folder cannot be written)."""
    if beside is None:
        return optimum(loss)
    path = Path(beside).resolve().parent / CACHE_DIR / f"{cache_key(loss)}.json"
    try:
        doc = json.loads(path.read_text())
        if doc.get("format_version") == FORMAT_VERSION:
            return Optimum(**doc["optimum"])
    except (OSError, ValueError, TypeError, KeyError):
        pass
    found = optimum(loss)
    try:
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"format_version": FORMAT_VERSION, "optimum": asdict(found)}))
        os.replace(tmp, path)
    except OSError:
        pass
    return found
