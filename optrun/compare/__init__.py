"""Comparing runs and sweeps: loaded runs and sweeps in, rows out. No console and no files; the
CLI lays the rows out (:mod:`optrun.cli.compare`, :mod:`optrun.cli.compare_render`).

- :mod:`.metrics`: the metrics, the targets ladder, number formats, :class:`Row`;
- :mod:`.runstats`: one run's figures (:func:`run_stats`);
- :mod:`.runs`: runs side by side (:func:`compare_runs`); :mod:`.configdiff`: the config diff;
- :mod:`.groups`: sweep configurations aggregated across seeds, tested, ranked;
- :mod:`.sweeps`: sweeps compared (:func:`compare_sweeps`);
- :mod:`.paired`: two configurations tested, paired by seed (Wilcoxon signed-rank,
  :mod:`.wilcoxon`) when they share their seeds, else Mann-Whitney U (:mod:`.stats`);
- :mod:`.gate`: the CI gate of runs and of sweeps; :mod:`.stats`: quantiles and Mann-Whitney U.
"""

from .configdiff import config_rows
from .gate import MIN_TEST_MEMBERS, GateResult, gate, gate_sweeps, is_worse
from .groups import (
    GroupStats,
    Ranking,
    TestResult,
    aggregate,
    hit_column,
    mann_whitney_verdict,
    member_value,
    rank_matrix,
)
from .metrics import (
    COMPLETE,
    METRICS,
    TARGETS,
    Metric,
    Row,
    fmt_int,
    fmt_number,
    fmt_seconds,
    fmt_target,
    metric_key,
    rank,
    ranked_metric,
    short_label,
)
from .paired import Pairing, seed_pairs, verdict
from .runs import Comparison, compare_runs
from .runstats import RunStats, first_below, run_stats, summary_hits
from .sweeps import SweepComparison, compare_sweeps, side_name, value_text
from .wilcoxon import Wilcoxon, wilcoxon_signed_rank

__all__ = [
    "COMPLETE",
    "METRICS",
    "MIN_TEST_MEMBERS",
    "TARGETS",
    "Comparison",
    "GateResult",
    "GroupStats",
    "Metric",
    "Pairing",
    "Ranking",
    "Row",
    "RunStats",
    "SweepComparison",
    "TestResult",
    "Wilcoxon",
    "aggregate",
    "compare_runs",
    "compare_sweeps",
    "config_rows",
    "first_below",
    "fmt_int",
    "fmt_number",
    "fmt_seconds",
    "fmt_target",
    "gate",
    "gate_sweeps",
    "hit_column",
    "is_worse",
    "mann_whitney_verdict",
    "member_value",
    "metric_key",
    "rank",
    "rank_matrix",
    "ranked_metric",
    "run_stats",
    "seed_pairs",
    "short_label",
    "side_name",
    "summary_hits",
    "value_text",
    "verdict",
    "wilcoxon_signed_rank",
]
