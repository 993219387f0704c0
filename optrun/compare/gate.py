"""The CI gate: is a candidate worse than the baseline on the chosen metric beyond a relative
tolerance, in the spirit of asv's ``compare --factor`` (airspeed-velocity,
``asv/commands/compare.py``). :func:`gate` checks runs (the first is the baseline);
:func:`gate_sweeps` checks sweeps' configurations, asking the test for significance (Mann-Whitney,
or Wilcoxon signed-rank when paired by seed) once both sides have :data:`MIN_TEST_MEMBERS` members. The verdict is one line and an exit code."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import CompareError
from .metrics import COMPLETE, METRICS, fmt_number, fmt_seconds, fmt_target
from .runs import Comparison
from .sweeps import SweepComparison

MIN_TEST_MEMBERS = 5  # the CI gate asks the test for significance only from this many per side


@dataclass
class GateResult:
    """``worse``: labels of the candidates worse than the baseline; ``line``: the one-line verdict."""

    worse: list[str]
    line: str

    @property
    def exit_code(self) -> int:
        return 1 if self.worse else 0


def is_worse(candidate: float | None, baseline: float | None, rtol: float) -> bool:
    """Lower is better: worse when above ``baseline + rtol * |baseline|``; an unknown or NaN
    candidate is worse than a known baseline; nothing is worse than an unknown baseline."""
    if baseline is None or math.isnan(baseline):
        return False
    if candidate is None or math.isnan(candidate):
        return True
    if math.isinf(baseline):
        return candidate > baseline
    return candidate > baseline + rtol * abs(baseline)


def gate(comparison: Comparison, rtol: float = 0.0) -> GateResult:
    """BASELINE is the first run, each later run a CANDIDATE; see :func:`is_worse`.

    A candidate that did not complete while the baseline did counts as worse whatever its metric.
    Problem-dependent metrics need every run on the same problem (else :class:`CompareError`).
    """
    if not (rtol >= 0 and math.isfinite(rtol)):
        raise CompareError(f"--rtol must be a number >= 0, not {rtol}")
    stats = comparison.given or comparison.runs
    if len(stats) < 2:
        raise CompareError("--fail-if-worse needs a BASELINE and at least one CANDIDATE run")
    m = METRICS[comparison.metric]
    if m.problem and not comparison.comparable:
        raise CompareError(
            f"cannot gate on {m.label}: the runs solve different problems "
            f"({stats[0].problem} vs {', '.join(s.problem for s in stats[1:])}); "
            "use --metric wall_time or compare runs of one problem"
        )
    t = comparison.target
    base = stats[0]
    b = base.metric(m.key, t)
    label = m.label + (f" {fmt_target(t)}" if m.key == "iterations_to_target" else "")
    if b is None and all(s.metric(m.key, t) is None for s in stats[1:]):
        raise CompareError(f"cannot gate on {label}: it is unknown for every run")
    show = fmt_seconds if m.key in ("wall_time", "time_per_iteration") else fmt_number
    values = [b] + [s.metric(m.key, t) for s in stats[1:]]
    if show is fmt_number and len({fmt_number(v) for v in values if v is not None}) < len(
        {v for v in values if v is not None}
    ):
        show = _fmt_distinct  # enough digits that different values never print the same
    worse, parts = [], []
    for s in stats[1:]:
        c = s.metric(m.key, t)
        bad = is_worse(c, b, rtol)
        part = f"{s.label} {show(c)}"
        if base.status == COMPLETE and s.status != COMPLETE:
            bad, part = True, f"{s.label} {s.status} ({show(c)})"
        if bad:
            worse.append(s.label)
        parts.append(part)
    figures = f"baseline {base.label} {show(b)}, candidate{'s' * (len(parts) > 1)} {'; '.join(parts)}"
    n = len(stats) - 1
    if worse:
        who = f"{worse[0]} is" if n == 1 else f"{len(worse)} of {n} candidates ({', '.join(worse)}) are"
        verdict = "worse"
    else:
        who = f"{stats[1].label} is not" if n == 1 else f"none of {n} candidates is"
        verdict = "ok"
    line = f"{verdict}: {who} worse than the baseline on {label}: {figures} (rtol {rtol:g})"
    return GateResult(worse, line)


def _fmt_distinct(v: float | None) -> str:
    return "-" if v is None else repr(float(v))


def gate_sweeps(comparison: SweepComparison, rtol: float = 0.0) -> GateResult:
    """CI gate between sweeps: the first side is the BASELINE, the others CANDIDATES. A candidate
    configuration is worse when its median is worse than the baseline's beyond ``rtol``
    (:func:`is_worse`) AND, when both have at least :data:`MIN_TEST_MEMBERS` members, the test
    (Mann-Whitney, or Wilcoxon signed-rank of the pairs by seed) says the difference is
    significant (p < alpha). A paired test whose pairs are too few to ever reach p < alpha (five
    pairs: the smallest two-sided p is 2 / 2^5 = 0.0625) leaves the median to decide, as fewer
    than :data:`MIN_TEST_MEMBERS` members do."""
    if not (rtol >= 0 and math.isfinite(rtol)):
        raise CompareError(f"--rtol must be a number >= 0, not {rtol}")
    if not comparison.tests:
        raise CompareError(
            "--fail-if-worse needs a BASELINE and a CANDIDATE: two sweeps, or --group-by "
            "an axis with two values"
        )
    worse: list[str] = []
    parts: list[str] = []
    for t in comparison.tests:
        bad = is_worse(t.median_b, t.median_a, rtol)
        tested = t.n_a >= MIN_TEST_MEMBERS and t.n_b >= MIN_TEST_MEMBERS
        why_not = f"fewer than {MIN_TEST_MEMBERS} members"
        if tested and t.test == "wilcoxon" and 2.0 / 2.0**t.n_pairs >= t.alpha:
            # n pairs cannot reach p < alpha (the smallest two-sided p is 2 / 2^n): the median decides
            tested, why_not = False, f"{t.n_pairs} pairs cannot reach p < {t.alpha:g}"
        if bad and tested:
            bad = t.p_value < t.alpha
        why = ("paired, " if t.test == "wilcoxon" else "") + f"p = {t.p_value:.3g}"
        why += (
            f" {'<' if t.p_value < t.alpha else '>='} {t.alpha:g}" if tested else f", not tested: {why_not}"
        )
        parts.append(f"{t.b} median {fmt_number(t.median_b)} vs {fmt_number(t.median_a)} ({why})")
        if bad:
            worse.append(t.b)
    verdict = "worse" if worse else "ok"
    who = (
        f"{len(worse)} of {len(comparison.tests)} candidate configurations ({', '.join(worse)}) are"
        if worse
        else "no candidate configuration is"
    )
    line = (
        f"{verdict}: {who} worse than the baseline {comparison.sides[0]} on "
        f"{comparison.metric_label}: {'; '.join(parts)} (rtol {rtol:g})"
    )
    if comparison.legend:  # the line stands alone in a CI log: say what A and B are
        line += "; " + ", ".join(f"{k} = {v}" for k, v in comparison.legend.items())
    return GateResult(worse, line)
