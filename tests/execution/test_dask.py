"""Sweeps on a Dask cluster (``--executor dask``): a LocalCluster of two worker processes on
127.0.0.1, shared by the tests of this file and always closed. The sweep folder equals a local
sweep's file for file (timings aside); a worker killed mid-batch loses nothing; an interrupted
client leaves a sweep that ``resume`` finishes; a module missing on the workers is one line naming
the module and the worker; without dask installed, one line says how to install it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from optrun.cli import cli
from optrun.execution.sweep import execute_sweep, resume_sweep
from optrun.sweep import load_plan

distributed = pytest.importorskip("distributed")

from optrun.execution.dask_executor import DaskExecutor, WorkerSetupError  # noqa: E402

WAIT_S = 60  # the bound on every wait of these tests
TIMINGS = ("wall_time_s", "batch_wall_time_s")


@pytest.fixture(scope="module")
def cluster():
    import dask

    # a second death of the same batch's worker makes it KilledWorker (Dask's default is 3)
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        c = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        )
    try:
        yield c
    finally:
        c.close(timeout=WAIT_S)


@pytest.fixture
def executor(cluster):
    ex = DaskExecutor(cluster.scheduler_address)
    try:
        yield ex
    finally:
        ex.close()


def slow_objective(tmp_path: Path, delay: float = 0.0) -> str:
    """A user objective module beside the configs (``delay`` seconds a call); its name."""
    mod = f"daskobj_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{mod}.py").write_text(
        "import time\nimport numpy as np\n"
        f"def f(x):\n    time.sleep({delay})\n    return np.sum(x * x * (1 + np.arange(x.shape[-1])), axis=-1)\n"
        "def g(x):\n    return 2 * x * (1 + np.arange(x.shape[-1]))\n"
    )
    return mod


def user_plan(tmp_path: Path, mod: str, iterations: int = 40):
    """Four batches (one per algorithm) of three members (seeds) on the user objective ``mod``."""
    cfg = tmp_path / f"{mod}.yaml"
    data = {
        "name": "userdask",
        "objective": {"function": f"{mod}:f", "gradient": f"{mod}:g"},
        "bounds": [[-1.0, 1.0], [-1.0, 1.0]],
        "algorithm": {"name": "adam", "alpha": 0.01},
        "iterations": iterations,
    }
    cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_plan(str(cfg), (), ("algorithm.name=adam,amsgrad,adagrad,nesterov", "seed=0:3"))


def files(folder: str) -> dict[str, bytes]:
    root = Path(folder) / "traces"
    return {p.name: p.read_bytes() for p in sorted(root.iterdir())} if root.exists() else {}


def rows(folder: str) -> list[dict]:
    """summary.json's rows without their timings."""
    data = json.loads((Path(folder) / "summary.json").read_text())
    return [{k: v for k, v in r.items() if k not in TIMINGS} for r in data["rows"]]


def summary_csv(folder: str) -> list[list[str]]:
    """summary.csv without its timing columns."""
    lines = [ln.split(",") for ln in (Path(folder) / "summary.csv").read_text().splitlines()]
    keep = [i for i, c in enumerate(lines[0]) if c not in TIMINGS]
    return [[ln[i] for i in keep] for ln in lines]


def assert_same_sweep(a: str, b: str) -> None:
    assert files(a) == files(b) and files(a)
    assert rows(a) == rows(b)
    assert summary_csv(a) == summary_csv(b)


def test_a_dask_sweep_equals_a_local_one(tmp_path, configs_dir, executor):
    plan = load_plan(
        str(configs_dir / "amsgrad.yaml"), ("iterations=60",), ("seed=0:1500", "algorithm.name=amsgrad,adam")
    )
    local = execute_sweep(plan, str(tmp_path / "local"), workers=2)
    remote = execute_sweep(plan, str(tmp_path / "dask"), executor=executor)
    assert local.exit_code == remote.exit_code == 0
    assert len(files(remote.path)) == 4  # two groups of 1,500 members: two batches each
    assert_same_sweep(local.path, remote.path)
    meta = json.loads((Path(remote.path) / "meta.json").read_text())
    assert meta["executor"] == "dask" and meta["scheduler"] == executor.scheduler
    assert set(meta["workers_used"]) <= set(executor.client.scheduler_info()["workers"])
    assert json.loads((Path(local.path) / "meta.json").read_text())["executor"] == "local"
    assert not list(Path(remote.path).rglob("*.partial")) and not list(Path(remote.path).rglob("*.tmp*"))


