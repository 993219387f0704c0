"""The catalogue of built-in algorithms, in the order ``optrun algorithms`` lists them.

Each algorithm lives with its relatives: :mod:`.sgd` (gradient descent, momentum, Nesterov),
:mod:`.adaptive` (AdaGrad, RMSProp), :mod:`.adadelta` and :mod:`.adam` (Adam, AdamW, AdaMax, NAdam,
AMSGrad; declared in :mod:`.adam_catalogue`). Every update rule is written in the docstring of its kernel and in ``Variant.rule``.
``t`` is the 1-based step number.
"""

from __future__ import annotations

from .adadelta import ADADELTA
from .adam_catalogue import ADAM, ADAMAX, ADAMW, AMSGRAD, NADAM
from .adaptive import ADAGRAD, RMSPROP
from .base import Algorithm
from .sgd import GD, MOMENTUM, NESTEROV

ALL: tuple[Algorithm, ...] = (
    GD,
    MOMENTUM,
    NESTEROV,
    ADAGRAD,
    RMSPROP,
    ADADELTA,
    ADAM,
    ADAMW,
    ADAMAX,
    NADAM,
    AMSGRAD,
)

__all__ = [
    "ADADELTA",
    "ADAGRAD",
    "ADAM",
    "ADAMAX",
    "ADAMW",
    "ALL",
    "AMSGRAD",
    "GD",
    "MOMENTUM",
    "NADAM",
    "NESTEROV",
    "RMSPROP",
]
