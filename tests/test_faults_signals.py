"""Repeated signals and misbehaving user code, through real ``optrun`` subprocesses (issue 14).

``timeout -s INT`` (how CI jobs time out) delivers SIGINT twice: to optrun and to its process
group. However many signals arrive, and whenever, a run or a sweep ends ``interrupted`` with its
record written (summary.json, summary.csv, the checkpoint), and ``optrun resume`` runs only what
is missing. A first Ctrl-C says at once what happens; a second one aborts a hung user evaluation.
``objective.timeout_s`` fails a run whose user function overruns. Any exception from user code,
``SystemExit`` and a KeyboardInterrupt it raises itself included, is that code's failure (exit 2
before the run, status failed and exit 1 during it), never a silent exit 0.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

SIGINT_CODES = (130,)  # also when a late signal comes while the process exits


def _popen(
    optrun_bin: str, runs_dir: Path, cwd: Path, *args: str, stderr=subprocess.PIPE
) -> subprocess.Popen:
    env = {**os.environ, "OPTRUN_RUNS_DIR": str(runs_dir), "NO_COLOR": "1"}
    env.pop("OPTRUN_DEBUG", None)
    return subprocess.Popen(
        [optrun_bin, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        start_new_session=True,
    )


def _newest(runs_dir: Path) -> Path | None:
    folders = sorted(p for p in runs_dir.iterdir() if p.is_dir()) if runs_dir.exists() else []
    return folders[-1] if folders else None


def _summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def _wait(predicate, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def _like_timeout(p: subprocess.Popen, signals: int, gap: float) -> None:
    """SIGINT ``signals`` times, ``gap`` seconds apart, alternately to the process and to its
    group (as ``timeout -s INT`` does: the child, then the whole group)."""
    for i in range(signals):
        try:
            if i % 2 == 0:
                os.kill(p.pid, signal.SIGINT)
            else:
                os.killpg(p.pid, signal.SIGINT)
        except ProcessLookupError:
            return
        time.sleep(gap)


# signals, gap between them, wait after the first rows (s): varied so that the second signal
# lands at different points of the clean-up
TRIES = [
    (2, 0.0, 0.0),
    (2, 0.001, 0.3),
    (2, 0.02, 0.6),
    (2, 0.2, 0.1),
    (3, 0.0, 0.9),
    (5, 0.01, 0.2),
    (8, 0.003, 0.5),
    (2, 0.05, 1.2),
]

SWEEP_ITERATIONS = ",".join(str(20000 + i) for i in range(10))  # ten batches of two members


def _sweep_record(folder: Path) -> tuple[dict, list[dict]]:
    s = _summary(folder)
    assert (folder / "summary.csv").exists(), "summary.csv is missing"
    with open(folder / "summary.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == s["members"] == 20
    return s, table


@pytest.mark.parametrize("workers", ["2", "1"])
def test_repeated_sigint_never_loses_a_sweep_record(optrun_bin, runs_dir, tmp_path, configs_dir, workers):
    tries = TRIES if workers == "2" else TRIES[:3]
    checked = 0
    for n, (signals, gap, after) in enumerate(tries):
        runs = runs_dir / f"try{n}"
        p = _popen(
            optrun_bin,
            runs,
            tmp_path,
            "run",
            str(configs_dir / "amsgrad.yaml"),
            "--workers",
            workers,
            "--sweep",
            f"iterations={SWEEP_ITERATIONS}",
            "--sweep",
            "seed=0:2",
        )
        folder = _wait(lambda runs=runs: _newest(runs), "the sweep folder")
        _wait(lambda folder=folder: any((folder / "traces").glob("batch-*")), "the first batch")
        time.sleep(after)
        _like_timeout(p, signals, gap)
        _, err = p.communicate(timeout=120)
        if p.returncode == 0:
            continue  # finished before the signals: nothing to check
        assert p.returncode in SIGINT_CODES, err
        assert "Traceback" not in err
        s, table = _sweep_record(folder)
        assert s["status"] == "interrupted" and s["signal"] == "SIGINT", (signals, gap, after)
        json_rows = {r["member"]: r for r in s["rows"]}
        for r in table:  # the CSV and the JSON agree on every member
            assert r["status"] == json_rows[int(r["member"])]["status"]
        finished = {int(r["member"]): r for r in table if r["status"] == "completed"}
        assert s["counts"].get("completed", 0) == len(finished)
        assert "running" not in {r["status"] for r in table}
        checked += 1
        if n < 2:  # resume runs only what is missing; the finished members keep their record
            resumed = subprocess.run(
                [optrun_bin, "resume", str(folder), "--workers", workers, "-q"],
                check=False,
                capture_output=True,
                text=True,
                timeout=300,
                cwd=tmp_path,
            )
            assert resumed.returncode == 0, resumed.stderr
            s2, table2 = _sweep_record(folder)
            assert s2["status"] == "completed" and s2["counts"] == {"completed": 20}
            old_batches = {int(r["batch"]) for r in table if r["batch"]}
            for r in table2:
                m = int(r["member"])
                if m in finished:
                    assert r == finished[m]
                else:
                    assert int(r["batch"]) > max(old_batches, default=-1)
    assert checked >= len(tries) - 1  # the signals came before the end (nearly) every time


def test_repeated_sigint_never_loses_a_run_record(optrun_bin, runs_dir, tmp_path, configs_dir, run_optrun):
    checked = 0
    for n, (signals, gap, after) in enumerate(TRIES):
        runs = runs_dir / f"try{n}"
        p = _popen(
            optrun_bin,
            runs,
            tmp_path,
            "run",
            str(configs_dir / "amsgrad.yaml"),
            "iterations=150000",
            "trace.checkpoint_s=0.2",
        )
        folder = _wait(lambda runs=runs: _newest(runs), "the run folder")
        _wait(lambda folder=folder: (folder / "checkpoint.npz").exists(), "the first checkpoint")
        time.sleep(after)
        _like_timeout(p, signals, gap)
        _, err = p.communicate(timeout=120)
        if p.returncode == 0:
            continue
        assert p.returncode in SIGINT_CODES, err
        assert "Traceback" not in err
        s = _summary(folder)
        assert s["status"] == "interrupted" and s["signal"] == "SIGINT", (signals, gap, after)
        its = [int(line.split(",", 1)[0]) for line in (folder / "trace.csv").read_text().splitlines()[1:]]
        assert its == list(range(len(its))) and s["iterations"] == its[-1]
        assert (folder / "checkpoint.npz").exists()
        checked += 1
        if n < 2:
            resumed = run_optrun("resume", str(folder), "-q", env={"OPTRUN_RUNS_DIR": str(runs)}, timeout=300)
            assert resumed.returncode == 0, resumed.stderr
            s2 = _summary(folder)
            assert s2["status"] == "completed" and s2["iterations"] == 150000
            assert 0 < s2["resumed_from"] <= s["iterations"]  # continued, not rerun from the start
            lines = (folder / "trace.csv").read_text().splitlines()
            assert [int(x.split(",", 1)[0]) for x in lines[1:]] == list(range(150001))
    assert checked >= len(TRIES) - 1


HANG = """
import os
import time