def test_a_worker_killed_mid_batch_loses_nothing(tmp_path, executor):
    plan = user_plan(tmp_path, slow_objective(tmp_path, 0.01))
    local = execute_sweep(plan, str(tmp_path / "local"), workers=2)
    client, killed = executor.client, []

    def kill_a_busy_worker():
        end = time.monotonic() + WAIT_S
        while time.monotonic() < end:
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(busy[0])
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
    killer.start()
    remote = execute_sweep(plan, str(tmp_path / "dask"), executor=executor)
    killer.join(WAIT_S)
    assert killed, "no worker was seen running a batch"
    assert remote.exit_code == 0 and remote.summary["counts"] == {"completed": 12}
    assert_same_sweep(local.path, remote.path)
    meta = json.loads((Path(remote.path) / "meta.json").read_text())
    assert killed[0] not in meta["workers_used"]  # it died in its first batch, which ran again elsewhere
    client.wait_for_workers(2, timeout=WAIT_S)  # (the nanny restarts it, for the next tests)


class SignalAfterFirstBatch:
    """A sweep reporter that sends this process SIGTERM once the first batch is back."""

    def sweep_start(self, *args):
        pass

    def sweep_progress(self, members_done, batches_done):
        if batches_done == 1:
            os.kill(os.getpid(), signal.SIGTERM)

    def member_failed(self, *args):
        pass

    def sweep_finish(self, outcome):
        pass


def test_an_interrupted_client_leaves_a_sweep_resume_finishes(tmp_path, executor, cluster):
    plan = user_plan(tmp_path, slow_objective(tmp_path, 0.05))  # 2 s a batch: two still out, even under load
    whole = execute_sweep(plan, str(tmp_path / "local"), workers=2)
    cut = execute_sweep(plan, str(tmp_path / "dask"), SignalAfterFirstBatch(), executor=executor)
    assert cut.exit_code == 143 and cut.summary["status"] == "interrupted"
    counts = cut.summary["counts"]
    assert counts.get("completed", 0) >= 3 and counts.get("pending", 0) >= 3  # kept, and left to do
    kept = [r for r in rows(cut.path) if r["status"] == "completed"]
    assert len(files(cut.path)) * 3 == len(kept)  # a trace file for every batch kept, no other
    with DaskExecutor(cluster.scheduler_address) as again:
        done = resume_sweep(cut.path, executor=again)
    assert done.exit_code == 0 and done.summary["counts"] == {"completed": 12}
    assert_same_sweep(whole.path, cut.path)


def test_a_module_missing_on_the_workers_is_one_line_naming_it_and_the_worker(tmp_path, executor):
    mod = slow_objective(tmp_path)
    plan = user_plan(tmp_path, mod)
    (tmp_path / f"{mod}.py").unlink()  # the client built its plan; the workers never saw the module
    with pytest.raises(WorkerSetupError) as err:
        executor.check(plan.bases)
    msg = err.value.message
    assert "\n" not in msg and f"cannot import module '{mod}'" in msg
    assert msg.startswith("worker tcp://127.0.0.1:")
    # a batch that meets it anyway (a worker that joined later) fails naming the worker
    out = execute_sweep(plan, str(tmp_path / "runs"), executor=executor)
    errors = {r["error"] for r in rows(out.path)}
    assert out.exit_code == 1 and out.summary["counts"] == {"failed": 12}
    assert all(f"cannot import module '{mod}'" in e and "(on worker tcp://127.0.0.1:" in e for e in errors)


def test_without_dask_one_line_says_how_to_install_it(tmp_path, configs_dir, monkeypatch):
    monkeypatch.setitem(os.sys.modules, "distributed", None)  # import distributed raises ImportError
    res = CliRunner().invoke(
        cli,
        [
            "run",
            str(configs_dir / "amsgrad.yaml"),
            "--sweep",
            "seed=0:4",
            "--executor",
            "dask",
            "--runs-dir",
            str(tmp_path / "runs"),
        ],
    )
    assert res.exit_code == 2
    (line,) = res.output.strip().splitlines()
    assert line.endswith("--executor dask needs Dask's distributed scheduler: pip install 'optrun[dask]'")
    assert not (tmp_path / "runs").exists()


def test_a_batch_that_keeps_killing_workers_is_failed_members_and_the_sweep_goes_on(tmp_path, executor):
    mod = f"daskkill_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{mod}.py").write_text(
        "import os, signal\nimport numpy as np\n"
        "def f(x):\n    return np.sum(x * x, axis=-1)\n"
        "def bad(x):\n    os.kill(os.getpid(), signal.SIGKILL)\n"
        "def g(x):\n    return 2 * x\n"
    )
    cfg = tmp_path / "k.yaml"
    data = {
        "name": "killer",
        "objective": {"function": f"{mod}:f", "gradient": f"{mod}:g"},
        "bounds": [[-1.0, 1.0], [-1.0, 1.0]],
        "algorithm": {"name": "adam"},
        "iterations": 20,
    }
    cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    plan = load_plan(str(cfg), (), (f"objective.function={mod}:f,{mod}:bad", "seed=0:3"))
    out = execute_sweep(plan, str(tmp_path / "runs"), executor=executor)
    assert out.exit_code == 1 and out.summary["counts"] == {"completed": 3, "failed": 3}
    failed = [r for r in out.rows if r["status"] == "failed"]
    assert all(
        r["error"].startswith("worker failed: the batch's worker died every time it ran") for r in failed
    )
    assert list(files(out.path)) == ["batch-0000.csv"]  # the good batch's trace, once
    executor.client.wait_for_workers(2, timeout=WAIT_S)


