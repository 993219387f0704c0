"""The rounds of an online or stochastic run: each member's own random streams, noisy gradients
and regret.

Round ``t = r + 1`` is taken at row ``r`` of the trace (the point after ``r`` steps): its ``f`` is
``f_t`` there (the objective itself when it is not online), its gradient is ``f_t``'s, to which
gradient noise is added when configured; the optimizer sees that noisy gradient, while the trace's
``f`` and ``grad_norm`` are the noise-free ones. For an online objective with a known optimum
``x*`` the trace adds ``regret`` = R_t = sum over s <= t of f_s(x_s) - f_s(x*) and ``avg_regret``
= R_t / t.

Every random number comes from the member's own streams, seeded by its ``seed`` alone
(``SeedSequence([seed, purpose])``: one stream per purpose, apart from the stream of the random
start): a member run alone draws what it draws inside any sweep, bit for bit, and members that
share a seed share their noise and their sequence of functions (common random numbers). Streams
are drawn a block of rows at a time per member (never a Python call per member per step); as
numpy's ``Generator`` gives the same sequence however its draws are split into calls, the block
size does not change a number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import Objective

NOISE_KEYS = ("law", "std", "relative", "df", "spike_prob", "spike_size")
NOISE_LAWS = ("gaussian", "student_t", "cauchy")
#: the purposes of a member's streams (the second word of its seed sequence)
OBJECTIVE_STREAM, NOISE_STREAM, SPIKE_STREAM = 0x6F6E6C6E, 0x6E6F6973, 0x7370696B
BLOCK_NUMBERS = 1 << 20  # numbers a stream buffers for all members at once (8 MB)
MAX_BLOCK_ROWS = 1 << 16
REGRET_COLUMNS = ("regret", "avg_regret")


class NoiseError(ValueError):
    """A bad ``objective.noise`` value: ``key`` is the key under ``noise`` ('' for the block)."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key, self.message = key, message


