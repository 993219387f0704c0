"""Hand-made run and sweep folders with known numbers, for the tests of compare, plot and the
readers: ``write_run`` writes a run whose trace holds given f values, ``write_sweep`` a sweep whose
summary rows are given (``gaps`` makes such rows from f - f* values)."""

from __future__ import annotations

import itertools
import json
import os

import numpy as np
import yaml

BASE_CONFIG = {
    "name": "t",
    "objective": {"name": "sphere", "dim": 2},
    "bounds": [[-1.0, 1.0], [-1.0, 1.0]],
    "start": "random",
    "algorithm": {"name": "gd", "alpha": 0.1},
    "iterations": 10,
    "seed": 1,
    "rng": "generator",
    "trace": {"every": 1, "x": "auto"},
}


def write_run(
    runs_dir,
    run_id,
    f,
    *,
    config=None,
    iterations=None,
    summary=None,
    every=1,
    started=None,
    columns=None,
    regret=None,
):
    """A hand-made run folder whose trace holds the values ``f`` at iterations 0, every, 2*every ...
    ``columns`` (name -> values, one per row) are written after ``step_norm`` in their order, e.g.
    an online run's ``regret``, ``avg_regret`` and ``x0``. ``regret`` (one R_t per row): an online
    run's, with the trace columns ``regret`` and ``avg_regret`` (R_t / t) after ``step_norm`` and
    ``final_regret``/``final_avg_regret`` in its summary."""
    path = os.path.join(str(runs_dir), run_id)
    os.makedirs(path)
    f = np.asarray(f, dtype=float)
    its = np.arange(len(f)) * every
    cfg = json.loads(json.dumps(config or BASE_CONFIG))
    cfg.setdefault("trace", {})["every"] = every
    s = {
        "format_version": 1,
        "id": run_id,
        "status": "completed",
        "algorithm": cfg["algorithm"]["name"],
        "variant": cfg["algorithm"].get("variant"),
        "objective": cfg["objective"]["name"],
        "dim": cfg["objective"]["dim"],
        "started_at": started or "2025-01-01T00:00:00.000Z",
        "iterations": int(its[-1]) if iterations is None else iterations,
        "final_f": float(f[-1]),
        "final_x": [0.0, 0.0],
        "final_grad_norm": 0.5,
        "best_f": float(np.nanmin(f)),
        "best_iteration": int(its[np.nanargmin(f)]),
        "f_min": 0.0,
        "f_gap": float(f[-1]),
        "distance_to_optimum": 0.25,
        "wall_time_s": 2.0,
        "time_per_iteration_s": 2.0 / max(int(its[-1]), 1),
    }
    if regret is not None:
        regret = np.asarray(regret, dtype=float)
        avg = regret / np.maximum(its, 1)
        s.update(final_regret=float(regret[-1]), final_avg_regret=float(avg[-1]))
    s.update(summary or {})
    with open(os.path.join(path, "summary.json"), "w") as fh:
        json.dump(s, fh)
    with open(os.path.join(path, "config.yaml"), "w") as fh:
        yaml.safe_dump(cfg, fh, sort_keys=False)
    with open(os.path.join(path, "meta.json"), "w") as fh:
        json.dump({"format_version": 1, "optrun": "0.1.0", "numpy": np.__version__}, fh)
    extra = {k: np.asarray(v, dtype=float) for k, v in (columns or {}).items()}
    if regret is not None:
        extra = {"regret": regret, "avg_regret": avg, **extra}
    assert all(len(v) == len(f) for v in extra.values())
    with open(os.path.join(path, "trace.csv"), "w") as fh:
        fh.write(",".join(["iteration", "f", "grad_norm", "step_norm", *extra]) + "\n")
        fh.writelines(
            ",".join([str(i), repr(float(v)), "1.0", "0.1", *(repr(float(c[k])) for c in extra.values())])
            + "\n"
            for k, (i, v) in enumerate(zip(its, f))
        )
    return path


TARGET_COLS = [f"hit_1e-{k}" for k in range(1, 9)]


