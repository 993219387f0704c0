"""What ``optrun objectives`` says of the learning objectives (least-squares, logistic, softmax on
data): a one-line summary and the loss of each, the meaning of every ``objective:`` key of
:mod:`.data_config` and an example config. Plain data: the CLI renders it."""

from __future__ import annotations

from typing import Any

from .data_config import KEYS

DIMS = "(features + intercept) x classes, read from the data (classes = 1 but for softmax)"
START = "x0 = 0 (every weight zero) unless the config gives start:"
F_STAR = (
    "the regularised training loss's minimum, found by Newton's method (L-BFGS when the Hessian is "
    "too large) to a gradient norm below 1e-10, cached beside the data file and recorded in "
    "meta.json; none for separable data without l2 (then expect: rules on f - f* are refused)"
)

SUMMARIES = {
    "least-squares": (
        "linear regression: mean squared error on data",
        "mean_i (x_i . w + b - y_i)^2 / 2 + (l2 / 2) |w|^2",
    ),
    "logistic": (
        "binary logistic regression on data (labels 0/1 or -1/+1)",
        "mean_i log(1 + exp(-y_i (x_i . w + b))) + (l2 / 2) |w|^2",
    ),
    "softmax": (
        "multinomial logistic regression (cross-entropy) on data; W is features x classes",
        "mean_i [logsumexp_k z_ik - z_i,y_i] + (l2 / 2) |W|^2, z_i = x_i W + b",
    ),
}

#: key -> (default, meaning)
KEY_DOCS: dict[str, tuple[str, str]] = {
    "name": ("(required)", "least-squares, logistic or softmax"),
    "data": (
        "(required)",
        "a data file: CSV (header row), NPZ (arrays X and y) or libsvm/svmlight text, relative to "
        "the config's folder; or a seeded synthetic set {synthetic: regression | classification "
        "| multiclass, n, features, seed, condition, noise, classes}",
    ),
    "target": ("-", "a CSV file's target column (required for CSV, refused for NPZ and libsvm)"),
    "l2": ("0", "l2 >= 0: adds (l2 / 2) |w|^2 to the mean loss (the intercept is not regularised)"),
    "intercept": ("true", "a bias term b, the last row of the parameters"),
    "standardize": (
        "false",
        "true: centre and scale each feature by the training data's mean and standard deviation "
        "(recorded in meta.json)",
    ),
    "test": (
        "none",
        "a test file in the training file's format, or a fraction in (0, 1) of the data held out",
    ),
    "split_seed": ("0", "the seed of the held-out split (test: a fraction)"),
    "batch_size": ("the whole data set", "samples per minibatch gradient (the whole set: deterministic)"),
    "sampling": ("shuffle", "shuffle (epochs of a seeded permutation) or replace (with replacement)"),
}

EXAMPLE = """\
objective:
  name: {name}
  data: train.csv        # or {{synthetic: {synthetic}, n: 1000, features: 10}}
  target: label
  l2: 1.0e-3
  test: 0.2              # 20 % held out (split_seed: 0)
  batch_size: 128
  sampling: shuffle
algorithm: {{name: adam, alpha: 0.01}}
iterations: 2000
expect: {{f_gap_max: 1.0e-3}}   # f - f*, f* found from the data"""

_SYNTHETIC = {"least-squares": "regression", "logistic": "classification", "softmax": "multiclass"}


def data_names() -> tuple[str, ...]:
    return tuple(SUMMARIES)


def describe_data(name: str) -> dict[str, Any]:
    """Everything ``optrun objectives NAME`` shows of the learning objective ``name``."""
    summary, formula = SUMMARIES[name]
    return {
        "name": name,
        "kind": "data",
        "summary": summary,
        "formula": formula,
        "dims_text": DIMS,
        "start": START,
        "f_min_text": F_STAR,
        "keys": [{"key": k, "default": KEY_DOCS[k][0], "doc": KEY_DOCS[k][1]} for k in KEYS],
        "example": EXAMPLE.format(name=name, synthetic=_SYNTHETIC[name]),
    }


__all__ = ["KEY_DOCS", "SUMMARIES", "data_names", "describe_data"]
