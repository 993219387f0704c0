"""Sweep-level gates for CI: ``expect: {success_rate_min, f_gap_median_max}`` over a sweep's members.

Gradient descent on the sphere from a start in [-1, 1]^2 multiplies x by (1 - 2 alpha) per step,
so after 20 steps f = f0 (1 - 2 alpha)^40: alpha 0.001 stays far above 1e-3 (f0 >= 0.01 at seed 0
here), 0.1, 0.2 and 0.3 end below it. The numbers below are worked out from that, not read back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from optrun.cli import cli
from optrun.config import load_config
from optrun.errors import ConfigError
from optrun.sweep import load_plan

GATED = """\
name: gate
objective: sphere
bounds: [-1.0, 1.0]
iterations: 20
algorithm: {name: gd, alpha: 0.1}
expect: {f_final_max: 1.0e-3, success_rate_min: 0.5}
sweep:
  algorithm.alpha: [0.001, 0.1, 0.2, 0.3]
"""


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def run(tmp_path: Path, *args):
    return CliRunner().invoke(
        cli,
        [
            "run",
            str(write(tmp_path, GATED)),
            *map(str, args),
            "--runs-dir",
            str(tmp_path / "runs"),
            "--workers",
            "1",
            "--quiet",
        ],
    )


def summary(tmp_path: Path) -> dict:
    (folder,) = sorted((tmp_path / "runs").iterdir())
    return json.loads((folder / "summary.json").read_text())


def test_a_success_rate_met_passes_although_one_member_misses(tmp_path):
    res = run(tmp_path)
    assert res.exit_code == 0, res.output
    s = summary(tmp_path)
    assert [r["expect_passed"] for r in s["rows"]] == [False, True, True, True]
    assert s["gate"] == {
        "success_rate_min": 0.5,
        "members": 4,
        "members_passed": 3,
        "success_rate": 0.75,
        "passed_success_rate": True,
        "passed": True,
    }
    assert "sweep gate passed: 3 of 4 members met expect (75%, at least 50% required)" in res.stderr


def test_a_success_rate_missed_fails_the_sweep(tmp_path):
    res = run(tmp_path, "expect.success_rate_min=0.8")
    assert res.exit_code == 1, res.output
    assert "sweep gate failed: 3 of 4 members met expect (75%, at least 80% required)" in res.stderr
    assert summary(tmp_path)["gate"]["passed"] is False
    # exactly at the rate passes: 3 of 4 is 0.75
    (tmp_path / "b").mkdir()
    res = run(tmp_path / "b", "expect.success_rate_min=0.75")
    assert res.exit_code == 0, res.output


def test_without_success_rate_one_miss_fails_the_sweep_as_before(tmp_path):
    res = run(tmp_path, "expect.success_rate_min=null")
    assert res.exit_code == 1 and "gate" not in summary(tmp_path)


def test_a_median_gap_gate(tmp_path):
    # members' f - f*: one large (alpha 0.001), three small; the median is the mean of the middle two
    res = run(
        tmp_path, "expect.success_rate_min=null", "expect.f_final_max=null", "expect.f_gap_median_max=1e-3"
    )
    assert res.exit_code == 0, res.output
    s = summary(tmp_path)
    gaps = sorted(r["f_gap"] for r in s["rows"])
    assert s["gate"]["f_gap_median"] == pytest.approx((gaps[1] + gaps[2]) / 2, rel=1e-15)
    assert s["gate"]["f_gap_median"] < 1e-3 < gaps[3]
    assert "sweep gate passed: median f - f*" in res.stderr
    (tmp_path / "b").mkdir()
    res = run(
        tmp_path / "b",
        "expect.success_rate_min=null",
        "expect.f_final_max=null",
        f"expect.f_gap_median_max={s['gate']['f_gap_median'] / 2}",
    )
    assert res.exit_code == 1 and "sweep gate failed: median f - f*" in res.stderr
    assert summary(tmp_path / "b")["gate"]["passed_f_gap_median"] is False


def test_the_gates_are_kept_in_the_sweeps_config_for_resume(tmp_path):
    assert run(tmp_path).exit_code == 0
    (folder,) = (tmp_path / "runs").iterdir()
    conf = yaml.safe_load((folder / "config.yaml").read_text())
    assert conf["expect"]["success_rate_min"] == 0.5
    assert load_plan(str(folder / "config.yaml")).base.expect.success_rate_min == 0.5


def test_sweep_gates_on_a_single_run_are_refused(tmp_path):
    one = write(tmp_path, GATED.split("sweep:")[0], "one.yaml")
    res = CliRunner().invoke(cli, ["run", str(one), "--runs-dir", str(tmp_path / "runs")])
    assert res.exit_code == 2 and not (tmp_path / "runs").exists()
    assert res.stderr.strip() == (
        f"Error: {one}:6: expect.success_rate_min: applies to sweeps only (a sweep: "
        "block or --sweep); a single run is checked by the other expect: keys"
    )
    with pytest.raises(ConfigError, match="applies to sweeps only"):
        load_config(str(one))
    # the same file with --sweep is a sweep
    assert load_plan(str(one), (), ("seed=0:2",)).base.expect.success_rate_min == 0.5


@pytest.mark.parametrize(
    "override, words",
    [
        ("expect.success_rate_min=1.5", "is a share of the members, between 0 and 1"),
        ("expect.success_rate_min=-0.1", "must be at least 0"),
        ("expect.f_gap_median_max=-1", "must be at least 0"),
        ("expect.success_rate_min=yes", "YAML 1.1"),
    ],
)
def test_gate_values_are_validated(tmp_path, override, words):
    with pytest.raises(ConfigError, match=words):
        load_plan(str(write(tmp_path, GATED)), (override,))


def test_a_median_gap_needs_a_known_minimum(tmp_path):
    text = GATED.replace("objective: sphere", "objective: {expression: 'x0**2 + x1**2'}").replace(
        "success_rate_min: 0.5", "f_gap_median_max: 0.1"
    )
    with pytest.raises(ConfigError, match=r"expect.f_gap_median_max: can never pass.*give objective.f_min"):
        load_plan(str(write(tmp_path, text)))


def test_gates_cannot_be_swept(tmp_path):
    with pytest.raises(ConfigError, match="cannot be swept"):
        load_plan(str(write(tmp_path, GATED)), (), ("expect.success_rate_min=0.1,0.2",))


def test_resume_says_the_gate_as_run_does(tmp_path):
    """A gated sweep finished by ``optrun resume`` prints its gate line too (and exits by it)."""
    assert run(tmp_path).exit_code == 0
    (folder,) = (tmp_path / "runs").iterdir()
    s = summary(tmp_path)
    rows = s["rows"]
    rows[3]["status"] = "interrupted"  # as if Ctrl-C had stopped the last member
    (folder / "summary.json").write_text(json.dumps({**s, "status": "interrupted", "rows": rows}))
    res = CliRunner().invoke(cli, ["resume", str(folder)])
    assert res.exit_code == 0, res.output
    assert "sweep gate passed: 3 of 4 members met expect (75%, at least 50% required)" in res.stderr
