"""Seeded synthetic data sets, seeded train/test splits and standardisation from training data.

A shipped data set (``data: {dataset: digits}``, :mod:`optrun.datasets`) is read by :func:`shipped`.

Synthetic data (``data: {synthetic: KIND, n: ..., features: ..., seed: ..., condition: ...,
noise: ..., classes: ...}``): ``X = sqrt(n) U diag(s) Q^T`` with ``U`` ``(n, p)`` orthonormal
columns and ``Q`` a ``p x p`` rotation, both from the seed, and ``s_j`` spaced geometrically so that
``X^T X / n`` has eigenvalues from 1 down to ``1 / condition``: its condition number is exactly
``condition`` (the Hessian of unregularised least squares without intercept). A true ``w`` (unit
normal entries over ``sqrt(p)``) makes the targets:

* ``regression``: ``y = X w + noise e`` (``e`` standard normal);
* ``classification``: ``y = 1`` where ``X w + noise e > 0``, else 0;
* ``multiclass``: ``y = argmax_k (X W + noise E)_k`` over ``classes`` columns.
"""

from __future__ import annotations

import gzip
import hashlib
import math
from dataclasses import dataclass

import numpy as np

from ..datasets import DATASETS, resource
from .data import DataError, Dataset

KINDS = ("regression", "classification", "multiclass")


def synthetic(
    kind: str,
    n: int,
    features: int,
    seed: int = 0,
    condition: float = 1.0,
    noise: float = 0.1,
    classes: int = 3,
) -> Dataset:
    """A seeded synthetic data set (see the module docstring); the same arguments give the same bits."""
    if kind not in KINDS:
        raise DataError(f"data.synthetic: must be one of {', '.join(KINDS)}, not {kind!r}")
    if n < features:
        raise DataError(
            f"data.n: must be at least data.features ({features}) to set the condition number, not {n}"
        )
    if not (math.isfinite(condition) and condition >= 1):
        raise DataError(f"data.condition: must be a number >= 1, not {condition!r}")
    if not (math.isfinite(noise) and noise >= 0):
        raise DataError(f"data.noise: must be a number >= 0, not {noise!r}")
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    U, _ = np.linalg.qr(rng.standard_normal((n, features)))
    Q, _ = np.linalg.qr(rng.standard_normal((features, features)))
    s = condition ** (-0.5 * np.arange(features) / max(features - 1, 1))
    X = np.ascontiguousarray((U * (math.sqrt(n) * s)) @ Q.T)
    k = classes if kind == "multiclass" else 1
    W = rng.standard_normal((features, k)) / math.sqrt(features)
    Z = X @ W + noise * rng.standard_normal((n, k))
    if kind == "regression":
        y = Z[:, 0].copy()
    elif kind == "classification":
        y = (Z[:, 0] > 0).astype(np.float64)
    else:
        y = np.argmax(Z, axis=1).astype(np.float64)
    label = f"synthetic {kind} n={n} features={features} seed={seed} condition={condition:g} noise={noise:g}"
    return Dataset(X, y, label, tuple(f"x{j}" for j in range(features)))


def arrays(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Features ``(samples, features)`` and labels ``(samples,)`` (float64) of the shipped data
    set ``name`` (``KeyError`` when there is none); :class:`DataError` when its file is damaged."""
    spec = DATASETS[name]
    where = resource(name)
    raw = where.read_bytes()
    if hashlib.sha256(raw).hexdigest() != spec.sha256:
        raise DataError(
            f"{where}: optrun's shipped data set '{name}' is damaged (its SHA-256 is not the "
            "recorded one): reinstall optrun"
        )
    values = np.loadtxt(gzip.decompress(raw).decode("ascii").splitlines(), delimiter=",", ndmin=2)
    X = np.ascontiguousarray(values[:, : spec.features])
    return X, values[:, spec.features].copy()


def shipped(name: str) -> Dataset:
    """The data set ``name`` shipped with optrun (:data:`optrun.datasets.DATASETS`), read offline."""
    if name not in DATASETS:
        raise DataError(f"data.dataset: optrun ships no data set {name!r} (it ships {', '.join(DATASETS)})")
    X, y = arrays(name)
    return Dataset(X, y, f"{name} (shipped with optrun)", tuple(f"x{j}" for j in range(X.shape[1])))


def split(data: Dataset, test_fraction: float, seed: int = 0) -> tuple[Dataset, Dataset]:
    """A seeded train/test split: a permutation from ``seed`` puts ``round(test_fraction n)``
    samples (at least one, and one fewer than ``n`` at most) in the test set."""
    if not 0 < test_fraction < 1:
        raise DataError(f"{data.source}: the test fraction must lie between 0 and 1, not {test_fraction!r}")
    n = data.n
    m = min(max(1, round(test_fraction * n)), n - 1)
    if n < 2:
        raise DataError(f"{data.source}: one sample cannot be split into a training and a test set")
    order = np.random.default_rng(seed).permutation(n)
    test, train = np.sort(order[:m]), np.sort(order[m:])

    def part(idx: np.ndarray, what: str) -> Dataset:
        return Dataset(
            np.ascontiguousarray(data.X[idx]), data.y[idx].copy(), f"{data.source} ({what})", data.columns
        )

    return part(train, "train"), part(test, "test")


@dataclass(frozen=True)
class Standardization:
    """Per-feature ``mean`` and ``scale`` of the training data (a constant feature keeps scale 1),
    applied as ``(X - mean) / scale``; recorded so that a run says what it did."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def of(cls, train: Dataset) -> Standardization:
        mean = train.X.mean(axis=0)
        scale = train.X.std(axis=0)
        scale[scale == 0] = 1.0
        return cls(mean, scale)

    def apply(self, data: Dataset) -> Dataset:
        X = np.ascontiguousarray((data.X - self.mean) / self.scale)
        return Dataset(X, data.y, data.source, data.columns)

    def record(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}
