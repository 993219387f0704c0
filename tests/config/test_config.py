"""Config validation: unit tests of the resolved config, and a corpus of broken configs and overrides.

Every corpus case goes through the real CLI (``CliRunner``; a subset also through a subprocess of
the installed ``optrun``) and must be refused with exit 2, exactly one line on stderr naming the
file (or the override), the key path and the line where known, no traceback, and no run folder.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from optrun.cli import cli
from optrun.config import load_config, parse_override, validate
from optrun.errors import ConfigError

GOOD = "objective: sphere\nalgorithm: gd\niterations: 3\n"


def write(tmp_path: Path, text: str | bytes, name: str = "c.yaml") -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    return p


# ------------------------------------------------------------------------------ resolution


def test_minimal_config_gets_every_default(tmp_path):
    c = load_config(str(write(tmp_path, "objective: sphere\nalgorithm: amsgrad\n")))
    assert c.name == "amsgrad-sphere"
    assert (c.dim, c.iterations, c.seed, c.rng, c.start) == (2, 100, 0, "generator", "random")
    assert c.bounds == ((-1.0, 1.0), (-1.0, 1.0))
    assert c.algorithm.variant == "tutorial"
    assert c.algorithm.params == {
        "alpha": 0.001,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-8,
        "beta1_schedule": "power",
    }
    assert (c.stop.f_target, c.stop.grad_norm) == (None, None)
    assert c.expect.active() == {}
    assert (c.trace.every, c.trace.x) == (1, "auto")


def test_resolved_dict_validates_to_the_same_config(tmp_path):
    c = load_config(str(write(tmp_path, GOOD + "bounds: [-2, 3]\nstop: {f_target: 1.0e-9}\n")))
    again = validate(c.to_dict(), "resolved")
    assert again.to_dict() == c.to_dict()


@pytest.mark.parametrize(
    "text, dim, bounds",
    [
        ("bounds: [-2, 3]\n", 2, ((-2.0, 3.0),) * 2),  # one pair for every dimension
        ("objective: {name: sphere, dim: 4}\nbounds: [-2, 3]\n", 4, ((-2.0, 3.0),) * 4),
        ("bounds: [[0, 1], [1, 2], [2, 3]]\n", 3, ((0.0, 1.0), (1.0, 2.0), (2.0, 3.0))),  # d from bounds
        ("start: [0.1, 0.2, 0.3, 0.4, 0.5]\n", 5, ((-1.0, 1.0),) * 5),  # d from the start point
    ],
)
def test_dimension_and_bounds_resolution(tmp_path, text, dim, bounds):
    base = "algorithm: gd\n" + ("" if text.startswith("objective") else "objective: sphere\n")
    c = load_config(str(write(tmp_path, base + text)))
    assert c.dim == dim and c.bounds == bounds


@pytest.mark.parametrize(
    "text",
    [
        "objective: {name: sphere, dim: 5}\n",  # the objective's default box
        "objective: six-hump-camel\n",  # a box with different pairs
        "objective: {name: sphere, dim: 5}\nbounds: [-2, 3]\n",  # one pair for all
        "bounds: [[0, 1], [1, 2], [2, 3]]\nobjective: sphere\n",  # a pair each
        "bounds: [[0, 1], [0, 1], [0, 1.5]]\nobjective: sphere\n",
    ],
)
def test_bounds_array_is_the_pairs_as_an_array(tmp_path, text):
    import numpy as np

    from optrun.config import uniform_bounds
    from optrun.objectives import get_objective
    from optrun.problem import bounds_array

    c = load_config(str(write(tmp_path, "algorithm: gd\n" + text)))
    b = bounds_array(c.bounds)
    assert b.dtype == np.float64 and b.shape == (c.dim, 2)
    assert b.tolist() == [list(p) for p in c.bounds]
    assert uniform_bounds(c.bounds) == (len(set(c.bounds)) == 1)
    if "bounds" not in text:  # the objective's own box, value for value
        assert b.tolist() == get_objective(c.objective.name).bounds(c.dim).tolist()


def test_a_million_default_bounds_share_one_pair(tmp_path):
    c = load_config(str(write(tmp_path, "objective: {name: rastrigin, dim: 1000000}\nalgorithm: gd\n")))
    assert len(c.bounds) == 10**6 and c.bounds[0] == (-5.12, 5.12)
    assert all(p is c.bounds[0] for p in c.bounds)  # no million tuples: see bounds_array
    assert c.to_dict()["bounds"] == [-5.12, 5.12]


def test_overrides_are_typed_by_yaml(tmp_path):
    p = write(tmp_path, GOOD)
    c = load_config(
        str(p),
        [
            "seed=3",
            "algorithm.alpha=1e-3",
            "start=[0.5, -0.25]",
            "rng=legacy",
            "stop.f_target=null",
            "stop.grad_norm=1.0e-6",
            "iterations=1e2",
            "name=my-run.v2",
        ],
    )
    assert c.seed == 3 and isinstance(c.seed, int)
    assert c.algorithm.params["alpha"] == 0.001
    assert c.start == (0.5, -0.25)
    assert (c.rng, c.iterations, c.name) == ("legacy", 100, "my-run.v2")
    assert (c.stop.f_target, c.stop.grad_norm) == (None, 1e-6)


def test_yaml_floats_without_a_dot_are_numbers_in_files(tmp_path):
    """YAML 1.2 reads 1e-3 as a number (PyYAML's YAML 1.1 alone would read the string '1e-3')."""
    c = load_config(
        str(
            write(
                tmp_path,
                "objective: sphere\nalgorithm: {name: adagrad, eps: 1e-10, "
                "alpha: 5E-2}\nstop: {f_target: .5e-3}\n",
            )
        )
    )
    assert c.algorithm.params == {"alpha": 0.05, "eps": 1e-10}
    assert c.stop.f_target == 0.0005
    assert parse_override("name=1e3x") == (["name"], "1e3x")  # not a number: stays a string


def test_override_into_string_shorthand_and_list_index(tmp_path):
    p = write(tmp_path, GOOD + "bounds: [[-1, 1], [-1, 1]]\n")
    c = load_config(str(p), ["objective.dim=2", "bounds.1=[0, 4]", "algorithm.alpha=0.5"])
    assert c.bounds == ((-1.0, 1.0), (0.0, 4.0))
    assert c.algorithm.name == "gd" and c.algorithm.params["alpha"] == 0.5
    assert load_config(str(p)).bounds == ((-1.0, 1.0), (-1.0, 1.0))  # the file is untouched


def test_override_into_nested_list(tmp_path):
    p = write(tmp_path, GOOD + "bounds: [[-1, 1], [-1, 1]]\n")
    c = load_config(str(p), ["bounds.0.0=-2", "bounds.1.1=3"])
    assert c.bounds == ((-2.0, 1.0), (-1.0, 3.0))
    c = load_config(str(write(tmp_path, GOOD + "start: [0.1, 0.2]\n", "s.yaml")), ["start.1=0.5"])
    assert c.start == (0.1, 0.5)


@pytest.mark.parametrize("section", ["stop", "expect", "trace"])
@pytest.mark.parametrize("value", ["[]", "0", "false", "''"])
def test_falsy_non_mapping_sections_are_refused(tmp_path, section, value):
    with pytest.raises(ConfigError, match=f"{section}: must be a mapping"):
        load_config(str(write(tmp_path, GOOD + f"{section}: {value}\n")))
    assert load_config(str(write(tmp_path, GOOD + f"{section}: null\n", "n.yaml"))).iterations == 3


def test_aliases_and_variants_resolve_to_canonical_names(tmp_path):
    c = load_config(str(write(tmp_path, "objective: sphere\nalgorithm: {name: sgd, variant: torch}\n")))
    assert (c.algorithm.name, c.algorithm.variant) == ("gd", "standard")


def test_error_carries_file_key_path_and_line(tmp_path):
    p = write(tmp_path, "objective: sphere\n\nalgorithm:\n  name: amsgrad\n  beta2: 1.5\n")
    with pytest.raises(ConfigError) as e:
        load_config(str(p))
    assert (e.value.source, e.value.path, e.value.line) == (str(p), "algorithm.beta2", 5)
    assert str(e.value) == f"{p}:5: algorithm.beta2: must be in [0, 1), not 1.5"


def test_error_in_an_override_names_the_override(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(str(write(tmp_path, GOOD)), ["algorithm.alpha=-1"])
    assert e.value.source == "override 'algorithm.alpha=-1'" and e.value.line is None
    assert e.value.path == "algorithm.alpha"


def test_shipped_configs_are_valid(configs_dir):
    for p in sorted(configs_dir.glob("*.yaml")):
        if p.name != "mnist-logistic.yaml":  # needs the user's MNIST (tests/objectives/test_datasets.py)
            assert load_config(str(p)).source == str(p)


# ------------------------------------------------------------------------------ the corpus


def _bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


B = GOOD
# id -> (file content or a special marker, overrides, fragments the one error line must contain)
# "{file}" stands for the config's path; a ":N" fragment is the line number after the file name.
CORPUS: dict[str, tuple[str | bytes, list[str], list[str]]] = {
    "broken-yaml": ("objective: [sphere\nalgorithm: gd\n", [], ["{file}:2:", "invalid YAML"]),
    "tab-indent": ("objective: sphere\nalgorithm:\n\tname: gd\n", [], ["{file}:3:", "invalid YAML", "'\\t'"]),
    "unknown-top-key": (B + "iteratons: 5\n", [], ["{file}:4:", "iteratons", "did you mean 'iterations'"]),
    "unknown-nested-key": (
        "objective: sphere\nalgorithm: {name: gd, alpah: 0.1}\n",
        [],
        ["{file}:2:", "algorithm.alpah", "did you mean 'alpha'"],
    ),
    "unknown-stop-key": (
        B + "stop:\n  gradnorm: 1.0e-3\n",
        [],
        ["{file}:5:", "stop.gradnorm", "did you mean 'grad_norm'"],
    ),
    "wrong-type-seed": (B + "seed: abc\n", [], ["{file}:4:", "seed", "whole number", "'abc'"]),
    "wrong-type-bounds": (B + "bounds: 3\n", [], ["{file}:4:", "bounds", "[low, high]"]),
    "wrong-type-objective": (
        "objective: [sphere]\nalgorithm: gd\n",
        [],
        ["{file}:1:", "objective", "a name or a mapping"],
    ),
    "bounds-lo-gt-hi": (
        B + "bounds: [[1, -1], [-1, 1]]\n",
        [],
        ["{file}:4:", "bounds.0", "impossible bounds"],
    ),
    "bounds-lo-eq-hi": (
        B + "bounds: [[-1, 1], [0.5, 0.5]]\n",
        [],
        ["{file}:4:", "bounds.1", "impossible bounds"],
    ),
    "bounds-dim-mismatch": (
        "objective: {name: sphere, dim: 3}\nalgorithm: gd\nbounds: [[-1, 1], [-1, 1]]\n",
        [],
        ["{file}:3:", "bounds", "2 pairs", "dimension 3"],
    ),
    "bounds-infinite": (B + "bounds: [[-.inf, 1], [-1, 1]]\n", [], ["{file}:4:", "bounds.0", "finite"]),
    "start-length-mismatch": (
        B + "bounds: [[-1, 1], [-1, 1]]\nstart: [0.1, 0.2, 0.3]\n",
        [],
        ["{file}:5:", "start", "3 coordinates", "dimension 2"],
    ),
    "start-not-random": (B + "start: origin\n", [], ["{file}:4:", "start", "'random'"]),
    "negative-iterations": (
        "objective: sphere\nalgorithm: gd\niterations: -1\n",
        [],
        ["{file}:3:", "iterations", "-1"],
    ),
    "fractional-iterations": (
        "objective: sphere\nalgorithm: gd\niterations: 2.5\n",
        [],
        ["{file}:3:", "iterations", "whole number"],
    ),
    "bool-where-number": (
        "objective: sphere\nalgorithm: {name: gd, alpha: true}\n",
        [],
        ["{file}:2:", "algorithm.alpha", "true"],
    ),
    "bool-iterations": (
        "objective: sphere\nalgorithm: gd\niterations: yes\n",
        [],
        ["{file}:3:", "iterations", "true"],
    ),
    "nan-alpha": (
        "objective: sphere\nalgorithm: {name: gd, alpha: .nan}\n",
        [],
        ["{file}:2:", "algorithm.alpha", "finite"],
    ),
    "nan-start": (B + "start: [.nan, 0.0]\n", [], ["{file}:4:", "start.0", "finite"]),
    "zero-alpha": (
        "objective: sphere\nalgorithm: {name: adagrad, alpha: 0}\n",
        [],
        ["{file}:2:", "algorithm.alpha", "(0, inf)"],
    ),
    "beta-out-of-range": (
        "objective: sphere\nalgorithm: {name: amsgrad, beta1: 1.0}\n",
        [],
        ["{file}:2:", "algorithm.beta1", "[0, 1)"],
    ),
    "bad-schedule": (
        "objective: sphere\nalgorithm: {name: amsgrad, beta1_schedule: linear}\n",
        [],
        ["{file}:2:", "algorithm.beta1_schedule", "power, inverse, constant"],
    ),
    "python-object-tag": (
        "objective: !!python/object:os.system {}\nalgorithm: gd\n",
        [],
        ["{file}:1:", "python/object", "tags are refused"],
    ),
    "python-name-tag": (
        "objective: sphere\nalgorithm: !!python/name:os.system\n",
        [],
        ["{file}:2:", "python/name", "tags are refused"],
    ),
    "alias-bomb": (_bomb(), [], ["{file}", "too many YAML nodes"]),
    "empty-file": ("", [], ["{file}: ", "empty"]),
    "comment-only-file": ("# nothing here\n", [], ["{file}: ", "empty"]),
    "list-at-top": ("- objective: sphere\n- algorithm: gd\n", [], ["{file}: ", "mapping", "list"]),
    "scalar-at-top": ("sphere\n", [], ["{file}: ", "mapping", "string"]),
    "two-documents": (B + "---\nseed: 1\n", [], ["{file}:4:", "invalid YAML"]),
    "duplicate-key": (
        "objective: sphere\nalgorithm: gd\nseed: 1\nseed: 2\n",
        [],
        ["{file}:4:", "seed", "duplicate key"],
    ),
    "non-string-key": (B + "1: 2\n", [], ["{file}:4:", "key 1 is not a string"]),
    "missing-objective": ("algorithm: gd\n", [], ["{file}", "objective", "required"]),
    "null-algorithm": ("objective: sphere\nalgorithm:\n", [], ["{file}:2:", "algorithm", "required"]),
    "unknown-algorithm": (
        "objective: sphere\nalgorithm: adagard\n",
        [],
        ["{file}:2:", "algorithm.name", "'adagard'", "did you mean 'adagrad'"],
    ),
    "unknown-objective": (
        "objective: spher\nalgorithm: gd\n",
        [],
        ["{file}:1:", "objective.name", "did you mean 'sphere'"],
    ),
    "bad-variant": (
        "objective: sphere\nalgorithm: {name: adagrad, variant: keras}\n",
        [],
        ["{file}:2:", "algorithm.variant", "keras", "tutorial"],
    ),
    "bad-rng": (B + "rng: mt19937\n", [], ["{file}:4:", "rng", "generator, legacy"]),
    "bad-expect-status": (B + "expect: {status: done}\n", [], ["{file}:4:", "expect.status"]),
    "bad-trace-every": (B + "trace: {every: 0}\n", [], ["{file}:4:", "trace.every"]),
    "seed-too-large": (B + "seed: 4294967296\n", [], ["{file}:4:", "seed", "4294967295"]),
    "name-path-traversal": (B + "name: ../../x\n", [], ["{file}:4:", "name", "'../../x'"]),
    "name-with-nul": (B + 'name: "a\\0b"\n', [], ["{file}:4:", "name", "\\x00"]),
    "name-too-long": (B + "name: " + "a" * 300 + "\n", [], ["{file}:4:", "name", "1-64", "(300 characters)"]),
    "nul-byte-in-file": (b"objective: sphere\x00\nalgorithm: gd\n", [], ["{file}: ", "NUL byte"]),
    "not-utf8": (b"objective: sph\xe9re\nalgorithm: gd\n", [], ["{file}: ", "UTF-8"]),
    "missing-file": ("<missing>", [], ["{file}: ", "no such file"]),
    "folder-not-file": ("<folder>", [], ["{file}: ", "folder"]),
    "override-no-key": (B, ["=3"], ["override '=3'", "KEY=VALUE"]),
    "override-empty-part": (B, ["a..b=1"], ["override 'a..b=1'", "dotted key"]),
    "override-into-scalar": (
        B,
        ["iterations.x=1"],
        ["override 'iterations.x=1'", "an integer", "no key 'x'"],
    ),
    "override-unknown-key": (B, ["iteration=5"], ["override 'iteration=5'", "did you mean 'iterations'"]),
    "override-unknown-nested": (
        B,
        ["algorithm.alph=1"],
        ["override 'algorithm.alph=1'", "algorithm.alph", "did you mean 'alpha'"],
    ),
    "override-bad-yaml": (B, ["algorithm.alpha=[1"], ["override 'algorithm.alpha=[1': invalid YAML"]),
    "override-bad-value": (B, ["seed=-1"], ["override 'seed=-1'", "seed", "-1"]),
    "override-python-tag": (B, ["seed=!!python/object/apply:os.getpid []"], ["override", "tags are refused"]),
    "override-index-past-end": (
        B + "bounds: [[-1, 1], [-1, 1]]\n",
        ["bounds.5=[0, 1]"],
        ["override 'bounds.5=[0, 1]'", "past the end"],
    ),
    "override-nested-index-past-end": (
        B + "bounds: [[-1, 1], [-1, 1]]\n",
        ["bounds.2.0=1"],
        ["override 'bounds.2.0=1'", "index 2 is past the end"],
    ),
    "stop-is-a-list": (B + "stop: []\n", [], ["{file}:4:", "stop", "mapping"]),
    "override-index-into-missing": (
        B,
        ["bounds.0=[0, 1]"],
        ["{file} with override 'bounds.0=[0, 1]'", "bounds"],
    ),
}


def _materialize(tmp_path: Path, content) -> Path:
    if content == "<missing>":
        return tmp_path / "nope.yaml"
    if content == "<folder>":
        (tmp_path / "cfgdir").mkdir()
        return tmp_path / "cfgdir"
    return write(tmp_path, content)


def _check_refusal(code: int, stdout: str, stderr: str, fragments: list[str], path: Path, runs: Path):
    assert code == 2, (stdout, stderr)
    assert "Traceback" not in stderr + stdout
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    line = lines[0]
    assert len(line) < 300, line  # one readable line, not a dump of the input
    for frag in fragments:
        assert frag.replace("{file}", str(path)) in line, line
    assert stdout == ""
    assert not runs.exists()  # validation comes before the runs folder is even created


@pytest.mark.parametrize("case", list(CORPUS))
def test_broken_config_refused_by_cli(case, tmp_path, runs_dir):
    content, overrides, fragments = CORPUS[case]
    path = _materialize(tmp_path, content)
    res = CliRunner().invoke(cli, ["run", str(path), *overrides, "--runs-dir", str(runs_dir)])
    assert not isinstance(res.exception, Exception), res.exception  # SystemExit is no Exception
    _check_refusal(res.exit_code, res.stdout, res.stderr, fragments, path, runs_dir)


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 25
    assert sum(bool(ov) for _, ov, _ in CORPUS.values()) >= 8


SUBPROCESS_CASES = [
    "broken-yaml",
    "python-object-tag",
    "alias-bomb",
    "missing-file",
    "override-unknown-nested",
    "name-path-traversal",
]


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_broken_config_refused_by_installed_optrun(case, tmp_path, runs_dir, run_optrun):
    content, overrides, fragments = CORPUS[case]
    path = _materialize(tmp_path, content)
    # the timeout only guards against a hang (an expanded alias bomb would never finish)
    p = run_optrun("run", str(path), *overrides, timeout=30)
    _check_refusal(p.returncode, p.stdout, p.stderr, fragments, path, runs_dir)


def test_every_config_is_validated_before_any_run(tmp_path, runs_dir):
    good = write(tmp_path, GOOD, "good.yaml")
    bad = write(tmp_path, GOOD + "seed: -5\n", "bad.yaml")
    res = CliRunner().invoke(cli, ["run", str(good), str(bad), "--runs-dir", str(runs_dir)])
    _check_refusal(res.exit_code, res.stdout, res.stderr, [f"{bad}:4:", "seed"], bad, runs_dir)


def test_override_that_breaks_only_one_of_two_configs(tmp_path, runs_dir):
    a = write(tmp_path, GOOD, "a.yaml")
    b = write(tmp_path, "objective: sphere\nalgorithm: amsgrad\n", "b.yaml")
    res = CliRunner().invoke(cli, ["run", str(a), str(b), "algorithm.beta2=0.5", "--runs-dir", str(runs_dir)])
    # gd has no beta2: refused, naming the override, before amsgrad (which has one) runs
    _check_refusal(
        res.exit_code,
        res.stdout,
        res.stderr,
        ["override 'algorithm.beta2=0.5'", "algorithm.beta2"],
        a,
        runs_dir,
    )


def test_config_after_override_is_a_usage_error(tmp_path, runs_dir):
    a = write(tmp_path, GOOD, "a.yaml")
    res = CliRunner().invoke(cli, ["run", str(a), "seed=1", str(a), "--runs-dir", str(runs_dir)])
    assert res.exit_code == 2 and "comes after an override" in res.stderr
    assert not runs_dir.exists()


def test_line_numbers_follow_nesting(tmp_path):
    text = textwrap.dedent("""\
        # a comment
        objective:
          name: sphere
          dim: 2
        algorithm:
          name: amsgrad
          alpha: 0.01
          beta1: 0.9
          beta2: 2.0
        """)
    with pytest.raises(ConfigError) as e:
        load_config(str(write(tmp_path, text)))
    assert (e.value.path, e.value.line) == ("algorithm.beta2", 9)


def test_with_seed_is_dataclasses_replace(configs_dir):
    import dataclasses

    cfg = load_config(str(configs_dir / "amsgrad.yaml"))
    other = cfg.with_seed(cfg.seed + 7)
    assert other == dataclasses.replace(cfg, seed=cfg.seed + 7)
    assert other.seed == cfg.seed + 7 and cfg.seed != other.seed
    assert other.algorithm is cfg.algorithm and other.to_dict() == {**cfg.to_dict(), "seed": cfg.seed + 7}
    with pytest.raises(dataclasses.FrozenInstanceError):
        other.seed = 1


def test_load_config_overrides_swap_sections_as_the_command_line_does(configs_dir):
    from optrun.sweep import load_plan

    path = str(configs_dir / "amsgrad.yaml")
    for overrides in (
        ["algorithm.name=adam"],
        ["algorithm.variant=torch"],
        ["objective.name=rosenbrock"],
        ["algorithm.name=adam", "iterations=7"],
    ):
        cfg = load_config(path, overrides)
        assert cfg == load_plan(path, overrides).base
    adam = load_config(path, ["algorithm.name=adam"])
    assert (adam.algorithm.name, adam.algorithm.variant, adam.algorithm.params["alpha"]) == (
        "adam",
        "torch",
        0.007,
    )
    with pytest.raises(ConfigError, match="set twice"):
        load_config(path, ["iterations=3", "iterations=4"])