import numpy as np

CALLS = [0]


def f(x):
    CALLS[0] += 1
    if CALLS[0] > int(os.environ.get("HANG_AFTER", "200")):
        open(os.environ["HANG_MARK"], "w").close()
        time.sleep(600)
    return np.sum(x * x, axis=1)


def g(x):
    return 2.0 * x


def quick(x):
    return np.sum(x * x, axis=1)
"""


def _hang_config(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "hangmod.py").write_text(HANG)
    cfg = tmp_path / "hang.yaml"
    cfg.write_text(
        "objective: {function: 'hangmod:f', gradient: 'hangmod:g'" + extra + "}\n"
        "bounds: [[-2, 2], [-2, 2]]\nstart: [1.0, -0.5]\nalgorithm: {name: adagrad, alpha: 0.1}\n"
        "iterations: 100000\n"
    )
    return cfg


def test_first_ctrl_c_on_a_hung_objective_says_what_happens_and_the_second_aborts(
    optrun_bin, runs_dir, tmp_path
):
    cfg = _hang_config(tmp_path)
    mark = tmp_path / "hung"
    errfile = open(tmp_path / "stderr.txt", "w+")  # noqa: SIM115 - read while the process runs
    env = {**os.environ, "OPTRUN_RUNS_DIR": str(runs_dir), "NO_COLOR": "1", "HANG_MARK": str(mark)}
    p = subprocess.Popen(
        [optrun_bin, "run", str(cfg)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=errfile,
        text=True,
    )
    try:
        _wait(mark.exists, "the objective to hang")
        p.send_signal(signal.SIGINT)
        said = _wait(lambda: "press Ctrl-C again" in (tmp_path / "stderr.txt").read_text(), "the notice", 10)
        assert said and p.poll() is None  # the evaluation goes on: it is not aborted by the first Ctrl-C
        text = (tmp_path / "stderr.txt").read_text()
        assert "stops after the current evaluation" in text
        p.send_signal(signal.SIGINT)
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
        errfile.close()
    assert p.returncode == 130
    assert "Traceback" not in (tmp_path / "stderr.txt").read_text()
    folder = _newest(runs_dir)
    s = _summary(folder)
    assert s["status"] == "interrupted" and s["signal"] == "SIGINT" and "error" not in s
    its = [int(line.split(",", 1)[0]) for line in (folder / "trace.csv").read_text().splitlines()[1:]]
    assert its == list(range(len(its))) and len(its) > 150  # every row before the hang is kept
    assert s["iterations"] == its[-1]


def test_a_second_ctrl_c_stops_waiting_for_hung_workers_and_keeps_the_sweep_record(
    optrun_bin, runs_dir, tmp_path
):
    cfg = _hang_config(tmp_path)
    mark = tmp_path / "hung"
    env = {
        **os.environ,
        "OPTRUN_RUNS_DIR": str(runs_dir),
        "NO_COLOR": "1",
        "HANG_MARK": str(mark),
        "HANG_AFTER": "400",
    }
    # the quick batch finishes; the hanging one never returns from its objective
    p = subprocess.Popen(
        [
            optrun_bin,
            "run",
            str(cfg),
            "iterations=1000",
            "--workers",
            "2",
            "--sweep",
            "objective.function=hangmod:quick,hangmod:f",
            "--sweep",
            "seed=0:2",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _wait(mark.exists, "the objective to hang")
        folder = _newest(runs_dir)
        _wait(lambda: (folder / "traces" / "batch-0000.csv").exists(), "the quick batch")  # closed: done
        os.killpg(p.pid, signal.SIGINT)
        time.sleep(1.0)
        assert p.poll() is None  # the first Ctrl-C waits for the workers' current step
        os.kill(p.pid, signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode in SIGINT_CODES, err
    assert "Traceback" not in err
    s = _summary(folder)
    assert s["status"] == "interrupted" and s["counts"] == {"completed": 2, "interrupted": 2}
    with open(folder / "summary.csv", newline="") as f:
        statuses = sorted(r["status"] for r in csv.DictReader(f))
    assert statuses == ["completed", "completed", "interrupted", "interrupted"]


def test_ctrl_c_while_a_user_module_hangs_at_import_stops_at_once(optrun_bin, runs_dir, tmp_path):
    (tmp_path / "slowimport.py").write_text(
        "import os, time\nopen(os.environ['HANG_MARK'], 'w').close()\ntime.sleep(600)\n\n"
        "def f(x):\n    return x[:, 0]\n"
    )
    cfg = _raising_config(tmp_path, "fine")
    env = {
        **os.environ,
        "OPTRUN_RUNS_DIR": str(runs_dir),
        "NO_COLOR": "1",
        "HANG_MARK": str(tmp_path / "hung"),
    }
    p = subprocess.Popen(
        [optrun_bin, "run", str(cfg), "objective.function=slowimport:f"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait((tmp_path / "hung").exists, "the import to hang")
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130 and err.strip() == "optrun: interrupted"  # a real Ctrl-C, not a user error
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_timeout_s_fails_a_run_whose_objective_overruns(run_optrun, runs_dir, tmp_path):
    cfg = _hang_config(tmp_path, ", timeout_s: 0.5")
    r = run_optrun("run", str(cfg), env={"HANG_MARK": str(tmp_path / "hung")}, cwd=tmp_path, timeout=60)
    assert r.returncode == 1, r.stderr
    s = _summary(_newest(runs_dir))
    assert s["status"] == "failed"
    want = (
        f"objective function 'hangmod:f' took longer than timeout_s = 0.5 s at iteration "
        f"{s['iterations'] + 1}"
    )
    assert s["error"] == want and want in r.stderr
    assert s["iterations"] > 150  # the rows before it are kept


def test_timeout_s_in_pool_workers_fails_those_members_and_the_sweep_goes_on(run_optrun, runs_dir, tmp_path):
    cfg = _hang_config(tmp_path, ", timeout_s: 0.5")
    r = run_optrun(
        "run",
        str(cfg),
        "iterations=1000",
        "--workers",
        "2",
        "--sweep",
        "objective.function=hangmod:f,hangmod:quick",
        "--sweep",
        "seed=0:2",
        env={"HANG_MARK": str(tmp_path / "hung")},
        cwd=tmp_path,
        timeout=120,
    )
    assert r.returncode == 1, r.stderr
    s = _summary(_newest(runs_dir))
    assert s["status"] == "completed" and s["counts"] == {"completed": 2, "failed": 2}
    for row in s["rows"]:
        if row["status"] == "failed":
            assert row["error"].startswith(
                "objective function 'hangmod:f' took longer than timeout_s = 0.5 s at iteration "
            )


def test_timeout_s_restores_the_alarm_and_leaves_no_thread(tmp_path, monkeypatch):
    import threading

    from click.testing import CliRunner

    from optrun.cli import cli

    cfg = _hang_config(tmp_path, ", timeout_s: 0.3")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HANG_MARK", str(tmp_path / "hung"))
    monkeypatch.setenv("HANG_AFTER", "100")
    before = signal.getsignal(signal.SIGALRM), threading.active_count()
    r = CliRunner().invoke(cli, ["run", str(cfg), "--runs-dir", str(tmp_path / "runs"), "-q"])
    assert r.exit_code == 1, r.output
    assert (signal.getsignal(signal.SIGALRM), threading.active_count()) == before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


@pytest.mark.parametrize(
    "value, message",
    [
        ("0", "must be a number of seconds above 0"),
        ("-2", "must be a number of seconds above 0"),
        ("abc", "must be a finite number"),
        (".inf", "must be a finite number"),
    ],
)
def test_timeout_s_is_validated(run_optrun, tmp_path, value, message):
    cfg = _hang_config(tmp_path)
    r = run_optrun("run", str(cfg), f"objective.timeout_s={value}")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "objective.timeout_s" in r.stderr and message in r.stderr


def test_timeout_s_applies_to_function_objectives_only(run_optrun, tmp_path):
    cfg = tmp_path / "e.yaml"
    cfg.write_text(
        "objective: {expression: 'x0**2 + x1**2', timeout_s: 1}\nbounds: [[-1, 1], [-1, 1]]\n"
        "algorithm: {name: adam}\n"
    )
    r = run_optrun("run", str(cfg))
    assert r.returncode == 2 and "timeout_s" in r.stderr and "'function' objectives" in r.stderr


# ------------------------------------------------------------------ user code raising BaseException

RAISING = """
import numpy as np


