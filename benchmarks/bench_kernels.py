"""Benchmark 1: step time of every registered kernel against a memory roof measured beside it.

The figure of merit for an elementwise optimizer step over ``d`` coordinates is memory traffic:
a step must read ``g``, ``x`` and the ``k`` state arrays that carry information from one step to
the next, and write ``x`` and those ``k`` arrays back, i.e. ``2k + 3`` arrays of ``d`` numbers
("arrays moved"). Anything more (scratch buffers, several passes, temporaries) is overhead.
This is the roofline argument of Williams, Waterman & Patterson, "Roofline: an insightful visual
performance model for multicore architectures", CACM 52(4), 2009, applied to a streaming kernel
of arithmetic intensity close to zero, with the roof measured rather than taken from a data sheet
(McCalpin's STREAM benchmark, https://www.cs.virginia.edu/stream/, does the same for copy/add).

* ``k`` is found by behaviour, not by name: a state array is *persistent* when perturbing it
  before a step changes the step or the state after it; scratch buffers (overwritten before they
  are read) do not count. So algorithms added to the registry later are measured correctly.
* The roof is a kernel with exactly that traffic and trivial arithmetic: in-place ufuncs
  ``np.add(s_i, g, out=s_i)`` for each state array and ``np.add(x, g, out=x)``, either over whole
  arrays or in cache-sized blocks (then ``g`` is re-read from cache and main-memory traffic is
  the minimal ``2k + 3`` arrays); the faster of the two, with the block size picked in the run.
* Kernel and roof samples are interleaved (rotating order) and medians reported, so both see
  the same machine load; the ratio is the median of the per-round ratios (each kernel sample
  over the roof sample taken right beside it), which is steadier than a ratio of medians on a
  machine whose load changes.
* Effective bandwidth is ``(2k + 3) * d * itemsize / step time``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench_util import Table, fmt_ratio, fmt_time, interleaved, median, progress, time_loop, verdict

T_CYCLE = 100  # t cycles through 1..T_CYCLE: beta**t stays far from subnormal numbers (see run())
ROOF_TARGET = 3.0  # issue 9: every numpy kernel within 3x of the roof at d = 1e7
BLOCK_CANDIDATES = (1 << 14, 1 << 15, 1 << 16, 1 << 17, 1 << 18, 1 << 19)


# ---------------------------------------------------------------------------- the registry


def registry_variants() -> list[tuple[str, Any]]:
    """``[(algorithm name, Variant)]`` for every algorithm and variant registered right now."""
    from optrun.optimizers import ALGORITHMS

    return [(name, v) for name, alg in ALGORITHMS.items() for v in alg.variants]


def build_default(variant: Any):
    """The variant's optimizer with every hyperparameter at its declared default."""
    return variant.build(**{p.name: p.default for p in variant.params})


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
    """Which of a kernel's d-sized state arrays persist between steps (count toward traffic)."""

    persistent: list[str]
    scratch: list[str]
    other: list[str] = field(default_factory=list)  # arrays of another size (counters, ...)

    @property
    def k(self) -> int:
        return len(self.persistent)

    @property
    def arrays_moved(self) -> int:
        return 2 * self.k + 3

    def describe(self) -> str:
        k = self.k
        reads = ", ".join(["g", "x", *self.persistent])
        writes = ", ".join(["x", *self.persistent])
        return f"reads {reads} ({k + 2}); writes {writes} ({k + 1})"


def state_layout(variant: Any, d: int = 64, warm: int = 3) -> StateLayout:
    """Classify the state arrays of ``variant`` by perturbing each one before a step.

    For each d-sized array: rebuild the optimizer, replay the same warm-up steps, add
    ``1 + |a|`` to that array, take one more step, and compare the step and every state array
    with the unperturbed replay. A difference means the step read the array before writing it.
    """

    def replay(perturb: int | None):
        rng = np.random.default_rng(12345)
        x = rng.standard_normal(d)
        opt = build_default(variant)
        state = opt.init(x)
        for t in range(1, warm + 1):
            step, state = opt.update(rng.standard_normal(d), state, x, t)
            np.add(x, step, out=x)
        g = rng.standard_normal(d)
        leaves = _leaves(state)
        if perturb is not None:
            a = leaves[perturb][1]
            a += 1.0 + np.abs(a)
        step, state = opt.update(g, state, x, warm + 1)
        return [np.array(step, copy=True)] + [np.array(a, copy=True) for _, a in _leaves(state)], leaves

    ref, leaves = replay(None)
    persistent, scratch, other = [], [], []
    for i, (name, a) in enumerate(leaves):
        if a.size != d:
            other.append(name)
            continue
        out, _ = replay(i)
        same = len(out) == len(ref) and all(np.array_equal(p, q, equal_nan=True) for p, q in zip(out, ref))
        (scratch if same else persistent).append(name)
    return StateLayout(persistent, scratch, other)


