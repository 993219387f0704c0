"""Hyperparameter declarations shared by the named optimizers (one place for names and ranges).

optrun names the learning rate ``alpha`` in every algorithm and variant: it is torch.optim's
``lr`` and optax's ``learning_rate``. torch's betas tuple is ``beta1``/``beta2`` (optax's
``b1``/``b2``); torch RMSprop's smoothing constant ``alpha`` is ``decay`` (optax's name).
Where a library has no default (optax requires a learning rate) optrun uses torch's default for
the same algorithm, and the variant's notes say so.
"""

from __future__ import annotations

from ..params import Param


def alpha(default: float, doc: str = "learning rate (torch: lr, optax: learning_rate)") -> Param:
    return Param("alpha", default, doc, low=0.0, low_open=True)


def eps(default: float, doc: str = "added to the denominator for numerical stability") -> Param:
    return Param("eps", default, doc, low=0.0)


def eps_root(default: float = 0.0) -> Param:
    return Param("eps_root", default, "added to the second moment inside the square root (optax)", low=0.0)


def beta(name: str, default: float, doc: str) -> Param:
    return Param(name, default, doc, low=0.0, high=1.0, high_open=True)


def beta1(default: float = 0.9) -> Param:
    return beta("beta1", default, "decay of the first moment (torch: betas[0], optax: b1)")


def beta2(default: float = 0.999) -> Param:
    return beta("beta2", default, "decay of the second moment (torch: betas[1], optax: b2)")


def weight_decay(default: float = 0.0, doc: str = "coupled L2 penalty: g = g + weight_decay * x") -> Param:
    return Param("weight_decay", default, doc, low=0.0)


def momentum(default: float, doc: str = "momentum factor mu") -> Param:
    return Param("momentum", default, doc, low=0.0, high=1.0, high_open=True)


def flag(name: str, default: bool, doc: str) -> Param:
    return Param(name, default, doc, kind=bool)
