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
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import OptrunError, UserCodeError
from ..signals import Interrupt, call_user
from ..text import article, plural
from .base import Objective
from .numdiff import central_difference

REF_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def check_ref(ref: Any) -> str | None:
    """Why ``ref`` is not a ``'package.module:function'`` reference, or None when it is."""
    if not isinstance(ref, str) or not REF_RE.match(ref):
        return f"must be 'module:function' (e.g. 'my_objective:f' for f in my_objective.py), not {ref!r}"
    return None


def load_callable(ref: str, role: str, source: str | None = None, recorded: Sequence[str] = ()) -> Callable:
    """Import ``module:attr`` from the folders of :func:`module_dirs` (``source`` is the config
    file, ``recorded`` the folders its run folder records), then the installed packages."""
    mod_name, _, attr = ref.partition(":")
    dirs = module_dirs(source, recorded)
    try:
        module = call_user(import_user_module, mod_name, dirs)  # a second Ctrl-C aborts a hung import
    except ModuleNotFoundError as e:
        if e.name and (mod_name == e.name or mod_name.startswith(e.name + ".")):
            raise UserCodeError(f"{role} '{ref}': {not_found(e.name, dirs)}") from None
        raise UserCodeError(f"{role} '{ref}': importing '{mod_name}' failed: {e}") from None
    except Interrupt:
        raise  # a real Ctrl-C while importing
    except BaseException as e:  # noqa: BLE001 - the user's module may raise anything, SystemExit too
        if isinstance(e, SyntaxError):  # its own text already ends with "(file, line N)": once
            what = f"{e.msg} ({os.path.basename(e.filename or '?')}, line {e.lineno})"
        else:
            what = first_line(e)
        raise UserCodeError(
            f"{role} '{ref}': importing '{mod_name}' raised {type(e).__name__}: {what}"
        ) from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UserCodeError(f"{role} '{ref}': module '{mod_name}' has no attribute '{attr}'")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UserCodeError(f"{role} '{ref}' is {article(type(obj).__name__)}, not a function")
    return obj


# ------------------------------------------------------------------ where user modules are found

MODULE_DIRS_KEY = "module_dirs"  # meta.json of a run or sweep: the folders searched, in order


def module_dirs(source: str | None, recorded: Sequence[str] = ()) -> list[str]:
    """The folders a user module is imported from, in order (then the installed packages):

    1. the folder of the config file ``source``, so that ``optrun run configs/x.yaml`` finds the
       ``my_objective.py`` beside it from any working folder;
    2. ``recorded``: when that config is a run's or sweep's own ``config.yaml``, the folders its
       ``meta.json`` records (read by the caller with
       :func:`optrun.store.records.recorded_module_dirs`), so that ``optrun resume`` and
       ``optrun run RUN/config.yaml`` find the module again;
    3. the working folder.
    """
    dirs: list[str] = []
    if source and os.path.isfile(source):
        dirs.append(os.path.dirname(os.path.abspath(source)))
        dirs += recorded
    dirs.append(os.getcwd())
    return list(dict.fromkeys(dirs))


def module_record(
    *configs, recorded: Callable[[str | None], Sequence[str]] = lambda source: ()
) -> dict[str, list[str]]:
    """``{"module_dirs": [...]}`` for a run's or sweep's ``meta.json`` when a config imports user
    code (a ``function`` objective or a ``module:factory`` optimizer); ``{}`` otherwise.
    ``recorded(source)`` gives the folders a run folder's config records (see :func:`module_dirs`)."""
    for c in configs:
        if "function" in c.objective.params or ":" in c.algorithm.name:
            return {MODULE_DIRS_KEY: module_dirs(c.source, recorded(c.source))}
    return {}


def import_user_module(name: str, dirs: list[str]):
    """``importlib.import_module(name)`` with ``dirs`` first on ``sys.path`` for the import only.

    A module already imported (an earlier config, or a forked sweep worker's parent) is reused.
    """
    if name in sys.modules:
        return sys.modules[name]
    added = [d for d in dirs if d not in sys.path]
    sys.path[:0] = added
    importlib.invalidate_caches()  # a module written since the process started is seen
    try:
        return importlib.import_module(name)
    finally:
        for d in added:
            if d in sys.path:
                sys.path.remove(d)


