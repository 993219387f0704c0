"""store.names: what a run folder is, for the readers and for shell completion alike, with the
standard library alone."""

from __future__ import annotations

import subprocess
import sys

from optrun.store import names, parts


def test_every_run_file_makes_a_run_folder_for_completion(tmp_path):
    assert "trace.jsonl" in names.RUN_FILES
    for i, file in enumerate(names.RUN_FILES):
        folder = tmp_path / f"2026010{i}-000000.000-r-aaaaaa"
        folder.mkdir()
        (folder / file).write_text("{}")
        assert names.has_run_files(str(folder))


def test_run_names_lists_run_folders_newest_first(tmp_path):
    for name, file in [
        ("20260101-000000.000-a-aaaaaa", "summary.json"),
        ("20260102-000000.000-b-bbbbbb", "trace.jsonl"),  # a run that records JSON Lines only
        ("notes", None),
        (".hidden", "summary.json"),
    ]:
        (tmp_path / name).mkdir()
        if file:
            (tmp_path / name / file).write_text("{}")
    assert names.run_names(str(tmp_path)) == ["20260102-000000.000-b-bbbbbb", "20260101-000000.000-a-aaaaaa"]
    assert names.run_names(str(tmp_path / "missing")) == []


def test_default_runs_dir(monkeypatch):
    monkeypatch.delenv("OPTRUN_RUNS_DIR", raising=False)
    assert names.default_runs_dir() == "runs"
    monkeypatch.setenv("OPTRUN_RUNS_DIR", "elsewhere")
    assert names.default_runs_dir() == "elsewhere"


def test_store_names_imports_the_standard_library_only():
    code = (
        "import sys, optrun.store.names; "
        "print(sorted(m for m in ('numpy', 'yaml', 'click', 'orjson') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_member_of_tells_a_sweep_members_address_from_a_folder(tmp_path):
    sweep = tmp_path / "sweep"
    (sweep / "traces").mkdir(parents=True)
    (sweep / "summary.json").write_text('{"kind": "sweep"}')
    assert parts.member_of(str(sweep / "7")) == str(sweep)
    assert parts.member_of(str(sweep)) is None
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text("{}")
    assert parts.member_of(str(run)) is None
