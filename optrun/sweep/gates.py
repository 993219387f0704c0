"""A sweep's own gates: ``expect.success_rate_min`` and ``expect.f_gap_median_max``, checked
over the rows of all its members."""

from __future__ import annotations

import math
from typing import Any


def sweep_gate(expect: Any, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The sweep-level ``expect:`` gates over the member rows, or None when none is set.

    ``success_rate_min``: the share of members that passed, i.e. ended with the expected status
    (``expect.status``, else completed) and met every per-member rule, must be at least this.
    ``f_gap_median_max``: the median over all members of their final f - f* must be at most this;
    a member without a finite f - f* (failed, diverged, not run) counts as +inf.
    """
    gates = expect.sweep_gates()
    if not gates:
        return None
    n = len(rows)
    out: dict[str, Any] = {**gates, "members": n}
    ok = True
    if expect.success_rate_min is not None:
        want = expect.status or "completed"
        passed = sum(1 for r in rows if r.get("status") == want and r.get("expect_passed") is True)
        rate = passed / n if n else 0.0
        out.update(members_passed=passed, success_rate=rate)
        out["passed_success_rate"] = rate >= expect.success_rate_min
        ok = ok and out["passed_success_rate"]
    if expect.f_gap_median_max is not None:
        gaps = sorted(
            g if isinstance(g, (int, float)) and math.isfinite(g) else math.inf
            for g in (r.get("f_gap") for r in rows)
        )
        med = (gaps[(n - 1) // 2] + gaps[n // 2]) / 2 if n else math.inf
        out["f_gap_median"] = med if math.isfinite(med) else None
        out["passed_f_gap_median"] = med <= expect.f_gap_median_max
        ok = ok and out["passed_f_gap_median"]
    out["passed"] = ok
    return out
