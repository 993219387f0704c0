"""Benchmark 1: step time of every registered kernel against a memory roof measured beside it.

The figure of merit for an elementwise optimizer step over ``d`` coordinates is memory traffic:
a step must read ``g``, ``x`` and the ``k`` state arrays that carry information from one step to
the next, and write ``x`` and those ``k`` arrays back, i.e. ``2k + 3`` arrays of ``d`` numbers
("arrays moved"; plus one read per read-only state array, if a kernel has any). Anything more
(scratch buffers, several passes, temporaries) is overhead.
This is the roofline argument of Williams, Waterman & Patterson, "Roofline: an insightful visual
performance model for multicore architectures", CACM 52(4), 2009, applied to a streaming kernel
of arithmetic intensity close to zero, with the roof measured rather than taken from a data sheet
(McCalpin's STREAM benchmark, https://www.cs.virginia.edu/stream/, does the same for copy/add).

* ``k`` is found by tracing one step, not by field names (:func:`inspect_step`): a state array
  whose first access in a step is a read is *persistent*; scratch buffers (written before they
  are read) do not count. So algorithms added to the registry later are measured correctly, and
  the same trace counts the passes each kernel makes, which predicts its ratio to the roof.
* The roof is a kernel with exactly that traffic and trivial arithmetic: in-place ufuncs
  ``np.add(s_i, g, out=s_i)`` for each state array and ``np.add(x, g, out=x)``, either over whole
  arrays or in cache-sized blocks (then ``g`` is re-read from cache and main-memory traffic is
  the minimal ``2k + 3`` arrays); the faster of the two, with the block size picked in the run.
* Kernel and roof samples are interleaved (rotating order) and medians reported, so both see
  the same machine load; the ratio is the median of the per-round ratios (each kernel sample
  over the roof sample taken right beside it), which is steadier than a ratio of medians on a
  machine whose load changes.
* Effective bandwidth is ``arrays moved * d * itemsize / step time``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from bench_util import (
    Table,
    bounds_verdict,
    fmt_ratio,
    fmt_time,
    interleaved,
    median,
    progress,
    time_loop,
    verdict,
)

T_CYCLE = 100  # t cycles through 1..T_CYCLE: beta**t stays far from subnormal numbers (see run())
ROOF_TARGET = 3.0  # issue 9: every numpy kernel within 3x of the roof at d = 1e7
#: elements of the cache-resident problem a numpy row's in-cache floor is timed on (512 KiB per
#: float64 array: the arrays of one step stay in L2/L3, like one slice of the blocked step)
FLOOR_D = 1 << 16
#: from this d a numpy row also times its in-cache floor, its step on two threads and the control
FLOOR_MIN_D = 10**7
NUMBA_ROOF_TARGET = 1.15  # issue 9: the accelerated backend within 1.15x of the roof at d >= 1e6
BLOCK_CANDIDATES = (1 << 14, 1 << 15, 1 << 16, 1 << 17, 1 << 18, 1 << 19)


# ---------------------------------------------------------------------------- the registry


def registry_variants() -> list[tuple[str, Any]]:
    """``[(algorithm name, Variant)]`` for every algorithm and variant registered right now."""
    from optrun.optimizers import ALGORITHMS

    return [(name, v) for name, alg in ALGORITHMS.items() for v in alg.variants]


def build_default(variant: Any, backend: str | None = None, d: int = 0):
    """The variant's optimizer with every hyperparameter at its declared default.

    ``backend`` None: the plain numpy kernel (``Variant.build``, what the tracing counts);
    ``numpy`` / ``numba``: what ``optrun run`` uses at dimension ``d`` with that backend (numpy:
    cache-blocked above its threshold; numba: the fused kernel), via ``optrun.backends``.
    """
    params = {p.name: p.default for p in variant.params}
    if backend is None:
        return variant.build(**params)
    from optrun.backends import build_variant

    return build_variant(variant, params, backend, d)


def available_backends() -> list[str]:
    """numpy, and numba when it is installed in this interpreter."""
    from optrun.backends import numba_available

    return ["numpy", "numba"] if numba_available() else ["numpy"]


def _leaves(obj: Any, path: str = "") -> list[tuple[str, np.ndarray]]:
    """Every ndarray inside a (nested) state, with a readable path (NamedTuple field names)."""
    if isinstance(obj, np.ndarray):
        return [(path or "state", obj)]
    out: list[tuple[str, np.ndarray]] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, (tuple, list)):
        names = getattr(obj, "_fields", None) or [str(i) for i in range(len(obj))]
        for k, v in zip(names, obj):
            out += _leaves(v, f"{path}.{k}" if path else str(k))
    return out


@dataclass
class StateLayout:
    """How a kernel's d-sized state arrays take part in a step (what counts toward traffic).

    ``persistent``: read first, and written (carried from step to step: moments, accumulators);
    ``read_only``: read but not written; ``scratch``: written before being read (buffers);
    ``unused``: neither (e.g. a weight-decay buffer when weight decay is 0).
    """

    persistent: list[str]
    scratch: list[str]
    read_only: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)  # arrays of another size (counters, ...)

    @property
    def k(self) -> int:
        return len(self.persistent)

    @property
    def arrays_moved(self) -> int:
        """Minimal traffic in arrays: g, x, read-only state read; x and persistent state read and written."""
        return 3 + 2 * self.k + len(self.read_only)

    def describe(self) -> str:
        reads = ["g", "x", *self.persistent, *self.read_only]
        writes = ["x", *self.persistent]
        return f"reads {', '.join(reads)} ({len(reads)}); writes {', '.join(writes)} ({len(writes)})"


class _Traced(np.ndarray):
    """An ndarray that logs every access made through numpy's override protocols.

    ufuncs (NEP 13 ``__array_ufunc__``: inputs read, ``out=`` written, a result without ``out``
    is a temporary), array functions (NEP 18 ``__array_function__``: ``np.copyto(dst, src)``
    writes ``dst``; other functions read their array arguments and write ``out=``) and item
    assignment (``a[...] = b`` writes ``a``). ``_Traced.log`` collects ``(kind, array)`` events
    while it is a list; arrays made by ``zeros_like``/``empty_like`` of a traced array are traced.
    """

    log: list[tuple[str, np.ndarray]] | None = None
    calls = 0

    @staticmethod
    def _note(kind: str, arrays) -> None:
        if _Traced.log is not None:
            _Traced.log += [(kind, a) for a in arrays if isinstance(a, np.ndarray)]

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        plain = [a.view(np.ndarray) if isinstance(a, _Traced) else a for a in inputs]
        if out is not None:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, _Traced) else o for o in out)
        res = getattr(ufunc, method)(*plain, **kwargs)
        if _Traced.log is not None:
            _Traced.calls += 1
            self._note("read", inputs)
        if out is not None:
            self._note("write", out)
            return out[0] if len(out) == 1 else out
        if isinstance(res, np.ndarray):
            res = res.view(_Traced)
            self._note("temporary", [res])
        return res

    def __array_function__(self, func, types, args, kwargs):
        if _Traced.log is not None:
            _Traced.calls += 1
            if func is np.copyto:
                self._note("read", args[1:2])
                self._note("write", args[:1])
            else:
                self._note("read", [*args, *(v for k, v in kwargs.items() if k != "out")])
                out = kwargs.get("out")
                self._note("write", out if isinstance(out, tuple) else [out])
        return super().__array_function__(func, types, args, kwargs)

    def __setitem__(self, key, value):
        self._note("read", [value])
        self._note("write", [self])
        super().__setitem__(key, value)


@dataclass
class Traffic:
    """What one step does through numpy calls: calls, d-sized operands read and written, temporaries."""

    calls: int
    reads: int
    writes: int
    temporaries: int

    @property
    def arrays(self) -> int:
        return self.reads + self.writes


def inspect_step(variant: Any, d: int = 64, warm: int = 3) -> tuple[StateLayout, Traffic]:
    """Trace one step (``update`` and ``x += step``) of ``variant`` and classify its state arrays.

    ``x`` and ``g`` are :class:`_Traced`, so the state built from ``x`` is too. In the log of the
    step, a state array whose first access is a read carries information between steps
    (persistent if it is also written, read-only if not); one first written is scratch; one not
    touched is unused. Each d-sized operand of a call is one array moved, so ``Traffic.arrays /
    StateLayout.arrays_moved`` predicts the ratio to the roof when every pass streams from main
    memory (d = 1e7). Work done outside numpy's override protocols (Python loops over
    elements, views taken as plain ndarrays) is not seen.
    """
    rng = np.random.default_rng(3)
    x = rng.standard_normal(d).view(_Traced)
    opt = build_default(variant)
    state = opt.init(x)
    with np.errstate(all="ignore"):
        for t in range(1, warm + 1):
            step, state = opt.update(rng.standard_normal(d).view(_Traced), state, x, t)
            np.add(x, step, out=x)
        g = rng.standard_normal(d).view(_Traced)
        leaves = _leaves(state)
        _Traced.log, _Traced.calls = [], 0
        try:
            step, state = opt.update(g, state, x, warm + 1)
            np.add(x, step, out=x)
            log, calls = _Traced.log, _Traced.calls
        finally:
            _Traced.log = None

    def owner(a: np.ndarray) -> int | None:
        for i, (_, leaf) in enumerate(leaves):
            if leaf.size == d and np.may_share_memory(a, leaf):
                return i
        return None

    first: dict[int, str] = {}
    written: set[int] = set()
    for kind, arr in log:
        i = owner(arr)
        if i is None:
            continue
        first.setdefault(i, kind)
        if kind == "write":
            written.add(i)
    lay = StateLayout([], [])
    for i, (name, leaf) in enumerate(leaves):
        if leaf.size != d:
            lay.other.append(name)
        elif i not in first:
            lay.unused.append(name)
        elif first[i] == "read":
            (lay.persistent if i in written else lay.read_only).append(name)
        else:
            lay.scratch.append(name)
    big = [(k, a) for k, a in log if a.size == d]
    traffic = Traffic(
        calls=calls,
        reads=sum(k == "read" for k, _ in big),
        writes=sum(k in ("write", "temporary") for k, _ in big),
        temporaries=sum(k == "temporary" for k, _ in big),
    )
    return lay, traffic


def state_layout(variant: Any, d: int = 64) -> StateLayout:
    """The :class:`StateLayout` part of :func:`inspect_step`."""
    return inspect_step(variant, d)[0]


# ---------------------------------------------------------------------------- the roof


class Roof:
    """In-place adds over the kernel's arrays: the same traffic, no maths.

    Per step: ``s += g`` for each of the ``k`` persistent arrays (read and write), ``x += r`` for
    each of the ``r`` read-only arrays (read), ``x += g`` (g and x read, x written).
    """

    def __init__(self, g: np.ndarray, x0: np.ndarray, k: int, r: int = 0):
        self.g, self.x = g, x0.copy()
        self.stacked = np.full((k, x0.shape[-1]), 0.5, dtype=x0.dtype)  # the states, one per row
        self.stacked_read_only = np.full((r, x0.shape[-1]), 1e-3, dtype=x0.dtype)
        self.states = list(self.stacked)
        self.read_only = list(self.stacked_read_only)

    def _parts(self, block: int | None) -> list[tuple[np.ndarray, np.ndarray, list, list]]:
        arrays = (self.g, self.x, self.states, self.read_only)
        if block is None:
            return [arrays]
        d = self.g.shape[-1]
        return [
            (
                self.g[i : i + block],
                self.x[i : i + block],
                [s[i : i + block] for s in self.states],
                [r[i : i + block] for r in self.read_only],
            )
            for i in range(0, d, block)
        ]

    def body(self, block: int | None):
        """A function ``f(n)`` doing ``n`` roof steps, whole-array (None) or in blocks of ``block``."""
        add = np.add
        parts = self._parts(block)

        def roof(n: int) -> None:
            for _ in range(n):
                for g, x, states, read_only in parts:
                    for s in states:
                        add(s, g, out=s)
                    for r in read_only:
                        add(x, r, out=x)
                    add(x, g, out=x)

        return roof

    def two_cores(self, threads: int):
        """A function ``f(n)`` doing ``n`` roof steps on ``threads`` threads (optrun's team, each
        thread its own contiguous columns, as a numba step splits them): one compiled call per
        thread runs all ``n`` steps over its columns, so the figure is the memory's streaming
        speed on that many cores without the per-step hand-off a step pays."""
        from optrun.threads import team

        kernel, d = roof_steps(), self.g.shape[-1]
        w = (d + threads - 1) // threads
        cols = [(c * w, min(d, (c + 1) * w)) for c in range(threads)]
        args = (self.g, self.x, self.stacked, self.stacked_read_only)

        def roof(n: int) -> None:
            team(threads).run(kernel, [(n, lo, hi, *args) for lo, hi in cols])

        return roof

    def tune(self, n: int, tries: int = 3) -> int | None:
        """The fastest of whole arrays (None) and the candidate block sizes (shortest median)."""
        d = self.g.shape[-1]
        best, best_t = None, math.inf
        for bs in (None, *[b for b in BLOCK_CANDIDATES if b < d]):
            f = self.body(bs)
            f(1)
            t = median([time_loop(f, n) for _ in range(tries)])
            if t < best_t:
                best, best_t = bs, t
        return best


_ROOF_STEPS = []


def roof_steps():
    """The compiled roof for :meth:`Roof.two_cores` (numba, built on first use): ``n`` steps of
    ``s += g``, ``x += r``, ``x += g`` over columns ``[lo, hi)``, in blocks of 2,048 columns so
    that ``g`` and ``x`` are re-read from cache and memory sees the minimal traffic."""
    if not _ROOF_STEPS:
        from numba import njit

        @njit(nogil=True, error_model="numpy")
        def roof(n, lo, hi, g, x, S, R):
            for _ in range(n):
                for a in range(lo, hi, 2048):
                    b = min(hi, a + 2048)
                    g_ = g[a:b]
                    for i in range(S.shape[0]):
                        s_ = S[i, a:b]
                        for j in range(b - a):
                            s_[j] = s_[j] + g_[j]
                    x_ = x[a:b]
                    for i in range(R.shape[0]):
                        r_ = R[i, a:b]
                        for j in range(b - a):
                            x_[j] = x_[j] + r_[j]
                    for j in range(b - a):
                        x_[j] = x_[j] + g_[j]

        _ROOF_STEPS.append(roof)
    return _ROOF_STEPS[0]


_SPIN_WORK = []


def parallel_speedup(threads: int, rounds: int = 5) -> float | None:
    """How much faster a compute-bound compiled loop (no memory traffic) runs split over
    ``threads`` threads of optrun's team than on one: about ``threads`` on an idle machine, about
    1 while another process holds the other core (then no two-core figure of the run is
    representative). Median of ``rounds`` interleaved pairs; None without numba."""
    fns = compute_control(threads)
    if not fns:
        return None
    got = interleaved(fns, rounds)
    return median([o / t for o, t in zip(got["ctl_one"], got["ctl_team"])])


def compute_control(threads: int) -> dict[str, Any]:
    """``{"ctl_one": f, "ctl_team": f}``: seconds of a compute-bound compiled loop (no memory
    traffic) on one thread and split over ``threads`` threads of optrun's team, for
    :func:`parallel_speedup` or a benchmark's own rounds; empty without numba."""
    try:
        from numba import njit
    except ImportError:
        return {}
    from optrun.threads import team

    if not _SPIN_WORK:

        @njit(nogil=True)
        def work(lo, hi, a, reps):
            for _ in range(reps):
                for j in range(lo, hi):
                    a[j] = a[j] * 0.999 + 1.0

        _SPIN_WORK.append(work)
    work, a, reps = _SPIN_WORK[0], np.zeros(2000), 3000
    w = (a.size + threads - 1) // threads
    calls = [(c * w, min(a.size, (c + 1) * w), a, reps) for c in range(threads)]
    work(0, a.size, a, 1)
    return {
        "ctl_one": lambda *_: time_loop(lambda n: work(0, a.size, a, reps), 1),
        "ctl_team": lambda *_: time_loop(lambda n: team(threads).run(work, calls), 1),
    }


