"""optrun.threads: the helper team behind large numba steps."""

from __future__ import annotations

import threading

import pytest

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


@pytest.mark.parametrize(("env", "want"), [("1", 1), ("3", 3), (" 2 ", 2), ("0", None), ("two", None), ("", None)])
def test_optrun_threads_caps_the_count(monkeypatch, env, want):
    monkeypatch.setenv("OPTRUN_THREADS", env)
    monkeypatch.setattr(T.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4})
    assert T.available() == (want or 5)  # anything but a positive integer: every usable CPU