def after(n, exc):
    calls = [0]  # each function counts its own calls

    def f(x):
        calls[0] += 1
        if calls[0] > n:
            raise exc
        return np.sum(x * x, axis=1)
    return f


exits = after(50, SystemExit(0))
exits_at_start = after(0, SystemExit(3))
interrupts = after(50, KeyboardInterrupt())
generator_exit = after(50, GeneratorExit())
fine = after(10**9, None)
"""


def _raising_config(tmp_path: Path, function: str) -> Path:
    (tmp_path / "raising.py").write_text(RAISING)
    cfg = tmp_path / "raising.yaml"
    cfg.write_text(
        f"objective: {{function: 'raising:{function}'}}\nbounds: [[-2, 2], [-2, 2]]\n"
        "start: [1.0, -0.5]\nalgorithm: {name: adam, alpha: 0.01}\niterations: 500\n"
    )
    return cfg


@pytest.mark.parametrize(
    "function, exc",
    [("exits", "SystemExit: 0"), ("interrupts", "KeyboardInterrupt"), ("generator_exit", "GeneratorExit")],
)
def test_base_exceptions_during_a_run_fail_it(run_optrun, runs_dir, tmp_path, function, exc):
    r = run_optrun("run", str(_raising_config(tmp_path, function)), cwd=tmp_path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    s = _summary(_newest(runs_dir))
    assert s["status"] == "failed" and f"objective function 'raising:{function}' raised {exc}" in s["error"]
    assert "Traceback" not in r.stderr and s["iterations"] > 0


def test_system_exit_at_the_start_point_is_exit_2_naming_the_function(run_optrun, runs_dir, tmp_path):
    r = run_optrun("run", str(_raising_config(tmp_path, "exits_at_start")), cwd=tmp_path)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "raising:exits_at_start" in r.stderr and "SystemExit" in r.stderr
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


@pytest.mark.parametrize(
    "raise_at_import", ["raise KeyboardInterrupt", "raise SystemExit(0)", "import sys; sys.exit()"]
)
def test_base_exceptions_at_import_are_exit_2(run_optrun, runs_dir, tmp_path, raise_at_import):
    (tmp_path / "badimport.py").write_text(f"{raise_at_import}\n\ndef f(x):\n    return x[:, 0]\n")
    cfg = _raising_config(tmp_path, "fine")
    r = run_optrun("run", str(cfg), "objective.function=badimport:f", cwd=tmp_path)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "badimport:f" in r.stderr and "Traceback" not in r.stderr
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


USER_OPT = """
import numpy as np