def roof_label(block: int | None) -> str:
    return "whole arrays" if block is None else f"blocks of {block:,}"


# ---------------------------------------------------------------------------- measurement


@dataclass
class KernelResult:
    algorithm: str
    variant: str
    dtype: str
    d: int
    layout: StateLayout | None
    step_s: float | None = None
    roof_s: float | None = None
    roof_how: str = ""
    ratio: float | None = None  # median over rounds of (kernel sample / the roof sample beside it)
    error: str | None = None
    roof2_s: float | None = None  # the two-core roof (numba rows split over threads only)
    ratio2: float | None = None  # median over rounds of (kernel sample / the two-core roof sample)
    traffic: Traffic | None = None
    backend: str = "numpy"
    floor_ratio: float | None = None  # median of (in-cache floor scaled to d / the roof sample beside it)
    two_ratio: float | None = None  # median of (the step on the team's threads / on one thread)
    control: float | None = None  # median of (compute-bound loop on one thread / on the team)
    threads: int = 1  # threads of the team in two_ratio and control

    @property
    def floor_bound(self) -> float | None:
        """The ratio to the roof of "in-cache floor + one roof": each slice's ufunc calls cost at
        least their time on data already in cache, and the step's arrays cross memory at least
        once (the first touch of each slice), which those calls do not overlap with their
        arithmetic on one core."""
        return None if self.floor_ratio is None else self.floor_ratio + 1.0

    @property
    def passes_bound(self) -> float | None:
        """The ratio to the roof the kernel's numpy calls imply when each streams from memory
        (arrays moved by the calls / the minimal traffic)."""
        if self.traffic is None or self.layout is None:
            return None
        return self.traffic.arrays / self.layout.arrays_moved

    def target(self) -> str:
        """The issue-16 verdict of this row (empty where no target applies): numba within
        1.15x of the roof of the cores it runs on at d >= 1e6; numpy within 3x of the one-core
        roof at d = 1e7, or BOUND: within its in-cache floor plus one roof (:attr:`floor_bound`),
        or where that was not measured within what its passes imply, saying which. (The passes'
        bound assumes every call streams from memory, which the blocked step avoids: at d = 1e7
        it is no bound of the step the backend runs.)"""
        if self.backend == "numba":
            if self.d < 10**6:
                return ""
            return verdict(self.ratio if self.ratio2 is None else self.ratio2, NUMBA_ROOF_TARGET)
        if self.d < 10**7:
            return ""
        if self.floor_bound is not None:
            return bounds_verdict(self.ratio, ROOF_TARGET, {"floor + roof": self.floor_bound})
        return bounds_verdict(self.ratio, ROOF_TARGET, {"its passes'": self.passes_bound})

    def gbps(self, seconds: float | None) -> float | None:
        if not seconds or self.layout is None:
            return None
        return self.layout.arrays_moved * self.d * np.dtype(self.dtype).itemsize / seconds / 1e9