def _number(key: str, v: Any, low: float, low_open: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise NoiseError(key, f"must be a finite number, not {v!r}")
    if v < low or (low_open and v == low):
        raise NoiseError(key, f"must be {'above' if low_open else 'at least'} {low:g}, not {v!r}")
    return float(v)


def validate_noise(raw: Any) -> dict[str, Any] | None:
    """An ``objective.noise`` block resolved (every default filled in), or None for no noise.

    Keys: ``law`` (gaussian | student_t | cauchy), ``std`` (the law's scale: the standard
    deviation of gaussian noise), ``relative`` (scale each coordinate's noise by ``|g_i|``), ``df``
    (student_t's degrees of freedom), ``spike_prob`` and ``spike_size`` (each coordinate gets
    ``+spike_size`` or ``-spike_size`` with probability ``spike_prob / 2`` each)."""
    if raw is None or raw is False:
        return None
    if not isinstance(raw, dict):
        raise NoiseError(
            "", f"must be a mapping such as {{law: gaussian, std: 0.1}}, not {type(raw).__name__} {raw!r}"
        )
    for key in raw:
        if key not in NOISE_KEYS:
            raise NoiseError(key, f"unknown key; valid keys: {', '.join(NOISE_KEYS)}")
    law = raw.get("law", "gaussian")
    if law not in NOISE_LAWS:
        raise NoiseError("law", f"must be one of {', '.join(NOISE_LAWS)}, not {law!r}")
    out: dict[str, Any] = {"law": law, "std": _number("std", raw.get("std", 0.0), 0.0)}
    relative = raw.get("relative", False)
    if not isinstance(relative, bool):
        raise NoiseError("relative", f"must be true or false, not {relative!r}")
    out["relative"] = relative
    if law == "student_t":
        out["df"] = _number("df", raw.get("df", 3.0), 0.0, low_open=True)
    elif "df" in raw:
        raise NoiseError("df", f"applies to law: student_t, not {law}")
    out["spike_prob"] = _number("spike_prob", raw.get("spike_prob", 0.0), 0.0)
    if out["spike_prob"] > 1:
        raise NoiseError("spike_prob", f"is a probability: at most 1, not {raw['spike_prob']!r}")
    out["spike_size"] = _number("spike_size", raw.get("spike_size", 0.0), 0.0)
    if out["std"] == 0 and (out["spike_prob"] == 0 or out["spike_size"] == 0):
        raise NoiseError(
            "std", "the noise block adds nothing: give std > 0, or spike_prob and spike_size above 0"
        )
    return out


Fill = Callable[[np.random.Generator, np.ndarray], None]


def uniform(gen: np.random.Generator, out: np.ndarray) -> None:
    gen.random(out=out)


def _law(noise: dict[str, Any]) -> Fill:
    if noise["law"] == "gaussian":
        return lambda gen, out: gen.standard_normal(out=out)
    if noise["law"] == "cauchy":

        def cauchy(gen, out):
            out[...] = gen.standard_cauchy(out.shape)

        return cauchy
    df = noise["df"]

    def student_t(gen, out):
        out[...] = gen.standard_t(df, out.shape)

    return student_t


def member_generators(seeds: Sequence[int], purpose: int) -> list[np.random.Generator]:
    """One generator per member, seeded by ``(seed, purpose)``; members sharing a seed get equal
    generators (made once and copied: seeding costs tens of microseconds)."""
    made: dict[int, dict] = {}
    gens = []
    for seed in seeds:
        if seed not in made:
            made[seed] = np.random.PCG64(np.random.SeedSequence([int(seed), purpose])).state
        bits = np.random.PCG64()
        bits.state = made[seed]
        gens.append(np.random.Generator(bits))
    return gens


class MemberStreams:
    """Each member's stream of ``width`` numbers per row, drawn a block of rows at a time.

    ``row(r)`` is the ``(S, width)`` numbers of row ``r``; rows are asked for in increasing order
    (a row asked again, or one further on, is fine: rows skipped are drawn and dropped, which is
    how a resumed run finds its place)."""

    def __init__(self, seeds: Sequence[int], width: int, fill: Fill, purpose: int, dtype=np.float64):
        self.gens = member_generators(seeds, purpose)
        S = len(self.gens)
        self.width, self.fill = width, fill
        self.B = int(max(1, min(MAX_BLOCK_ROWS, BLOCK_NUMBERS // max(1, S * width))))
        self.buf = np.empty((S, self.B, width), dtype=dtype)
        self.lo = self.next = 0  # rows lo .. next - 1 are in buf

    def _draw(self, n: int) -> None:
        for gen, out in zip(self.gens, self.buf[:, :n]):  # a call per member per block of rows
            self.fill(gen, out)
        self.lo, self.next = self.next, self.next + n

    def row(self, r: int) -> np.ndarray:
        if r < self.lo:
            raise ValueError(f"row {r} of a stream was asked for after row {self.next - 1}")
        while r >= self.next:
            self._draw(self.B)
        return self.buf[:, r - self.lo]

    def rows(self, r: int, n: int) -> np.ndarray:
        """Rows ``r .. r + n - 1`` as an ``(S, n, width)`` array (a view of the buffer, valid until
        the next call, when they are in one block; else a copy), the numbers :meth:`row` gives one
        by one."""
        first = self.row(r)  # (draws the block that holds row r)
        if r + n <= self.next:
            return self.buf[:, r - self.lo : r - self.lo + n]
        out = np.empty((first.shape[0], n, self.width), dtype=self.buf.dtype)
        i = 0
        while i < n:
            self.row(r + i)
            m = min(n - i, self.next - (r + i))
            out[:, i : i + m] = self.buf[:, r + i - self.lo : r + i - self.lo + m]
            i += m
        return out


@dataclass
class Regret:
    """R_t and R_t / t of each member: ``total`` is the sum up to the last round observed."""

    xstar: np.ndarray  # (S, d): x* for every member
    total: np.ndarray  # (S,)
    #: a resumed run observes its checkpoint's round again: that round is in ``total`` already
    counted: int = -1


class Rounds:
    """What a run of an online objective or with gradient noise does at each row (the runner
    calls :meth:`observe` in one place: ``optrun.runner.Loop``)."""

    def __init__(self, objective: Objective, noise: dict[str, Any] | None, seeds: Sequence[int], d: int):
        S = len(seeds)
        self.S, self.d = S, d
        self.objective, self.noise = objective, noise
        self.online = objective.online
        self.draws = None
        if self.online is not None and self.online.draws:
            self.draws = MemberStreams(seeds, self.online.draws, uniform, OBJECTIVE_STREAM)
        self.law = self.spikes = None
        if noise is not None:
            if noise["std"] > 0:
                self.law = MemberStreams(seeds, d, _law(noise), NOISE_STREAM)
            if noise["spike_prob"] > 0 and noise["spike_size"] > 0:
                self.spikes = MemberStreams(seeds, d, uniform, SPIKE_STREAM)
            self.seen = np.empty((S, d))  # the noisy gradient the optimizer is given
            self.tmp = np.empty((S, d))
        self.regret = None
        if objective.online is not None and objective.minima.size:
            xstar = np.ascontiguousarray(np.broadcast_to(objective.minima[0], (S, d)), dtype=np.float64)
            self.regret = Regret(xstar, np.zeros(S))
        self.columns = REGRET_COLUMNS if self.regret is not None else ()
        #: (row, slopes, gradients, seen gradients) of the chunk :meth:`gradients` computed last
        self.pending: tuple | None = None

    def observe(self, x: np.ndarray, row: int, f_out, g2_out, extra_out: Sequence) -> np.ndarray:
        """Round ``row + 1`` at ``x``: writes ``f`` and the squared norm of the noise-free
        gradient into ``f_out``, ``g2_out`` (``(S,)`` rows of the loop's buffers), the regret
        columns into ``extra_out``; returns the gradient the optimizer is given."""
        t = row + 1
        if self.online is None:
            f, g = self.objective.value_and_grad(x)
        else:
            u = None if self.draws is None else self.draws.row(row)
            f, g = self.online.value_and_grad(x, t, u)
            if self.regret is not None:
                self._regret(f, t, u, extra_out)
        f_out[...] = f
        np.vecdot(g, g, out=g2_out)
        return g if self.noise is None else self._noisy(g, row)

    # chunks of rounds ----------------------------------------------------------------------

    @property
    def chunks(self) -> bool:
        """Can rounds be computed a chunk at a time, before the steps that take them? Yes when the
        gradient does not depend on ``x``: a 1-D linear online objective (its ``slopes``), with or
        without noise (whose scale is ``|g|`` at most, ``x``-free too)."""
        return getattr(self.online, "slopes", None) is not None and self.d == 1

    def gradients(self, row: int, n: int) -> np.ndarray:
        """The gradients the optimizer is given at rows ``row .. row + n - 1``, ``(n, S, d)``,
        before it steps to them: each row's the numbers :meth:`observe` would return there (the
        same streams' rows, the same operations elementwise). The rows' ``f``, gradient norms and
        regret follow from :meth:`observe_rows` once the steps are taken."""
        t = np.arange(row + 1, row + n + 1, dtype=np.int64)[:, None]
        u = None if self.draws is None else self.draws.rows(row, n).transpose(1, 0, 2)
        a = self.online.slopes(t, u)  # (n, S) or (n, 1)
        g = np.ascontiguousarray(np.broadcast_to(a[:, :, None], (n, self.S, self.d)))
        seen = g if self.noise is None else self._noisy_rows(g, row, n)
        self.pending = (row, a, g, seen)
        return seen

    def observe_rows(self, X: np.ndarray, row: int, f_out, g2_out, extra_out: Sequence) -> np.ndarray:
        """:meth:`observe` for the ``n`` rows ``row ..`` of the chunk :meth:`gradients` gave (the
        points ``X``, ``(n, S, 1)``), all at once: ``f_t`` at each row, the noise-free squared
        gradient norms, the regret summed row after row in the order :meth:`observe` sums it
        (``np.add.accumulate`` is sequential). Returns the last row's gradient for the optimizer."""
        first, a, g, seen = self.pending
        n = len(X)
        if first != row or len(g) != n:
            raise ValueError(f"rows {row} .. {row + n - 1} were not the chunk of rounds computed")
        np.multiply(a, X[:, :, 0], out=f_out)
        np.vecdot(g, g, out=g2_out)
        if self.regret is not None:
            reg = self.regret
            acc = np.empty((n + 1, len(reg.total)))
            acc[0] = reg.total
            np.subtract(f_out, a * reg.xstar[:, 0], out=acc[1:])
            np.add.accumulate(acc, axis=0, out=acc)
            reg.total[...] = acc[n]
            extra_out[0][...] = acc[1:]
            np.divide(acc[1:], np.arange(row + 1, row + n + 1, dtype=np.float64)[:, None], out=extra_out[1])
        self.pending = None
        return seen[n - 1].copy()

    def _noisy_rows(self, g: np.ndarray, row: int, n: int) -> np.ndarray:
        """:meth:`_noisy` for ``n`` rows of gradients ``g`` (``(n, S, d)``) at once."""
        relative = self.noise["relative"]
        seen = g.copy()
        if self.law is not None:
            tmp = np.multiply(self.law.rows(row, n).transpose(1, 0, 2), self.noise["std"])
            if relative:
                tmp *= np.abs(g)
            seen += tmp
        if self.spikes is not None:
            u, p, size = (
                self.spikes.rows(row, n).transpose(1, 0, 2),
                self.noise["spike_prob"],
                self.noise["spike_size"],
            )
            spike = np.where(u < 0.5 * p, size, np.where(u < p, -size, 0.0))
            if relative:
                spike *= np.abs(g)
            seen += spike
        return seen

    def _regret(self, f: np.ndarray, t: int, u, extra_out: Sequence) -> None:
        reg = self.regret
        if reg.counted == t:  # (a resumed run's first round: counted before it stopped)
            reg.counted = -1
        else:
            f_star, _ = self.online.value_and_grad(reg.xstar, t, u)
            reg.total += f - f_star
        extra_out[0][...] = reg.total
        np.divide(reg.total, t, out=extra_out[1])

    def _noisy(self, g: np.ndarray, row: int) -> np.ndarray:
        """``g + std z`` (``std |g| z`` when relative) plus the spikes, into ``self.seen``."""
        seen, tmp, relative = self.seen, self.tmp, self.noise["relative"]
        if self.law is None:
            np.copyto(seen, g)
        elif relative:
            np.multiply(self.law.row(row), self.noise["std"], out=tmp)
            tmp *= np.abs(g)
            np.add(g, tmp, out=seen)
        else:
            np.multiply(self.law.row(row), self.noise["std"], out=seen)
            seen += g  # (g + noise: addition commutes, bit for bit)
        if self.spikes is not None:
            u, p, size = self.spikes.row(row), self.noise["spike_prob"], self.noise["spike_size"]
            spike = np.where(u < 0.5 * p, size, np.where(u < p, -size, 0.0))
            if relative:
                spike *= np.abs(g)
            seen += spike
        return seen

    # checkpoints -------------------------------------------------------------------------------

    def state(self) -> dict[str, np.ndarray]:
        """What a checkpoint keeps (the streams are replayed from the seeds on resume)."""
        return {} if self.regret is None else {"regret": self.regret.total.copy()}

    def restore(self, state: dict[str, np.ndarray], row: int) -> None:
        """Continue after a checkpoint at ``row``, which the loop observes again first."""
        if self.regret is not None:
            self.regret.total[...] = state["regret"]
            self.regret.counted = row + 1


def trace_columns(objective: Objective) -> tuple[str, ...]:
    """The columns a run of ``objective`` adds to its trace: regret for an online objective whose
    ``x*`` is known; test loss (and accuracy) for a learning problem with test data."""
    if objective.learning is not None:
        return objective.learning.columns
    return REGRET_COLUMNS if objective.online is not None and objective.minima.size else ()


def needs_rounds(objective: Objective, noise: dict[str, Any] | None) -> bool:
    learning = objective.learning
    return (
        objective.online is not None
        or noise is not None
        or (learning is not None and (learning.batch_size is not None or learning.test is not None))
    )