from optrun.optimizers import Optimizer


def quits(alpha=0.01, at=20, exc="SystemExit"):
    def init(x):
        return ()

    def update(g, state, x, t):
        if t >= at:
            raise {"SystemExit": SystemExit(1), "KeyboardInterrupt": KeyboardInterrupt()}[exc]
        return -alpha * g, state

    return Optimizer(init, update)


def quits_when_built(alpha=0.01):
    raise SystemExit(0)
"""


@pytest.mark.parametrize("exc", ["SystemExit", "KeyboardInterrupt"])
def test_user_optimizer_raising_base_exceptions_fails_the_run(run_optrun, runs_dir, tmp_path, exc):
    (tmp_path / "quitter.py").write_text(USER_OPT)
    cfg = _raising_config(tmp_path, "fine")
    r = run_optrun(
        "run", str(cfg), "algorithm={name: 'quitter:quits', alpha: 0.01, exc: " + exc + "}", cwd=tmp_path
    )
    assert r.returncode == 1, r.stderr
    s = _summary(_newest(runs_dir))
    assert s["status"] == "failed" and f"update raised {exc}" in s["error"] and "at step 20" in s["error"]


def test_user_optimizer_factory_raising_system_exit_is_exit_2(run_optrun, runs_dir, tmp_path):
    (tmp_path / "quitter.py").write_text(USER_OPT)
    cfg = _raising_config(tmp_path, "fine")
    r = run_optrun("run", str(cfg), "algorithm={name: 'quitter:quits_when_built', alpha: 0.01}", cwd=tmp_path)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "quitter:quits_when_built" in r.stderr and "SystemExit" in r.stderr


def test_system_exit_in_a_sweep_fails_its_members_and_the_sweep_goes_on(run_optrun, runs_dir, tmp_path):
    cfg = _raising_config(tmp_path, "fine")
    for workers in ("1", "2"):
        r = run_optrun(
            "run",
            str(cfg),
            "--workers",
            workers,
            "--sweep",
            "objective.function=raising:exits,raising:fine",
            "--sweep",
            "seed=0:2",
            cwd=tmp_path,
            env={"OPTRUN_RUNS_DIR": str(runs_dir / workers)},
        )
        assert r.returncode == 1, r.stderr
        s = _summary(_newest(runs_dir / workers))
        assert s["status"] == "completed" and s["counts"] == {"completed": 2, "failed": 2}
        errors = {row.get("error") for row in s["rows"] if row["status"] == "failed"}
        assert errors == {"objective function 'raising:exits' raised SystemExit: 0"}


def test_a_batch_a_signal_stopped_before_it_started_leaves_its_members_pending(
    tmp_path, monkeypatch, configs_dir
):
    """A pool worker that takes up a batch after the signal runs none of it: its members stay
    pending (they were recorded 'interrupted' at iteration 0, with the start as their final f)."""
    from optrun.execution import executors as batch
    from optrun.sweep import load_plan

    plan = load_plan(str(configs_dir / "amsgrad.yaml"), (), ("seed=0:3",))
    monkeypatch.setattr(batch, "_STOP", [signal.SIGINT])
    assert batch._worker((str(tmp_path), 0, [0, 1, 2], plan.members)) == (0, None)
    assert not (tmp_path / "traces").exists()
    monkeypatch.setattr(batch, "_STOP", [])
    bno, rows = batch._worker((str(tmp_path), 0, [0, 1, 2], plan.members))
    assert bno == 0 and [r["status"] for r in rows] == ["completed"] * 3


def _late_ctrl_c_case(monkeypatch, tmp_path, configs_dir):
    """``optrun run`` in this process: a Ctrl-C when the run starts (it ends interrupted), then a
    late one exactly while the result line is printed (after the run's handlers were removed,
    before the CLI's last words). Returns the SIGINT disposition seen at that moment."""
    from optrun import cli
    from optrun.cli import console
    from optrun.cli import run as run_cmd
    from optrun.execution import signals as sigs

    seen = []
    start, print_result = console.PlainReporter.start, run_cmd._print_result

    def start_then_ctrl_c(self, *args):
        start(self, *args)
        os.kill(os.getpid(), signal.SIGINT)

    def late_ctrl_c_then_print(*args):
        seen.append(signal.getsignal(signal.SIGINT))
        os.kill(os.getpid(), signal.SIGINT)
        print_result(*args)

    monkeypatch.setattr(sigs, "_hold", False)  # main() sets it; restored after the test
    monkeypatch.setattr(console.PlainReporter, "start", start_then_ctrl_c)
    monkeypatch.setattr(run_cmd, "_print_result", late_ctrl_c_then_print)
    monkeypatch.setenv("OPTRUN_RUNS_DIR", str(tmp_path / "runs"))
    cfg = str(configs_dir / "amsgrad.yaml")
    monkeypatch.setattr("sys.argv", ["optrun", "run", cfg, "iterations=2000000", "--format", "json"])
    old = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit) as ended:
            cli.main()
    finally:
        signal.signal(signal.SIGINT, old)
    return ended.value.code, seen


