"""What a run or sweep of a learning objective (least-squares, logistic, softmax on data) checks
and records beyond a test function's: its data.

* :func:`check_expect`: an ``expect:`` rule on f - f* needs the data's f*; where there is none
  (separable data without ``l2``) the rule is refused before any run folder exists (exit 2).
* :func:`sweep_data`: a sweep's data, prepared once in this process before its folder is made
  (f* found once: its batches here, and the workers of a local pool forked after, reuse it), the
  ``meta.json`` record and the arrays that a Dask client sends to its workers.
* :func:`check_unchanged`: ``optrun resume`` refuses a run or sweep whose data changed since it
  started (the SHA-256 of the arrays, recorded in ``meta.json``), naming the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, RunSelectionError

#: the expect rules measured on f - f*
GAP_RULES = ("f_gap_max", "f_gap_median_max")


def is_learning(config: Any) -> bool:
    return "data" in (config.objective.params or {})


def check_expect(config: Any, record: dict[str, Any]) -> None:
    """Refuse ``config``'s expect rules that the learning problem's f* (``record``: its data
    record) makes impossible: a rule on f - f* without f*, a final or best f below f*."""
    f_star = record.get("f_star")
    for key in GAP_RULES:
        if getattr(config.expect, key, None) is not None and f_star is None:
            why = record.get("f_star_note") or "f* is unknown"
            raise ConfigError(
                f"can never pass: f - f* needs f*; {why}",
                source=config.source,
                path=f"expect.{key}",
            )
    for key in ("f_final_max", "f_best_max"):
        limit = getattr(config.expect, key, None)
        if limit is not None and f_star is not None and limit < f_star:
            raise ConfigError(
                f"can never pass: {limit:g} is below the data's minimum f* = {f_star:g}",
                source=config.source,
                path=f"expect.{key}",
            )


@dataclass
class SweepData:
    """The learning data of a sweep: one ``meta.json`` record per distinct data objective, and
    (when asked for) the arrays read from its files with the f* found, for a Dask client."""

    records: list[dict[str, Any]] = field(default_factory=list)
    datasets: dict = field(default_factory=dict)
    optima: dict = field(default_factory=dict)

    def meta(self) -> dict[str, Any]:
        """``{"data": record}`` (one data objective: as a run's meta.json), ``{"data": [records]}``
        (several), ``{}`` (none)."""
        if not self.records:
            return {}
        return {"data": self.records[0] if len(self.records) == 1 else self.records}


def sweep_data(configs: list, keep_arrays: bool = False) -> SweepData:
    """Prepare each distinct learning objective of ``configs`` (a sweep's distinct configs) once:
    its data read, f* found (kept for this process), its expect rules checked. ``keep_arrays``:
    keep the arrays of its files (each read once) for the workers of a cluster."""
    from ..objectives.data_config import prepare
    from ..objectives.data_supply import files_of, known_optima, provided
    from ..problem import located

    out = SweepData()
    seen: dict[str, dict[str, Any]] = {}
    for config in configs:
        if not is_learning(config):
            continue
        name, params = config.objective.name, config.objective.params
        key = json.dumps([name, params], sort_keys=True, default=str)
        if key not in seen:
            with located(config, "objective"):
                files = files_of(params) if keep_arrays else {}
                with provided(files):
                    seen[key] = {"objective": name, **prepare(name, params).record}
            out.records.append(seen[key])
            out.datasets.update(files)
        check_expect(config, seen[key])
    if keep_arrays and out.datasets:
        out.optima = known_optima()
    return out


def check_unchanged(recorded: Any, current: list[dict[str, Any]], label: str) -> None:
    """Refuse to resume ``label`` (a run or sweep) when its data changed since it started:
    ``recorded`` is meta.json's ``data`` (a record or a list of them; older folders hold no
    hash, and are not checked), ``current`` the records of the data now."""
    old = recorded if isinstance(recorded, list) else [recorded] if isinstance(recorded, dict) else []
    for was, now in zip(old, current):
        for key, what in (("sha256", "source"), ("test_sha256", "test_source")):
            if isinstance(was.get(key), str) and was[key] != now.get(key):
                name = now.get(what) or was.get(what) or was.get("source") or "the data"
                kind = "test data" if key == "test_sha256" else "data"
                raise RunSelectionError(
                    f"{name}: the {kind} changed since {label} started (its SHA-256 differs): "
                    "resuming would mix two problems; run it again instead"
                )