# ---------------------------------------------------------------------------- the roof


class Roof:
    """In-place adds over ``g``, ``x`` and ``k`` state arrays: the traffic of the kernel, no maths."""

    def __init__(self, g: np.ndarray, x0: np.ndarray, k: int):
        self.g, self.x = g, x0.copy()
        self.states = [np.full_like(x0, 0.5) for _ in range(k)]

    def _blocks(self, bs: int) -> list[tuple[np.ndarray, ...]]:
        d = self.g.shape[-1]
        return [tuple(a[i:i + bs] for a in (self.g, self.x, *self.states)) for i in range(0, d, bs)]

    def body(self, block: int | None):
        """A function ``f(n)`` doing ``n`` roof steps, whole-array or in blocks of ``block``."""
        add = np.add
        if block is None:
            g, x, states = self.g, self.x, self.states

            def whole(n: int) -> None:
                for _ in range(n):
                    for s in states:
                        add(s, g, out=s)
                    add(x, g, out=x)

            return whole
        blocks = self._blocks(block)

        def blocked(n: int) -> None:
            for _ in range(n):
                for gb, xb, *sb in blocks:
                    for s in sb:
                        add(s, gb, out=s)
                    add(xb, gb, out=xb)

        return blocked

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

    def gbps(self, seconds: float | None) -> float | None:
        if not seconds or self.layout is None:
            return None
        return self.layout.arrays_moved * self.d * np.dtype(self.dtype).itemsize / seconds / 1e9


def _inner_steps(one_step_s: float, sample_s: float) -> int:
    return max(1, int(sample_s / max(one_step_s, 1e-9)))