def not_found(name: str, dirs: list[str]) -> str:
    """'cannot import module ...' naming the folders searched."""
    return f"cannot import module '{name}' (looked in {', '.join(dirs)} and the installed packages)"


def first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else "(no message)"


class UserFunction:
    """A user's value (``tail = ()``) or gradient (``tail = (d,)``) function over ``(n, d)`` arrays.

    ``vectorized`` says whether it takes a batch; if not, it is called once per row.
    """

    def __init__(
        self,
        fn: Callable,
        ref: str,
        role: str,
        tail: tuple[int, ...],
        vectorized: bool = True,
        timeout_s: float | None = None,
    ):
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
            raise self._fail(f"raised {type(e).__name__}: {first_line(e)}") from None
        arr = self._numbers(out)
        if isinstance(arr, str):
            raise self._fail(arr)
        want = (n,) + self.tail
        if arr.shape != want:
            one = "" if self.vectorized else " per point"
            raise self._fail(
                f"returned shape {arr.shape}{one} for {plural(n, 'point')} of dimension {x.shape[1]}; "
                f"expected {want} ({self._convention()})"
            )
        return arr

    def _numbers(self, out: Any) -> np.ndarray | str:
        """The function's output as float64, or what is wrong with it: None (a forgotten
        ``return``) and complex values are named, not turned into nan or silently made real."""
        if out is None or (isinstance(out, list) and any(o is None for o in out)):
            what = "a gradient" if self.tail else "one value"
            return (
                f"returned None; it must return {what} per point ({self._convention()}): "
                "is a return statement missing?"
            )
        try:
            arr = np.asarray(out)
            if np.iscomplexobj(arr):
                return (
                    "returned complex numbers; it must return real ones (use np.real, or keep the "
                    "arguments of sqrt/log/power in their real domain)"
                )
            return np.asarray(arr, dtype=np.float64)
        except (TypeError, ValueError):
            return f"returned {article(type(out).__name__)}, not numbers"

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
                if (
                    isinstance(single, np.ndarray)
                    and single.shape == (1,) + self.tail
                    and np.allclose(batch[0], single[0], rtol=1e-9, atol=0.0, equal_nan=True)
                ):
                    return
                raise self._fail(
                    "gives a different result for a point alone than in a batch; it must "
                    "treat each row of its (n, d) input as one point"
                )
            self.vectorized = False
            one = self._try(X[0])
            if isinstance(one, np.ndarray) and one.shape == self.tail:
                return  # written for one point: called once per row
        if isinstance(batch, str) and batch == one:
            raise self._fail(batch)
        for said in (one, batch):  # None or complex numbers: that alone is the problem to name
            if isinstance(said, str) and said.startswith(("returned None", "returned complex")):
                raise self._fail(said)
        b = batch if isinstance(batch, str) else f"returned shape {batch.shape}"
        o = one if isinstance(one, str) else f"returned shape {one.shape}"
        want = "(n, d) to (n, d)" if self.tail else "(n, d) to (n,)"
        raise self._fail(
            f"must map an array {want}, or one point ({d},) to "
            f"{'a point' if self.tail else 'a number'}: for {B} points of shape {X.shape} it {b}; "
            f"for one point of shape ({d},) it {o}"
        )

    def _try(self, x: np.ndarray) -> np.ndarray | str:
        """The function's output as a float array, or what went wrong."""
        try:
            out = call_user(self.fn, x.copy(), timeout_s=self.timeout_s, what=f"{self.role} '{self.ref}'")
        except (OptrunError, Interrupt):
            raise  # an overrun (EvaluationTimeout) or a real Ctrl-C
        except BaseException as e:  # noqa: BLE001 - user code may raise anything, SystemExit too
            return f"raised {type(e).__name__}: {first_line(e)}"
        return self._numbers(out)


