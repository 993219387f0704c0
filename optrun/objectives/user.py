"""Objectives written by the user: a Python function (``objective: {function: "pkg.mod:f"}``) or
an expression (``objective: {expression: "x0**2 + 10*x1**2"}``).

Calling convention of a user function: ``f(x)`` takes a float64 array of shape ``(n, d)`` (one
point per row; optrun always passes a fresh copy) and returns ``n`` values, shape ``(n,)``; the
optional ``gradient`` function ``g(x)`` returns shape ``(n, d)``. A function written for one point
(``(d,)`` in, a number out; ``(d,)`` out for a gradient) is detected when the objective is built
and called once per point in a Python loop -- correct, but much slower than a vectorized one.

Without ``gradient``, gradients are central finite differences (:mod:`.numdiff`), ``2 d`` extra
evaluations per gradient, recorded in the run's ``meta.json``.

Every failure is a :class:`~optrun.errors.UserCodeError` naming the function: import errors,
missing attributes, any exception raised inside it (BaseExceptions too: SystemExit, a
KeyboardInterrupt it raises itself; only a real Ctrl-C, :class:`~optrun.signals.Interrupt`, passes
through), a call longer than ``timeout_s`` (:class:`~optrun.signals.EvaluationTimeout`), a returned
value of the wrong shape or type, and
-- checked once when the objective is built -- a value or gradient that is not finite at the start
point. Raised before a run, the CLI exits 2; raised during one, the run's status is ``failed``
with that message.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import OptrunError, UserCodeError
from ..signals import Interrupt, call_user
from .base import Objective
from .expression import Expression
from .numdiff import central_difference

REF_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def check_ref(ref: Any) -> str | None:
    """Why ``ref`` is not a ``'package.module:function'`` reference, or None when it is."""
    if not isinstance(ref, str) or not REF_RE.match(ref):
        return f"must be 'module:function' (e.g. 'my_objective:f' for f in my_objective.py), not {ref!r}"
    return None


def load_callable(ref: str, role: str) -> Callable:
    """Import ``module:attr`` (the working directory first, then the installed packages)."""
    mod_name, _, attr = ref.partition(":")
    cwd = os.getcwd()
    sys.path.insert(0, cwd)
    try:
        module = call_user(importlib.import_module, mod_name)  # a second Ctrl-C aborts a hung import
    except ModuleNotFoundError as e:
        if e.name and (mod_name == e.name or mod_name.startswith(e.name + ".")):
            raise UserCodeError(f"{role} '{ref}': no module named '{e.name}' in the working directory "
                                f"{cwd} or the installed packages") from None
        raise UserCodeError(f"{role} '{ref}': importing '{mod_name}' failed: {e}") from None
    except Interrupt:
        raise  # a real Ctrl-C while importing
    except BaseException as e:  # noqa: BLE001 - the user's module may raise anything, SystemExit too
        where = ""
        if isinstance(e, SyntaxError):
            where = f" ({os.path.basename(e.filename or '?')}, line {e.lineno})"
        raise UserCodeError(f"{role} '{ref}': importing '{mod_name}' raised "
                            f"{type(e).__name__}: {_first_line(e)}{where}") from None
    finally:
        if sys.path and sys.path[0] == cwd:
            del sys.path[0]
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UserCodeError(f"{role} '{ref}': module '{mod_name}' has no attribute '{attr}'")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UserCodeError(f"{role} '{ref}' is a {type(obj).__name__}, not a function")
    return obj


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else "(no message)"


class UserFunction:
    """A user's value (``tail = ()``) or gradient (``tail = (d,)``) function over ``(n, d)`` arrays.

    ``vectorized`` says whether it takes a batch; if not, it is called once per row.
    """

    def __init__(self, fn: Callable, ref: str, role: str, tail: tuple[int, ...], vectorized: bool = True,
                 timeout_s: float | None = None):
        self.fn, self.ref, self.role, self.tail, self.vectorized = fn, ref, role, tail, vectorized
        self.timeout_s = timeout_s  # objective.timeout_s: longest one call may take

    def _fail(self, what: str) -> UserCodeError:
        return UserCodeError(f"{self.role} '{self.ref}' {what}")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        try:
            out = call_user(self._apply, x.copy(), timeout_s=self.timeout_s, what=f"{self.role} '{self.ref}'")
        except (OptrunError, Interrupt):
            raise
        except BaseException as e:  # noqa: BLE001 - user code may raise anything (SystemExit too): one line
            raise self._fail(f"raised {type(e).__name__}: {_first_line(e)}") from None
        try:
            arr = np.asarray(out, dtype=np.float64)
        except (TypeError, ValueError):
            raise self._fail(f"returned {type(out).__name__} values that are not numbers") from None
        want = (n,) + self.tail
        if arr.shape != want:
            one = "" if self.vectorized else " per point"
            raise self._fail(f"returned shape {arr.shape}{one} for {n} point(s) of dimension {x.shape[1]}; "
                             f"expected {want} ({self._convention()})")
        return arr

    def _apply(self, x: np.ndarray) -> Any:
        return self.fn(x) if self.vectorized else [self.fn(row) for row in x]

    def _convention(self) -> str:
        return "an array (n, d) in, (n, d) out" if self.tail else "an array (n, d) in, (n,) out"

    def probe(self, X: np.ndarray) -> None:
        """Decide ``vectorized`` from a batch ``X`` of ``B`` points, ``B`` not 1 and not ``d``."""
        B, d = X.shape
        with np.errstate(all="ignore"):
            self.vectorized = True
            batch = self._try(X)
            if isinstance(batch, np.ndarray) and batch.shape == (B,) + self.tail:
                single = self._try(X[:1])
                if (isinstance(single, np.ndarray) and single.shape == (1,) + self.tail
                        and np.allclose(batch[0], single[0], rtol=1e-9, atol=0.0, equal_nan=True)):
                    return
                raise self._fail("gives a different result for a point alone than in a batch; it must "
                                 "treat each row of its (n, d) input as one point")
            self.vectorized = False
            one = self._try(X[0])
            if isinstance(one, np.ndarray) and one.shape == self.tail:
                return  # written for one point: called once per row
        if isinstance(batch, str) and batch == one:
            raise self._fail(batch)
        b = batch if isinstance(batch, str) else f"returned shape {batch.shape}"
        o = one if isinstance(one, str) else f"returned shape {one.shape}"
        want = "(n, d) to (n, d)" if self.tail else "(n, d) to (n,)"
        raise self._fail(f"must map an array {want}, or one point ({d},) to "
                         f"{'a point' if self.tail else 'a number'}: for {B} points of shape {X.shape} it {b}; "
                         f"for one point of shape ({d},) it {o}")

    def _try(self, x: np.ndarray) -> np.ndarray | str:
        """The function's output as a float array, or what went wrong."""
        try:
            out = call_user(self.fn, x.copy(), timeout_s=self.timeout_s, what=f"{self.role} '{self.ref}'")
        except (OptrunError, Interrupt):
            raise  # an overrun (EvaluationTimeout) or a real Ctrl-C
        except BaseException as e:  # noqa: BLE001 - user code may raise anything, SystemExit too
            return f"raised {type(e).__name__}: {_first_line(e)}"
        try:
            return np.asarray(out, dtype=np.float64)
        except (TypeError, ValueError):
            return f"returned a {type(out).__name__}, not numbers"


