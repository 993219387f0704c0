"""store.records: the folders a run folder records for users' modules, read only from a folder
this optrun can read."""

from __future__ import annotations

import json

from optrun.store.records import config_path, recorded_module_dirs


def folder(tmp_path, summary: dict | None, meta: dict):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("{}")
    (run / "meta.json").write_text(json.dumps(meta))
    if summary is not None:
        (run / "summary.json").write_text(json.dumps(summary))
    return run


def test_the_recorded_module_folders_of_a_run(tmp_path):
    run = folder(tmp_path, {"format_version": 1, "status": "completed"}, {"module_dirs": ["/a", "", 3]})
    assert config_path(str(run)) == str(run / "config.yaml")
    assert recorded_module_dirs(config_path(str(run))) == ["/a"]
    assert recorded_module_dirs(str(tmp_path / "elsewhere.yaml")) == []
    assert recorded_module_dirs(None) == []


def test_a_newer_format_records_nothing_read_here(tmp_path):
    run = folder(tmp_path, {"format_version": 99, "status": "completed"}, {"module_dirs": ["/a"]})
    assert recorded_module_dirs(str(run / "config.yaml")) == []


def test_a_folder_without_a_summary_still_gives_its_record(tmp_path):
    run = folder(tmp_path, None, {"cwd": "/old"})
    assert recorded_module_dirs(str(run / "config.yaml")) == ["/old"]
