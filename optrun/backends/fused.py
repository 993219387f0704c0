"""The numba backend: every built-in variant as one fused kernel per step.

:func:`fused_builder` gives, for a numpy builder of :mod:`optrun.optimizers` (a ``Variant.build``),
a builder with the same signature, made from its :class:`optrun.backends.table.Rule`. It keeps
the numpy kernel's ``init`` (the same state NamedTuple, so checkpoints and ``optrun resume`` work
across backends) and replaces ``update`` by: the per-step scalars (bias corrections, torch's
``clr``, NAdam's momentum schedule and product, the tutorial's ``beta1(t)``) computed by the numpy
kernel's own ``coefficients`` function, for :data:`STEP_BLOCK` steps at once, then one call of
the matching kernel of :mod:`optrun.backends.kernels`, which reads and writes each array once.

Agreement with the numpy backend (float64, the dtype optrun runs in): bit for bit for every
variant, because each kernel performs the numpy kernel's IEEE operations in its order (see
:mod:`optrun.backends.kernels`); ``tests/backends/test_backends.py`` checks it on random data for every
variant, with ``(S, 1)`` hyperparameters.

Each optimizer is a :class:`optrun.backends.stepper.Fused`: it also has the fused
``apply(g, state, x, t, step_sq)``, which the runner's stepper uses: the tile driver of
:mod:`optrun.backends.drivers` adds each element's step into ``x`` in the pass that computes it
and writes the step to a tile (:data:`TILE_ELEMENTS` elements, all members together) whose
squares are summed while it is in cache, so the step never goes to main memory. Traffic per step
is then the minimum (``g`` read, ``x`` and the state read and written) instead of two arrays more.
``x`` and the state stay bit-identical to the numpy backend's ``x + step``; the squared step
norm is summed per block of :data:`optrun.backends.drivers.SUM_BLOCK` columns with a vectorized
(reassociated) reduction, block sums in column order and, on several threads, one partial per
thread added in thread order, where numpy's ``vecdot`` sums pairwise over the whole row. So the
recorded ``step_norm`` may differ from the numpy backend's in the last bits (tested to 1e-14
relative), with the number of threads, and between machines (vector width). On one machine with
one thread count it is the same every run and the same for a member alone or in a sweep batch,
so ``optrun resume`` and sweep members stay bit-identical. A non-constant learning-rate schedule
scales the returned step, so a scheduled run uses ``update`` (same bits, not fused). And
``steps``: chunks of steps in one compiled call (the drivers' chunk loops), see
:mod:`optrun.backends.compiled`.

Scratch state fields (``tmp``, ``geff``, ``step`` of the numpy kernels other than the returned
step) are not written: they carry nothing between steps.
"""

from __future__ import annotations

import functools
import inspect
import threading
import types
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from ..threads import available, team
from . import drivers as DR
from . import kernels as K
from .stepper import Fused
from .table import RULES, Rule

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


def _2d(a: np.ndarray) -> np.ndarray:
    """``(..., d)`` as ``(S, d)``: a view for the contiguous arrays optrun passes."""
    return a if a.ndim == 2 else a.reshape(-1, a.shape[-1])


#: elements of one ``apply`` tile (all rows together): 32K float64 = 256 KiB, held in L2 between
#: the kernel writing it and the add reading it. Measured against update + add + vecdot (d = 1e6,
#: 1e7; AdaGrad tutorial, AMSGrad torch): 2K tiles 0.43-0.92x of its time, 8K 0.29-0.74x, 32K
#: 0.29-0.66x (per-tile call overhead amortised; still far inside the 1 MiB L2)
TILE_ELEMENTS = 1 << 15

#: kernels whose tiles are one :data:`optrun.backends.drivers.SUM_BLOCK` per row (8 KiB, in L1),
#: when :data:`TILE_ELEMENTS` allows: the kernels with little arithmetic per element, bound by
#: memory, where summing a 256 KiB tile from L2 leaves memory idle for a tenth of the step.
#: Measured on one thread (interleaved, minima of 5-9 rounds, d = 1e6 / 1e7): gd 0.70x / 0.73x the
#: time with 32K tiles, heavy_ball (momentum) 0.84x / 0.91x; the kernels with a square root and
#: a division per element are bound by the divider and take 1.04-1.10x with short tiles (more
#: row set-up and loop tails per element), so they keep :data:`TILE_ELEMENTS`. (In cache, one
#: thread: AdaGrad's update 2.5 cycles an element, AMSGrad's 2.6-3.9, gd's 0.6; the fused apply
#: adds 0.3-0.4 for the tile and its sum of squares. At d = 1e6, where the arrays stream from L3,
#: that makes AdaGrad's step about 1.6x its one-core memory roof whatever the memory traffic: no
#: square root or division can be dropped without changing bits.)
SHORT_TILES = frozenset({"gd", "heavy_ball"})