def test_a_late_ctrl_c_after_an_interrupted_run_cannot_cut_its_exit(
    monkeypatch, tmp_path, configs_dir, capsys
):
    """The window a repeated SIGINT used to hit (about 1 sweep in 8 under ``timeout -s INT``): the
    run's handlers were removed and Python's default one was back until the CLI ignored SIGINT,
    so a late Ctrl-C raised KeyboardInterrupt there (the result line lost) and one more during
    that exit killed the process by SIGINT (exit -2, not 130). Now SIGINT is ignored from the
    moment the interrupted run's handlers go."""
    code, seen = _late_ctrl_c_case(monkeypatch, tmp_path, configs_dir)
    out, err = capsys.readouterr()
    assert code == 130
    assert seen == [signal.SIG_IGN]
    assert json.loads(out.splitlines()[-1])["status"] == "interrupted"  # the result line is printed
    assert "optrun: interrupted\n" not in err.replace("optrun: interrupted:", "")


def test_signals_restore_a_library_callers_handler_after_an_interrupted_run():
    """Outside the CLI (``optrun.execute`` from a script) the caller's handler comes back as it
    was, interrupted or not: only the CLI, which has nothing left to do but exit, ignores SIGINT."""
    from optrun.execution.signals import Signals

    old = signal.getsignal(signal.SIGINT)
    try:
        with Signals() as sig:
            os.kill(os.getpid(), signal.SIGINT)
            _wait(lambda: sig.received, "the signal")
        assert signal.getsignal(signal.SIGINT) is old
    finally:
        signal.signal(signal.SIGINT, old)
