"""Property-based tests (hypothesis): whatever a user types, optrun either runs or refuses with
exit 2 and one line — never a traceback, never a hang — and damaged run folders never crash the
readers (issue 8)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optrun.cli import cli

KEYS = [
    "name",
    "objective",
    "objective.name",
    "objective.dim",
    "bounds",
    "bounds.0",
    "bounds.0.1",
    "start",
    "start.0",
    "algorithm",
    "algorithm.name",
    "algorithm.variant",
    "algorithm.alpha",
    "algorithm.eps",
    "algorithm.beta1",
    "algorithm.beta2",
    "algorithm.beta1_schedule",
    "iterations",
    "seed",
    "rng",
    "stop",
    "stop.f_target",
    "stop.grad_norm",
    "expect",
    "expect.status",
    "expect.f_final_max",
    "trace",
    "trace.every",
    "trace.x",
    "trace.checkpoint_s",
    "sweep",
    "nonsense",
    "algorithm.alpah",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 60),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from(
        [
            "sphere",
            "rosenbrock",
            "amsgrad",
            "adagrad",
            "gd",
            "tutorial",
            "legacy",
            "generator",
            "random",
            "power",
            "auto",
            "all",
            "none",
            "completed",
            "",
            "../../x",
            "1e-3",
            "nan",
        ]
    ),
    st.text(max_size=12),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.lists(st.lists(st.floats(-3, 3, allow_nan=False), min_size=2, max_size=2), max_size=3),
    st.dictionaries(st.sampled_from(["name", "dim", "alpha", "every", "f_target", "x"]), SCALARS, max_size=2),
)


def _override_text(key: str, value) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    if text.endswith(("\n...", "...")):
        text = text.rsplit("\n", 1)[0].strip()
    return f"{key}={text}"


def _check_outcome(result, runs: Path) -> None:
    out = result.output
    assert "Traceback" not in out
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1, 2), (result.exit_code, out)
    if result.exit_code == 2:
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1, result.stderr
        # nothing half-written: a refused config leaves no run folder
        assert not runs.exists() or not any(runs.iterdir())


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(overrides=st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=3))
def test_random_overrides_run_or_refuse_cleanly(overrides, tmp_path_factory):
    base = Path(__file__).resolve().parent.parent / "configs" / "amsgrad.yaml"
    runs = tmp_path_factory.mktemp("runs") / "runs"
    args = [
        "run",
        str(base),
        *(_override_text(k, v) for k, v in overrides),
        "iterations=20",
        "--runs-dir",
        str(runs),
        "-q",
    ]
    result = CliRunner().invoke(cli, args)
    _check_outcome(result, runs)


@st.composite
def configs(draw):
    cfg: dict = {}
    for key in draw(st.lists(st.sampled_from([k for k in KEYS if "." not in k]), max_size=8, unique=True)):
        cfg[key] = draw(VALUES)
    if draw(st.booleans()):
        cfg["objective"] = draw(st.sampled_from(["sphere", {"name": "rosenbrock", "dim": 3}, "nosuch"]))
        cfg["algorithm"] = draw(st.sampled_from(["gd", {"name": "amsgrad", "alpha": 0.01}, {"name": "x"}]))
    cfg["iterations"] = draw(st.integers(0, 30)) if draw(st.booleans()) else cfg.get("iterations")
    return cfg


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cfg=configs())
def test_random_config_files_run_or_refuse_cleanly(cfg, tmp_path_factory):
    d = tmp_path_factory.mktemp("cfg")
    path = d / "c.yaml"
    try:
        path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    except (yaml.YAMLError, UnicodeEncodeError):
        return
    runs = d / "runs"
    result = CliRunner().invoke(cli, ["run", str(path), "--runs-dir", str(runs), "-q"])
    _check_outcome(result, runs)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_arbitrary_yaml_text_runs_or_refuses_cleanly(text, tmp_path_factory):
    d = tmp_path_factory.mktemp("txt")
    path = d / "c.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass") if "\ud800" not in text else None
    if not path.exists():
        return
    runs = d / "runs"
    result = CliRunner().invoke(cli, ["run", str(path), "--runs-dir", str(runs), "-q"])
    _check_outcome(result, runs)


# ------------------------------------------------------------------ damaged run folders


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("pristine") / "runs"
    base = Path(__file__).resolve().parent.parent / "configs" / "amsgrad.yaml"
    for extra in ([], ["iterations=30"]):
        r = CliRunner().invoke(cli, ["run", str(base), *extra, "--runs-dir", str(runs), "-q"])
        assert r.exit_code == 0, r.output
    return runs


DAMAGE = st.sampled_from(["truncate", "flip", "delete", "garbage", "empty", "wrong_type"])
FILES = st.sampled_from(["summary.json", "config.yaml", "meta.json", "trace.csv", "trace.jsonl"])


def _damage(path: Path, how: str, where: float) -> None:
    if how == "delete":
        path.unlink()
        return
    data = path.read_bytes()
    cut = int(len(data) * where)
    if how == "truncate":
        path.write_bytes(data[:cut])
    elif how == "flip":
        b = bytearray(data)
        if b:
            b[min(cut, len(b) - 1)] ^= 0x5A
        path.write_bytes(bytes(b))
    elif how == "garbage":
        path.write_bytes(data[:cut] + b"\x00\xff{[,,\n")
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "wrong_type" and path.suffix == ".json":
        try:
            obj = json.loads(data)
        except ValueError:
            return  # already damaged beyond parsing
        if isinstance(obj, dict):
            obj = {k: ([1, 2] if isinstance(v, (int, float)) else 7) for k, v in obj.items()}
        path.write_text(json.dumps(obj))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    damages=st.lists(st.tuples(FILES, DAMAGE, st.floats(0, 1)), min_size=1, max_size=3),
    which=st.integers(0, 1),
)
def test_damaged_folders_never_crash_the_readers(pristine, damages, which, tmp_path_factory):
    runs = tmp_path_factory.mktemp("damaged") / "runs"
    shutil.copytree(pristine, runs)
    folders = sorted(p for p in runs.iterdir() if p.is_dir())
    target = folders[which]
    for name, how, where in damages:
        if (target / name).exists():
            _damage(target / name, how, where)
    runner = CliRunner()
    for args in (
        ["runs"],
        ["runs", "--format", "json"],
        ["show", str(target)],
        ["show", "-1"],
        ["compare", str(folders[0]), str(folders[1])],
        ["compare", str(folders[0]), str(folders[1]), "--fail-if-worse"],
    ):
        r = runner.invoke(cli, [*args, "--runs-dir", str(runs)])
        assert "Traceback" not in r.output
        assert r.exception is None or isinstance(r.exception, SystemExit), (args, repr(r.exception))
        assert r.exit_code in (0, 1, 2), (args, r.exit_code, r.output)
        if r.exit_code == 2:
            assert len([ln for ln in r.stderr.splitlines() if ln.strip()]) == 1, r.stderr
