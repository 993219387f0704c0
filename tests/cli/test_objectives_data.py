"""``optrun objectives`` on the learning objectives: listed in a group of their own, and
``optrun objectives NAME`` explains every key of the objective section with an example config that
runs as printed."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from optrun.cli import cli
from optrun.objectives.data_config import KEYS

NAMES = ("least-squares", "logistic", "softmax")


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_the_list_has_the_data_objectives_in_their_own_group():
    res = invoke("objectives")
    assert res.exit_code == 0, res.output
    builtins, _, group = res.output.partition("Learning objectives on data")
    assert group and "sphere" in builtins
    for name in NAMES:
        assert f"\n{name} " in group and f"\n{name} " not in builtins
    # the README's generated table and the JSON list stay the test functions'
    for fmt in ("markdown", "json"):
        out = invoke("objectives", "--format", fmt).output
        assert "logistic" not in out and "sphere" in out


@pytest.mark.parametrize("name", NAMES)
def test_a_data_objective_explains_every_key_with_an_example(name):
    res = invoke("objectives", name)
    assert res.exit_code == 0, res.output
    for key in KEYS:
        assert f"\n    {key} " in res.output, key
    assert "x0 = 0" in res.output and "example" in res.output
    record = json.loads(invoke("objectives", name, "--format", "json").output)
    assert [k["key"] for k in record["keys"]] == list(KEYS) and all(k["doc"] for k in record["keys"])
    md = invoke("objectives", name, "--format", "markdown").output
    assert md.startswith(f"### `{name}`") and "```yaml" in md
    res = invoke("objectives", name, "--dim", "3")
    assert res.exit_code == 2 and "comes from its data" in res.output


@pytest.mark.parametrize("name", NAMES)
def test_the_example_config_runs_as_printed(tmp_path, name):
    example = json.loads(invoke("objectives", name, "--format", "json").output)["example"]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 2))
    y = (X[:, 0] > 0).astype(int)
    (tmp_path / "train.csv").write_text(
        "a,b,label\n" + "".join(f"{float(a)!r},{float(b)!r},{t}\n" for (a, b), t in zip(X, y))
    )
    raw = yaml.safe_load(example)
    raw["iterations"] = 5
    raw["expect"] = {}  # (five steps do not reach the example's gate)
    cfg = tmp_path / "example.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    res = invoke("run", cfg, "--runs-dir", tmp_path / "runs", "-q")
    assert res.exit_code == 0, res.output
    assert f"name: {name}" in example and "batch_size: 128" in example


def test_a_misspelt_data_objective_is_suggested():
    res = invoke("objectives", "logistc")
    assert res.exit_code == 2 and "did you mean 'logistic'" in res.output
