"""The executor interface: serial and process-pool engines give a sweep the same rows, batch by
batch; a stopped sweep starts no new batch; one set of exit-code rules; one meta.json builder."""

from __future__ import annotations

import signal

from optrun.execution.batch import BatchJob
from optrun.execution.executors import ProcessPoolExecutor, SerialExecutor, executor_for
from optrun.execution.provenance import meta_record
from optrun.execution.signals import Signals, exit_code
from optrun.sweep import load_plan, make_batches


def _jobs(folder, configs_dir, *axes):
    plan = load_plan(str(configs_dir / "amsgrad.yaml"), ("iterations=50",), axes)
    batches = make_batches(plan.members)
    return [BatchJob(str(folder), b, idx, [plan.members[i] for i in idx]) for b, idx in enumerate(batches)]


def _finals(results):
    return {job.batch: [(r["status"], r["final_f"]) for r in rows] for job, rows in results}


def test_serial_and_pool_give_the_same_rows(tmp_path, configs_dir):
    axes = ("seed=0:3", "algorithm.name=amsgrad,adam")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with Signals() as sig:
        serial = list(SerialExecutor().results(_jobs(tmp_path / "a", configs_dir, *axes), sig, lambda: False))
        pooled = list(
            ProcessPoolExecutor(2).results(_jobs(tmp_path / "b", configs_dir, *axes), sig, lambda: False)
        )
    assert len(serial) == len(pooled) == 2
    assert _finals(serial) == _finals(pooled)
    assert all(s == "completed" for rows in _finals(serial).values() for s, _ in rows)


def test_serial_reports_progress_and_stops_starting_batches(tmp_path, configs_dir):
    jobs = _jobs(tmp_path, configs_dir, "seed=0:2", "algorithm.name=amsgrad,adam")
    seen = []
    with Signals() as sig:
        out = list(
            SerialExecutor().results(
                jobs, sig, lambda: bool(seen), lambda job, frac: seen.append((job.batch, frac))
            )
        )
    assert [job.batch for job, rows in out if rows is not None] == [0]  # stopped after the first batch
    assert out[1:] == [(jobs[1], None)]  # the batch never started is yielded once, with None
    assert seen[-1] == (0, 1.0) and all(0 < f <= 1 for _, f in seen)


def test_one_worker_or_one_batch_runs_serially():
    assert isinstance(executor_for(1, 5), SerialExecutor)
    assert isinstance(executor_for(4, 1), SerialExecutor)
    assert isinstance(executor_for(4, 5), ProcessPoolExecutor)


def test_exit_codes_shared_by_runs_and_sweeps():
    assert exit_code("interrupted", None, True) == 130
    assert exit_code("interrupted", signal.SIGINT, False) == 130
    assert exit_code("interrupted", signal.SIGTERM, False) == 143
    assert exit_code("completed", None, False) == 0
    assert exit_code("completed", None, True) == 1
    assert exit_code("failed", None, True) == 1


def test_one_meta_builder_keeps_each_kinds_keys(configs_dir):
    plan = load_plan(str(configs_dir / "amsgrad.yaml"), (), ("seed=0:2",))
    run = meta_record([plan.base], ["optrun", "run"], "T")
    sweep = meta_record(plan.members, ["optrun", "run"], "T", {"workers": 1, "batches": 1})
    assert list(run)[:7] == ["format_version", "optrun", "numpy", "python", "platform", "machine", "command"]
    assert list(run)[-2:] == ["git_commit", "started_at"]
    assert list(sweep)[:2] == ["format_version", "kind"] and "machine" not in sweep
    assert [k for k in sweep if k in ("started_at", "workers", "batches")] == [
        "started_at",
        "workers",
        "batches",
    ]
    assert run["command"] == sweep["command"] == ["optrun", "run"]


class Counting(SerialExecutor):
    """A stand-in for another engine: the serial one, counting the batches it yields."""

    workers = 3
    batches = 0

    def results(self, jobs, sig, stopped, progress=None):
        for job, rows in super().results(jobs, sig, stopped, progress):
            Counting.batches += 1
            yield job, rows


def test_a_sweep_runs_through_the_executor_it_is_given(tmp_path, configs_dir, monkeypatch):
    from optrun.execution.sweep import execute_sweep

    monkeypatch.setattr(Counting, "batches", 0)
    plan = load_plan(str(configs_dir / "amsgrad.yaml"), ("iterations=20",), ("algorithm.name=amsgrad,adam",))
    outcome = execute_sweep(plan, str(tmp_path), executor=Counting())
    assert outcome.exit_code == 0 and Counting.batches == 2
    assert outcome.summary["workers"] == 3 and outcome.summary["counts"] == {"completed": 2}


