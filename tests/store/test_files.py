"""store.files: the one atomic writer of whole files leaves the old file and no temporary file
when the write fails or is interrupted."""

from __future__ import annotations

import os

import numpy as np
import pytest

from optrun.store.files import atomic_open, replace_atomically, temp_path, write_npz, write_text


def test_a_whole_file_replaces_the_old_one_and_no_temporary_file_stays(tmp_path):
    target = tmp_path / "summary.json"
    target.write_text("old")
    write_text(str(target), "new\n")
    assert target.read_text() == "new\n"
    write_npz(str(tmp_path / "x.npz"), {"a": np.arange(3.0)})
    with np.load(tmp_path / "x.npz") as z:
        assert z["a"].tolist() == [0.0, 1.0, 2.0]
    assert sorted(os.listdir(tmp_path)) == ["summary.json", "x.npz"]


def test_the_temporary_name_is_hidden_beside_the_target(tmp_path):
    tmp = temp_path(str(tmp_path / "meta.json"))
    assert os.path.dirname(tmp) == str(tmp_path)
    assert os.path.basename(tmp).startswith(".meta.json.") and tmp.endswith(".tmp")


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, error):
    target = tmp_path / "summary.csv"
    target.write_text("old")
    with pytest.raises(type(error)), atomic_open(str(target), "w", newline="") as f:
        f.write("half a file")
        f.flush()
        raise error
    assert target.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["summary.csv"]

    def save(tmp):
        with open(tmp, "wb") as f:
            f.write(b"half")
        raise error

    with pytest.raises(type(error)):
        replace_atomically(str(target), save)
    assert target.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["summary.csv"]


def test_a_failed_rename_removes_the_temporary_file(tmp_path):
    target = tmp_path / "a-folder"
    target.mkdir()
    (target / "inside").write_text("x")  # a non-empty folder cannot be replaced by a file
    with pytest.raises(OSError):
        write_text(str(target), "new")
    assert sorted(os.listdir(tmp_path)) == ["a-folder"]
