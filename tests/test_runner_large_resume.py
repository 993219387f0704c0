"""A large run through ``optrun run``'s own path (:func:`optrun.execution.run.execute`): chunks of
one row, checkpoints written from the loop's own arrays (no copy), a Ctrl-C and ``optrun resume``
give the trace and summary of the uninterrupted run, bit for bit."""

from __future__ import annotations

import json
import os
import signal

import pytest

from optrun import runner
from optrun.config import load_config
from optrun.execution.run import execute, resume_run

CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")
NUMBERS = ("status", "stop_reason", "iterations", "final_f", "final_x", "best_f", "best_x", "best_iteration")


class CtrlC:
    """A reporter that sends SIGINT to this process when row ``at`` is handed on."""

    def __init__(self, at: int | None):
        self.at = at

    def start(self, *a):
        pass

    def progress(self, iteration, total, f, best_f):
        if iteration == self.at:
            os.kill(os.getpid(), signal.SIGINT)

    def iterations(self, lines):
        pass

    def finish(self, outcome):
        pass


def numbers(path):
    with open(os.path.join(path, "summary.json"), encoding="utf-8") as f:
        s = json.load(f)
    with open(os.path.join(path, "trace.csv"), encoding="utf-8") as f:
        return {k: s.get(k) for k in NUMBERS}, f.read()


CASES = {
    "improving": ("amsgrad", [], 17),  # every row the best: stepped out of place throughout
    "best before the cut": ("amsgrad", ["algorithm.alpha=1.0"], 35),  # best at row 31, kept across
    "adagrad": ("adagrad", [], 17),
}


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("case", CASES)
def test_interrupt_and_resume_of_a_large_run(monkeypatch, tmp_path, case, backend):
    if backend == "numba":
        pytest.importorskip("numba")
    name, extra, at = CASES[case]
    monkeypatch.setattr(runner, "MAX_CHUNK_ROWS", 1)  # what d >= ~1.3e5 gives
    over = ["iterations=40", f"backend={backend}", "trace.checkpoint_s=1e-9", "trace.x=all", *extra]
    config = load_config(os.path.join(CONFIGS, f"{name}.yaml"), over)
    whole = execute(config, str(tmp_path / "a"))
    cut = execute(config, str(tmp_path / "b"), CtrlC(at=at))
    assert cut.summary["status"] == "interrupted" and cut.summary["iterations"] < 40
    resumed = resume_run(cut.path)
    assert resumed.summary["status"] == "completed"
    assert numbers(resumed.path) == numbers(whole.path)
