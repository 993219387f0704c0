"""tools/same_numbers.py, the refactoring check (issue 15): what it leaves out, what it catches."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("same_numbers", ROOT / "tools" / "same_numbers.py")
same = importlib.util.module_from_spec(spec)
spec.loader.exec_module(same)


def folder(tmp_path: Path, name: str, wall: float, f: str) -> Path:
    d = tmp_path / name
    (d / "traces").mkdir(parents=True)
    (d / "summary.json").write_text(
        json.dumps(
            {
                "id": name,
                "wall_time_s": wall,
                "final_f": 1.5,
                "rows": [{"member": 0, "wall_time_s": wall, "hostname": "h"}],
            }
        )
    )
    (d / "summary.csv").write_text(f"member,final_f,wall_time_s\n0,{f},{wall}\n")
    (d / "traces" / "batch-0000.csv").write_text(f"member,iteration,f\n0,0,{f}\n")
    (d / "meta.json").write_text(json.dumps({"started_at": name}))
    return d


def test_timings_ids_and_meta_are_left_out_numbers_are_not(tmp_path):
    a = same.normalized(str(folder(tmp_path, "a", 0.1, "2.0")))
    b = same.normalized(str(folder(tmp_path, "b", 9.9, "2.0")))
    c = same.normalized(str(folder(tmp_path, "c", 0.1, "2.0000000000000004")))
    assert a == b and "meta.json" not in a
    assert a != c and a["summary.json"] == c["summary.json"]


def test_compare_lists_each_difference(tmp_path, capsys):
    for name, f in (("old", "2.0"), ("new", "2.5")):
        out = tmp_path / name / "case"
        for rel, text in same.normalized(str(folder(tmp_path, f"src-{name}", 1.0, f))).items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_text(text)
    assert same.compare(str(tmp_path / "old"), str(tmp_path / "old")) == 0
    assert same.compare(str(tmp_path / "old"), str(tmp_path / "new")) == 2  # summary.csv and the batch trace
    printed = capsys.readouterr().out
    assert "case/traces/batch-0000.csv: line 2 differs: '0,0,2.0' != '0,0,2.5'" in printed