def _inner_steps(one_step_s: float, sample_s: float) -> int:
    return max(1, int(sample_s / max(one_step_s, 1e-9)))


def measure(
    sizes: list[int],
    dtypes: list[str],
    rounds: int,
    sample_s: float,
    only: set[str] | None = None,
    backends: list[str] | None = None,
) -> list[KernelResult]:
    """Time every registered variant at every size and dtype and backend, interleaved with its
    roof (one roof per array count, size and dtype, shared by the backends)."""
    backends = backends or ["numpy"]
    variants = [(a, v) for a, v in registry_variants() if not only or a in only]
    layouts: dict[tuple[str, str], tuple[StateLayout, Traffic] | str] = {}
    for a, v in variants:
        try:
            layouts[a, v.name] = inspect_step(v)
        except Exception as e:  # a kernel being edited right now must not stop the suite
            layouts[a, v.name] = f"{type(e).__name__}: {e}"
    results: list[KernelResult] = []
    rng = np.random.default_rng(2024)
    for dtype in dtypes:
        for d in sizes:
            g = rng.standard_normal(d).astype(dtype)
            x0 = rng.standard_normal(d).astype(dtype)
            tuned: dict[tuple[int, int], int | None] = {}  # (k, r) -> roof block size at this d, dtype
            rounds_here = rounds if d < 10**7 else max(5, rounds * 2 // 3)
            for a, v in variants:
                got = layouts[a, v.name]
                if isinstance(got, str):
                    results.append(KernelResult(a, v.name, dtype, d, None, error=got))
                    continue
                lay, traffic = got
                for be in backends:
                    progress(f"kernel {a}/{v.name} {be} {dtype} d={d:.0e}")
                    try:
                        results.append(_measure_one(a, v, lay, g, x0, rounds_here, sample_s, tuned, be))
                        results[-1].traffic = traffic
                    except Exception as e:
                        results.append(
                            KernelResult(
                                a, v.name, dtype, d, lay, error=f"{type(e).__name__}: {e}", backend=be
                            )
                        )
            del g, x0, tuned
    return results


def _measure_one(
    a: str,
    v: Any,
    lay: StateLayout,
    g: np.ndarray,
    x0: np.ndarray,
    rounds: int,
    sample_s: float,
    tuned: dict[tuple[int, int], int | None],
    backend: str = "numpy",
) -> KernelResult:
    d, dtype = g.shape[-1], g.dtype.name
    opt = build_default(v, backend, d)
    x = x0.copy()
    state = [opt.init(x)]
    tc = [0]
    update, add = opt.update, np.add
    apply = getattr(opt, "apply", None)  # the fused step the runner uses when a kernel has one
    sq = np.empty(max(1, x.size // d))

    def unfused(n: int) -> None:
        st, t = state[0], tc[0]
        for _ in range(n):
            t = t % T_CYCLE + 1
            step, st = update(g, st, x, t)
            add(x, step, out=x)
        state[0], tc[0] = st, t

    def fused(n: int) -> None:
        st, t = state[0], tc[0]
        for _ in range(n):
            t = t % T_CYCLE + 1
            st = apply(g, st, x, t, sq)
        state[0], tc[0] = st, t

    kernel = unfused if apply is None else fused  # the step the runner pays for

    with np.errstate(all="ignore"):
        kernel(2)
        one = time_loop(kernel, 1)
        n = _inner_steps(one, sample_s)
        roof = Roof(g, x0, lay.k, len(lay.read_only))
        shape = (lay.k, len(lay.read_only))
        if shape not in tuned:
            tuned[shape] = roof.tune(n)
        rbody = roof.body(tuned[shape])
        rbody(1)
        fns = {"kernel": lambda: time_loop(kernel, n), "roof": lambda: time_loop(rbody, n)}
        threads = split_threads(backend, d)
        if threads > 1:
            r2body = roof.two_cores(threads)
            r2body(1)
            fns["roof2"] = lambda: time_loop(r2body, n)
        if backend == "numpy" and d >= FLOOR_MIN_D:
            fns.update(numpy_extras(v, g, x0, n))
        samples = interleaved(fns, rounds)
    ratio = median([k / r for k, r in zip(samples["kernel"], samples["roof"])])
    two: dict[str, Any] = {}
    if "roof2" in samples:
        two["roof2_s"] = median(samples["roof2"])
        two["ratio2"] = median([k / r for k, r in zip(samples["kernel"], samples["roof2"])])
    if "floor" in samples:
        two["floor_ratio"] = median([f / r for f, r in zip(samples["floor"], samples["roof"])])
    if "threads" in samples:
        two["two_ratio"] = median([m / k for m, k in zip(samples["threads"], samples["kernel"])])
        two["control"] = median([o / m for o, m in zip(samples["ctl_one"], samples["ctl_team"])])
        two["threads"] = NUMPY_THREADS
    return KernelResult(
        a,
        v.name,
        dtype,
        d,
        lay,
        median(samples["kernel"]),
        median(samples["roof"]),
        roof_label(tuned[shape]),
        ratio,
        backend=backend,
        **two,
    )


#: threads the numpy rows' two-thread figure uses (the team of optrun.threads)
NUMPY_THREADS = 2


def numpy_extras(v: Any, g: np.ndarray, x0: np.ndarray, n: int) -> dict[str, Any]:
    """The samples a numpy row at large d adds to its round (each returns seconds per step at
    d): ``floor``, the same kernel as a run builds it on a cache-resident problem of
    :data:`FLOOR_D` elements, scaled to d; ``threads``, the blocked step with its slices shared
    among :data:`NUMPY_THREADS` threads of optrun's team (its own x and state); ``ctl_one`` and
    ``ctl_team``, a compute-bound loop on one thread and on the team (the machine check)."""
    from optrun import threads as T
    from optrun.optimizers.blocked import blocked

    d = g.shape[-1]
    fd = min(FLOOR_D, d)
    out = {"floor": _stepper(build_default(v, "numpy", fd), g[..., :fd], x0[..., :fd], d / fd)}
    if split_threads("numpy", d) == 1 and T.available() >= NUMPY_THREADS:
        opt = blocked(build_default(v), threads=T)  # as build_variant does, plus the team
        out["threads"] = _stepper(opt, g, x0, 1.0, env=str(NUMPY_THREADS))
        out.update(compute_control(NUMPY_THREADS))
    for f in out.values():
        f(1, True)
    return {k: (lambda f=f, n=n: f(n)) for k, f in out.items()}


def _stepper(opt: Any, g: np.ndarray, x0: np.ndarray, scale: float, env: str | None = None):
    """``f(n)``: ``n * scale`` unfused steps of ``opt`` (``update`` plus ``x += step``) from its
    own copy of ``x0``, seconds per step times ``scale`` (a step of the small problem scaled to
    the row's d); ``OPTRUN_THREADS=env`` while timing, when given."""
    import os

    x = x0.copy()
    state, tc = [opt.init(x)], [0]
    update, add = opt.update, np.add

    def steps(k: int) -> None:
        st, t = state[0], tc[0]
        for _ in range(k):
            t = t % T_CYCLE + 1
            step, st = update(g, st, x, t)
            add(x, step, out=x)
        state[0], tc[0] = st, t

    def f(n: int = 1, warm: bool = False) -> float:
        k = 2 if warm else max(1, round(n * scale))
        before = os.environ.get("OPTRUN_THREADS")
        if env is not None:
            os.environ["OPTRUN_THREADS"] = env
        try:
            return time_loop(steps, k) * scale  # the small problem's step time, scaled to d
        finally:
            if env is not None:
                if before is None:
                    del os.environ["OPTRUN_THREADS"]
                else:
                    os.environ["OPTRUN_THREADS"] = before

    return f


def split_threads(backend: str, d: int) -> int:
    """Threads a step of ``backend`` at ``d`` runs on: numba's fused steps split from
    ``PARALLEL_MIN_D`` columns (:mod:`optrun.backends.fused`); numpy is single-threaded."""
    if backend != "numba":
        return 1
    from optrun.backends import fused

    return fused.threads() if d >= fused.PARALLEL_MIN_D else 1


# ---------------------------------------------------------------------------- allocations


@dataclass
class AllocResult:
    algorithm: str
    variant: str
    d: int
    peak_bytes: int  # most memory allocated at once during the steps, above what was there before
    retained_bytes: int  # still allocated after the steps (a leak or a growing state)
    steps: int
    error: str | None = None


def allocations(d: int = 100_000, steps: int = 5, only: set[str] | None = None) -> list[AllocResult]:
    """Memory a step allocates, by ``tracemalloc`` (numpy reports its array buffers to it).

    A kernel that works in place on preallocated buffers shows a peak of a few hundred bytes
    (Python objects); each d-sized temporary alive at once adds ``8 d`` bytes in float64.
    """
    import tracemalloc

    out = []
    for a, v in registry_variants():
        if only and a not in only:
            continue
        try:
            rng = np.random.default_rng(7)
            x = rng.standard_normal(d)
            g = rng.standard_normal(d)
            opt = build_default(v)
            state = opt.init(x)
            with np.errstate(all="ignore"):
                for t in range(1, 4):
                    step, state = opt.update(g, state, x, t)
                    np.add(x, step, out=x)
                del step
                tracemalloc.start()
                try:
                    base = tracemalloc.get_traced_memory()[0]
                    tracemalloc.reset_peak()
                    for t in range(4, 4 + steps):
                        step, state = opt.update(g, state, x, t)
                        np.add(x, step, out=x)
                    cur, peak = tracemalloc.get_traced_memory()
                finally:
                    tracemalloc.stop()
            out.append(AllocResult(a, v.name, d, peak - base, cur - base, steps))
        except Exception as e:
            out.append(AllocResult(a, v.name, d, 0, 0, steps, error=f"{type(e).__name__}: {e}"))
    return out


# ---------------------------------------------------------------------------- tables


def fmt_d(d: int) -> str:
    e = round(math.log10(d))
    return f"1e{e}" if 10**e == d else f"{d:,}"


def kernel_table(
    results: list[KernelResult],
    peer_times: dict[tuple[str, str, str, int], float],
    peer_cols: list[tuple[str, str]],
) -> Table:
    """One row per variant, dtype and d: step time, roof, GB/s, ratio to roof and to each peer.

    ``peer_cols`` is ``[(column label, peer key)]``; ``peer_times[(key, algorithm, dtype, d)]`` is
    the peer's median step time.
    """
    t = Table(
        "Kernel step time vs the memory roof (medians; backend numpy = optrun's numpy kernels as a "
        "run uses them, numba = the fused kernels)",
        [
            "algorithm",
            "variant",
            "backend",
            "dtype",
            "d",
            "arrays moved",
            "step",
            "roof",
            "roof kernel",
            "GB/s",
            "roof GB/s",
            "× roof",
            "2-core roof",
            "× 2-core roof",
            "passes",
            "in-cache floor",
            "floor + roof",
            "2 threads ÷ 1 (control)",
            *[f"÷ {label}" for label, _ in peer_cols],
            "target (numpy ≤3× roof at 1e7 or BOUND; numba ≤1.15× its cores' roof at ≥1e6)",
        ],
    )
    for r in results:
        if r.error:
            t.add(
                r.algorithm,
                r.variant,
                r.backend,
                r.dtype,
                fmt_d(r.d),
                "",
                "error: " + r.error[:80],
                *["" for _ in range(11 + len(peer_cols))],
                "",
            )
            continue
        peers = [peer_times.get((key, r.algorithm, r.dtype, r.d)) for _, key in peer_cols]
        passes = ""
        if r.backend == "numpy" and r.traffic:
            passes = f"{r.traffic.calls} calls, {r.traffic.arrays} arrays: {r.passes_bound:.2f}×"
        t.add(
            r.algorithm,
            r.variant,
            r.backend,
            r.dtype,
            fmt_d(r.d),
            r.layout.arrays_moved,
            fmt_time(r.step_s),
            fmt_time(r.roof_s),
            r.roof_how,
            f"{r.gbps(r.step_s):.1f}",
            f"{r.gbps(r.roof_s):.1f}",
            fmt_ratio(r.ratio),
            fmt_time(r.roof2_s) if r.roof2_s else "",
            fmt_ratio(r.ratio2) if r.ratio2 else "",
            passes,
            fmt_ratio(r.floor_ratio) if r.floor_ratio is not None else "",
            fmt_ratio(r.floor_bound) if r.floor_bound is not None else "",
            f"{fmt_ratio(r.two_ratio)} ({fmt_ratio(r.control)})" if r.two_ratio is not None else "",
            *[fmt_ratio(r.step_s / p) if p else "—" for p in peers],
            r.target(),
        )
    t.notes += [
        "arrays moved = minimal traffic: g, x and read-only state read; x and persistent state read and "
        "written.",
        "roof = in-place `np.add` over the same arrays (whole arrays or cache-sized blocks, the faster one, "
        "picked in this run), timed interleaved with the kernel; × roof = median of the per-round ratios.",
        "GB/s = arrays moved × d × itemsize / time (effective: the minimal traffic, not what the hardware "
        "moved).",
        "÷ peer = optrun step time / the peer's step time for the same algorithm (< 1: optrun faster).",
        f"t cycles through 1..{T_CYCLE}, so factors like beta1**t stay out of the subnormal range "
        "(float32 beta1**t reaches subnormals near t = 830 and would time the slow subnormal path).",
        "step = what the runner pays per step: the optimizer's fused `apply` (x += step in place, with the "
        "squared step norm) when it has one (numba), else its `update` plus `x += step` (numpy; the runner's "
        "`vecdot` for the step norm is not included there), which moves 2 arrays more than the roof.",
        "numba kernels run on every core from d = 2**17 (one kernel call per thread, see optrun.backends.fused); "
        "numpy and the roof on one core.",
        "2-core roof = the same traffic as the roof on the threads a numba step uses (a compiled `s += g`, "
        "`x += g` in 2,048-column blocks, each thread its own columns, all n steps of a sample in one call "
        "per thread: no per-step hand-off), timed interleaved with the numba rows it is printed on; a numba "
        "row's target is its ratio to it.",
        "passes = the numpy calls of one step and the d-sized operands they move; their ratio to the minimal "
        "traffic is the ratio to the roof those passes imply when each streams from memory. A numpy row over "
        "3× that is within it is marked BOUND: the library's exact operation order (kept bit for bit) sets "
        "the pass count.",
        f"in-cache floor (numpy rows at d ≥ {fmt_d(FLOOR_MIN_D)}) = the same step as a run builds it on a "
        f"cache-resident problem of {FLOOR_D:,} elements (its arrays stay in L2/L3, as one slice of the "
        "blocked step does), scaled to d, over the roof sample of the same round (median): the ufunc calls' "
        "arithmetic alone, which passes count as free. floor + roof = that plus 1: the blocked step pays its "
        "calls' arithmetic in cache and its arrays' one trip through memory, which one core does not "
        "overlap. A numpy row over 3× is BOUND when within floor + roof, MISS otherwise (its passes' bound, "
        "which assumes every call streams from memory, bounds an unblocked step, not the blocked one).",
        f"2 threads ÷ 1 = the numpy step with its cache-sized slices shared among {NUMPY_THREADS} threads of "
        "optrun's team (bit-identical; its own x and state) over the one-thread step of the same round "
        "(median); in brackets, a compute-bound loop's speed-up on the same threads in the same rounds "
        f"(about {NUMPY_THREADS}× on an idle machine, near 1× while other processes hold the other core). "
        "The numpy backend runs on one thread (optrun.optimizers.blocked says why); × roof and the target "
        "are its one-thread figures.",
    ]
    return t


def layout_table(results: list[KernelResult], allocs: list[AllocResult]) -> Table:
    d = allocs[0].d if allocs else 0
    t = Table(
        f"What a step touches (traced at d = 64) and allocates (d = {d:,}, float64, tracemalloc)",
        [
            "algorithm",
            "variant",
            "persistent (read+write)",
            "read-only",
            "scratch",
            "unused",
            "minimal traffic (arrays)",
            "numpy calls",
            "arrays moved by the calls",
            "predicted × roof at 1e7",
            "peak allocated in a step",
            "check: no temporaries",
        ],
    )
    info = {(r.algorithm, r.variant): r for r in results if r.layout is not None}
    for al in allocs:
        r = info.get((al.algorithm, al.variant))
        if al.error or r is None:
            t.add(
                al.algorithm,
                al.variant,
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "error",
                (al.error or "not measured")[:80],
            )
            continue
        lay, tr = r.layout, r.traffic
        t.add(
            al.algorithm,
            al.variant,
            ", ".join(lay.persistent) or "—",
            ", ".join(lay.read_only) or "—",
            ", ".join(lay.scratch) or "—",
            ", ".join(lay.unused) or "—",
            lay.arrays_moved,
            tr.calls if tr else "?",
            tr.arrays if tr else "?",
            f"{tr.arrays / lay.arrays_moved:.2f}×" if tr else "?",
            f"{al.peak_bytes:,} B ({al.peak_bytes / (al.d * 8):.2f} arrays)",
            "PASS" if al.peak_bytes < al.d * 8 // 2 else "MISS",
        )
    t.notes += [
        "Traced: every numpy call of one step (update + x += step) is logged through numpy's override "
        "protocols (`__array_ufunc__`, `__array_function__`, item assignment); a state array first read "
        "carries information between steps, one first written is scratch.",
        "minimal traffic = g and x read, x written, persistent arrays read and written, read-only arrays "
        "read.",
        "arrays moved by the calls = d-sized operands summed over the calls; divided by the minimal traffic "
        "it predicts × roof when every call streams from main memory.",
        "peak = tracemalloc's peak during 5 steps minus what was allocated before them; a d-sized float64 "
        "temporary is 8·d bytes; a few hundred bytes are Python objects.",
    ]
    return t


def summary_rows(results: list[KernelResult], d: int, dtype: str = "float64") -> list[KernelResult]:
    return [r for r in results if r.d == d and r.dtype == dtype and not r.error]