def write_sweep(
    runs_dir, name, axes, rows, *, started="2025-01-01T00:00:00.000Z", base=None, traces=None, columns=()
):
    """A hand-made sweep folder. ``axes``: dotted key -> values (product, first slowest);
    ``rows``: one dict per member with any of f_gap/final_f/status/hit_1e-k (axis values filled in).
    ``traces``: one dict per member of trace columns (``iteration``, ``f``, then any others, as
    ``regret``, ``avg_regret``, ``x0``; every member the same names), written to batch 0;
    ``columns``: more member-table columns (``final_avg_regret``; ``REGRET_COLS`` for online
    members, see ``regrets``) whose values the rows hold."""
    sweep_id = f"{started[:4]}{started[5:7]}{started[8:10]}-{started[11:13]}{started[14:16]}{started[17:19]}.000-{name}"
    path = os.path.join(str(runs_dir), sweep_id)
    os.makedirs(path)
    combos = list(itertools.product(*axes.values()))
    assert len(combos) == len(rows)
    full = []
    for i, (combo, r) in enumerate(zip(combos, rows)):
        row = {"member": i, "batch": 0, **dict(zip(axes, combo)), "status": "completed", "f_min": 0.0}
        row.update(dict.fromkeys(TARGET_COLS))
        row.update(r)
        if "final_f" not in r:
            row["final_f"] = (
                None if row.get("f_gap") is None or row["f_min"] is None else row["f_gap"] + row["f_min"]
            )
        full.append(row)
    cfg = base or {
        "name": name,
        "objective": {"name": "sphere", "dim": 2},
        "algorithm": {"name": "gd", "alpha": 0.1},
        "iterations": 10,
        "seed": 0,
    }
    cfg = {**cfg, "sweep": {k: list(v) for k, v in axes.items()}}
    with open(os.path.join(path, "config.yaml"), "w") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)
    with open(os.path.join(path, "meta.json"), "w") as f:
        json.dump({"format_version": 1}, f)
    os.makedirs(os.path.join(path, "traces"))
    with open(os.path.join(path, "traces", "batch-0000.csv"), "w") as f:  # no rows: readers need the file
        write_batch_rows(f, traces)
    summary = {
        "format_version": 1,
        "kind": "sweep",
        "id": sweep_id,
        "name": name,
        "members": len(full),
        "axes": list(axes),
        "status": "completed",
        "started_at": started,
        "columns": ["member", "batch", *axes, "status", "final_f", "f_gap", *TARGET_COLS, *(columns or ())],
        "rows": full,
    }
    with open(os.path.join(path, "summary.json"), "w") as f:
        json.dump(summary, f)
    return path


def write_batch_rows(fh, traces):
    """A batch trace: the header, then each member's rows (``traces``: one dict of columns per
    member, ``iteration`` and ``f`` first; ``grad_norm`` and ``step_norm`` filled in)."""
    extra = [k for k in (traces[0] if traces else {}) if k not in ("iteration", "f")]
    fh.write(",".join(["member", "iteration", "f", "grad_norm", "step_norm", *extra]) + "\n")
    for m, t in enumerate(traces or []):
        for k, i in enumerate(t["iteration"]):
            values = [repr(float(t[c][k])) for c in ("f", *extra)]
            fh.write(",".join([str(m), str(int(i)), values[0], "1.0", "0.1", *values[1:]]) + "\n")


def gaps(values, **extra):
    return [
        {"f_gap": v, **({"status": "diverged", "final_f": None} if v is None else {}), **extra}
        for v in values
    ]


REGRET_COLS = ["final_regret", "final_avg_regret"]


def regrets(values, steps=100, **extra):
    """Online members' rows: final average regret ``values`` (R_T / T, ``None`` for a diverged
    member), final regret R_T = value * ``steps``; f is unknown (no f*), as for online objectives."""
    return [
        {
            "final_avg_regret": v,
            "final_regret": None if v is None else v * steps,
            "f_gap": None,
            "f_min": None,
            "final_f": 0.5,
            **({"status": "diverged"} if v is None else {}),
            **extra,
        }
        for v in values
    ]