#: where a tile starts, in bytes modulo 4 KiB: half a page away from the start of numpy's large
#: arrays (when mmap'ed, as at d = 1e6 and up in a fresh process: 16 bytes past a page), so that the kernel's store into the tile and its load of
#: ``x`` at the same column do not share their low 12 address bits (the CPU then takes the load
#: for one depending on the store: "4K aliasing"; gd at d = 1e6 with 32K tiles, measured
#: 0.83x the time of an aliased tile)
TILE_OFFSET = 16 + 2048
#: float64 values in a 4 KiB page
PAGE_FLOATS = 512


def _call(
    sq: np.ndarray | None, step: np.ndarray, name: str, d: int, x: np.ndarray, *args: Any, out: Any = None
) -> None:
    """Run kernel ``name`` of :mod:`optrun.backends.kernels` over ``d`` columns; ``args`` are
    the kernel's from ``C`` on.

    ``sq`` None: ``update`` (the kernel writes ``step``). Otherwise ``apply``: ``x += step`` in
    place (or ``out = x + step``, ``x`` unchanged, when ``out`` is given), tile by tile, and
    ``sq[s]`` = the squared norm of member ``s``'s step (per-thread partial sums added in thread
    order).
    """
    n = threads() if d >= PARALLEL_MIN_D else 1
    if sq is None:
        kernel, st = getattr(K, name), _2d(step)
        if n > 1:
            team(n).run(kernel, [(lo, hi, st, 0, False, *args) for lo, hi in _ranges(d, n)])
        else:
            kernel(0, d, st, 0, False, *args)
        return
    S = _2d(x).shape[0]
    tiles, drive = _tiles(n, S, name), DR.APPLY[name]
    if out is not None:
        drive, args = DR.APPLY_TO[name], (_2d(out), *args)
    if n > 1:
        part = np.empty((n, S))
        team(n).run(drive, [(lo, hi, tiles[c], part[c], *args) for c, (lo, hi) in enumerate(_ranges(d, n))])
        np.copyto(sq, part[0])
        for c in range(1, n):
            np.add(sq, part[c], out=sq)
    else:
        drive(0, d, tiles[0], sq, *args)


_SCRATCH = threading.local()