def measure(sizes: list[int], dtypes: list[str], rounds: int, sample_s: float,
            only: set[str] | None = None) -> list[KernelResult]:
    """Time every registered variant at every size and dtype, interleaved with its roof."""
    variants = [(a, v) for a, v in registry_variants() if not only or a in only]
    layouts: dict[tuple[str, str], StateLayout | str] = {}
    for a, v in variants:
        try:
            layouts[a, v.name] = state_layout(v)
        except Exception as e:  # a kernel being edited right now must not stop the suite
            layouts[a, v.name] = f"{type(e).__name__}: {e}"
    results: list[KernelResult] = []
    rng = np.random.default_rng(2024)
    for dtype in dtypes:
        for d in sizes:
            g = rng.standard_normal(d).astype(dtype)
            x0 = rng.standard_normal(d).astype(dtype)
            tuned: dict[int, int | None] = {}  # k -> roof block size picked at this d and dtype
            rounds_here = rounds if d < 10**7 else max(5, rounds * 2 // 3)
            for a, v in variants:
                lay = layouts[a, v.name]
                if isinstance(lay, str):
                    results.append(KernelResult(a, v.name, dtype, d, None, error=lay))
                    continue
                progress(f"kernel {a}/{v.name} {dtype} d={d:.0e}")
                try:
                    results.append(_measure_one(a, v, lay, g, x0, rounds_here, sample_s, tuned))
                except Exception as e:
                    results.append(KernelResult(a, v.name, dtype, d, lay, error=f"{type(e).__name__}: {e}"))
            del g, x0, tuned
    return results


def _measure_one(a: str, v: Any, lay: StateLayout, g: np.ndarray, x0: np.ndarray, rounds: int,
                 sample_s: float, tuned: dict[int, int | None]) -> KernelResult:
    d, dtype = g.shape[-1], g.dtype.name
    opt = build_default(v)
    x = x0.copy()
    state = [opt.init(x)]
    tc = [0]
    update, add = opt.update, np.add

    def kernel(n: int) -> None:
        st, t = state[0], tc[0]
        for _ in range(n):
            t = t % T_CYCLE + 1
            step, st = update(g, st, x, t)
            add(x, step, out=x)
        state[0], tc[0] = st, t

    with np.errstate(all="ignore"):
        kernel(2)
        one = time_loop(kernel, 1)
        n = _inner_steps(one, sample_s)
        roof = Roof(g, x0, lay.k)
        if lay.k not in tuned:
            tuned[lay.k] = roof.tune(n)
        rbody = roof.body(tuned[lay.k])
        rbody(1)
        samples = interleaved({"kernel": lambda: time_loop(kernel, n), "roof": lambda: time_loop(rbody, n)},
                              rounds)
    ratio = median([k / r for k, r in zip(samples["kernel"], samples["roof"])])
    return KernelResult(a, v.name, dtype, d, lay, median(samples["kernel"]), median(samples["roof"]),
                        roof_label(tuned[lay.k]), ratio)


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


def kernel_table(results: list[KernelResult], peer_times: dict[tuple[str, str, str, int], float],
                 peer_cols: list[tuple[str, str]]) -> Table:
    """One row per variant, dtype and d: step time, roof, GB/s, ratio to roof and to each peer.

    ``peer_cols`` is ``[(column label, peer key)]``; ``peer_times[(key, algorithm, dtype, d)]`` is
    the peer's median step time.
    """
    t = Table("Kernel step time vs the memory roof (numpy backend; medians)",
              ["algorithm", "variant", "dtype", "d", "arrays moved", "step", "roof", "roof kernel", "GB/s",
               "roof GB/s", "× roof", *[f"÷ {label}" for label, _ in peer_cols], "target ≤3× roof at 1e7"])
    for r in results:
        if r.error:
            t.add(r.algorithm, r.variant, r.dtype, fmt_d(r.d), "", "error: " + r.error[:80], "", "", "", "", "",
                  *["" for _ in peer_cols], "")
            continue
        peers = [peer_times.get((key, r.algorithm, r.dtype, r.d)) for _, key in peer_cols]
        t.add(r.algorithm, r.variant, r.dtype, fmt_d(r.d), r.layout.arrays_moved, fmt_time(r.step_s),
              fmt_time(r.roof_s), r.roof_how, f"{r.gbps(r.step_s):.1f}", f"{r.gbps(r.roof_s):.1f}", fmt_ratio(r.ratio),
              *[fmt_ratio(r.step_s / p) if p else "—" for p in peers],
              verdict(r.ratio, ROOF_TARGET) if r.d >= 10**7 else "")
    t.notes += [
        "arrays moved = 2k + 3: g and x read, x written, and the k persistent state arrays read and written.",
        "roof = in-place `np.add` over the same arrays (whole arrays or cache-sized blocks, the faster one, "
        "picked in this run), timed interleaved with the kernel; × roof = median of the per-round ratios.",
        "GB/s = arrays moved × d × itemsize / time (effective: the minimal traffic, not what the hardware moved).",
        "÷ peer = optrun step time / the peer's step time for the same algorithm (< 1: optrun faster).",
        f"t cycles through 1..{T_CYCLE}, so factors like beta1**t stay out of the subnormal range "
        "(float32 beta1**t reaches subnormals near t = 830 and would time the slow subnormal path).",
    ]
    return t


def layout_table(results: list[KernelResult], allocs: list[AllocResult]) -> Table:
    t = Table("State traffic and per-step allocations (d = {:,}, float64, tracemalloc)".format(
        allocs[0].d if allocs else 0),
        ["algorithm", "variant", "persistent state (k)", "scratch buffers", "traffic per step",
         "peak allocated during a step", "temporaries (× one array)", "target: none"])
    layouts = {(r.algorithm, r.variant): r.layout for r in results if r.layout is not None}
    for al in allocs:
        lay = layouts.get((al.algorithm, al.variant))
        if al.error:
            t.add(al.algorithm, al.variant, "", "", "", "error", "", al.error[:80])
            continue
        arrays = al.peak_bytes / (al.d * 8)
        t.add(al.algorithm, al.variant,
              f"{', '.join(lay.persistent) or '—'} ({lay.k})" if lay else "?",
              ", ".join(lay.scratch) or "—" if lay else "?",
              lay.describe() if lay else "?",
              f"{al.peak_bytes:,} B", f"{arrays:.2f}",
              "PASS" if al.peak_bytes < al.d * 8 // 2 else "MISS")
    t.notes.append("peak = tracemalloc's peak during 5 steps minus what was allocated before them; a "
                   "d-sized float64 temporary is 8·d bytes. Small peaks are Python objects (tuples, floats).")
    return t


def summary_rows(results: list[KernelResult], d: int, dtype: str = "float64") -> list[KernelResult]:
    return [r for r in results if r.d == d and r.dtype == dtype and not r.error]
