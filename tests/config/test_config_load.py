"""optrun.config.load: a config file read and overridden once, shared by load_config and load_plan."""

from __future__ import annotations

import optrun.config.overrides as overrides_module
from optrun.config import load_config, read_raw
from optrun.sweep import load_plan


def test_read_raw_keeps_each_override_value_source_and_line(configs_dir):
    path = str(configs_dir / "amsgrad.yaml")
    raw = read_raw(path, ["algorithm.alpha=0.05", "trace={every: 2}", "trace.every=3"])
    assert raw.source == path
    assert raw.given == {"algorithm.alpha": 0.05, "trace": {"every": 2}, "trace.every": 3}
    assert raw.overridden["trace.every"] == "override 'trace.every=3'"
    assert raw.data["trace"] == {"every": 3} and raw.data["algorithm"]["alpha"] == 0.05
    assert raw.lines[("algorithm", "alpha")] == raw.lines[("algorithm",)] + 3
    assert raw.notes == []


def test_a_swap_note_is_kept_for_the_plan(configs_dir):
    raw = read_raw(str(configs_dir / "amsgrad.yaml"), ["algorithm.name=adam"])
    assert raw.notes and raw.notes[0].startswith("override 'algorithm.name=adam' drops algorithm.variant")


def test_overrides_are_parsed_once(configs_dir, monkeypatch):
    calls = []
    parse = overrides_module.parse_override

    def counting(text):
        calls.append(text)
        return parse(text)

    monkeypatch.setattr(overrides_module, "parse_override", counting)
    args = ["algorithm.alpha=0.05", "iterations=7"]
    load_plan(str(configs_dir / "amsgrad.yaml"), args, ["seed=0:3"])
    assert calls == args
    calls.clear()
    assert load_config(str(configs_dir / "amsgrad.yaml"), args).iterations == 7
    assert calls == args
