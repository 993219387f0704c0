"""The numba backend: every built-in variant as one fused kernel per step.

For each numpy kernel of :mod:`optrun.optimizers` this module has a builder with the same
signature. It keeps the numpy kernel's ``init`` (the same state NamedTuple, so checkpoints and
``optrun resume`` work across backends) and replaces ``update`` by: the per-step scalars
(bias corrections ``1 - beta**t``, torch's ``clr``, NAdam's momentum schedule and product, the
tutorial's ``beta1(t)``) computed in numpy with the numpy kernel's own expressions, then one call
of the matching kernel of :mod:`optrun.backends.kernels`, which reads and writes each array once.

Agreement with the numpy backend (float64, the dtype optrun runs in): bit for bit for every
variant, because each kernel performs the numpy kernel's IEEE operations in its order (see
:mod:`optrun.backends.kernels`); ``tests/test_backends.py`` checks it on random data for every
variant, with ``(S, 1)`` hyperparameters.

Each optimizer also has the fused ``apply(g, state, x, t, step_sq)`` of
:class:`optrun.optimizers.base.Optimizer`, which the runner uses: the kernel adds each element's
step into ``x`` in the pass that computes it and writes the step to a tile (:data:`TILE_ELEMENTS`
elements, all members together) whose squares are summed while it is in cache, so the step never
goes to main memory. Traffic per step is then the minimum (``g`` read, ``x`` and the state read
and written) instead of two arrays more.
``x`` and the state stay bit-identical to the numpy backend's ``x + step``; the squared step
norm is summed per block of :data:`optrun.backends.kernels.SUM_BLOCK` columns with a vectorized
(reassociated) reduction, block sums in column order and, on several threads, one partial per
thread added in thread order, where numpy's ``vecdot`` sums pairwise over the whole row. So the
recorded ``step_norm`` may differ from the numpy backend's in the last bits (tested to 1e-14
relative), with the number of threads, and between machines (vector width). On one machine with
one thread count it is the same every run and the same for a member alone or in a sweep batch,
so ``optrun resume`` and sweep members stay bit-identical. A non-constant learning-rate schedule scales the returned
step, so a scheduled run uses ``update`` (same bits, not fused).

Scratch state fields (``tmp``, ``geff``, ``step`` of the numpy kernels other than the returned
step) are not written: they carry nothing between steps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from ..optimizers import adadelta as ADD
from ..optimizers import adam as A
from ..optimizers import adaptive as AD
from ..optimizers import sgd as SG
from ..optimizers import transforms as T
from ..optimizers.base import Optimizer
from ..threads import available, team
from . import kernels as K
from .stepper import Fused

#: columns from which a step runs on every thread (:mod:`optrun.threads`); below, one thread
#: (measured on the 2-core reference machine: a sleeping helper thread starts ~70 us late)
PARALLEL_MIN_D = 1 << 17


def threads() -> int:
    """Threads a large step runs on: :func:`optrun.threads.available`, at most
    ``NUMBA_NUM_THREADS`` (numba's own setting)."""
    return max(1, min(available(), int(numba.config.NUMBA_NUM_THREADS)))


def _ranges(d: int, n: int) -> list[tuple[int, int]]:
    """``n`` contiguous column ranges covering ``[0, d)`` (the last may be shorter)."""
    w = (d + n - 1) // n
    return [(c * w, min(d, (c + 1) * w)) for c in range(n)]


def _rows(h: Any, S: int) -> np.ndarray:
    """A hyperparameter (float or ``(S, 1)`` array) as a contiguous ``(S,)`` float64 array."""
    if type(h) is np.ndarray and h.dtype == np.float64 and h.size == S and h.flags.c_contiguous:
        return h.reshape(S)  # the runner's (S, 1) arrays: a view, no copy
    a = np.asarray(h, dtype=np.float64)
    return np.ascontiguousarray(np.broadcast_to(a.reshape(-1) if a.ndim else a, (S,)))


def _lerp_coef(weight: Any, S: int) -> tuple[np.ndarray, np.ndarray]:
    """torch's ``lerp_`` branch per member: ``(c, small)`` with ``c = w`` or ``w - 1`` (see
    :func:`optrun.optimizers.transforms.lerp`)."""
    w = _rows(weight, S)
    small = np.abs(w) < 0.5
    return np.where(small, w, w - 1.0), small


def _2d(a: np.ndarray) -> np.ndarray:
    """``(..., d)`` as ``(S, d)``: a view for the contiguous arrays optrun passes."""
    return a if a.ndim == 2 else a.reshape(-1, a.shape[-1])


#: marks the step buffer among a kernel's arguments (:func:`_call` puts the step or a tile there)
STEP = object()
#: elements of one ``apply`` tile (all rows together): 32K float64 = 256 KiB, held in L2 between
#: the kernel writing it and the add reading it. Measured against update + add + vecdot (d = 1e6,
#: 1e7; AdaGrad tutorial, AMSGrad torch): 2K tiles 0.43-0.92x of its time, 8K 0.29-0.74x, 32K
#: 0.29-0.66x (per-tile call overhead amortised; still far inside the 1 MiB L2)
TILE_ELEMENTS = 1 << 15


def _call(sq: np.ndarray | None, step: np.ndarray, name: str, d: int, x: np.ndarray, *args: Any) -> None:
    """Run kernel ``name`` of :mod:`optrun.backends.kernels` over ``d`` columns.

    ``sq`` None: ``update`` (the kernel writes ``step``, placed where ``STEP`` is in ``args``).
    Otherwise ``apply``: ``x += step`` in place, tile by tile, and ``sq[s]`` = the squared norm
    of member ``s``'s step (per-thread partial sums added in thread order).
    """
    n = threads() if d >= PARALLEL_MIN_D else 1
    if sq is None:
        args = tuple(_2d(step) if a is STEP else a for a in args)
        if n > 1:
            team(n).run(_kernel(name), [(lo, hi, *args, 0, False) for lo, hi in _ranges(d, n)])
        else:
            _kernel(name)(0, d, *args, 0, False)
        return
    i = _STEP_AT.get(name)
    if i is None or i >= len(args) or args[i] is not STEP:  # where the step buffer sits (checked)
        i = _STEP_AT[name] = next(k for k, a in enumerate(args) if a is STEP)
    args = args[:i] + args[i + 1 :]
    S = _2d(x).shape[0]
    tiles = _tiles(n, S)
    if n > 1:
        part = np.empty((n, S))
        team(n).run(
            _kernel(name + "_apply"),
            [(lo, hi, tiles[c], part[c], *args) for c, (lo, hi) in enumerate(_ranges(d, n))],
        )
        np.copyto(sq, part[0])
        for c in range(1, n):
            np.add(sq, part[c], out=sq)
    else:
        _kernel(name + "_apply")(0, d, tiles[0], sq, *args)


_STEP_AT: dict[str, int] = {}  # kernel name -> position of STEP in its _call arguments
_KERNELS: dict[str, Callable] = {}


def _kernel(name: str, module: Any = K) -> Callable:
    """Kernel ``name`` of :mod:`optrun.backends.kernels` (or ``module``), looked up once."""
    k = _KERNELS.get(name)
    if k is None:
        k = _KERNELS[name] = getattr(module, name)
    return k


_SCRATCH = threading.local()


def _tiles(threads: int, S: int) -> np.ndarray:
    """The ``(threads, S, width)`` tile buffers, kept between steps (per Python thread): a fresh
    allocation of this size is mmap'ed and page-faulted on every step (measured ~1 ms at d = 1e6).
    ``width`` is a whole number of :data:`optrun.backends.kernels.SUM_BLOCK` columns (see
    ``K._sum_tile``) with about :data:`TILE_ELEMENTS` elements for all ``S`` rows together."""
    shape = (threads, S, max(1, TILE_ELEMENTS // (max(S, 1) * K.SUM_BLOCK)) * K.SUM_BLOCK)
    buf = getattr(_SCRATCH, "tiles", None)
    if buf is None or buf.shape != shape:
        buf = _SCRATCH.tiles = np.empty(shape)
    return buf


def _fused(init: Callable, update: Callable, steps: Callable | None = None) -> Fused:
    """A :class:`Fused` optimizer whose ``apply`` is ``update`` in its fused mode (``sq`` given)."""

    def plain(g, s, x, t):
        return update(g, s, x, t)

    def apply(g, s, x, t, step_sq):
        return update(g, s, x, t, step_sq)[1]

    return Fused(init, plain, apply, steps)


def _steps(
    name: str,
    code: int,
    p: np.ndarray,
    X: np.ndarray,
    D: np.ndarray,
    g: np.ndarray,
    x: np.ndarray,
    *args: Any,
) -> None:
    """Run ``<name>_steps`` of :mod:`optrun.backends.compiled` for ``len(X)`` steps (one thread)."""
    from . import compiled

    _kernel(name + "_steps", compiled)(X.shape[0], code, p, X, D, _tiles(1, x.shape[0])[0], g, x, *args)


def _per_batch(make: Callable[[int], Any]) -> Callable[[int], Any]:
    """``make(S)`` computed once per batch size S: the hyperparameter rows a kernel reads every
    step are built on the first step of a batch and reused."""
    cache: dict[int, Any] = {}

    def get(S: int) -> Any:
        v = cache.get(S)
        if v is None:
            v = cache[S] = make(S)
        return v

    return get


#: steps whose coefficients a builder computes at once (see :class:`_PerStep`)
STEP_BLOCK = 256


class _PerStep:
    """A builder's per-step coefficients (bias corrections ...) for :data:`STEP_BLOCK` steps at once.

    ``make(t)`` is the builder's own per-step expression, evaluated with ``t`` an int array of
    shape ``(B, 1, 1)``: it must be elementwise in ``t``, as ``T.power`` and ``T.bias_correction``
    are (C ``pow`` on each element, exactly as for one step), so every step gets the bits the
    per-step expression gives; the rest is IEEE arithmetic on the same values. Computed per step,
    these few Python-level calls cost ~7 us, as much as an Adam step over 5,000 coordinates; a
    block costs ~0.3 us a step. Rows are kept per batch size ``S`` as ``(B, S)`` arrays.
    """

    def __init__(self, make: Callable[[np.ndarray], tuple]):
        self.make = make
        self.blocks: dict[int, tuple[int, list[np.ndarray]]] = {}

    def __call__(self, t: int, S: int) -> list[np.ndarray]:
        blk = self.blocks.get(S)
        if blk is None or not blk[0] <= t < blk[0] + STEP_BLOCK:
            blk = self.blocks[S] = (t, self.rows(t, STEP_BLOCK, S))
        i = t - blk[0]
        return [r[i] for r in blk[1]]

    def rows(self, t0: int, n: int, S: int) -> list[np.ndarray]:
        """Each coefficient for steps ``t0 .. t0 + n - 1`` as an ``(n, S)`` array."""
        ts = np.arange(t0, t0 + n, dtype=np.int64).reshape(-1, 1, 1)
        return [
            np.ascontiguousarray(np.broadcast_to(np.asarray(v, dtype=np.float64).reshape(n, -1), (n, S)))
            for v in self.make(ts)
        ]


def _any(v: Any) -> bool:
    return T.nonzero(v)


# ---------------------------------------------------------------- builders (numpy signatures)


def gradient_descent(alpha) -> Optimizer:
    rows = _per_batch(lambda S: _rows(alpha, S))  # the alpha row, once per batch size

    def update(g, s, x, t, sq=None):
        g2 = _2d(g)
        S, d = g2.shape
        _call(sq, s.step, "gd", d, x, g2, _2d(x), STEP, rows(S))
        return s.step, s

    def steps(code, p, g, s, x, t0, X, D):
        _steps("gd", code, p, X, D, g, x, rows(x.shape[0]))
        return s

    return _fused(SG.gradient_descent(alpha).init, update, steps)


def heavy_ball(alpha, momentum, dampening=0.0, weight_decay=0.0, nesterov=False) -> Optimizer:
    has_wd = isinstance(weight_decay, np.ndarray) or weight_decay != 0  # as sgd.heavy_ball

    def consts(S: int) -> tuple:  # hyperparameter rows, once per batch size
        return (
            _rows(alpha, S),
            _rows(momentum, S),
            _rows(1.0 - np.asarray(dampening), S),
            _rows(weight_decay, S),
        )

    consts = _per_batch(consts)

    def update(g, s, x, t, sq=None):
        g2 = _2d(g)
        S, d = g2.shape
        h = consts(S)
        _call(sq, s.step, "heavy_ball", d, x, g2, _2d(x), _2d(s.buf), STEP, *h, has_wd, t == 1, nesterov)
        return s.step, s

    def steps(code, p, g, s, x, t0, X, D):
        _steps("heavy_ball", code, p, X, D, g, x, _2d(s.buf), *consts(x.shape[0]), has_wd, nesterov)
        return s

    return _fused(SG.heavy_ball(alpha, momentum, dampening, weight_decay, nesterov).init, update, steps)


def nesterov_momentum(alpha, momentum, weight_decay=0.0) -> Optimizer:
    return heavy_ball(alpha, momentum, 0.0, weight_decay, nesterov=True)


def adagrad_tutorial(alpha, eps) -> Optimizer:

    def consts(S: int) -> tuple:  # hyperparameter rows, once per batch size
        return (_rows(alpha, S), _rows(eps, S))

    consts = _per_batch(consts)

    def update(g, s, x, t, sq=None):
        g2 = _2d(g)
        S, d = g2.shape
        h = consts(S)
        _call(sq, s.step, "adagrad_tutorial", d, x, g2, _2d(x), _2d(s.sum_sq), STEP, *h)
        return s.step, s

    def steps(code, p, g, s, x, t0, X, D):
        _steps("adagrad_tutorial", code, p, X, D, g, x, _2d(s.sum_sq), *consts(x.shape[0]))
        return s

    return _fused(AD.adagrad_tutorial(alpha, eps).init, update, steps)


def adagrad_torch(alpha, lr_decay, weight_decay, initial_accumulator_value, eps) -> Optimizer:
    has_wd = _any(weight_decay)

    def consts(S: int) -> tuple:  # hyperparameter rows, once per batch size
        return (_rows(weight_decay, S), _rows(eps, S))

    consts = _per_batch(consts)

    def update(g, s, x, t, sq=None):
        g2 = _2d(g)
        S, d = g2.shape
        h = consts(S)
        clr = alpha / (1.0 + (t - 1) * lr_decay)
        _call(sq, s.step, "adagrad_torch", d, x, g2, _2d(x), _2d(s.sum_sq), STEP, _rows(-clr, S), *h, has_wd)
        return s.step, s

    # -clr for a chunk of steps: the same elementwise expression with t an array
    neg_clr = _PerStep(lambda t: (-(alpha / (1.0 + (t - 1) * lr_decay)),))

    def steps(code, p, g, s, x, t0, X, D):
        S = x.shape[0]
        (nc,) = neg_clr.rows(t0, X.shape[0], S)
        _steps("adagrad_torch", code, p, X, D, g, x, _2d(s.sum_sq), nc, *consts(S), has_wd)
        return s

    return _fused(
        AD.adagrad_torch(alpha, lr_decay, weight_decay, initial_accumulator_value, eps).init, update, steps
    )


def adagrad_optax(alpha, initial_accumulator_value, eps) -> Optimizer:

    def consts(S: int) -> tuple:  # hyperparameter rows, once per batch size
        return (_rows(-alpha, S), _rows(eps, S))

    consts = _per_batch(consts)

    def update(g, s, x, t, sq=None):
        g2 = _2d(g)
        S, d = g2.shape
        h = consts(S)
        _call(sq, s.step, "adagrad_optax", d, x, g2, _2d(x), _2d(s.sum_sq), STEP, *h)
        return s.step, s

    def steps(code, p, g, s, x, t0, X, D):
        _steps("adagrad_optax", code, p, X, D, g, x, _2d(s.sum_sq), *consts(x.shape[0]))
        return s

    return _fused(AD.adagrad_optax(alpha, initial_accumulator_value, eps).init, update, steps)


def rmsprop_torch(alpha, decay, eps, weight_decay, momentum, centered) -> Optimizer:
    has_wd = _any(weight_decay)
    upd_buf = bool(np.any(np.asarray(momentum) > 0))  # any member with momentum: see the numpy kernel

    def consts(S: int) -> tuple:  # hyperparameter rows, once per batch size
        lc, ls = _lerp_coef(1.0 - decay, S)
        return (
            _rows(-alpha, S),
            _rows(decay, S),
            _rows(1.0 - decay, S),
            lc,
            ls,
            _rows(eps, S),
            _rows(weight_decay, S),
            _rows(momentum, S),
        )

    consts = _per_batch(consts)

    def update(g, s, x, t, sq=None):
        g2 = _2d(g)
        S, d = g2.shape
        h = consts(S)
        _call(
            sq,
            s.step,
            "rmsprop_torch",
            d,
            x,
            g2,
            _2d(x),
            _2d(s.nu),
            _2d(s.mu),
            _2d(s.buf),
            STEP,
            *h,
            has_wd,
            bool(centered),
            upd_buf,
        )
        return s.step, s

    def steps(code, p, g, s, x, t0, X, D):
        _steps(
            "rmsprop_torch",
            code,
            p,
            X,
            D,
            g,
            x,
            _2d(s.nu),
            _2d(s.mu),
            _2d(s.buf),
            *consts(x.shape[0]),
            has_wd,
            bool(centered),
            upd_buf,
        )
        return s

    return _fused(AD.rmsprop_torch(alpha, decay, eps, weight_decay, momentum, centered).init, update, steps)


def rmsprop_optax(alpha, decay, eps, initial_scale, eps_in_sqrt, centered, momentum, nesterov) -> Optimizer:

    def consts(S: int) -> tuple:  # hyperparameter rows, once per batch size
        return (
            _rows(-alpha, S),
            _rows(decay, S),
            _rows(1.0 - decay, S),
            _rows(eps, S),
            _rows(0.0 if momentum is None else momentum, S),
        )

    consts = _per_batch(consts)

    def update(g, s, x, t, sq=None):
        g2 = _2d(g)
        S, d = g2.shape
        h = consts(S)
        _call(
            sq,
            s.step,
            "rmsprop_optax",
            d,
            x,
            g2,
            _2d(x),
            _2d(s.nu),
            _2d(s.mu),
            _2d(s.buf),
            STEP,
            *h,
            bool(centered),
            bool(eps_in_sqrt),
            momentum is not None,
            bool(nesterov),
        )
        return s.step, s

    def steps(code, p, g, s, x, t0, X, D):
        _steps(
            "rmsprop_optax",
            code,
            p,
            X,
            D,
            g,
            x,
            _2d(s.nu),
            _2d(s.mu),
            _2d(s.buf),
            *consts(x.shape[0]),
            bool(centered),
            bool(eps_in_sqrt),
            momentum is not None,
            bool(nesterov),
        )
        return s

    return _fused(
        AD.rmsprop_optax(alpha, decay, eps, initial_scale, eps_in_sqrt, centered, momentum, nesterov).init,
        update,
        steps,
    )


def adadelta(alpha, rho, eps, weight_decay=0.0, torch_order=True) -> Optimizer:
    has_wd = _any(weight_decay)

    def consts(S: int) -> tuple:  # hyperparameter rows, once per batch size
        return (_rows(rho, S), _rows(1.0 - rho, S), _rows(eps, S), _rows(-alpha, S), _rows(weight_decay, S))

    consts = _per_batch(consts)

    def update(g, s, x, t, sq=None):
        g2 = _2d(g)
        S, d = g2.shape
        h = consts(S)
        _call(sq, s.step, "adadelta", d, x, g2, _2d(x), _2d(s.e_g), _2d(s.e_x), STEP, *h, has_wd, torch_order)
        return s.step, s

    def steps(code, p, g, s, x, t0, X, D):
        _steps(
            "adadelta", code, p, X, D, g, x, _2d(s.e_g), _2d(s.e_x), *consts(x.shape[0]), has_wd, torch_order
        )
        return s

    return _fused(ADD.adadelta(alpha, rho, eps, weight_decay, torch_order).init, update, steps)


def adadelta_optax(alpha, rho, eps, weight_decay) -> Optimizer:
    return adadelta(alpha, rho, eps, weight_decay, torch_order=False)


def _torch_adam_consts(alpha, beta1, beta2, eps, weight_decay) -> Callable[[int], tuple]:
    """The per-batch rows torch's Adam family (Adam, AdamW, AMSGrad, NAdam) kernels read."""

    def consts(S: int) -> tuple:
        lc, ls = _lerp_coef(1.0 - beta1, S)
        first = (lc, ls, _rows(beta2, S), _rows(1.0 - beta2, S))
        second = (_rows(eps, S), _rows(weight_decay, S), _rows(1.0 - alpha * weight_decay, S))
        return first, second

    return _per_batch(consts)


def adam_torch(alpha, beta1, beta2, eps, weight_decay=0.0, amsgrad=False, decoupled=False) -> Optimizer:
    has_wd = _any(weight_decay)

    consts = _torch_adam_consts(alpha, beta1, beta2, eps, weight_decay)
    per_step = _PerStep(
        lambda t: (-(alpha / T.bias_correction(beta1, t)), T.power(T.bias_correction(beta2, t), 0.5))
    )

    def update(g, s, x, t, sq=None):
        g2 = _2d(g)
        S, d = g2.shape
        h, h2 = consts(S)
        neg_step_size, bc2_sqrt = per_step(t, S)
        _call(
            sq,
            s.step,
            "adam_torch",
            d,
            x,
            g2,
            _2d(x),
            _2d(s.mu),
            _2d(s.nu),
            _2d(s.nu_max),
            STEP,
            *h,
            neg_step_size,
            bc2_sqrt,
            *h2,
            has_wd and not decoupled,
            has_wd and decoupled,
            amsgrad,
        )
        return s.step, s

    def steps(code, p, g, s, x, t0, X, D):
        S = x.shape[0]
        h, h2 = consts(S)
        _steps(
            "adam_torch",
            code,
            p,
            X,
            D,
            g,
            x,
            _2d(s.mu),
            _2d(s.nu),
            _2d(s.nu_max),
            *h,
            *per_step.rows(t0, X.shape[0], S),
            *h2,
            has_wd and not decoupled,
            has_wd and decoupled,
            amsgrad,
        )
        return s

    return _fused(A.adam_state, update, steps)


def adamw_torch(alpha, beta1, beta2, eps, weight_decay) -> Optimizer:
    return adam_torch(alpha, beta1, beta2, eps, weight_decay, decoupled=True)


def amsgrad_torch(alpha, beta1, beta2, eps, weight_decay) -> Optimizer:
    return adam_torch(alpha, beta1, beta2, eps, weight_decay, amsgrad=True)


def adam_optax(
    alpha, beta1, beta2, eps, eps_root=0.0, weight_decay=0.0, nesterov=False, amsgrad=False
) -> Optimizer:
    has_wd = _any(weight_decay)

    def consts(S: int) -> tuple:  # hyperparameter rows, once per batch size
        first = (_rows(beta1, S), _rows(1.0 - beta1, S), _rows(beta2, S), _rows(1.0 - beta2, S))
        second = (_rows(eps_root, S), _rows(eps, S), _rows(weight_decay, S), _rows(-alpha, S))
        return first, second

    consts = _per_batch(consts)

    def coefficients(t):
        inv_bc1 = 1.0 / T.bias_correction(beta1, t)
        inv_bc1n = 1.0 / T.bias_correction(beta1, t + 1) if nesterov else inv_bc1
        return inv_bc1, inv_bc1n, 1.0 / T.bias_correction(beta2, t)

    per_step = _PerStep(coefficients)

    def update(g, s, x, t, sq=None):
        g2 = _2d(g)
        S, d = g2.shape
        h, h2 = consts(S)
        _call(
            sq,
            s.step,
            "adam_optax",
            d,
            x,
            g2,
            _2d(x),
            _2d(s.mu),
            _2d(s.nu),
            _2d(s.nu_max),
            STEP,
            *h,
            *per_step(t, S),
            *h2,
            has_wd,
            nesterov,
            amsgrad,
        )
        return s.step, s

    def steps(code, p, g, s, x, t0, X, D):
        S = x.shape[0]
        h, h2 = consts(S)
        _steps(
            "adam_optax",
            code,
            p,
            X,
            D,
            g,
            x,
            _2d(s.mu),
            _2d(s.nu),
            _2d(s.nu_max),
            *h,
            *per_step.rows(t0, X.shape[0], S),
            *h2,
            has_wd,
            nesterov,
            amsgrad,
        )
        return s

    return _fused(A.adam_state, update, steps)


def adamw_optax(alpha, beta1, beta2, eps, eps_root, weight_decay) -> Optimizer:
    return adam_optax(alpha, beta1, beta2, eps, eps_root, weight_decay)


def nadam_optax(alpha, beta1, beta2, eps, eps_root) -> Optimizer:
    return adam_optax(alpha, beta1, beta2, eps, eps_root, nesterov=True)


def amsgrad_optax(alpha, beta1, beta2, eps, eps_root) -> Optimizer:
    return adam_optax(alpha, beta1, beta2, eps, eps_root, amsgrad=True)


def nadam_torch(
    alpha, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, mu_product_float32=True
) -> Optimizer:
    has_wd = _any(weight_decay)
    pdtype = np.float32 if mu_product_float32 else np.float64

    consts = _torch_adam_consts(alpha, beta1, beta2, eps, weight_decay)
    # the scalars exactly as adam.nadam_torch computes them (the running product stays per step)
    per_step = _PerStep(
        lambda t: (
            T.bias_correction(beta2, t),
            beta1 * (1.0 - 0.5 * T.power(0.96, t * momentum_decay)),
            beta1 * (1.0 - 0.5 * T.power(0.96, (t + 1) * momentum_decay)),
        )
    )

    def update(g, s, x, t, sq=None):
        g2 = _2d(g)
        S, d = g2.shape
        h, h2 = consts(S)
        bc2, mu, mu_next = per_step(t, S)
        mu, mu_next = mu.reshape(s.mu_product.shape), mu_next.reshape(s.mu_product.shape)  # (..., 1)
        np.multiply(s.mu_product, np.asarray(mu, dtype=pdtype), out=s.mu_product)
        prod = s.mu_product.astype(np.float64)
        prod_next = prod * mu_next
        c1 = (-alpha * (1.0 - mu)) / (1.0 - prod)
        c2 = (-alpha * mu_next) / (1.0 - prod_next)
        _call(
            sq,
            s.step,
            "nadam_torch",
            d,
            x,
            g2,
            _2d(x),
            _2d(s.mu),
            _2d(s.nu),
            STEP,
            *h,
            _rows(bc2, S),
            *h2,
            _rows(c1, S),
            _rows(c2, S),
            has_wd and not decoupled_weight_decay,
            has_wd and bool(decoupled_weight_decay),
        )
        return s.step, s

    return _fused(
        A.nadam_torch(
            alpha, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, mu_product_float32
        ).init,
        update,
    )


def adamax(alpha, beta1, beta2, eps, weight_decay=0.0, torch_order=True) -> Optimizer:
    has_wd = _any(weight_decay)

    def consts(S: int) -> tuple:  # hyperparameter rows, once per batch size
        lc, ls = _lerp_coef(1.0 - beta1, S)
        return (
            lc,
            ls,
            _rows(beta1, S),
            _rows(1.0 - beta1, S),
            _rows(beta2, S),
            _rows(eps, S),
            _rows(weight_decay, S),
        )

    consts = _per_batch(consts)
    per_step = _PerStep(
        lambda t: (
            -(alpha / T.bias_correction(beta1, t)) if torch_order else 1.0 / T.bias_correction(beta1, t),
        )
    )

    def update(g, s, x, t, sq=None):
        g2 = _2d(g)
        S, d = g2.shape
        h = consts(S)
        (coef,) = per_step(t, S)
        _call(
            sq,
            s.step,
            "adamax",
            d,
            x,
            g2,
            _2d(x),
            _2d(s.mu),
            _2d(s.u),
            STEP,
            *h,
            coef,
            _rows(-alpha, S),
            has_wd,
            torch_order,
        )
        return s.step, s

    def steps(code, p, g, s, x, t0, X, D):
        S = x.shape[0]
        (coef,) = per_step.rows(t0, X.shape[0], S)
        _steps(
            "adamax",
            code,
            p,
            X,
            D,
            g,
            x,
            _2d(s.mu),
            _2d(s.u),
            *consts(S),
            coef,
            _rows(-alpha, S),
            has_wd,
            torch_order,
        )
        return s

    return _fused(A.adamax(alpha, beta1, beta2, eps, weight_decay, torch_order).init, update, steps)


def adamax_optax(alpha, beta1, beta2, eps) -> Optimizer:
    return adamax(alpha, beta1, beta2, eps, torch_order=False)


def amsgrad_tutorial(alpha, beta1, beta2, eps, beta1_schedule) -> Optimizer:
    b1_of = A.BETA1_SCHEDULES[beta1_schedule]

    def consts(S: int) -> tuple:  # hyperparameter rows, once per batch size
        return (_rows(beta2, S), _rows(1.0 - beta2, S), _rows(alpha, S), _rows(eps, S))

    consts = _per_batch(consts)

    def b1_block(t: np.ndarray) -> tuple:
        """beta1(t) and 1 - beta1(t) for a block of steps, with the bits the numpy kernel's
        ``b1_of(beta1, t)`` gives step by step (``t`` a Python int). A float beta1: C ``pow`` per
        element, as Python's ``beta1 ** t``. The runner's ``(S, 1)`` beta1: numpy's power by the
        array of t, which equals its power by each t except where numpy's array-by-scalar power
        takes a shortcut (``square`` for t = 2, a copy for t = 1); the first steps are therefore
        evaluated one by one (tested with beta1 = 0.8, where t = 2 differs)."""
        if np.ndim(beta1) == 0 and beta1_schedule == "power":
            b1 = T.power(beta1, t)
        else:
            b1 = np.array(
                np.broadcast_to(b1_of(beta1, t), np.broadcast_shapes(np.shape(beta1), t.shape)),
                dtype=np.float64,
            )
            ts = t.reshape(-1)
            for i in np.flatnonzero(ts <= 4):
                b1[i] = b1_of(beta1, int(ts[i]))
        return b1, 1.0 - b1

    per_step = _PerStep(b1_block)

    def update(g, s, x, t, sq=None):
        g2 = _2d(g)
        S, d = g2.shape
        h = consts(S)
        b1, omb1 = per_step(t, S)
        _call(
            sq,
            s.step,
            "amsgrad_tutorial",
            d,
            x,
            g2,
            _2d(x),
            _2d(s.mu),
            _2d(s.nu),
            _2d(s.nu_max),
            STEP,
            b1,
            omb1,
            *h,
        )
        return s.step, s

    def steps(code, p, g, s, x, t0, X, D):
        S = x.shape[0]
        _steps(
            "amsgrad_tutorial",
            code,
            p,
            X,
            D,
            g,
            x,
            _2d(s.mu),
            _2d(s.nu),
            _2d(s.nu_max),
            *per_step.rows(t0, X.shape[0], S),
            *consts(S),
        )
        return s

    return _fused(A.amsgrad_tutorial(alpha, beta1, beta2, eps, beta1_schedule).init, update, steps)


#: numpy builder -> fused builder with the same signature
FUSED: dict[Callable[..., Optimizer], Callable[..., Optimizer]] = {
    SG.gradient_descent: gradient_descent,
    SG.heavy_ball: heavy_ball,
    SG.nesterov_momentum: nesterov_momentum,
    AD.adagrad_tutorial: adagrad_tutorial,
    AD.adagrad_torch: adagrad_torch,
    AD.adagrad_optax: adagrad_optax,
    AD.rmsprop_torch: rmsprop_torch,
    AD.rmsprop_optax: rmsprop_optax,
    ADD.adadelta: adadelta,
    ADD.adadelta_optax: adadelta_optax,
    A.adam_torch: adam_torch,
    A.adamw_torch: adamw_torch,
    A.amsgrad_torch: amsgrad_torch,
    A.adam_optax: adam_optax,
    A.adamw_optax: adamw_optax,
    A.nadam_optax: nadam_optax,
    A.amsgrad_optax: amsgrad_optax,
    A.nadam_torch: nadam_torch,
    A.adamax: adamax,
    A.adamax_optax: adamax_optax,
    A.amsgrad_tutorial: amsgrad_tutorial,
}


def fused_builder(build: Callable[..., Optimizer]) -> Callable[..., Optimizer] | None:
    """The fused counterpart of a numpy builder (``Variant.build``), or None when there is none."""
    return FUSED.get(build)