def probe_points(bounds: np.ndarray, start: np.ndarray | None) -> np.ndarray:
    """Points to test a user function with: the start point, the centre of the bounds, and a third
    point inside the bounds when ``d = 2`` (so that the batch size differs from ``d``)."""
    lo, hi = bounds[:, 0], bounds[:, 1]
    d = len(bounds)
    pts = [start if start is not None else lo + 0.5 * (hi - lo), lo + 0.5 * (hi - lo)]
    if d == 2:
        pts.append(lo + 0.25 * (hi - lo))
    return np.array(pts, dtype=np.float64)


def check_start(role: str, f: np.ndarray, g: np.ndarray, x: np.ndarray, gradient_role: str) -> None:
    if not np.isfinite(f).all():
        raise UserCodeError(
            f"{role} is {f.item()} at the start point {_point(x)}; "
            "choose bounds or a start where it is finite"
        )
    # a finite sum of squares means every coordinate is finite: one pass, no mask of d booleans
    # (an infinite one may be finite numbers whose squares overflow: then look at each)
    with np.errstate(over="ignore", invalid="ignore"):
        finite = np.isfinite(np.vecdot(g, g)).all()
    if not finite and not np.isfinite(g).all():
        bad = int(np.flatnonzero(~np.isfinite(g))[0])
        raise UserCodeError(
            f"{gradient_role} is {g.ravel()[bad]} in coordinate {bad} at the start point {_point(x)}"
        )


def _point(x: np.ndarray) -> str:
    return np.array2string(x, precision=6, threshold=8, separator=", ")


def _reshaped(value2d: Callable, grad2d: Callable):
    def value_and_grad(x: np.ndarray):
        x = np.asarray(x, dtype=np.float64)
        lead = x.shape[:-1]
        flat = x.reshape(-1, x.shape[-1])
        f = value2d(flat)
        return f.reshape(lead), grad2d(flat).reshape(x.shape)

    return value_and_grad


def function_objective(
    name: str,
    dim: int,
    params: dict[str, Any],
    bounds: np.ndarray,
    start: np.ndarray | None = None,
    source: str | None = None,
    recorded: Sequence[str] = (),
) -> Objective:
    """The objective of ``{function: ..., gradient: ...}``, probed and checked at the start point;
    the modules are found as :func:`module_dirs` says for the config file ``source`` (and the
    folders ``recorded`` by its run folder)."""
    ref, gref = params["function"], params.get("gradient")
    timeout = params.get("timeout_s")
    value = UserFunction(
        load_callable(ref, "objective function", source, recorded),
        ref,
        "objective function",
        (),
        timeout_s=timeout,
    )
    pts = probe_points(bounds, start)
    value.probe(pts)
    if gref:
        grad = UserFunction(
            load_callable(gref, "gradient function", source, recorded),
            gref,
            "gradient function",
            (dim,),
            timeout_s=timeout,
        )
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
    check_start(
        what,
        f,
        g,
        pts[0],
        f"gradient function '{gref}'" if gref else f"the finite-difference gradient of {what}",
    )
    return _objective(
        name,
        dim,
        params,
        bounds,
        vg,
        kind,
        evals,
        vectorized=value.vectorized and (grad.vectorized if gref else True),
    )


def expression_objective(
    name: str,
    dim: int,
    params: dict[str, Any],
    bounds: np.ndarray,
    start: np.ndarray | None = None,
    source: str | None = None,
    recorded: Sequence[str] = (),
) -> Objective:
    """The objective of ``{expression: ...}``, differentiated exactly, checked at the start point
    (``source`` and ``recorded`` as :func:`function_objective` takes them: no module is imported)."""
    from .expression import Expression  # only an expression's run compiles one (start-up)

    expr = Expression(params["expression"])
    x = probe_points(bounds, start)[:1]
    with np.errstate(all="ignore"):
        f, g = expr.value_and_grad(x)
    check_start(f"expression '{expr.text}'", f, g, x[0], f"the gradient of expression '{expr.text}'")
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
        info={
            "params": dict(params),
            "gradient": kind,
            "evaluations_per_gradient": evals,
            "vectorized": vectorized,
        },
    )
