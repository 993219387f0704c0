"""The ``objective:`` keys of a learning problem, validated, and the objective they describe.

    objective: {name: logistic, data: train.csv, target: label, l2: 1e-3, intercept: true,
                standardize: false, test: test.csv}

* ``name``: ``least-squares``, ``logistic`` or ``softmax`` (:mod:`.data_losses`);
* ``data``: a file (CSV, NPZ or libsvm, :mod:`.data`; a relative path is read from the config
  file's folder), a data set shipped with optrun ``{dataset: digits}`` (:mod:`optrun.datasets`)
  or a mapping ``{synthetic: regression | classification | multiclass, n, features,
  seed, condition, noise, classes}`` (:mod:`.data_prep`);
* ``target``: a CSV file's target column (required for CSV, refused otherwise);
* ``l2`` (>= 0, default 0), ``intercept`` (default true), ``standardize`` (default false: when
  true, each feature is centred and scaled by the training data's mean and standard deviation);
* ``test``: a test file in the training file's format, or a fraction in (0, 1) held out of the
  data by a split seeded with ``split_seed`` (default 0); none by default;
* ``batch_size`` (a whole number >= 1, default the whole data set; one at least the training set's
  size is the whole set) and ``sampling`` (``shuffle`` or ``replace``): see :mod:`.data_rounds`.

:func:`learning_params` checks the keys without reading any file (a run folder's config is read
anywhere); :func:`prepare` reads the data and builds the training and test objectives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..datasets import DATASETS, location
from .base import Objective
from .data import COMPRESSED, DataError, Dataset, same_columns
from .data_losses import KINDS, DataLoss, data_loss, on_test
from .data_optimum import Optimum
from .data_prep import KINDS as SYNTHETIC_KINDS
from .data_prep import Standardization, shipped, split, synthetic
from .data_rounds import SAMPLING, Learning, default_every, full_batch
from .data_supply import array_hash, optimum_once, read


class ObjectiveKeyError(ValueError):
    """A bad value under ``objective.<key>`` of a learning objective; config validation adds file
    and line."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key, self.message = key, message


KEYS = (
    "name",
    "data",
    "target",
    "l2",
    "intercept",
    "standardize",
    "test",
    "split_seed",
    "batch_size",
    "sampling",
)
SYNTHETIC_KEYS = ("synthetic", "n", "features", "seed", "condition", "noise", "classes")
#: the synthetic data each objective can use
FITS = {
    "least-squares": ("regression",),
    "logistic": ("classification",),
    "softmax": ("classification", "multiclass"),
}


def is_learning(raw: dict[str, Any]) -> bool:
    return raw.get("name") in KINDS


