"""optrun.threads: the helper team behind large numba steps."""

from __future__ import annotations

import os
import threading

import pytest
from interrupts import interrupt_at

from optrun import threads as T


def test_every_call_runs_once_the_first_on_the_caller():
    import time

    seen = []
    lock = threading.Lock()

    def call(i):
        if not i:  # the caller's share: long enough for the helpers to take theirs
            time.sleep(0.2)
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
        ("run", "if any(h.asleep"),  # jobs handed over, not yet announced
        ("run", "self.spin.posted"),  # jobs announced, not yet posted to the watching helpers
        ("run", "fn(*calls[0])"),  # the caller's own share
        ("_settle", "mine = ["),
        ("_settle", "sp.until_all("),  # watching for the helpers' end
        ("_settle", "self.cond.wait()"),  # waiting for the helpers
    ],
)
def test_a_ctrl_c_during_a_step_returns_only_after_the_helpers(monkeypatch, where, text):
    """A KeyboardInterrupt injected (with a line tracer) where a step hands out jobs, computes
    and waits: it reaches the caller, never while a helper still works on the step, and the next
    step is waited for properly (no token of the broken step ends it early)."""
    import time

    monkeypatch.setattr(T.os, "sched_getaffinity", lambda pid: {0, 1, 2})  # 3 threads may watch
    team = T.Team(3)
    running: list[int] = []
    lock = threading.Lock()

    def call(i):
        if not i:  # the caller's share: long enough for the helpers to take theirs
            time.sleep(0.05)
            return
        with lock:
            running.append(i)
        time.sleep(0.15)
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
    team.close()


def test_the_caller_runs_a_job_no_helper_has_started():
    """A helper that does not wake (here: never notified, as when another process holds its
    core) leaves its share to the caller, once the caller is done with its own; the helper
    then finds its job done and serves the next step."""
    import time

    team = T.Team(2, spin_us=0)  # the helper sleeps between steps
    ran = []

    def call(i):
        if not i:  # the caller's share: long enough for a helper that wakes to take its own
            time.sleep(0.1)
        ran.append((i, threading.current_thread().name))

    team.run(call, [(0,), (1,)])
    assert sorted(ran) == [(0, threading.current_thread().name), (1, "optrun-kernel")]
    notify = team.cond.notify_all
    team.cond.notify_all = lambda: None
    try:
        ran.clear()
        team.run(call, [(0,), (1,)])
        assert sorted(ran) == [(0, threading.current_thread().name), (1, threading.current_thread().name)]
    finally:
        team.cond.notify_all = notify
    ran.clear()
    for _ in range(3):
        team.run(call, [(0,), (1,)])
    assert len(ran) == 6 and sorted(i for i, _ in ran) == [0, 0, 0, 1, 1, 1]
    team.close()


def test_a_new_thread_count_replaces_the_team_and_ends_its_helpers():
    import time

    old = T.team(3)
    new = T.team(2)
    assert new is not old and new.n == 2 and T.team(2) is new
    deadline = time.monotonic() + 5
    while sum(th.name == "optrun-kernel" and th.is_alive() for th in threading.enumerate()) > 1:
        assert time.monotonic() < deadline, "the old team's helpers did not end"
        time.sleep(0.01)


# ------------------------------------------------------------------ the spinning hand-off


def _cpu_ns(native_id: int) -> int:
    """CPU time of one thread of this process so far (Linux schedstat, nanoseconds)."""
    with open(f"/proc/self/task/{native_id}/schedstat") as f:
        return int(f.read().split()[0])


def _started(team: T.Team) -> list[int]:
    import time

    team.run(time.sleep, [(0.2,)] + [(0.0,)] * (team.n - 1))  # every helper has run once
    return [h.native_id for h in team.helpers]


needs_schedstat = pytest.mark.skipif(
    not os.path.exists(f"/proc/self/task/{threading.get_native_id()}/schedstat"),
    reason="per-thread CPU time from /proc (Linux)",
)


@needs_schedstat
def test_helpers_stop_spending_cpu_after_the_spin_window():
    pytest.importorskip("numba")
    import time

    team = T.Team(2, spin_us=1000)
    try:
        assert team.spin is not None
        (tid,) = _started(team)
        time.sleep(0.05)  # far past the 1 ms window: asleep on the condition variable
        before = _cpu_ns(tid)
        time.sleep(0.2)
        assert _cpu_ns(tid) - before < 2_000_000  # a sleeping thread gains no CPU time
    finally:
        team.close()


