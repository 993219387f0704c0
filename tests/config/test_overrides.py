"""Overrides, swaps and config text on the command line: what a swap keeps and drops (and says),
whole-section overrides, conflicts refused, YAML 1.1-only values refused, messages that name the
command line, impossible expect: rules and overflowing bounds, --dry-run's resolved config and
``optrun run -``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from optrun.cli import cli
from optrun.config import load_config
from optrun.errors import ConfigError
from optrun.sweep import load_plan

ADAM_TORCH = """\
name: pinned
objective: sphere
bounds: [-1.0, 1.0]
iterations: 10
algorithm: {name: adam, variant: torch, alpha: 0.1, eps: 1.0e-7, weight_decay: 0.0}
"""


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def invoke(*args, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def one_line_error(res, *parts: str) -> str:
    assert res.exit_code == 2, res.output
    err = res.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in res.output, err
    for p in parts:
        assert p in err, (p, err)
    return err


# ------------------------------------------------------------------------------ item 1: a swap keeps the variant


def test_name_override_keeps_the_pinned_variant_and_settings(tmp_path):
    cfg = load_config(str(write(tmp_path, ADAM_TORCH)), ["algorithm.name=amsgrad"])
    assert (cfg.algorithm.name, cfg.algorithm.variant) == (
        "amsgrad",
        "torch",
    )  # not amsgrad's default tutorial
    assert cfg.algorithm.params["alpha"] == 0.1 and cfg.algorithm.params["eps"] == 1e-7
    assert "beta1_schedule" not in cfg.algorithm.params  # a tutorial-only setting does not appear


def test_name_axis_keeps_the_pinned_variant_in_every_member(tmp_path):
    axis = "algorithm.name=adam,amsgrad,adagrad,rmsprop,gd"
    plan = load_plan(str(write(tmp_path, ADAM_TORCH)), (), (axis,))
    assert [(m.algorithm.name, m.algorithm.variant) for m in plan.members] == [
        ("adam", "torch"),
        ("amsgrad", "torch"),
        ("adagrad", "torch"),
        ("rmsprop", "torch"),
        ("gd", "standard"),
    ]
    assert [m.algorithm.params["eps"] for m in plan.members[:4]] == [1e-7] * 4
    # settings the new algorithm does not take are dropped, and said: one line per axis value
    assert plan.notes == [
        (
            f"--sweep '{axis}' (algorithm.name='gd') drops algorithm.eps=1e-07, "
            "algorithm.weight_decay=0.0 (not settings of gd standard)"
        )
    ]


def test_a_variant_the_new_algorithm_lacks_is_dropped_and_named(tmp_path, configs_dir):
    res = invoke(
        "run",
        configs_dir / "amsgrad.yaml",
        "algorithm.name=adam",
        "iterations=3",
        "--runs-dir",
        tmp_path / "runs",
    )
    assert res.exit_code == 0, res.output
    notes = [line for line in res.stderr.splitlines() if line.startswith("note:")]
    assert notes == [
        (
            f"note: {configs_dir / 'amsgrad.yaml'}: override 'algorithm.name=adam' drops "
            "algorithm.variant=tutorial (adam has no variant 'tutorial'; it runs its default, torch), "
            "algorithm.beta1_schedule=power (not a setting of adam torch)"
        )
    ]


def test_drop_notes_come_once_per_axis_value_not_per_member(tmp_path, configs_dir):
    res = invoke(
        "run",
        configs_dir / "amsgrad.yaml",
        "iterations=3",
        "--sweep",
        "algorithm.name=adam,gd",
        "--sweep",
        "seed=0:20",
        "--runs-dir",
        tmp_path / "runs",
        "--workers",
        "1",
    )
    assert res.exit_code == 0, res.output
    notes = [line for line in res.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 2 and "(algorithm.name='adam')" in notes[0] and "(algorithm.name='gd')" in notes[1]
    assert (
        "algorithm.variant=tutorial" in notes[0] and "algorithm.variant" not in notes[1]
    )  # gd has 'tutorial'


def test_a_setting_another_axis_sets_again_is_not_reported_dropped(tmp_path, configs_dir):
    plan = load_plan(str(configs_dir / "amsgrad.yaml"), ("algorithm.name=adam", "algorithm.variant=optax"))
    assert (plan.base.algorithm.name, plan.base.algorithm.variant) == ("adam", "optax")
    assert all("drops algorithm.variant" not in n for n in plan.notes)
    plan = load_plan(
        str(configs_dir / "amsgrad.yaml"),
        (),
        ("algorithm.name=adam,amsgrad", "algorithm.variant=optax,torch"),
    )
    assert {(m.algorithm.name, m.algorithm.variant) for m in plan.members} == {
        ("adam", "optax"),
        ("adam", "torch"),
        ("amsgrad", "optax"),
        ("amsgrad", "torch"),
    }
    assert all("drops algorithm.variant" not in n for n in plan.notes)


def test_dry_run_names_the_drops_and_each_members_variant(tmp_path, configs_dir):
    res = invoke("run", configs_dir / "amsgrad.yaml", "--sweep", "algorithm.name=amsgrad,adam", "--dry-run")
    assert res.exit_code == 0, res.output
    out = res.stdout.splitlines()
    assert out[1].startswith(
        "note: --sweep 'algorithm.name=amsgrad,adam' (algorithm.name='adam') drops algorithm.variant=tutorial"
    )
    assert "  member 0: algorithm.name=amsgrad [amsgrad (tutorial)]" in out
    assert "  member 1: algorithm.name=adam [adam (torch)]" in out


def test_algorithms_list_names_each_default_variant():
    res = invoke("algorithms")
    assert res.exit_code == 0
    rows = {line.split()[0]: line.split()[1] for line in res.stdout.splitlines()[1:12]}
    assert rows["amsgrad"] == "tutorial" and rows["adam"] == "torch" and rows["gd"] == "standard"
    assert "pin one (torch, optax) to compare like with like" in res.stdout


# ------------------------------------------------------------------------------ item 7: a mapping IS the section


def test_a_mapping_override_replaces_the_section(tmp_path, configs_dir):
    path = str(configs_dir / "rosenbrock.yaml")  # amsgrad with alpha, beta1, beta2, beta1_schedule: constant
    cfg = load_config(path, ["algorithm={name: amsgrad, variant: torch, alpha: 0.02}"])
    assert (cfg.algorithm.name, cfg.algorithm.variant) == ("amsgrad", "torch")
    assert cfg.algorithm.params == {
        "alpha": 0.02,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-8,
        "weight_decay": 0.0,
    }
    cfg = load_config(path, ["objective={name: sphere}"])
    assert (cfg.objective.name, cfg.dim) == ("sphere", 2)
    # a plain name still swaps, keeping what the new algorithm accepts
    cfg = load_config(path, ["algorithm=adam"])
    assert cfg.algorithm.params["alpha"] == 0.05


def test_make_readme_images_runs_end_to_end(tmp_path, repo_root, optrun_bin):
    pytest.importorskip("matplotlib")
    images = repo_root / "docs" / "images"
    before = {p.name: p.stat().st_mtime_ns for p in images.glob("*.png")} if images.exists() else {}
    env = {
        **os.environ,
        "OPTRUN": optrun_bin,
        "OUT_DIR": str(tmp_path / "img"),
        "OPTRUN_RUNS_DIR": str(tmp_path / "runs"),
        "MPLBACKEND": "Agg",
    }
    res = subprocess.run(
        ["bash", str(repo_root / "tools" / "make_readme_images.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    for name in ("amsgrad-contour.png", "convergence.png"):
        data = (tmp_path / "img" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    after = {p.name: p.stat().st_mtime_ns for p in images.glob("*.png")} if images.exists() else {}
    assert after == before  # docs/images untouched
    assert not (tmp_path / "runs").exists()  # the script's runs go to its own temporary folder


# ------------------------------------------------------------------------------ item 16: conflicts refused


def test_an_override_of_a_swept_key_is_refused(tmp_path, configs_dir):
    res = invoke("run", configs_dir / "amsgrad.yaml", "seed=3", "--sweep", "seed=0:4", "--dry-run")
    one_line_error(res, "override 'seed=3'", "--sweep 'seed=0:4'", "give one of the two")
    res = invoke(
        "run",
        configs_dir / "amsgrad.yaml",
        "algorithm.alpha=0.1",
        "--sweep",
        "algorithm=[gd, {name: adam}]",
        "--dry-run",
    )
    assert res.exit_code == 2  # a whole-section axis would replace it
    sweep = write(tmp_path, (configs_dir / "amsgrad.yaml").read_text() + "sweep: {seed: [0, 1]}\n")
    res = invoke("run", sweep, "seed=5", "--dry-run")
    one_line_error(res, "override 'seed=5'", "the config's sweep block", "--sweep seed=VALUES")
    # an override next to an axis on another key, or a name axis, is fine
    res = invoke(
        "run",
        configs_dir / "amsgrad.yaml",
        "algorithm.alpha=0.1",
        "--sweep",
        "algorithm.name=adam,gd",
        "--sweep",
        "seed=0:2",
        "--dry-run",
    )
    assert res.exit_code == 0, res.output
    assert {m.algorithm.params["alpha"] for m in load_plan(str(sweep), ["algorithm.alpha=0.1"]).members} == {
        0.1
    }


def test_verbose_with_quiet_is_refused(tmp_path, configs_dir):
    res = invoke("run", configs_dir / "amsgrad.yaml", "-v", "-q", "--runs-dir", tmp_path / "runs")
    assert res.exit_code == 2 and "--verbose and --quiet" in res.output
    assert not (tmp_path / "runs").exists()


YAML11 = [
    ("yes", "write true"),
    ("no", "write false"),
    ("On", "write true"),
    ("off", "write false"),
    ("1_000", "write 1000"),
    ("010", "write 10, or 0o10 for octal"),
    ("1:20", "write the number (80)"),
    ("0b101", "write 5"),
]


@pytest.mark.parametrize("text, fix", YAML11, ids=[t for t, _ in YAML11])
def test_yaml_1_1_only_values_are_refused_in_files_overrides_and_sweeps(tmp_path, text, fix):
    path = write(tmp_path, ADAM_TORCH + f"seed: {text}\n")
    with pytest.raises(ConfigError) as e:
        load_config(str(path))
    assert e.value.line == 6 and fix in str(e.value) and "YAML 1.1" in str(e.value)
    res = invoke("run", write(tmp_path, ADAM_TORCH, "ok.yaml"), f"seed={text}", "--dry-run")
    one_line_error(res, f"override 'seed={text}'", fix)
    res = invoke("run", write(tmp_path, ADAM_TORCH, "ok.yaml"), "--sweep", f"seed=1,{text}", "--dry-run")
    one_line_error(res, f"--sweep 'seed=1,{text}'", fix)


def test_yaml_1_2_numbers_and_quoted_text_are_read_as_yaml_1_2_says(tmp_path):
    path = write(tmp_path, ADAM_TORCH.replace("iterations: 10", "iterations: 0x10") + "seed: 0o17\n")
    cfg = load_config(str(path), ["algorithm.alpha=1e-3", "trace.every=007"])
    assert (cfg.iterations, cfg.seed, cfg.algorithm.params["alpha"], cfg.trace.every) == (16, 15, 1e-3, 7)
    cfg = load_config(str(path), ["name='yes'", "objective.shift=true", "stop.f_target=-1.5e-3"])
    assert cfg.name == "yes" and cfg.objective.params["shift"] is True and cfg.stop.f_target == -1.5e-3


# ------------------------------------------------------------------------------ item 14: messages


@pytest.mark.parametrize(
    "spec",
    [
        "seed",
        "seed=0:",
        "seed=0.5:3",
        "algorithm.alpha=logspace(1,2)",
        "algorithm.alpha=geomspace(1,2,3)",
        "seed=range(0,x)",
    ],
)
def test_sweep_option_errors_name_the_option_and_list_the_forms(configs_dir, spec):
    res = invoke("run", configs_dir / "amsgrad.yaml", "--sweep", spec, "--dry-run")
    err = one_line_error(res, f"--sweep '{spec}'")
    assert "amsgrad.yaml" not in err
    if spec != "seed=range(0,x)":
        assert "KEY=a,b,c, KEY=START:STOP[:STEP], KEY=range(" in err and "logspace(a,b,n)" in err


def test_a_bad_sweep_value_is_blamed_on_the_option_not_the_file(configs_dir):
    res = invoke("run", configs_dir / "amsgrad.yaml", "--sweep", "algorithm.alpha=abc,0.1", "--dry-run")
    err = one_line_error(res, "--sweep 'algorithm.alpha=abc,0.1'", "must be a number")
    assert "amsgrad.yaml" not in err
    res = invoke("run", configs_dir / "amsgrad.yaml", "--sweep", "algorithm.alpha=[1,", "--dry-run")
    err = one_line_error(res, "invalid YAML")
    assert err.startswith("Error: --sweep 'algorithm.alpha=[1,': invalid YAML")  # no ':1' of a line


@pytest.mark.parametrize(
    "args, hint",
    [
        (["algorithm.alpha", "0.1"], "write algorithm.alpha=VALUE"),
        (["iterations:500"], "write iterations=500"),
        (["seed"], "write seed=VALUE"),
    ],
)
def test_an_override_missing_its_equals_sign_is_named(configs_dir, run_optrun, args, hint):
    res = run_optrun("run", configs_dir / "amsgrad.yaml", *args)
    assert res.returncode == 2 and len(res.stderr.splitlines()) == 1, res.stderr
    assert "looks like an override missing '='" in res.stderr and hint in res.stderr
    assert "no such file" not in res.stderr


def test_a_missing_config_file_is_still_no_such_file(tmp_path):
    res = invoke("run", tmp_path / "nothere.yaml")
    one_line_error(res, "nothere.yaml: no such file")


@pytest.mark.parametrize(
    "text, want",
    [
        (
            "objective: sphere\nalgorithm: {name: adam\niterations: 5\n",
            "c.yaml:3: invalid YAML: expected ',' or '}'",
        ),
        (
            "objective: sphere\nalgorithm: adam\n---\nx: 1\n",
            "c.yaml:3: invalid YAML: expected a single document in the stream, but found another document",
        ),
        ("objective: sphere\nalgorithm: adam\nseed: !!int x\n", "c.yaml: invalid YAML: a value tagged !!int"),
    ],
)
def test_a_yaml_error_names_its_place_once(tmp_path, text, want):
    res = invoke("run", write(tmp_path, text), "--dry-run")
    err = one_line_error(res, want)
    assert err.count("c.yaml") == 1 and "line" not in err
    res = invoke("run", write(tmp_path, ADAM_TORCH, "ok.yaml"), "algorithm={name: adam", "--dry-run")
    err = one_line_error(res, "override 'algorithm={name: adam': invalid YAML")
    assert err.count("override") == 1 and ":1" not in err


# ------------------------------------------------------------------------------ item 13: refused at validation


@pytest.mark.parametrize(
    "expect, key, words",
    [
        ("{f_final_max: -0.5}", "expect.f_final_max", "below the objective's minimum f* = 0"),
        ("{f_best_max: -1.0e-9}", "expect.f_best_max", "below the objective's minimum f* = 0"),
    ],
)
def test_an_expect_that_can_never_pass_is_refused(tmp_path, expect, key, words):
    path = write(tmp_path, ADAM_TORCH + f"expect: {expect}\n")
    res = invoke("run", path, "--runs-dir", tmp_path / "runs")
    one_line_error(res, f"c.yaml:6: {key}: can never pass", words)
    assert not (tmp_path / "runs").exists()
    # at f* itself it can pass
    load_config(str(path), [f"{key}=0.0"])


def test_an_expect_on_an_unknown_minimum_is_refused(tmp_path):
    user = "objective: {expression: 'x0**2 + x1**2'}\nbounds: [-1.0, 1.0]\nalgorithm: gd\n"
    for rule, need in (("f_gap_max", "give objective.f_min"), ("distance_max", "give objective.minima")):
        res = invoke("run", write(tmp_path, user + f"expect: {{{rule}: 0.1}}\n"), "--dry-run")
        one_line_error(res, f"expect.{rule}: can never pass", need)
    load_config(
        str(
            write(
                tmp_path,
                user.replace("'}", "', f_min: 0.0, minima: [[0.0, 0.0]]}")
                + "expect: {f_gap_max: 0.1, distance_max: 0.1}\n",
            )
        )
    )


def test_bounds_whose_width_overflows_are_refused(tmp_path):
    res = invoke(
        "run",
        write(tmp_path, ADAM_TORCH.replace("[-1.0, 1.0]", "[-1.0e308, 1.0e308]")),
        "--runs-dir",
        tmp_path / "runs",
    )
    one_line_error(res, "c.yaml:3: bounds: the width", "overflows")
    assert not (tmp_path / "runs").exists()
    res = invoke("run", write(tmp_path, ADAM_TORCH), "bounds=[[0.0, 1.0], [-1.0e308, 1.0e308]]", "--dry-run")
    assert res.exit_code == 2 and "bounds.1" in res.stderr
    load_config(str(write(tmp_path, ADAM_TORCH)), ["bounds=[-8.0e307, 8.0e307]"])  # wide but finite


# ------------------------------------------------------------------------------ --dry-run and stdin


def test_dry_run_of_one_run_prints_the_resolved_config_that_reruns_it(tmp_path, configs_dir):
    res = invoke(
        "run",
        configs_dir / "amsgrad.yaml",
        "algorithm.alpha=0.01",
        "--dry-run",
        "--runs-dir",
        tmp_path / "runs",
    )
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith(f"# {configs_dir / 'amsgrad.yaml'}: one run: amsgrad (tutorial) on sphere")
    data = yaml.safe_load(res.stdout)
    cfg = load_config(str(configs_dir / "amsgrad.yaml"), ["algorithm.alpha=0.01"])
    assert data == cfg.to_dict() and not (tmp_path / "runs").exists()
    # and it reads back through stdin as the same config
    res2 = invoke("run", "-", "--dry-run", input=res.stdout)
    assert res2.exit_code == 0 and yaml.safe_load(res2.stdout) == data
    assert res2.stdout.startswith("# <stdin>: one run:")


def test_run_reads_the_config_from_stdin(tmp_path, configs_dir, run_optrun, runs_dir):
    text = (configs_dir / "amsgrad.yaml").read_text()
    res = subprocess.run(
        [shutil.which("optrun") or "optrun", "run", "-", "iterations=5", "--runs-dir", str(runs_dir)],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("completed: amsgrad-tutorial")
    (run,) = runs_dir.iterdir()
    assert yaml.safe_load((run / "config.yaml").read_text())["iterations"] == 5
    res = invoke("run", "-", "--dry-run", input="objective: sphere\nalgorithm: {name: adam, alpah: 1}\n")
    one_line_error(res, "<stdin>:2: algorithm.alpah: unknown key")
    res = invoke("run", "-", "-", input="")
    assert res.exit_code == 2 and "once" in res.output


@pytest.mark.parametrize("name", ["0o17", "1e5", "yes", "1_000"])
def test_a_written_config_reads_back_with_the_yaml_1_2_rules(tmp_path, name):
    from optrun.config import parse_yaml

    cfg = load_config(str(write(tmp_path, ADAM_TORCH)), [f"name='{name}'"])
    data, _ = parse_yaml(cfg.to_yaml(), "config.yaml")
    assert data == cfg.to_dict() and data["name"] == name


def test_a_broken_member_selector_names_its_sweep_once(tmp_path):
    cfg = write(tmp_path, ADAM_TORCH + "sweep: {seed: [0, 1]}\n")
    assert invoke("run", cfg, "--runs-dir", tmp_path / "runs", "-q", "--workers", "1").exit_code == 0
    res = invoke("show", "--runs-dir", tmp_path / "runs", "last:seed=[1,")
    err = one_line_error(res, "invalid YAML")
    (folder,) = (tmp_path / "runs").iterdir()
    assert err.count(folder.name) == 1 and ":1:" not in err


def test_a_sweep_folder_config_remakes_members_of_swapped_sections_bit_for_bit(tmp_path):
    """The sweep folder's config.yaml keeps a swapped section as given: resolved, it pinned the
    base objective's bounds and dimension (and the base algorithm's defaults) on every other one,
    so running it again or resuming gave other numbers for the swapped members."""
    import json

    from optrun.store.select import load_sweep

    cfg = tmp_path / "raw.yaml"
    cfg.write_text("objective: rosenbrock\nalgorithm: amsgrad\niterations: 200\n")
    runs = tmp_path / "runs"
    args = [
        "--sweep",
        "algorithm.name=amsgrad,adam,momentum",
        "--sweep",
        "objective.name=rosenbrock,sphere,rastrigin",
    ]
    r = CliRunner().invoke(cli, ["run", str(cfg), *args, "--runs-dir", str(runs), "-q"])
    assert r.exit_code == 0, r.output
    (first,) = list(runs.iterdir())
    plan = load_plan(str(cfg), (), args[1::2])
    again = load_plan(str(first / "config.yaml"))
    assert [m.to_dict() for m in again.members] == [m.to_dict() for m in plan.members]
    assert [load_sweep(str(first)).member_config(i) for i in range(9)] == [m.to_dict() for m in plan.members]
    r = CliRunner().invoke(cli, ["run", str(first / "config.yaml"), "--runs-dir", str(runs), "-q"])
    assert r.exit_code == 0, r.output
    (second,) = [p for p in runs.iterdir() if p != first]
    rows = [json.loads((p / "summary.json").read_text())["rows"] for p in (first, second)]
    assert [r["final_f"] for r in rows[0]] == [r["final_f"] for r in rows[1]]
    assert len({r["final_f"] for r in rows[0]}) == 9


def test_quiet_still_names_what_a_swap_drops(configs_dir):
    """CI runs with -q: a swap that drops the pinned variant must still say so."""
    res = invoke("run", configs_dir / "amsgrad.yaml", "algorithm.name=adam", "-q", "--dry-run")
    assert res.exit_code == 0, res.output
    notes = [line for line in res.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "drops algorithm.variant=tutorial" in notes[0]


def test_a_section_mapping_after_a_key_of_it_is_refused(configs_dir):
    """algorithm.alpha=0.3 then algorithm={name: adam}: the mapping replaces the section, so the
    alpha would be lost without a word; refused. The other order sets alpha in the new mapping."""
    res = invoke(
        "run", configs_dir / "amsgrad.yaml", "algorithm.alpha=0.3", "algorithm={name: adam}", "--dry-run"
    )
    assert (
        res.exit_code == 2 and "replaces the whole section that override 'algorithm.alpha=0.3'" in res.stderr
    )
    res = invoke(
        "run", configs_dir / "amsgrad.yaml", "algorithm={name: adam}", "algorithm.alpha=0.3", "--dry-run"
    )
    assert res.exit_code == 0, res.output
    assert yaml.safe_load(res.stdout)["algorithm"]["alpha"] == 0.3


def test_a_section_mapping_override_is_a_base_for_an_axis_over_its_name(configs_dir):
    """algorithm={name: adam, variant: torch} beside --sweep algorithm.name=adam,amsgrad: the mapping
    is the base (as in a config file) and every member keeps variant torch; a bare name is refused."""
    res = invoke(
        "run",
        configs_dir / "amsgrad.yaml",
        "algorithm={name: adam, variant: torch}",
        "--sweep",
        "algorithm.name=adam,amsgrad",
        "--dry-run",
    )
    assert res.exit_code == 0, res.output
    assert "[adam (torch)]" in res.stdout and "[amsgrad (torch)]" in res.stdout
    res = invoke(
        "run",
        configs_dir / "amsgrad.yaml",
        "algorithm=adam",
        "--sweep",
        "algorithm.name=adam,amsgrad",
        "--dry-run",
    )
    assert res.exit_code == 2 and "is also set by the sweep axis algorithm.name" in res.stderr
