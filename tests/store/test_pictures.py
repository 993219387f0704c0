"""store.pictures: a picture file is replaced whole or not at all, and no temporary file stays."""

from __future__ import annotations

import os

import pytest

from optrun.store.pictures import write_picture


def test_the_picture_replaces_the_old_one_and_no_temporary_file_stays(tmp_path):
    out = tmp_path / "a.png"
    out.write_bytes(b"old")
    seen = []

    def save(tmp):
        seen.append(tmp)
        assert os.path.dirname(tmp) == str(tmp_path)  # beside the target: the rename is atomic
        assert os.path.basename(tmp).startswith(".a.png.") and tmp.endswith(".tmp")
        with open(tmp, "wb") as f:
            f.write(b"new")

    assert write_picture(str(out), save) == str(out)
    assert out.read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path)) == ["a.png"]
    assert len(seen) == 1


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_drawing_leaves_the_old_picture_and_no_temporary_file(tmp_path, error):
    out = tmp_path / "a.svg"
    out.write_bytes(b"old")

    def save(tmp):
        with open(tmp, "wb") as f:
            f.write(b"half a pic")
        raise error

    with pytest.raises(type(error)):
        write_picture(str(out), save)
    assert out.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["a.svg"]


def test_store_pictures_imports_no_matplotlib():
    import subprocess
    import sys

    code = "import sys, optrun.store.pictures; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
