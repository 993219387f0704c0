"""docs/formats.md names every file, summary key and column that real runs and sweeps write.

The folders are made by the installed ``optrun`` (finished, interrupted, above 1,000 coordinates,
with a sweep gate) and looked at while they are written too, so ``.lock``, ``.reserve`` and a
batch's ``.partial`` file count. A field added to a writer without a line in the document fails
here; so does a ``format_version`` that the document states differently from the code.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from optrun.store import FORMAT_VERSION

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "formats.md"
AMSGRAD = str(ROOT / "configs" / "amsgrad.yaml")
ROSENBROCK = str(ROOT / "configs" / "rosenbrock.yaml")


def documented(text: str) -> set[str]:
    """Every name the document writes as code: each backticked span, and its comma-separated parts
    (``iteration, f, grad_norm`` names three columns)."""
    names: set[str] = set()
    for span in re.findall(r"`([^`\n]+)`", text):
        names.add(span.strip())
        names.update(p.strip() for p in span.split(",") if p.strip())
    return names


def undocumented(found: set[str], text: str) -> list[str]:
    return sorted(found - documented(text))


def normal_name(rel: str) -> str | None:
    """A file's documented name (batch numbers as NNNN); None for a transient temporary file."""
    if rel.endswith(".tmp"):
        return None  # NAME.<pid>.<hex>.tmp: the atomic write of a whole file, renamed at once
    return re.sub(r"(batch|points)-\d{4,}\.(csv|npz)", r"\1-NNNN.\2", rel)


def listing(folder: Path) -> set[str]:
    out = set()
    for dirpath, _, files in os.walk(folder):
        for f in files:
            name = normal_name(os.path.relpath(os.path.join(dirpath, f), folder))
            if name:
                out.add(name)
    return out


def column_names(cols: list[str]) -> set[str]:
    """Trace columns with the coordinates as ``x0`` (the document writes ``x0..x{d-1}``)."""
    return {"x0" if re.fullmatch(r"x\d+", c) else c for c in cols}


def watched(optrun_bin: str, runs: Path, args: list[str], ready: str) -> tuple[set[str], Path]:
    """Start ``optrun run ARGS``, list its folder once ``ready`` (a path in it) exists, interrupt it.
    Returns the names seen while it ran and the folder."""
    env = {**os.environ, "OPTRUN_RUNS_DIR": str(runs), "NO_COLOR": "1"}
    p = subprocess.Popen([optrun_bin, "run", *args, "-q"], env=env, stderr=subprocess.PIPE, text=True)
    seen: set[str] = set()
    folder = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = [d for d in runs.iterdir() if d.is_dir()] if runs.exists() else []
            if found and (found[0] / ready).exists():
                folder = found[0]
                seen = listing(folder)
                break
            time.sleep(0.05)
        assert folder is not None, f"no {ready} within 60 s"
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 130, err
    return seen, folder


