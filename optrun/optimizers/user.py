"""User optimizers: ``algorithm: {name: "package.module:factory", ...}``.

The factory's module is looked for beside the config file, then in the working folder, then in
the installed environment (:func:`optrun.objectives.user.module_dirs`). It is called with the algorithm's
other keys as keyword arguments and must return an :class:`~optrun.optimizers.base.Optimizer`
(or any object with ``init`` and ``update`` attributes, or an ``(init, update)`` pair) following
the kernel interface documented in :mod:`optrun.optimizers.base`.

Everything that can go wrong is reported as one line naming the function:
:func:`load_factory` raises :class:`~optrun.errors.UserCodeError` for an import error, a missing
or non-callable attribute; :func:`build_user_optimizer` calls the factory and tries ``init`` and
one ``update`` on a probe point before the run starts, so a factory that raises, an ``update``
that raises or returns a step of the wrong shape fails with exit status 2 and no run folder.
During the run the checked wrapper turns an exception in ``init``/``update`` into a
``UserCodeError`` too, which the run records as status ``failed``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import UserCodeError
from ..signals import Interrupt, call_user
from ..text import article
from .base import Optimizer

NAME_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def is_user_name(name: str) -> bool:
    """Whether an ``algorithm.name`` refers to user code (``module:attribute``)."""
    return ":" in name


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


def validate_params(raw: dict[str, Any]) -> dict[str, Any]:
    """A user optimizer's parameters: YAML scalars (numbers, strings, booleans, null) or flat
    lists of them. Raises ``ValueError("key: message")``."""
    out = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(
                f"{key}: parameter names of a user optimizer must be Python "
                "identifiers (they become keyword arguments)"
            )
        items = value if isinstance(value, list) else [value]
        for v in items:
            if v is not None and not isinstance(v, (bool, int, float, str)):
                raise ValueError(
                    f"{key}: must be a number, string, boolean, null or a list of "
                    f"those, not {type(v).__name__}"
                )
        out[key] = value
    return out


def load_factory(spec: str, source: str | None = None, recorded: Sequence[str] = ()) -> Callable[..., Any]:
    """Import ``module:attribute`` from the folders of :func:`optrun.objectives.user.module_dirs`
    (``source`` is the config file: its folder, the folders its run folder ``recorded``, then the
    working folder) and return the callable."""
    from ..objectives.user import import_user_module, module_dirs, not_found

    if not NAME_RE.match(spec):
        raise UserCodeError(f"user optimizer '{spec}': the name must look like 'package.module:factory'")
    module_name, _, attr = spec.partition(":")
    dirs = module_dirs(source, recorded)
    try:
        module = call_user(import_user_module, module_name, dirs)
    except ModuleNotFoundError as e:
        if e.name and (module_name == e.name or module_name.startswith(e.name + ".")):
            raise UserCodeError(f"user optimizer '{spec}': {not_found(e.name, dirs)}") from None
        raise UserCodeError(
            f"user optimizer '{spec}': importing {module_name} failed: {_one_line(e)}"
        ) from None
    except Interrupt:
        raise  # a real Ctrl-C while importing
    except BaseException as e:  # noqa: BLE001 - the module itself raised while importing (SystemExit too)
        raise UserCodeError(
            f"user optimizer '{spec}': importing {module_name} failed: {_one_line(e)}"
        ) from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UserCodeError(f"user optimizer '{spec}': module {module_name} has no attribute '{attr}'")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UserCodeError(
            f"user optimizer '{spec}': {attr} is {article(type(obj).__name__)}, not a "
            "function returning an optimizer"
        )
    return obj


def _as_pair(spec: str, opt: Any) -> tuple[Callable, Callable]:
    if isinstance(opt, tuple) and len(opt) == 2:
        init, update = opt
    elif hasattr(opt, "init") and hasattr(opt, "update"):
        init, update = opt.init, opt.update
    else:
        raise UserCodeError(
            f"user optimizer '{spec}': the factory returned "
            f"{article(type(opt).__name__)}; it must return an Optimizer(init, update) "
            "or an object with init and update methods"
        )
    if not callable(init) or not callable(update):
        raise UserCodeError(f"user optimizer '{spec}': init and update must be callable")
    return init, update


def _real_step(spec: str, step: Any) -> np.ndarray:
    """A step as float64; None and complex numbers are named instead of becoming nan or losing
    their imaginary part without a word."""
    if step is None:
        raise UserCodeError(
            f"user optimizer '{spec}': update returned None as the step; it must return "
            "(step, state) with step an array of the shape of x"
        )
    arr = np.asarray(step)
    if np.iscomplexobj(arr):
        raise UserCodeError(
            f"user optimizer '{spec}': update returned a step of complex numbers; it must be real"
        )
    try:
        return np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserCodeError(
            f"user optimizer '{spec}': update returned a step that is not numbers ({type(step).__name__})"
        ) from None


def checked(spec: str, opt: Any) -> Optimizer:
    """Wrap a user optimizer so that every failure becomes a one-line :class:`UserCodeError`."""
    user_init, user_update = _as_pair(spec, opt)

    def init(x):
        try:
            return call_user(user_init, x)
        except Interrupt:
            raise
        except BaseException as e:  # noqa: BLE001 - user code may raise anything, SystemExit too
            raise UserCodeError(f"user optimizer '{spec}': init raised {_one_line(e)}") from None

    def update(g, state, x, t):
        try:
            result = call_user(user_update, g, state, x, t)
        except Interrupt:
            raise
        except BaseException as e:  # noqa: BLE001 - user code may raise anything, SystemExit too
            raise UserCodeError(
                f"user optimizer '{spec}': update raised {_one_line(e)} at step {t}"
            ) from None
        if not isinstance(result, tuple) or len(result) != 2:
            raise UserCodeError(
                f"user optimizer '{spec}': update must return (step, state), "
                f"not {article(type(result).__name__)}"
            )
        step, state = result
        step = _real_step(spec, step)
        if step.shape != x.shape:
            raise UserCodeError(
                f"user optimizer '{spec}': update returned a step of shape "
                f"{step.shape}; it must have the shape of x, {x.shape}"
            )
        return step, state

    return Optimizer(init, update)


def build_user_optimizer(
    spec: str, params: dict[str, Any], dim: int, source: str | None = None, recorded: Sequence[str] = ()
) -> Optimizer:
    """Load, construct and probe a user optimizer; returns a fresh, checked instance.

    The factory is called twice: once for a probe (``init`` on ``(S, dim)`` points of 0.5's, S
    the batch size of any ``(S, 1)`` parameter, and one ``update`` with a gradient of ones), once
    for the run, so that a stateful factory's run starts clean.
    """
    factory = load_factory(spec, source, recorded)

    def make() -> Optimizer:
        try:
            opt = call_user(lambda: factory(**params))
        except Interrupt:
            raise
        except BaseException as e:  # noqa: BLE001 - user code may raise anything, SystemExit too
            raise UserCodeError(
                f"user optimizer '{spec}': calling {spec.partition(':')[2]}"
                f"({', '.join(f'{k}=...' for k in params)}) raised "
                f"{_one_line(e)}"
            ) from None
        return checked(spec, opt)

    probe = make()
    rows = max(
        [v.shape[0] for v in params.values() if isinstance(v, np.ndarray) and v.ndim == 2], default=1
    )  # a batch's (S, 1) hyperparameters: probe with S rows
    x = np.full((rows, dim), 0.5)
    with np.errstate(all="ignore"):
        probe.update(np.ones_like(x), probe.init(x.copy()), x, 1)
    return make()
