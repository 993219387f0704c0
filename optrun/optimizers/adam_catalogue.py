"""The Adam family's declarations: every variant's hyperparameters, rule and notes.

The kernels they build are in :mod:`.adam` (what each library does differently is written there).
"""

from __future__ import annotations

from ..params import Param
from . import hyper as H
from .adam import (
    BETA1_SCHEDULES,
    adam_optax,
    adam_paper,
    adam_torch,
    adamax,
    adamax_optax,
    adamw_optax,
    adamw_torch,
    amsgrad_optax,
    amsgrad_paper,
    amsgrad_torch,
    amsgrad_tutorial,
    nadam_optax,
    nadam_torch,
)
from .base import Algorithm, Variant

_TORCH_ADAM = (H.alpha(1e-3, "learning rate (torch: lr)"), H.beta1(), H.beta2(), H.eps(1e-8))
_OPTAX_ADAM = (
    H.alpha(1e-3, "learning rate (optax: learning_rate; no default there, torch's used)"),
    H.beta1(),
    H.beta2(),
    H.eps(1e-8, "added to the root, outside it"),
    H.eps_root(),
)
_OPTAX_LR = "optax has no default learning rate; optrun uses torch's."

_PAPER = "Reddi, Kale & Kumar, On the Convergence of Adam and Beyond, ICLR 2018"
_PAPER_PARAMS = (
    H.alpha(1e-3, "step size (alpha_t = alpha / sqrt(t) with schedule: inverse_sqrt)"),
    H.beta1(),
    H.beta2(),
    H.eps(0.0, "added to the root; the paper has none (0)"),
)
_PAPER_RULE = (
    "m = beta1 * m + (1 - beta1) * g\n"
    "v = beta2 * v + (1 - beta2) * g**2\n"
    "{max}"
    "x = x - alpha * m / (sqrt({v}) + eps)   (0 / 0 = 0)"
)
_PAPER_NOTES = (
    _PAPER + ", {what}: a constant beta1, no bias correction, m, v{hat} starting at 0. eps "
    "(0 by default: the paper has none) is added to the root; a denominator of 0 (eps = 0 and "
    "only zero gradients so far in that coordinate) gives a step of 0. The paper's step size "
    "alpha_t = alpha / sqrt(t) is schedule: inverse_sqrt."
)

_ADAM_TORCH_RULE = (
    "g = g + weight_decay * x\n"
    "m = beta1 * m + (1 - beta1) * g   (torch lerp)\n"
    "v = beta2 * v + (1 - beta2) * g**2\n"
    "x = x - alpha / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)"
)
_ADAM_OPTAX_RULE = (
    "m = beta1 * m + (1 - beta1) * g\n"
    "v = beta2 * v + (1 - beta2) * g**2\n"
    "m_hat = m / (1 - beta1**t);  v_hat = v / (1 - beta2**t)\n"
    "x = x - alpha * m_hat / (sqrt(v_hat + eps_root) + eps)"
)

ADAM = Algorithm(
    name="adam",
    summary="momentum on bias-corrected first and second moment estimates",
    reference="Kingma & Ba, Adam: A Method for Stochastic Optimization, ICLR 2015",
    variants=(
        Variant(
            "torch",
            _TORCH_ADAM + (H.weight_decay(),),
            adam_torch,
            rule=_ADAM_TORCH_RULE,
            notes="torch.optim.Adam: eps added after dividing sqrt(v) by sqrt(1 - beta2**t) "
            "(the paper's 'efficient' form); weight_decay is coupled L2 (see adamw).",
        ),
        Variant(
            "optax",
            _OPTAX_ADAM,
            adam_optax,
            rule=_ADAM_OPTAX_RULE,
            notes="optax.adam: both moments bias-corrected first, eps_root inside the root. "
            "Differs from torch only in rounding when eps_root = 0. " + _OPTAX_LR,
        ),
        Variant(
            "paper",
            _PAPER_PARAMS,
            adam_paper,
            rule=_PAPER_RULE.format(max="", v="v"),
            notes=_PAPER_NOTES.format(what="Algorithm 1 with Adam's moving averages (section 2)", hat=""),
        ),
    ),
    default_variant="torch",
)

