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


def test_a_stale_token_never_ends_a_later_step():
    """A token left by an abandoned step (another generation) is not counted for the next one."""
    import time

    t = T.team(2)
    t.done.put((t.generation - 5, None))  # as an interrupted earlier step could leave behind
    written = []

    def call(i):
        if i == 1:
            time.sleep(0.05)
            written.append(i)

    t.run(call, [(0,), (1,)])
    assert written == [1]  # run returned only after the helper's own token


@pytest.mark.skipif(not T._MASKABLE, reason="no pthread_sigmask on this platform")
def test_ctrl_c_during_a_step_is_raised_after_every_helper_is_done():
    import os
    import signal
    import time

    written = []

    def call(i):
        if i == 0:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the helper works
            time.sleep(0.01)
            written.append("caller")  # held back: the handler runs once the step is over
        else:
            time.sleep(0.1)
            written.append("helper")

    with pytest.raises(KeyboardInterrupt):
        T.team(2).run(call, [(0,), (1,)])
    assert sorted(written) == ["caller", "helper"]


def test_a_new_thread_count_replaces_the_team_and_ends_its_helpers():
    import time

    old = T.team(3)
    new = T.team(2)
    assert new is not old and new.n == 2 and T.team(2) is new
    deadline = time.monotonic() + 5
    while sum(th.name == "optrun-kernel" and th.is_alive() for th in threading.enumerate()) > 1:
        assert time.monotonic() < deadline, "the old team's helpers did not end"
        time.sleep(0.01)