def _tiles(threads: int, S: int, kernel: str) -> np.ndarray:
    """The ``(threads, S, width)`` tile buffers of ``kernel``, kept between steps (per Python
    thread): a fresh allocation of this size is mmap'ed and page-faulted on every step (measured
    ~1 ms at d = 1e6). ``width`` is a whole number of :data:`optrun.backends.drivers.SUM_BLOCK`
    columns (see ``drivers.sum_tile``) with about :data:`TILE_ELEMENTS` elements for all ``S``
    rows together, one block for the kernels of :data:`SHORT_TILES`; the buffer starts at
    :data:`TILE_OFFSET` modulo 4 KiB. The width changes no bit: step norms are summed per block
    whatever the tile."""
    elements = min(TILE_ELEMENTS, DR.SUM_BLOCK) if kernel in SHORT_TILES else TILE_ELEMENTS
    shape = (threads, S, max(1, elements // (max(S, 1) * DR.SUM_BLOCK)) * DR.SUM_BLOCK)
    cache = getattr(_SCRATCH, "tiles", None)
    if cache is None:
        cache = _SCRATCH.tiles = {}
    buf = cache.get(kernel in SHORT_TILES)
    if buf is None or buf.shape != shape:
        n = shape[0] * shape[1] * shape[2]
        raw = np.empty(n + 512)  # 512 float64: room to move the start anywhere in a page
        start = ((TILE_OFFSET - raw.ctypes.data) % 4096) // 8
        buf = cache[kernel in SHORT_TILES] = raw[start : start + n].reshape(shape)
    return buf


def resident(init: Callable) -> Callable:
    """``init``, with every page of the state's fields written once (not the ``SCRATCH`` ones).

    The numpy kernels' ``init`` leaves zeroed fields as fresh zero pages (``np.zeros``: no pass at
    init, no memory for a field a numpy step never touches). A compiled kernel reads every field it
    is given, the unused ones too (its loop loads them and selects), and reading fields that are
    still zero pages made a step up to 50x slower (RMSProp torch, d = 1e6: 40-73 ms instead of
    1.4). One element per page is written back with its own value: no number changes."""

    def init_resident(x):
        state = init(x)
        scratch = getattr(type(state), "SCRATCH", ())
        for name, a in zip(getattr(state, "_fields", ()), state):
            if name not in scratch and isinstance(a, np.ndarray) and a.size >= PAGE_FLOATS:
                flat = a.reshape(-1)
                flat[::PAGE_FLOATS] = flat[::PAGE_FLOATS].copy()
                flat[-1:] = flat[-1:].copy()  # the last page, when the array does not start one
        return state

    return init_resident


def _fused(init: Callable, update: Callable, steps: Callable | None = None) -> Fused:
    """A :class:`Fused` optimizer whose ``apply`` is ``update`` in its fused mode (``sq`` given)."""

    def plain(g, s, x, t):
        return update(g, s, x, t)

    def apply(g, s, x, t, step_sq, out=None):
        return update(g, s, x, t, step_sq, out)[1]

    return Fused(resident(init), plain, apply, steps)


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


#: steps whose coefficients a builder computes at once (see :class:`PerStep`)
STEP_BLOCK = 256


class PerStep:
    """A kernel's per-step coefficients (bias corrections ...) for :data:`STEP_BLOCK` steps at once.

    ``make(t)`` is the numpy kernel's own ``coefficients``, evaluated with ``t`` an int array of
    shape ``(B, 1, 1)``: it must be elementwise in ``t``, as ``T.power`` and ``T.bias_correction``
    are (C ``pow`` on each element, exactly as for one step), so every step gets the bits the
    per-step expression gives; the rest is IEEE arithmetic on the same values. Computed per step,
    these few Python-level calls cost ~7 us, as much as an Adam step over 5,000 coordinates; a
    block costs ~0.3 us a step. Kept per batch size ``S`` as a ``(B, c, S)`` array.
    """

    def __init__(self, make: Callable[[np.ndarray], tuple] | None):
        self.make = make
        self.blocks: dict[int, tuple[int, np.ndarray]] = {}

    def __call__(self, t: int, S: int) -> np.ndarray:
        """Step ``t``'s ``(c, S)`` coefficients."""
        blk = self.blocks.get(S)
        if blk is None or not blk[0] <= t < blk[0] + STEP_BLOCK:
            blk = self.blocks[S] = (t, self.rows(t, STEP_BLOCK, S))
        return blk[1][t - blk[0]]

    def rows(self, t0: int, n: int, S: int) -> np.ndarray:
        """The coefficients of steps ``t0 .. t0 + n - 1`` as an ``(n, c, S)`` array."""
        if self.make is None:
            return np.empty((n, 0, S))
        ts = np.arange(t0, t0 + n, dtype=np.int64).reshape(-1, 1, 1)
        values = self.make(ts)
        out = np.empty((n, len(values), S))
        for i, v in enumerate(values):
            out[:, i] = np.broadcast_to(np.asarray(v, dtype=np.float64).reshape(n, -1), (n, S))
        return out


def _build(rule: Rule, numpy_build: Callable, **params: Any) -> Fused:
    """The fused optimizer of ``numpy_build(**params)`` by ``rule``.

    A step at small ``d`` costs a few microseconds, most of it Python: what does not change
    between steps (the hyperparameter rows and flags of a batch size, the state arrays of a state
    updated in place, an empty coefficient block) is looked up once, not rebuilt every step."""
    bound = inspect.signature(numpy_build).bind(**params)
    bound.apply_defaults()
    h = types.SimpleNamespace(**bound.arguments)
    flags = rule.flags(h)
    tail = _per_batch(lambda S: (*rule.rows(S, h), *flags))
    make, per_state = rule.coefficients, rule.per_state
    per_step = PerStep(None if make is None else lambda t: make(t, h))
    no_coefficients = _per_batch(lambda S: np.empty((0, S)))
    name, fields = rule.kernel, rule.state
    held: list[Any] = [None, ()]  # the last state seen and its arrays, as the kernel takes them

    def arrays(s: Any) -> tuple:
        if s is not held[0]:
            held[0], held[1] = s, tuple(_2d(getattr(s, f)) for f in fields)
        return held[1]

    def update(g, s, x, t, sq=None, out=None):
        g2 = _2d(g)
        S, d = g2.shape
        C = no_coefficients(S) if make is None else per_step(t, S)
        if per_state is not None:
            C = per_state(s, C, h, S)
        _call(sq, s.step, name, d, x, C, g2, _2d(x), *arrays(s), *tail(S), out=out)
        return s.step, s

    def steps(code, p, g, s, x, t0, X, D):
        """Steps ``t0 ..`` in one compiled call (:data:`optrun.backends.drivers.STEPS`)."""
        S, n = x.shape[0], X.shape[0]
        C = per_step.rows(t0, n, S)
        DR.STEPS[name](n, code, p, X, D, _tiles(1, S, name)[0], C, g, x, *arrays(s), *tail(S))
        return s

    return _fused(numpy_build(**params).init, update, None if per_state is not None else steps)


def rule_and_params(build: Callable[..., Any], params: dict[str, Any]) -> tuple[Rule, Any] | None:
    """The backend :class:`~optrun.backends.table.Rule` of a numpy builder (``Variant.build``, or a
    partial of one) and its hyperparameters bound with ``params``, every default filled in, as a
    namespace (what a rule's ``coefficients``, ``rows`` and ``flags`` read); None without a rule."""
    keywords: dict[str, Any] = {}
    if isinstance(build, functools.partial):
        keywords, build = dict(build.keywords), build.func
    rule = RULES.get(build)
    if rule is None:
        return None
    bound = inspect.signature(build).bind(**keywords, **params)
    bound.apply_defaults()
    return rule, types.SimpleNamespace(**bound.arguments)


def fused_builder(build: Callable[..., Any]) -> Callable[..., Fused] | None:
    """The fused counterpart of a numpy builder (``Variant.build``, or a partial of one), or None
    when there is none."""
    keywords: dict[str, Any] = {}
    if isinstance(build, functools.partial):
        keywords, build = dict(build.keywords), build.func
    rule = RULES.get(build)
    if rule is None:
        return None
    return functools.partial(_build, rule, build, **keywords)


def given_steps(
    build: Callable, params: dict[str, Any], schedule: dict[str, Any] | None = None, alpha: Any = 1.0
) -> Callable[..., Any] | None:
    """``Fused.given`` for the numba optimizer of the numpy builder ``build`` (a ``Variant.build``
    or a partial of one) with ``params``, from its :class:`optrun.backends.table.Rule` as
    :mod:`optrun.backends.fused` builds ``Fused.steps``: the coefficients of the numpy kernel's
    ``coefficients`` for the chunk's steps (elementwise in ``t``: the bits of step by step), the
    state arrays and hyperparameter rows the kernel reads. With a non-constant ``schedule``
    (``alpha`` the algorithm's), each step is multiplied by ``lr(t - 1) / alpha`` as
    :func:`optrun.optimizers.schedules.scheduled` does (``vecdot``'s bits for one coordinate:
    the 1-D objectives only). None when the rule keeps state in Python (no chunks) or there is
    no rule. Imports numba: call it on the numba backend only."""
    from ..optimizers.schedules import learning_rate

    found = rule_and_params(build, params)
    if found is None or found[0].per_state is not None:
        return None
    rule, h = found
    make, tails, no_box = rule.coefficients, {}, np.zeros(0)
    per_step = PerStep(None if make is None else lambda t: make(t, h))
    lr = one = None
    if schedule and schedule["name"] != "constant":
        lr = learning_rate(schedule, alpha)
        a = np.unique(np.asarray(alpha, dtype=np.float64))
        if a.size == 1:  # every member's alpha, as a Python float (~0.3 us a step, not ~4)
            a = float(a[0])
            one = learning_rate(schedule, a)
    drive = (DR.GIVEN_STEPS if lr is None else DR.SCHEDULED_STEPS)[rule.kernel]

    def given(g, s, x, t0, G, box, X, D):
        S, n = x.shape[0], X.shape[0]
        if S not in tails:
            tile = np.empty((S, DR.SUM_BLOCK))  # its width changes no bit (``drivers.sum_tile``)
            tails[S] = (tile, *rule.rows(S, h), *rule.flags(h))
        tile, *tail = tails[S]
        C = per_step.rows(t0, n, S)  # the chunk's steps' coefficients, as Fused.steps takes them
        arrays = tuple(getattr(s, f) for f in rule.state)
        arrays = tuple(a if a.ndim == 2 else a.reshape(-1, a.shape[-1]) for a in arrays)
        lo, hi = (no_box, no_box) if box is None else box
        gb = np.array(g, dtype=np.float64, order="C")
        if lr is None:
            drive(n, G, box is not None, lo, hi, X, D, tile, C, gb, x, *arrays, *tail)
            return s
        F = np.empty((n, S))
        if one is not None:  # one alpha for all: Python floats, the same IEEE operations
            F[...] = np.array([one(k - 1) / a for k in range(t0, t0 + n)])[:, None]
        else:
            for i in range(n):  # the factor scheduled() multiplies step t0 + i by, as it computes it
                F[i] = np.broadcast_to(np.asarray(lr(t0 + i - 1) / alpha, dtype=np.float64).reshape(-1), (S,))
        step = s.step if s.step.ndim == 2 else s.step.reshape(-1, s.step.shape[-1])
        drive(n, G, F, box is not None, lo, hi, X, D, step, C, gb, x, *arrays, *tail)
        return s

    return given
