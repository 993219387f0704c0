"""store's run-folder files for running and resuming: checkpoint.npz, the space reserve, a trace
cut back to a checkpoint, the JSON records."""

from __future__ import annotations

import json

import numpy as np
import pytest

from optrun.errors import RunReadError
from optrun.store.checkpoint import (
    CHECKPOINT,
    checkpoint_path,
    drop_checkpoint,
    read_checkpoint,
    write_checkpoint,
)
from optrun.store.folder import RunFolder
from optrun.store.records import has_record, read_record
from optrun.store.resumetrace import truncate_trace
from optrun.store.space import RESERVE, RESERVE_BYTES, release_space, reserve_space


def test_checkpoint_round_trip_and_drop(tmp_path):
    assert checkpoint_path(str(tmp_path)) is None
    arrays = {"x": np.arange(3.0), "iteration": np.array(7), "reason": np.array(["a", "b"])}
    write_checkpoint(str(tmp_path), arrays)
    path = checkpoint_path(str(tmp_path))
    assert path == str(tmp_path / CHECKPOINT)
    back = read_checkpoint(path)
    assert set(back) == set(arrays) and all(np.array_equal(back[k], arrays[k]) for k in arrays)
    assert [p.name for p in tmp_path.iterdir()] == [CHECKPOINT]  # no temporary file left
    drop_checkpoint(str(tmp_path))
    drop_checkpoint(str(tmp_path))  # nothing to drop: no error
    assert checkpoint_path(str(tmp_path)) is None


def test_an_unreadable_checkpoint_is_a_read_error(tmp_path):
    (tmp_path / CHECKPOINT).write_bytes(b"not a zip")
    with pytest.raises(RunReadError, match="unreadable checkpoint"):
        read_checkpoint(str(tmp_path / CHECKPOINT))


def test_space_reserve(tmp_path):
    folder = RunFolder(str(tmp_path), "x")
    reserve_space(folder)
    assert (tmp_path / RESERVE).stat().st_size == RESERVE_BYTES
    release_space(folder)
    release_space(folder)
    assert not (tmp_path / RESERVE).exists()


def test_truncate_trace_keeps_whole_rows_up_to_the_checkpoint(tmp_path):
    csv = tmp_path / "trace.csv"
    csv.write_text("iteration,f\n0,1.0\n1,0.5\n2,0.25\n3,0.1")  # a partial last line from a crash
    assert truncate_trace(str(csv), 1, json_lines=False) == 2
    assert csv.read_text() == "iteration,f\n0,1.0\n1,0.5\n"
    jl = tmp_path / "trace.jsonl"
    jl.write_text("".join(json.dumps({"iteration": i, "f": 1.0}) + "\n" for i in range(4)))
    assert truncate_trace(str(jl), 2, json_lines=True) == 3
    assert truncate_trace(str(tmp_path / "absent.csv"), 2, json_lines=False) is None


def test_records(tmp_path):
    (tmp_path / "summary.json").write_text('{"status": "running"}')
    assert has_record(str(tmp_path), "summary.json") and not has_record(str(tmp_path), "meta.json")
    assert read_record(str(tmp_path), "summary.json") == {"status": "running"}
    with pytest.raises(OSError):
        read_record(str(tmp_path), "meta.json")