@needs_schedstat
def test_a_helper_spins_within_its_window():
    """The control of the test above: a long window shows up as CPU time spent waiting."""
    pytest.importorskip("numba")
    import time

    team = T.Team(2, spin_us=300_000)
    try:
        team.spin.yield_every = 0  # the whole window on the core, however busy the machine
        (tid,) = _started(team)
        before = _cpu_ns(tid)
        time.sleep(0.1)
        assert _cpu_ns(tid) - before > 5_000_000
    finally:
        team.spin = None  # do not let the close wait out the window
        team.close()


def test_no_watching_with_more_threads_than_cpus(monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setattr(T.os, "sched_getaffinity", lambda pid: {0, 1})
    assert T.Team(2).spin is not None
    assert T.Team(3).spin is None
    assert T.Team(2, spin_us=0).spin is None


@pytest.mark.parametrize("spin_us", [0.0, 100.0])
def test_python_threads_sharing_the_team_each_get_every_call(monkeypatch, spin_us):
    import numpy as np

    monkeypatch.setattr(T.os, "sched_getaffinity", lambda pid: {0, 1, 2})  # 3 threads may watch
    team = T.Team(3, spin_us=spin_us)
    arrays = [np.zeros(30) for _ in range(4)]
    errors = []

    def add_one(a, lo, hi):
        a[lo:hi] += 1.0

    def user(a):
        try:
            for _ in range(200):
                team.run(add_one, [(a, 0, 10), (a, 10, 20), (a, 20, 30)])
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    users = [threading.Thread(target=user, args=(a,)) for a in arrays]
    for u in users:
        u.start()
    for u in users:
        u.join()
    team.close()
    assert errors == []
    for a in arrays:
        assert (a == 200.0).all()


@pytest.mark.parametrize("threads", ["1", "2", "3"])
def test_a_split_numba_step_gives_the_bits_of_one_thread(monkeypatch, threads):
    """The same column split with the helpers spinning: x and the state of a fused AMSGrad step
    (update and apply) are the same bits on 1, 2 and 3 threads."""
    pytest.importorskip("numba")
    import numpy as np

    from optrun.backends import fused
    from optrun.optimizers import get_algorithm

    monkeypatch.setattr(fused, "PARALLEL_MIN_D", 16)
    monkeypatch.setattr(fused.numba.config, "NUMBA_NUM_THREADS", 8)
    v = get_algorithm("amsgrad").variant("torch")
    p = {q.name: q.default for q in v.params}
    rng = np.random.default_rng(11)
    x0, grads = rng.standard_normal((2, 999)), rng.standard_normal((6, 2, 999))

    def trajectory():
        opt, x = fused.fused_builder(v.build)(**p), x0.copy()
        s, sq, out = opt.init(x), np.empty(2), []
        for t, g in enumerate(grads, 1):
            step, s = opt.update(g, s, x, t) if t % 2 else (None, opt.apply(g, s, x, t, sq))
            if step is not None:
                x += step
            out.append(np.concatenate([x.ravel(), s.mu.ravel(), s.nu.ravel(), s.nu_max.ravel()]))
        return np.array(out)

    monkeypatch.setenv("OPTRUN_THREADS", "1")
    one = trajectory()
    monkeypatch.setenv("OPTRUN_THREADS", threads)
    assert fused.threads() == int(threads)
    assert trajectory().tobytes() == one.tobytes()


def test_one_thread_never_uses_the_team(monkeypatch):
    pytest.importorskip("numba")
    import numpy as np

    from optrun.backends import fused
    from optrun.optimizers import get_algorithm

    def refuse(n):
        raise AssertionError("OPTRUN_THREADS=1 must run every step on the calling thread")

    monkeypatch.setattr(fused, "PARALLEL_MIN_D", 16)
    monkeypatch.setattr(fused, "team", refuse)
    monkeypatch.setenv("OPTRUN_THREADS", "1")
    opt = fused.fused_builder(get_algorithm("gd").variant(None).build)(alpha=0.1)
    x = np.ones(100)
    opt.apply(np.ones(100), opt.init(x), x, 1, np.empty(1))
    assert (x == 0.9).all()


def test_cpus_asks_the_kernel_once_per_process(monkeypatch):
    calls = []

    def affinity(pid):
        calls.append(pid)
        return {0, 1, 2}

    monkeypatch.delenv("OPTRUN_THREADS", raising=False)
    monkeypatch.setattr(T.os, "sched_getaffinity", affinity)
    assert [T.available() for _ in range(5)] == [3] * 5
    assert calls == [0]  # one system call, not one per step
    monkeypatch.setenv("OPTRUN_THREADS", "1")  # the variable still counts at every call
    assert T.available() == 1
    monkeypatch.setattr(T.os, "sched_getaffinity", lambda pid: {0, 1})  # another answer: asked again
    monkeypatch.delenv("OPTRUN_THREADS")
    assert T.available() == 2 and calls == [0]