@pytest.fixture(scope="module")
def folders(optrun_bin, tmp_path_factory):
    """Real folders of every kind, and the file names seen in them while they were written."""
    base = tmp_path_factory.mktemp("formats")
    env = {**os.environ, "NO_COLOR": "1"}

    def run(runs: str, *args: str) -> Path:
        d = base / runs
        r = subprocess.run(
            [optrun_bin, "run", *args, "--runs-dir", str(d), "-q"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        (folder,) = [p for p in d.iterdir() if p.is_dir()]
        return folder

    out = {
        "run": run("run", AMSGRAD),
        "run_big": run(
            "big", AMSGRAD, "objective={name: sphere, dim: 1001}", "bounds=[-1, 1]", "iterations=3"
        ),
        "sweep": run("sweep", AMSGRAD, "--sweep", "seed=0:3", "expect.success_rate_min=0.5"),
        "sweep_big": run(
            "sweep_big",
            AMSGRAD,
            "objective={name: sphere, dim: 1001}",
            "bounds=[-1, 1]",
            "iterations=3",
            "--sweep",
            "seed=0:2",
        ),
    }
    seen = {}
    # a run interrupted once its first checkpoint exists: .lock, .reserve and checkpoint.npz
    seen["run_live"], out["run_interrupted"] = watched(
        optrun_bin,
        base / "live",
        [ROSENBROCK, "iterations=100000000", "trace.checkpoint_s=0.2"],
        "checkpoint.npz",
    )
    seen["sweep_live"], out["sweep_interrupted"] = watched(
        optrun_bin,
        base / "live_sweep",
        [ROSENBROCK, "iterations=100000000", "--sweep", "seed=0:2"],
        "traces/batch-0000.csv.partial",
    )
    return out, seen


def test_every_file_is_documented(folders):
    out, seen = folders
    text = DOC.read_text()
    names = set().union(*(listing(f) for f in out.values()), *seen.values())
    # the files a finished run and sweep must have, and the ones only seen while running
    for must in ("config.yaml", "meta.json", "summary.json", "trace.csv", "trace.jsonl", "x.npz"):
        assert must in listing(out["run"]) | listing(out["run_big"]), must
    assert {".lock", ".reserve", "checkpoint.npz"} <= seen["run_live"]
    assert {".lock", "traces/batch-NNNN.csv.partial"} <= seen["sweep_live"]
    assert {"summary.csv", "traces/batch-NNNN.csv"} <= listing(out["sweep"])
    assert undocumented(names, text) == []


def test_every_summary_and_meta_key_is_documented(folders):
    out, _ = folders
    text = DOC.read_text()
    keys: set[str] = set()
    for kind in ("run", "run_big", "run_interrupted"):
        s = json.loads((out[kind] / "summary.json").read_text())
        keys |= set(s) | set(s["expect"])
        keys |= set(json.loads((out[kind] / "meta.json").read_text()))
    s = json.loads((out["run_interrupted"] / "summary.json").read_text())
    assert s["signal"] == "SIGINT" and "hits" in s
    assert "x_file" in json.loads((out["run_big"] / "summary.json").read_text())
    for kind in ("sweep", "sweep_big", "sweep_interrupted"):
        s = json.loads((out[kind] / "summary.json").read_text())
        keys |= set(s) | set(s.get("gate", {})) | set(json.loads((out[kind] / "meta.json").read_text()))
        for row in s["rows"]:
            keys |= set(row) - set(s["axes"])
    assert "gate" in json.loads((out["sweep"] / "summary.json").read_text())
    assert undocumented(keys, text) == []


def test_every_column_is_documented(folders):
    out, _ = folders
    text = DOC.read_text()
    cols = set()
    with open(out["run"] / "trace.csv") as f:
        cols |= column_names(next(csv.reader(f)))
    with open(out["run"] / "trace.jsonl") as f:
        cols |= column_names(list(json.loads(f.readline())))
    for batch in (out["sweep"] / "traces").iterdir():
        with open(batch) as f:
            cols |= column_names(next(csv.reader(f)))
    axes = json.loads((out["sweep"] / "summary.json").read_text())["axes"]
    with open(out["sweep"] / "summary.csv") as f:
        cols |= set(next(csv.reader(f))) - set(axes)
    with np.load(out["run_interrupted"] / "checkpoint.npz") as ck:
        cols |= {k for k in ck.files if not k.startswith("state.")}
    assert undocumented(cols, text) == []


def test_format_version_in_the_doc_is_the_code_s(folders):
    out, _ = folders
    text = DOC.read_text()
    stated = re.findall(r"`format_version` is \*\*(\d+)\*\*", text) + re.findall(
        r"value is \*\*(\d+)\*\*", text
    )
    assert len(stated) >= 2 and {int(v) for v in stated} == {FORMAT_VERSION}
    for f in out.values():
        for name in ("summary.json", "meta.json"):
            assert json.loads((f / name).read_text())["format_version"] == FORMAT_VERSION


def test_a_new_name_is_caught():
    """The check itself: a name the document does not write is reported, one it writes is not."""
    text = DOC.read_text()
    assert undocumented({"final_f", "batch_wall_time_s", "x0"}, text) == []
    assert undocumented({"final_f", "new_field"}, text) == ["new_field"]
    assert undocumented({"traces/batch-NNNN.csv"}, text) == []


def test_readme_links_to_the_formats_doc():
    readme = (ROOT / "README.md").read_text()
    assert "](docs/formats.md)" in readme and "](docs/formats.md#sweep-folder)" in readme
