"""Setting up a large run holds no array it does not need (issue 16, target 1): from
``execute()`` being called to the first row handed on, tracemalloc (which numpy reports its
array buffers to) sees at most the arrays the run holds by design: ``x``, the gradient, the
optimizer state's ``d``-sized fields and the objective's own scratch. A default box copied per
coordinate, a minimizer held as ``d`` numbers, a second gradient for the start check or a
temporary of the start-point draw would each show as a peak of at least one more array."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from optrun.config import load_config
from optrun.execution.run import execute
from optrun.problem import build_objective, build_single

D = 10**6
ARRAY = 8 * D


def config(configs_dir, algorithm, objective, backend, iterations=1):
    return load_config(
        str(configs_dir / f"{algorithm}.yaml"),
        [
            f"objective={objective}",
            f"objective.dim={D}",
            "bounds=[-1.0, 1.0]",
            f"iterations={iterations}",
            f"backend={backend}",
        ],
    )


def held_by_design(cfg) -> float:
    """Arrays of d the run holds at its first row: x, the gradient, the optimizer state's
    d-sized fields (counted on a state built here) and what the objective's ``evaluate_into``
    keeps for its temporaries (measured on its own)."""
    _, optimizer, x0 = build_single(cfg)
    state = optimizer[0](x0)
    fields = state if isinstance(state, tuple) else (state,)
    n_state = sum(a.nbytes for a in fields if isinstance(a, np.ndarray) and a.size >= D) / ARRAY
    objective = build_objective(cfg, x0[0], check_start=False)  # its scratch not made yet
    g = np.empty_like(x0)
    tracemalloc.start()
    try:
        objective.evaluate_into(x0, g)
        scratch = tracemalloc.get_traced_memory()[0] / ARRAY
    finally:
        tracemalloc.stop()
    return 2 + n_state + scratch


class FirstRow:
    """A reporter that reads tracemalloc's (current, peak) when the first row is handed on."""

    def __init__(self) -> None:
        self.first: tuple[int, int] | None = None

    def start(self, *a) -> None:
        pass

    def progress(self, *a) -> None:
        if self.first is None:
            self.first = tracemalloc.get_traced_memory()

    def iterations(self, lines) -> None:
        pass

    def finish(self, outcome) -> None:
        pass


@pytest.mark.parametrize(
    "algorithm, objective, backend",
    [
        ("amsgrad", "sphere", "numpy"),
        ("adagrad", "sphere", "numpy"),
        ("amsgrad", "rosenbrock", "numpy"),
        ("adagrad", "rosenbrock", "numba"),
    ],
)
def test_setup_allocates_only_the_arrays_the_run_holds(tmp_path, configs_dir, algorithm, objective, backend):
    if backend == "numba":
        pytest.importorskip("numba")
    cfg = config(configs_dir, algorithm, objective, backend)
    needed = held_by_design(cfg)
    assert needed >= 3  # x, the gradient and at least one state array: the count is real
    reporter = FirstRow()
    tracemalloc.start()
    try:
        out = execute(cfg, str(tmp_path), reporter)
    finally:
        tracemalloc.stop()
    assert out.summary["status"] == "completed"
    current, peak = reporter.first
    # everything below one tenth of an array (buffers of rows, the folder's files) is allowed
    assert current / ARRAY <= needed + 0.1, (current / ARRAY, needed)
    assert peak / ARRAY <= needed + 0.1, (peak / ARRAY, needed)


def test_the_first_row_is_the_start_checks_gradient_evaluated_once(tmp_path, configs_dir, monkeypatch):
    """The start check computes f and the gradient once, into the buffer the run then steps with:
    the objective is evaluated once before the first row (not once for the check and again for
    row 0), and the first row's figures are those of the objective at the start point."""
    import optrun.objectives.base as base

    calls: list[str] = []
    build = base.ObjectiveSpec.build

    def counted_build(self, dim, **params):
        obj = build(self, dim, **params)
        vg, into = obj.value_and_grad, obj.evaluate_into

        def value_and_grad(x):
            calls.append("value_and_grad")
            return vg(x)

        def evaluate_into(x, g):
            calls.append("evaluate_into")
            return into(x, g)

        return base.Objective(
            **{**obj.__dict__, "value_and_grad": value_and_grad, "evaluate_into": evaluate_into}
        )

    monkeypatch.setattr(base.ObjectiveSpec, "build", counted_build)
    cfg = config(configs_dir, "adagrad", "rosenbrock", "numpy", iterations=2)
    seen: list[int] = []

    class Count(FirstRow):
        def progress(self, iteration, *a) -> None:
            seen.append(len(calls))

    out = execute(cfg, str(tmp_path), Count())
    assert out.summary["status"] == "completed"
    assert seen[0] == 1 and calls[0] == "evaluate_into"  # row 0: one evaluation, the check's
    assert len(calls) == 3  # then one per step
    objective, _, x0 = build_single(cfg)
    f, g = objective.value_and_grad(x0)
    rows = (tmp_path / out.summary["id"] / "trace.csv").read_text().splitlines()
    first = dict(zip(rows[0].split(","), rows[1].split(",")))
    assert float(first["f"]) == float(f[0])
    assert float(first["grad_norm"]) == float(np.sqrt(np.vecdot(g[0], g[0])))