def probe_points(bounds: np.ndarray, start: np.ndarray | None) -> np.ndarray:
    """Points to test a user function with: the start point, the centre of the bounds, and a third
    point inside the bounds when ``d = 2`` (so that the batch size differs from ``d``)."""
    lo, hi = bounds[:, 0], bounds[:, 1]
    d = len(bounds)
    pts = [start if start is not None else lo + 0.5 * (hi - lo), lo + 0.5 * (hi - lo)]
    if d == 2:
        pts.append(lo + 0.25 * (hi - lo))
    return np.array(pts, dtype=np.float64)


def _check_start(role: str, f: np.ndarray, g: np.ndarray, x: np.ndarray, gradient_role: str) -> None:
    point = np.array2string(x, precision=6, threshold=8, separator=", ")
    if not np.isfinite(f).all():
        raise UserCodeError(f"{role} is {f.item()} at the start point {point}; choose bounds or a start "
                            "where it is finite")
    if not np.isfinite(g).all():
        bad = int(np.flatnonzero(~np.isfinite(g))[0])
        raise UserCodeError(f"{gradient_role} is {g.ravel()[bad]} in coordinate {bad} at the start point {point}")


def _reshaped(value2d: Callable, grad2d: Callable):
    def value_and_grad(x: np.ndarray):
        x = np.asarray(x, dtype=np.float64)
        lead = x.shape[:-1]
        flat = x.reshape(-1, x.shape[-1])
        f = value2d(flat)
        return f.reshape(lead), grad2d(flat).reshape(x.shape)

    return value_and_grad


def function_objective(name: str, dim: int, params: dict[str, Any], bounds: np.ndarray,
                       start: np.ndarray | None = None) -> Objective:
    """The objective of ``{function: ..., gradient: ...}``, probed and checked at the start point."""
    ref, gref = params["function"], params.get("gradient")
    timeout = params.get("timeout_s")
    value = UserFunction(load_callable(ref, "objective function"), ref, "objective function", (),
                         timeout_s=timeout)
    pts = probe_points(bounds, start)
    value.probe(pts)
    if gref:
        grad = UserFunction(load_callable(gref, "gradient function"), gref, "gradient function", (dim,),
                            timeout_s=timeout)
        grad.probe(pts)
        grad_fn, kind, evals = grad, "user", 0
    else:
        def grad_fn(x):
            return central_difference(value, x)

        kind, evals = "finite-differences", 2 * dim
    vg = _reshaped(value, grad_fn)
    with np.errstate(all="ignore"):
        f, g = vg(pts[:1])
    what = f"objective function '{ref}'"
    _check_start(what, f, g, pts[0], f"gradient function '{gref}'" if gref else
                 f"the finite-difference gradient of {what}")
    return _objective(name, dim, params, bounds, vg, kind, evals,
                      vectorized=value.vectorized and (grad.vectorized if gref else True))


def expression_objective(name: str, dim: int, params: dict[str, Any], bounds: np.ndarray,
                         start: np.ndarray | None = None) -> Objective:
    """The objective of ``{expression: ...}``, differentiated exactly, checked at the start point."""
    expr = Expression(params["expression"])
    x = probe_points(bounds, start)[:1]
    with np.errstate(all="ignore"):
        f, g = expr.value_and_grad(x)
    _check_start(f"expression '{expr.text}'", f, g, x[0], f"the gradient of expression '{expr.text}'")
    return _objective(name, dim, params, bounds, expr.value_and_grad, "automatic", 0, vectorized=True)


def _objective(name, dim, params, bounds, vg, kind, evals, vectorized) -> Objective:
    minima = params.get("minima")
    return Objective(
        name=name,
        dim=dim,
        value_and_grad=vg,
        bounds=np.asarray(bounds, dtype=np.float64).reshape(dim, 2),
        minima=np.asarray(minima if minima else np.zeros((0, dim)), dtype=np.float64).reshape(-1, dim),
        f_min=params.get("f_min"),
        info={"params": dict(params), "gradient": kind, "evaluations_per_gradient": evals,
              "vectorized": vectorized},
    )
