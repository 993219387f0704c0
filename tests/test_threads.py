"""optrun.threads: the helper team behind large numba steps."""

from __future__ import annotations

import threading

import pytest
from interrupts import interrupt_at

from optrun import threads as T


def test_every_call_runs_once_the_first_on_the_caller():
    seen = []
    lock = threading.Lock()

    def call(i):
        with lock:
            seen.append((i, threading.current_thread().name))

    T.team(3).run(call, [(0,), (1,), (2,)])
    assert sorted(i for i, _ in seen) == [0, 1, 2]
    names = dict(seen)
    assert names[0] == threading.current_thread().name
    assert names[1] == names[2] == "optrun-kernel"


def test_a_helper_failure_reaches_the_caller_after_every_call_is_done():
    finished = []

    def call(i):
        if i == 1:
            raise ValueError("helper failed")
        finished.append(i)

    with pytest.raises(ValueError, match="helper failed"):
        T.team(3).run(call, [(0,), (1,), (2,)])
    assert sorted(finished) == [0, 2]
    T.team(3).run(finished.append, [(5,), (6,), (7,)])  # the team still works
    assert sorted(finished) == [0, 2, 5, 6, 7]


@pytest.mark.parametrize(
    ("env", "want"), [("1", 1), ("3", 3), (" 2 ", 2), ("0", None), ("two", None), ("", None)]
)
def test_optrun_threads_caps_the_count(monkeypatch, env, want):
    monkeypatch.setenv("OPTRUN_THREADS", env)
    monkeypatch.setattr(T.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4})
    assert T.available() == (want or 5)  # anything but a positive integer: every usable CPU


@pytest.mark.parametrize(
    ("where", "text"),
    [
        ("run", "h.job = (generation, fn, args)"),  # after the first helper got its job, before the next
        ("run", "self.cond.notify_all()"),  # jobs handed over, not yet announced
        ("run", "fn(*calls[0])"),  # the caller's own share
        ("_settle", "mine = ["),
        ("_settle", "self.cond.wait()"),  # waiting for the helpers
    ],
)
def test_a_ctrl_c_during_a_step_returns_only_after_the_helpers(where, text):
    """A KeyboardInterrupt injected (with a line tracer) where a step hands out jobs, computes
    and waits: it reaches the caller, never while a helper still works on the step, and the next
    step is waited for properly (no token of the broken step ends it early)."""
    import time

    team = T.team(3)
    running: list[int] = []
    lock = threading.Lock()

    def call(i):
        if i:
            with lock:
                running.append(i)
            time.sleep(0.02)
            with lock:
                running.remove(i)

    with interrupt_at(getattr(T.Team, where), text) as fired, pytest.raises(KeyboardInterrupt):
        team.run(call, [(0,), (1,), (2,)])
    assert fired
    with lock:
        assert running == []
    team.run(call, [(0,), (1,), (2,)])
    with lock:
        assert running == []


def test_a_new_thread_count_replaces_the_team_and_ends_its_helpers():
    import time

    old = T.team(3)
    new = T.team(2)
    assert new is not old and new.n == 2 and T.team(2) is new
    deadline = time.monotonic() + 5
    while sum(th.name == "optrun-kernel" and th.is_alive() for th in threading.enumerate()) > 1:
        assert time.monotonic() < deadline, "the old team's helpers did not end"
        time.sleep(0.01)
