"""store reads a folder's config.yaml with yaml's safe loader, not with optrun's config reader (it
stands below config): the values must be those the config reader gives, for every config
optrun writes (optrun.config.yamlio.dump_yaml quotes what YAML 1.1 and 1.2 read differently)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optrun.config import load_config
from optrun.config.yamlio import dump_yaml, parse_yaml
from optrun.store.parts import read_parts, summary_problem

CONFIGS = sorted((Path(__file__).parents[2] / "configs").glob("*.yaml"))
CONFIGS = [p for p in CONFIGS if p.name != "mnist-logistic.yaml"]  # needs the user's MNIST files


def _store_reads(folder: Path, text: str):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(text, encoding="utf-8")
    (folder / "summary.json").write_text(json.dumps({"status": "completed"}))
    (folder / "meta.json").write_text("{}")
    parts, problems = read_parts(str(folder), "r", "run", False, summary_problem)
    assert not problems
    return parts["config.yaml"]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_a_written_config_reads_as_the_config_reader_reads_it(path, tmp_path):
    text = load_config(str(path)).to_yaml()
    assert _store_reads(tmp_path, text) == parse_yaml(text, "config.yaml")[0]


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False),
    st.sampled_from(
        ["1e-3", "yes", "off", "0o17", "010", "1_000", "1:20", "0b101", ".inf", "null", "~", "1e5"]
    ),
    st.text(max_size=12),
)
data = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=8,
    ),
    max_size=5,
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(data)
def test_any_dumped_mapping_reads_the_same_both_ways(tmp_path_factory, value):
    text = dump_yaml(value)
    folder = tmp_path_factory.mktemp("run")
    assert _store_reads(folder, text) == parse_yaml(text, "config.yaml")[0] == value