def _bool(key: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise ObjectiveKeyError(key, f"must be true or false, not {v!r}")
    return v


def _whole(key: str, v: Any, low: int, high: int = 2**63 - 1) -> int:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
        raise ObjectiveKeyError(key, f"must be a whole number from {low} up, not {v!r}")
    return v


def _number(key: str, v: Any, low: float, above: bool = False) -> float:
    ok = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
    if not ok or v < low or (above and v == low):
        raise ObjectiveKeyError(
            key, f"must be a finite number {'above' if above else 'of at least'} {low:g}, not {v!r}"
        )
    return float(v)


def _synthetic(name: str, raw: dict[str, Any]) -> dict[str, Any]:
    unknown = [k for k in raw if k not in SYNTHETIC_KEYS]
    if unknown:
        raise ObjectiveKeyError(
            f"data.{unknown[0]}", f"unknown key; a synthetic data set takes {', '.join(SYNTHETIC_KEYS)}"
        )
    kind = raw["synthetic"]
    if kind not in SYNTHETIC_KINDS:
        raise ObjectiveKeyError(
            "data.synthetic", f"must be one of {', '.join(SYNTHETIC_KINDS)}, not {kind!r}"
        )
    if kind not in FITS[name]:
        raise ObjectiveKeyError(
            "data.synthetic", f"'{kind}' data do not fit {name}: use {' or '.join(FITS[name])}"
        )
    out = {
        "synthetic": kind,
        "n": _whole("data.n", raw.get("n", 1000), 2),
        "features": _whole("data.features", raw.get("features", 10), 1),
        "seed": _whole("data.seed", raw.get("seed", 0), 0, 2**32 - 1),
        "condition": _number("data.condition", raw.get("condition", 1.0), 1.0),
        "noise": _number("data.noise", raw.get("noise", 0.1), 0.0),
    }
    if kind == "multiclass":
        out["classes"] = _whole("data.classes", raw.get("classes", 3), 2, 10_000)
    elif "classes" in raw:
        raise ObjectiveKeyError("data.classes", "applies to multiclass data only")
    if out["n"] < out["features"]:
        raise ObjectiveKeyError(
            "data.n", f"must be at least data.features ({out['features']}), not {out['n']}"
        )
    return out


def _dataset(name: str, raw: dict[str, Any]) -> dict[str, Any]:
    unknown = [k for k in raw if k != "dataset"]
    if unknown:
        raise ObjectiveKeyError(f"data.{unknown[0]}", "unknown key; a shipped data set takes only 'dataset'")
    if raw["dataset"] not in DATASETS:
        raise ObjectiveKeyError(
            "data.dataset", f"optrun ships no data set {raw['dataset']!r}; it ships {', '.join(DATASETS)}"
        )
    kind = "multiclass" if DATASETS[raw["dataset"]].classes > 2 else "classification"
    if kind not in FITS[name]:
        raise ObjectiveKeyError(
            "data.dataset", f"'{raw['dataset']}' has {kind} labels, which do not fit {name}: use softmax"
        )
    return {"dataset": raw["dataset"]}


def learning_params(raw: dict[str, Any]) -> dict[str, Any]:
    """The keys of a learning objective with their defaults; :class:`ObjectiveKeyError` names a
    bad one. No file is read."""
    unknown = [k for k in raw if k not in KEYS and k != "dim"]  # (dim: checked against the data)
    if unknown:
        raise ObjectiveKeyError(unknown[0], f"unknown key for a data objective (it takes {', '.join(KEYS)})")
    if "data" not in raw:
        raise ObjectiveKeyError(
            "data", "is required: a data file (CSV, NPZ, libsvm), {dataset: ...} or {synthetic: ...}"
        )
    name, data = raw["name"], raw["data"]
    if isinstance(data, dict) and "dataset" in data:
        data = _dataset(name, data)
    elif isinstance(data, dict):
        if "synthetic" not in data:
            raise ObjectiveKeyError(
                "data",
                "a mapping must name a synthetic data set, e.g. {synthetic: regression}, or a shipped "
                "one, e.g. {dataset: digits}",
            )
        data = _synthetic(name, data)
    elif not isinstance(data, str) or not data:
        raise ObjectiveKeyError(
            "data", f"must be a file name, {{dataset: ...}} or {{synthetic: ...}}, not {data!r}"
        )
    if isinstance(data, str) and Path(data).suffix.lower() in COMPRESSED:
        raise ObjectiveKeyError(
            "data", f"{data}: compressed files are not read; decompress it first (e.g. gunzip)"
        )
    csv = isinstance(data, str) and data.lower().endswith(".csv")
    target = raw.get("target")
    if csv and not isinstance(target, str):
        raise ObjectiveKeyError("target", "a CSV data file needs the name of its target column")
    if not csv and target is not None:
        raise ObjectiveKeyError("target", "applies to CSV data files (NPZ has 'y', libsvm the first field)")
    test = raw.get("test")
    if isinstance(test, str):
        if not isinstance(data, str):
            raise ObjectiveKeyError(
                "test",
                "a test file needs a training file; for a shipped or synthetic data set give a fraction",
            )
    elif test is not None and not (isinstance(test, float) and 0 < test < 1):
        raise ObjectiveKeyError("test", f"must be a file name or a fraction between 0 and 1, not {test!r}")
    if raw.get("split_seed") not in (None, 0) and not isinstance(test, float):
        raise ObjectiveKeyError("split_seed", "seeds the split of test: FRACTION, and there is none")
    out = {
        "data": data,
        "target": target,
        "l2": _number("l2", raw.get("l2", 0.0), 0.0),
        "intercept": _bool("intercept", raw.get("intercept", True)),
        "standardize": _bool("standardize", raw.get("standardize", False)),
        "test": test,
        "split_seed": _whole("split_seed", raw.get("split_seed", 0), 0, 2**32 - 1),
        "batch_size": None if raw.get("batch_size") is None else _whole("batch_size", raw["batch_size"], 1),
        "sampling": raw.get("sampling", "shuffle"),
    }
    if out["sampling"] not in SAMPLING:
        raise ObjectiveKeyError("sampling", f"must be one of {', '.join(SAMPLING)}, not {out['sampling']!r}")
    return out


@dataclass(frozen=True)
class Prepared:
    """A learning problem ready to run: the training objective, the test objective (or None), the
    standardisation applied (or None), f* and a record of it all for ``meta.json``."""

    train: DataLoss
    test: DataLoss | None
    standardization: Standardization | None
    optimum: Optimum
    record: dict[str, Any]


def prepare(name: str, params: dict[str, Any], base: str | Path = ".") -> Prepared:
    """Read (or make) the data of validated ``params`` (relative files from ``base``), split,
    standardise, build the objectives and find f*. :class:`DataError` on any bad file or value."""
    data, file = params["data"], None
    if isinstance(data, dict) and "dataset" in data:
        train: Dataset = shipped(data["dataset"])
        file = location(data["dataset"])  # f* cached beside it, as beside a data file
    elif isinstance(data, dict):
        kw = {k: v for k, v in data.items() if k != "synthetic"}
        train = synthetic(data["synthetic"], **kw)
    else:
        file = Path(base) / data
        train = read(file, params["target"])
    test = None
    if isinstance(params["test"], str):
        test = read(Path(base) / params["test"], params["target"], features=train.features)
        same_columns(train, test)
    elif params["test"] is not None:
        train, test = split(train, params["test"], params["split_seed"])
    st = None
    if params["standardize"]:
        st = Standardization.of(train)
        train = st.apply(train)
        test = None if test is None else st.apply(test)
    loss, classes = data_loss(name, train, params["l2"], params["intercept"])
    test_loss = None if test is None else on_test(loss, test, classes)
    found, sha = optimum_once(loss, file)  # once per process and content
    record = {
        "source": train.source,
        "n": train.n,
        "features": train.features,
        "classes": None if classes is None else classes.tolist(),
        "test_n": None if test is None else test.n,
        "standardization": None if st is None else st.record(),
        "f_star": found.f_star,
        "f_star_solver": found.solver,
        "f_star_grad_norm": found.grad_norm,
        "f_star_note": found.reason,
        "sha256": sha,  # of the training arrays and parameters: resume checks it
        **({} if test is None else {"test_source": test.source, "test_sha256": array_hash(test.X, test.y)}),
    }
    return Prepared(loss, test_loss, st, found, record)


def absolute_files(params: dict[str, Any], base: str | Path) -> dict[str, Any]:
    """``params`` with its ``data`` and ``test`` file names made absolute from ``base`` (the config
    file's folder), so that the config a run folder records finds them again."""
    out = dict(params)
    for key in ("data", "test"):
        if isinstance(out[key], str):
            out[key] = str((Path(base) / out[key]).resolve())
    return out


def _file_shape(name: str, path: str, target: str | None) -> tuple[int, int, int]:
    data = read(path, target)  # (read once: the run's build reads it from there again)
    _, classes = data_loss(name, data)
    return data.features, 1 if classes is None else len(classes), data.n


def _test_fits(name: str, path: str, test: str, target: str | None) -> None:
    """Refuse a test file whose features or labels do not fit the training file's, so that a
    sweep says so before its folder exists."""
    train = read(path, target)
    tested = read(test, target, features=train.features)
    same_columns(train, tested)
    loss, classes = data_loss(name, train)
    on_test(loss, tested, classes)


def data_shape(name: str, params: dict[str, Any]) -> tuple[int, int]:
    """``(d, n)``: the dimension ``(features + intercept) x classes`` of validated ``params`` with
    absolute file names, and the number of training samples (after a split by fraction); a file is
    read (once per content stamp), a synthetic set is not."""
    data = params["data"]
    if isinstance(data, dict) and "dataset" in data:
        shipped_set = DATASETS[data["dataset"]]
        features, n = shipped_set.features, shipped_set.samples
        classes = shipped_set.classes if name == "softmax" else 1
    elif isinstance(data, dict):
        features, n = data["features"], data["n"]
        classes = data.get("classes", 2) if name == "softmax" else 1
    else:
        features, classes, n = _file_shape(name, data, params["target"])
    test = params["test"]
    if isinstance(test, str):
        _test_fits(name, data, test, params["target"])
    if isinstance(test, float):  # (the split's own count, data_prep.split)
        n -= min(max(1, round(test * n)), n - 1)
    return (features + int(params["intercept"])) * classes, n


def data_dim(name: str, params: dict[str, Any]) -> int:
    """The dimension of :func:`data_shape`."""
    return data_shape(name, params)[0]


def learning_config(raw: dict[str, Any], source: str) -> tuple[LearningSpec, dict[str, Any]]:
    """Config validation's ``(spec, params)`` of a learning objective: the keys checked, files
    made absolute from the config file ``source``'s folder, the dimension and the training set's
    size read from the data."""
    params = absolute_files(learning_params(raw), Path(source).parent)
    d, n = data_shape(raw["name"], params)
    return LearningSpec(raw["name"], d, train_n=n, batch_size=params["batch_size"]), params


@dataclass(frozen=True)
class LearningSpec:
    """What config validation needs of a learning objective: its one dimension (from the data),
    default bounds [-1, 1] and start 0; f* is found when the run builds it."""

    name: str
    default_dim: int
    params: tuple = ()
    online: None = None
    #: without a ``start:`` key the run starts at x0 = 0 (the convention for these convex models)
    zero_start = True
    #: f* is the data's (found when the objective is built): expect rules on f - f* wait for it
    f_min_from_data = True
    train_n: int = 0  # training samples
    batch_size: int | None = None

    @property
    def minibatches(self) -> bool:
        return not full_batch(self.batch_size, self.train_n)

    def default_every(self, iterations: int) -> int:
        """``trace.every`` when the config leaves it out (:func:`.data_rounds.default_every`)."""
        return default_every(self.batch_size, self.train_n, iterations)

    def accepts_dim(self, d: int) -> bool:
        return d == self.default_dim

    def dims_text(self) -> str:
        return f"d = {self.default_dim} ((features + intercept) x classes of its data)"

    def bounds(self, d: int) -> np.ndarray:
        return np.broadcast_to(np.array([-1.0, 1.0]), (d, 2))

    def minima(self, d: int, **_: Any) -> np.ndarray:
        return np.empty((0, d))

    def f_min(self, d: int, **_: Any) -> None:
        return None


def data_objective(name: str, dim: int, params: dict[str, Any], bounds: np.ndarray | None) -> Objective:
    """The :class:`Objective` of validated ``params``: full-data value and gradient, f* as
    ``f_min`` (None without a finite optimum) and ``info["data"]``, the record for ``meta.json``."""
    prepared = prepare(name, params)
    loss = prepared.train
    if loss.dim != dim:
        raise DataError(f"{params['data']}: the data now give dimension {loss.dim}, not {dim}")
    batch = None if full_batch(params["batch_size"], loss.X.shape[0]) else params["batch_size"]
    return Objective(
        name=name,
        dim=dim,
        value_and_grad=loss.value_and_grad,
        bounds=LearningSpec(name, dim).bounds(dim) if bounds is None else bounds,
        minima=np.empty((0, dim)),
        f_min=prepared.optimum.f_star,
        info={
            "params": dict(params),
            "gradient": "analytic",
            "evaluations_per_gradient": 0,
            "data": prepared.record,
        },
        learning=Learning(loss, prepared.test, batch, params["sampling"]),
    )


__all__ = [
    "KEYS",
    "DataError",
    "LearningSpec",
    "ObjectiveKeyError",
    "Prepared",
    "absolute_files",
    "data_dim",
    "data_objective",
    "data_shape",
    "is_learning",
    "learning_config",
    "learning_params",
    "prepare",
]