def test_ctrl_c_on_the_cli_keeps_finished_batches_and_resume_finishes_on_dask(tmp_path, cluster):
    mod = slow_objective(tmp_path, 0.04)  # 2.4 s a batch: some still out when the signal lands
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "name": "cli",
                "objective": {"function": f"{mod}:f", "gradient": f"{mod}:g"},
                "bounds": [[-1.0, 1.0], [-1.0, 1.0]],
                "algorithm": {"name": "adam", "alpha": 0.01},
                "iterations": 60,
            }
        )
    )
    env = {**os.environ, "OPTRUN_DASK_SCHEDULER": cluster.scheduler_address, "NO_COLOR": "1"}
    args = [os.sys.executable, "-m", "optrun", "run", str(cfg), "--runs-dir", str(tmp_path / "runs")]
    args += ["--sweep", "algorithm.name=adam,amsgrad,adagrad,nesterov,adam", "--sweep", "seed=0:2"]
    proc = subprocess.Popen(
        [*args, "--executor", "dask"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        end = time.monotonic() + WAIT_S
        while time.monotonic() < end and not any(
            (tmp_path / "runs").glob("*/traces/batch-*.csv")
        ):  # the first batch is back
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=WAIT_S)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "sweep interrupted" in out
    (sweep,) = (tmp_path / "runs").iterdir()
    counts = json.loads((sweep / "summary.json").read_text())["counts"]
    assert counts.get("pending", 0) > 0 and counts.get("completed", 0) > 0
    res = subprocess.run(
        [os.sys.executable, "-m", "optrun", "resume", str(sweep), "--executor", "dask"],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert res.returncode == 0, res.stderr
    assert json.loads((sweep / "summary.json").read_text())["counts"] == {"completed": 10}
    assert json.loads((sweep / "meta.resume.json").read_text())["executor"] == "dask"


def test_a_scheduler_that_does_not_answer_is_one_line(tmp_path, configs_dir):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for address, says in [
        (f"tcp://127.0.0.1:{port}", "cannot reach the Dask scheduler"),
        ("tcp://x", "HOST:PORT"),
    ]:
        res = CliRunner().invoke(
            cli,
            ["run", str(configs_dir / "amsgrad.yaml"), "--sweep", "seed=0:2", "--executor", "dask"]
            + ["--scheduler", address, "--runs-dir", str(tmp_path / "runs")],
        )
        assert res.exit_code == 2 and says in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_one_run_with_executor_dask_runs_here_with_a_note(tmp_path, configs_dir):
    res = CliRunner().invoke(
        cli,
        ["run", str(configs_dir / "amsgrad.yaml"), "iterations=5", "--executor", "dask"]
        + ["--scheduler", "tcp://x", "--runs-dir", str(tmp_path / "runs")],
    )
    assert res.exit_code == 0, res.output
    assert "one run, not a sweep: it runs here (--executor dask)" in res.output


def test_scheduler_needs_executor_dask(tmp_path, configs_dir):
    res = CliRunner().invoke(
        cli,
        ["run", str(configs_dir / "amsgrad.yaml"), "--scheduler", "tcp://h:1", "--runs-dir", str(tmp_path)],
    )
    assert res.exit_code == 2 and "--scheduler needs --executor dask" in res.output


def test_a_stopped_sweep_stops_the_batches_running_on_the_workers(tmp_path, executor):
    # a cancelled task's thread cannot be killed: the batch itself stops between two steps
    mod = f"daskcount_{uuid.uuid4().hex[:8]}"
    calls = tmp_path / "calls"
    (tmp_path / f"{mod}.py").write_text(
        "import time\nimport numpy as np\n"
        f"def f(x):\n    time.sleep(0.002)\n    open({str(calls)!r}, 'a').write('.')\n"
        "    return np.sum(x * x, axis=-1)\n"
        "def g(x):\n    return 2 * x\n"
    )
    plan = user_plan(tmp_path, mod, iterations=5000)  # 10 s a batch, were it not stopped
    full = 4 * 5000

    def stop_once_running():
        end = time.monotonic() + WAIT_S
        while time.monotonic() < end and (not calls.exists() or calls.stat().st_size < 20):
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop_once_running, daemon=True).start()
    out = execute_sweep(plan, str(tmp_path / "runs"), executor=executor)
    assert out.exit_code == 143 and out.summary["counts"] == {"pending": 12}
    assert files(out.path) == {}  # nothing came back: nothing written
    seen, end = -1, time.monotonic() + WAIT_S
    while time.monotonic() < end and calls.stat().st_size != seen:  # until the workers are quiet
        seen = calls.stat().st_size
        time.sleep(1.0)
    assert seen < full / 4  # far from the 20,000 calls the batches would make


def test_a_user_optimizer_is_checked_on_the_workers_too(configs_dir, monkeypatch):
    from optrun.execution.dask_executor import user_refs

    monkeypatch.chdir(configs_dir / "examples")
    plan = load_plan("user-optimizer.yaml", (), ("seed=0:2",))
    refs = user_refs(plan.members)
    assert [(ref, role) for ref, role, _ in refs] == [(plan.members[0].algorithm.name, "user optimizer")]


def test_configs_travel_with_absolute_sources(tmp_path, monkeypatch):
    from optrun.execution.dask_executor import located

    user_plan(tmp_path, slow_objective(tmp_path))  # writes MOD.yaml beside its module
    (cfg,) = tmp_path.glob("*.yaml")
    monkeypatch.chdir(tmp_path)
    plan = load_plan(cfg.name, (), ("seed=0:3",))  # a relative path, as a user types it
    assert not os.path.isabs(plan.members[0].source)
    moved = located(plan.members)
    assert all(os.path.isabs(c.source) for c in moved)
    assert {os.path.dirname(c.source) for c in moved} == {str(tmp_path)}
    assert [c.seed for c in moved] == [c.seed for c in plan.members]  # only the source changed


def test_other_schedulers_and_an_empty_cluster_are_one_line(tmp_path, configs_dir):
    from optrun.errors import OptrunError
    from optrun.execution.dask_executor import reachable

    for bad in ("tls://127.0.0.1:1", "inproc://x", "127.0.0.1:8786"):
        with pytest.raises(OptrunError, match=r"tcp://HOST:PORT"):
            reachable(bad)
    empty = distributed.LocalCluster(n_workers=0, processes=True, host="127.0.0.1", dashboard_address=None)
    try:
        with pytest.raises(OptrunError, match="has no workers"):
            DaskExecutor(empty.scheduler_address)
    finally:
        empty.close(timeout=WAIT_S)


def test_learning_data_go_to_the_workers_once_and_no_worker_reads_the_file(tmp_path, executor, monkeypatch):
    """The client reads each data file once and sends the arrays (and f*) to every worker once:
    the data folder deleted after the client read it, the workers still run every batch, and the
    sweep equals a local one byte for byte."""
    import shutil

    import numpy as np

    from optrun.objectives import data_supply

    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for name, n in (("train.npz", 200), ("test.npz", 60)):
        X = rng.standard_normal((n, 4))
        np.savez(data / name, X=X, y=(X @ [1.0, -1.0, 0.5, 2.0] + rng.standard_normal(n) > 0).astype(float))
    cfg = tmp_path / "learn.yaml"
    objective = {
        "name": "logistic",
        "data": "data/train.npz",
        "test": "data/test.npz",
        "l2": 1e-3,
        "batch_size": 50,
    }
    cfg.write_text(yaml.safe_dump({"objective": objective, "algorithm": {"name": "adam"}, "iterations": 30}))
    reads, scatters = [], []
    real_load, real_scatter, real_send = data_supply.load, executor.client.scatter, executor.send_data
    monkeypatch.setattr(
        data_supply, "load", lambda path, *a, **k: reads.append(Path(path).name) or real_load(path, *a, **k)
    )
    plan = load_plan(str(cfg), (), ("algorithm.name=adam,amsgrad", "seed=0:3"))
    local = execute_sweep(plan, str(tmp_path / "local"), workers=2)

    monkeypatch.setattr(
        executor.client, "scatter", lambda *a, **k: scatters.append(k) or real_scatter(*a, **k)
    )

    def send_then_delete(datasets, optima):
        real_send(datasets, optima)
        shutil.rmtree(data)  # the workers can read neither the files nor an f* cached beside them

    monkeypatch.setattr(executor, "send_data", send_then_delete)
    remote = execute_sweep(plan, str(tmp_path / "dask"), executor=executor)
    assert remote.exit_code == 0 and remote.summary["counts"] == {"completed": 6}, remote.summary
    assert len(files(remote.path)) == 2  # two batches, on the workers
    assert sorted(reads) == ["test.npz", "train.npz"]  # each file read once, here, for both sweeps
    assert len(scatters) == 1 and scatters[0]["broadcast"] is True
    assert_same_sweep(local.path, remote.path)
    meta = [json.loads((Path(p) / "meta.json").read_text())["data"] for p in (local.path, remote.path)]
    assert meta[0] == meta[1] and meta[0]["test_n"] == 60