ADAMW = Algorithm(
    name="adamw",
    summary="Adam with weight decay decoupled from the gradient",
    reference="Loshchilov & Hutter, Decoupled Weight Decay Regularization, ICLR 2019",
    variants=(
        Variant(
            "torch",
            _TORCH_ADAM + (H.weight_decay(1e-2, "decoupled decay: x = x * (1 - alpha * weight_decay)"),),
            adamw_torch,
            rule=("x = x * (1 - alpha * weight_decay)\n" + _ADAM_TORCH_RULE.split("\n", 1)[1]),
            notes="torch.optim.AdamW: weight_decay 1e-2, applied to x before the Adam step.",
        ),
        Variant(
            "optax",
            _OPTAX_ADAM + (H.weight_decay(1e-4, "decoupled decay, added to the Adam direction"),),
            adamw_optax,
            rule=(
                "m, v, m_hat, v_hat as adam (optax)\n"
                "x = x - alpha * (m_hat / (sqrt(v_hat + eps_root) + eps) + weight_decay * x)"
            ),
            notes="optax.adamw: weight_decay 1e-4 added to the Adam direction, then scaled by "
            "the learning rate: the same maths as torch, a different default. " + _OPTAX_LR,
        ),
    ),
    default_variant="torch",
)

ADAMAX = Algorithm(
    name="adamax",
    summary="Adam with the second moment replaced by an exponentially weighted infinity norm",
    reference="Kingma & Ba, Adam: A Method for Stochastic Optimization, ICLR 2015, section 7.1",
    variants=(
        Variant(
            "torch",
            (
                H.alpha(2e-3, "learning rate (torch: lr)"),
                H.beta1(),
                H.beta2(),
                H.eps(1e-8, "added to |g| inside the maximum"),
                H.weight_decay(),
            ),
            adamax,
            rule=(
                "g = g + weight_decay * x\n"
                "m = beta1 * m + (1 - beta1) * g   (torch lerp)\n"
                "u = max(beta2 * u, |g| + eps)\n"
                "x = x - alpha / (1 - beta1**t) * m / u"
            ),
            notes="torch.optim.Adamax: lr 2e-3, eps inside the maximum.",
        ),
        Variant(
            "optax",
            (
                H.alpha(2e-3, "learning rate (optax: learning_rate; no default there, torch's used)"),
                H.beta1(),
                H.beta2(),
                H.eps(1e-8, "added to |g| inside the maximum"),
            ),
            adamax_optax,
            rule=(
                "m = beta1 * m + (1 - beta1) * g\n"
                "u = max(beta2 * u, |g| + eps)\n"
                "x = x - alpha * (m / (1 - beta1**t)) / u"
            ),
            notes="optax.adamax: the same rule as torch in another order of operations. " + _OPTAX_LR,
        ),
    ),
    default_variant="torch",
)