def test_a_resumed_sweep_runs_through_the_executor_it_is_given(tmp_path, configs_dir, monkeypatch):
    """Only the members left run, through the given engine, which the summary records."""
    import json

    from optrun.execution.sweep import execute_sweep, resume_sweep

    plan = load_plan(str(configs_dir / "amsgrad.yaml"), ("iterations=20",), ("algorithm.name=amsgrad,adam",))
    first = execute_sweep(plan, str(tmp_path), workers=1)
    summary = json.loads((tmp_path / first.run_id / "summary.json").read_text())
    summary["rows"][1]["status"] = "interrupted"  # as a Ctrl-C leaves it
    (tmp_path / first.run_id / "summary.json").write_text(json.dumps(summary))
    monkeypatch.setattr(Counting, "batches", 0)
    outcome = resume_sweep(first.path, executor=Counting())
    assert outcome.exit_code == 0 and Counting.batches == 1
    assert outcome.summary["workers"] == 3 and outcome.summary["counts"] == {"completed": 2}
    assert outcome.rows[0] == first.rows[0] and outcome.rows[1]["batch"] == 2


def test_a_stopped_pool_yields_every_batch_once(tmp_path, configs_dir):
    """The contract another engine follows too: each batch comes back exactly once, with one row
    per member, or with None when it never started (its members stay pending)."""
    jobs = _jobs(
        tmp_path, configs_dir, "seed=0:2", "algorithm.name=amsgrad,adam,adagrad,rmsprop,nadam,adamax"
    )
    with Signals() as sig:
        out = list(ProcessPoolExecutor(1).results(jobs, sig, lambda: True))
    assert sorted(job.batch for job, _ in out) == [job.batch for job in jobs]
    assert all(rows is None or len(rows) == len(job.indices) for job, rows in out)


def test_pool_workers_share_the_cpus_unless_the_user_set_threads(monkeypatch):
    import os

    from optrun.execution import executors

    monkeypatch.setattr(executors, "cpus", lambda: 4)
    for user, workers, want in (
        (None, 2, "2"),
        (None, 3, "1"),
        (None, 8, "1"),  # never 0
        ("", 2, "2"),  # blank: not set (optrun.threads ignores it too)
        ("3", 2, "3"),  # the user's cap is kept
    ):
        if user is None:
            monkeypatch.delenv("OPTRUN_THREADS", raising=False)
        else:
            monkeypatch.setenv("OPTRUN_THREADS", user)
        executors.worker_threads(workers)
        assert os.environ["OPTRUN_THREADS"] == want, (user, workers)


def test_pool_worker_env_is_set_in_the_worker_only(monkeypatch):
    import concurrent.futures as cf
    import os

    from optrun.execution.executors import pool_context, worker_threads
    from optrun.threads import cpus

    monkeypatch.delenv("OPTRUN_THREADS", raising=False)
    with cf.ProcessPoolExecutor(
        1, mp_context=pool_context(), initializer=worker_threads, initargs=(2,)
    ) as pool:
        seen = pool.submit(os.getenv, "OPTRUN_THREADS").result()
    assert seen == str(max(1, cpus() // 2))
    assert "OPTRUN_THREADS" not in os.environ


def test_pool_started_early_gives_the_same_rows_and_closes(tmp_path, configs_dir):
    axes = ("seed=0:3", "algorithm.name=amsgrad,adam")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    early = ProcessPoolExecutor(2)
    early.start()
    early.start()  # once
    unused = ProcessPoolExecutor(2)
    unused.start()
    unused.close()
    unused.close()
    with Signals() as sig:
        serial = list(SerialExecutor().results(_jobs(tmp_path / "a", configs_dir, *axes), sig, lambda: False))
        pooled = list(early.results(_jobs(tmp_path / "b", configs_dir, *axes), sig, lambda: False))
    assert _finals(serial) == _finals(pooled)


def test_a_sweep_leaves_the_garbage_collector_as_it_found_it(tmp_path, configs_dir):
    import gc

    from optrun.execution.sweep import execute_sweep

    was = gc.isenabled()
    try:
        for collecting in (True, False):
            gc.enable() if collecting else gc.disable()
            plan = load_plan(str(configs_dir / "amsgrad.yaml"), ("iterations=5",), ("seed=0:3",))
            out = execute_sweep(plan, str(tmp_path / str(collecting)), executor=SerialExecutor())
            assert [r["status"] for r in out.rows] == ["completed"] * 3
            assert gc.isenabled() is collecting
    finally:
        gc.enable() if was else gc.disable()


def test_the_collector_runs_while_batches_run_in_this_process_only(tmp_path, configs_dir):
    """A user's objective may make cyclic garbage: batches run here see the collector on; a pool's
    parent, which only keeps rows, pauses it while the workers (which keep theirs) run."""
    import gc

    from optrun.execution.sweep import execute_sweep

    seen = []

    class Here(SerialExecutor):
        def results(self, *a, **k):
            seen.append(("here", gc.isenabled()))
            yield from super().results(*a, **k)

    class Pool(ProcessPoolExecutor):
        def results(self, *a, **k):
            seen.append(("pool", gc.isenabled()))
            yield from super().results(*a, **k)

    assert gc.isenabled()
    plan = load_plan(str(configs_dir / "amsgrad.yaml"), ("iterations=5",), ("seed=0:3",))
    for n, ex in enumerate((Here(), Pool(2))):
        out = execute_sweep(plan, str(tmp_path / str(n)), executor=ex)
        assert [r["status"] for r in out.rows] == ["completed"] * 3
    assert seen == [("here", True), ("pool", False)] and gc.isenabled()