NADAM = Algorithm(
    name="nadam",
    summary="Adam with Nesterov momentum",
    reference="Dozat, Incorporating Nesterov Momentum into Adam, ICLR 2016 workshop",
    variants=(
        Variant(
            "torch",
            (
                H.alpha(2e-3, "learning rate (torch: lr)"),
                H.beta1(),
                H.beta2(),
                H.eps(1e-8),
                H.weight_decay(),
                Param("momentum_decay", 4e-3, "psi in mu(t) = beta1 * (1 - 0.5 * 0.96**(t * psi))", low=0.0),
                H.flag("decoupled_weight_decay", False, "AdamW-style decay (torch's NAdamW)"),
                H.flag(
                    "mu_product_float32",
                    True,
                    "keep the product of mu's in float32 as torch does with its default dtype float32",
                ),
            ),
            nadam_torch,
            rule=(
                "mu(t) = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay));  P = P * mu(t)\n"
                "m = beta1 * m + (1 - beta1) * g   (torch lerp)\n"
                "v = beta2 * v + (1 - beta2) * g**2\n"
                "den = sqrt(v / (1 - beta2**t)) + eps\n"
                "x = x - alpha * (1 - mu(t)) / (1 - P) * g / den\n"
                "      - alpha * mu(t+1) / (1 - P * mu(t+1)) * m / den"
            ),
            notes="torch.optim.NAdam: Dozat's momentum schedule; the product P is float32 in "
            "torch (state['mu_product'] uses the default dtype), reproduced here.",
        ),
        Variant(
            "optax",
            (H.alpha(2e-3, "learning rate (optax: learning_rate; no default there, torch's used)"),)
            + _OPTAX_ADAM[1:],
            nadam_optax,
            rule=(
                "m, v, v_hat as adam (optax)\n"
                "m_hat = beta1 * m / (1 - beta1**(t+1)) + (1 - beta1) * g / (1 - beta1**t)\n"
                "x = x - alpha * m_hat / (sqrt(v_hat + eps_root) + eps)"
            ),
            notes="optax.nadam = adam(nesterov=True): constant beta1, no momentum schedule; a "
            "different algorithm from torch's NAdam with the same name. " + _OPTAX_LR,
        ),
    ),
    default_variant="torch",
)

AMSGRAD = Algorithm(
    name="amsgrad",
    summary="Adam with a running maximum of the second moment, so step sizes never grow",
    reference="Reddi, Kale & Kumar, On the Convergence of Adam and Beyond, ICLR 2018",
    variants=(
        Variant(
            "tutorial",
            (
                Param("alpha", 0.001, "step size", low=0.0, low_open=True),
                H.beta("beta1", 0.9, "decay of the first moment"),
                H.beta("beta2", 0.999, "decay of the second moment"),
                H.eps(1e-8),
                Param(
                    "beta1_schedule",
                    "power",
                    "how beta1 changes with t",
                    kind=str,
                    choices=tuple(BETA1_SCHEDULES),
                ),
            ),
            amsgrad_tutorial,
            rule=(
                "b1 = beta1**t | beta1/t | beta1   (beta1_schedule power | inverse | constant)\n"
                "m = b1 * m + (1 - b1) * g\n"
                "v = beta2 * v + (1 - beta2) * g**2\n"
                "vhat = max(vhat, v)\n"
                "x = x - alpha * m / (sqrt(vhat) + eps)"
            ),
            notes="No bias correction; the max is over the raw second moment.",
        ),
        Variant(
            "torch",
            _TORCH_ADAM + (H.weight_decay(),),
            amsgrad_torch,
            rule=(
                "g = g + weight_decay * x\n"
                "m = beta1 * m + (1 - beta1) * g   (torch lerp)\n"
                "v = beta2 * v + (1 - beta2) * g**2\n"
                "vmax = max(vmax, v)   (raw second moment)\n"
                "x = x - alpha / (1 - beta1**t) * m / (sqrt(vmax) / sqrt(1 - beta2**t) + eps)"
            ),
            notes="torch.optim.Adam(amsgrad=True): bias-corrected like Adam, the maximum taken "
            "over the raw v.",
        ),
        Variant(
            "optax",
            _OPTAX_ADAM,
            amsgrad_optax,
            rule=(
                "m = beta1 * m + (1 - beta1) * g\n"
                "v = beta2 * v + (1 - beta2) * g**2\n"
                "vmax = max(vmax, v / (1 - beta2**t))   (bias-corrected second moment)\n"
                "x = x - alpha * m / (1 - beta1**t) / (sqrt(vmax + eps_root) + eps)"
            ),
            notes="optax.amsgrad: the maximum is over the bias-corrected v, so early large "
            "corrections persist longer than in torch. " + _OPTAX_LR,
        ),
        Variant(
            "paper",
            _PAPER_PARAMS,
            amsgrad_paper,
            rule=_PAPER_RULE.format(max="vhat = max(vhat, v)\n", v="vhat"),
            notes=_PAPER_NOTES.format(what="Algorithm 2 (AMSGrad)", hat=", vhat"),
        ),
    ),
    default_variant="tutorial",
)
