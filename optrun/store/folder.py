"""Creating run folders and writing their files.

Every whole file (``config.yaml``, ``summary.json``, ``meta.json``, ``x.npz``) is written by
:mod:`optrun.store.files` (a temporary name in the same folder renamed over the target), so a
reader sees the old file or the new one, never half of one. The traces are streamed: rows are formatted a chunk at a time and each
block of complete lines is appended with one ``os.write`` call, so after a crash the trace holds
every row up to the last block written and at most a partial last line, which readers drop.
"""

from __future__ import annotations

import json
import math
import os
import time
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ..errors import RunSelectionError, StorageError
from .files import write_npz, write_text

FORMAT_VERSION = 1
SUMMARY_X_MAX = 1000  # coordinates of final_x/best_x kept in summary.json; larger points go to x.npz
POINTS_FILE = "x.npz"
FLUSH_SECONDS = 0.5  # longest a recorded row waits in memory before it reaches the file
FLUSH_BYTES = 1 << 18


def jsonable(obj: Any) -> Any:
    """JSON-safe copy: non-finite floats become null, numpy scalars and arrays plain Python."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see either the old or the new file."""
    write_text(path, text)


def atomic_write_json(path: str, obj: Any) -> None:
    atomic_write_text(path, json.dumps(jsonable(obj), indent=1, allow_nan=False) + "\n")


def summary_points(final_x: np.ndarray, best_x: np.ndarray) -> dict[str, Any]:
    """The summary fields of a run's (or member's) final and best points: ``final_x`` and ``best_x``
    as lists, or, above :data:`SUMMARY_X_MAX` coordinates, None and ``x_file`` naming the file that
    holds them (:meth:`RunFolder.write_points`; a sweep batch names its own)."""
    if final_x.size > SUMMARY_X_MAX:
        return {"final_x": None, "best_x": None, "x_file": POINTS_FILE}
    return {"final_x": final_x.tolist(), "best_x": best_x.tolist()}


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id(label: str) -> str:
    """``YYYYMMDD-HHMMSS.mmm-label-xxxxxx``: sorts by start time (UTC), unique by the hash."""
    now = datetime.now(timezone.utc)
    return f"{now:%Y%m%d-%H%M%S}.{now.microsecond // 1000:03d}-{label}-{os.urandom(3).hex()}"


def hostname() -> str:
    """This machine's name (what socket.gethostname() says, without importing socket)."""
    try:
        return os.uname().nodename
    except AttributeError:  # pragma: no cover - not POSIX
        import socket

        return socket.gethostname()


def process_start_ticks(pid: int) -> int | None:
    """The kernel's start time of a process (Linux), to tell a live run from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        return int(data[data.rindex(b")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError):
        return None


class RunFolder:
    """A run folder being written: ``config.yaml``, ``meta.json``, ``summary.json``, traces."""

    def __init__(self, path: str, run_id: str):
        self.path, self.id = path, run_id

    @classmethod
    def create(cls, runs_dir: str, label: str) -> RunFolder:
        """Make a new, uniquely named folder under ``runs_dir`` (created if missing)."""
        try:
            os.makedirs(runs_dir, exist_ok=True)
        except OSError as e:
            raise StorageError(f"cannot create the runs folder {runs_dir}: {e.strerror}") from None
        if not os.access(runs_dir, os.W_OK | os.X_OK):
            raise StorageError(f"the runs folder {runs_dir} is not writable")
        for _ in range(100):
            run_id = new_run_id(label)
            path = os.path.join(runs_dir, run_id)
            try:
                os.mkdir(path)  # atomic: fails if another process took the name
                return cls(path, run_id)
            except FileExistsError:
                continue
            except OSError as e:
                raise StorageError(f"cannot create a run folder in {runs_dir}: {e.strerror}") from None
        raise StorageError(f"could not find a free run id in {runs_dir}")

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def write_file(self, name: str, text: str) -> None:
        """Write the text file ``name`` in the folder atomically."""
        atomic_write_text(self.file(name), text)

    def write_json(self, name: str, obj: Any) -> None:
        atomic_write_json(self.file(name), obj)

    def write_config(self, text: str) -> None:
        """``config.yaml``: the resolved config's YAML text."""
        self.write_file("config.yaml", text)

    def write_meta(self, meta: dict[str, Any]) -> None:
        self.write_json("meta.json", meta)

    def write_summary(self, summary: dict[str, Any]) -> None:
        self.write_json("summary.json", summary)

    def write_points(self, final_x: np.ndarray, best_x: np.ndarray) -> None:
        """``x.npz`` (``final_x``, ``best_x``): a run's points too large for its summary (see
        :func:`summary_points`), written whole under a temporary name."""
        write_npz(self.file(POINTS_FILE), {"final_x": final_x, "best_x": best_x})

    def truncate_traces(self, formats: tuple[str, ...], upto: int) -> list[int | None]:
        """Cut the trace files of ``formats`` (``csv``, ``jsonl``) back to the rows of iterations up
        to ``upto`` (resuming from a checkpoint); the rows each keeps (None: no such file).
        Raises OSError or ValueError."""
        from .resumetrace import truncate_trace

        return [truncate_trace(self.file(f"trace.{fmt}"), upto, fmt == "jsonl") for fmt in formats]

    def remove(self) -> None:
        """Delete the folder and everything in it (a run that could not write its first files)."""
        import shutil

        shutil.rmtree(self.path, ignore_errors=True)


class FolderLock:
    """An exclusive claim on a run or sweep folder by the process writing it: ``flock`` on
    ``.lock`` in the folder, taken by ``optrun run`` when it creates the folder and by ``optrun
    resume``, held until the summary is final, then removed. The kernel drops the lock when the
    process exits, however it ends, so a ``.lock`` left by a dead process never blocks anyone. The
    file holds the writer's pid (for the message of the process refused)."""

    NAME = ".lock"

    def __init__(self, fd: int, path: str):
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, folder: str, what: str) -> FolderLock:
        """Lock ``folder`` (``what`` names it: "run X"); raises :class:`RunSelectionError` when another
        process holds it, :class:`StorageError` when the lock file cannot be written."""
        import fcntl

        path = os.path.join(folder, cls.NAME)
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as e:
                raise StorageError(f"{what}: cannot write {path}: {e.strerror or e}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                try:  # the holder writes its pid just after it locks: give it a moment to appear
                    for _ in range(20):
                        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                        if holder:
                            break
                        time.sleep(0.01)
                    holder = holder or "unknown"
                finally:
                    os.close(fd)
                raise RunSelectionError(
                    f"{what} is being written by another optrun process (pid {holder})"
                ) from None
            try:  # the holder before us may have removed the file it locked: lock the one in place
                mine, there = os.fstat(fd), os.stat(path)
                if (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino):
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # the lock holds without the pid in it
        return cls(fd, path)

    def release(self) -> None:
        """Remove the lock file, then drop the lock (in this order: see :meth:`acquire`)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.unlink(self.path)
            except OSError:
                pass
            os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class TraceWriter:
    """Streams one member's trace rows to ``trace.csv`` and ``trace.jsonl`` (``formats`` picks them).

    Columns: ``iteration, f, grad_norm, step_norm``, the ``extra`` columns (``regret, avg_regret``
    for an online objective), ``x0 .. x{m-1}`` (m = ``x_columns``). Floats are
    written as their shortest round-trip text (:mod:`optrun.store.rows`), so a trace reads back
    bit for bit. In the JSON Lines file non-finite numbers are ``null``. With ``every = k`` only
    iterations divisible by k are kept, plus each member's last row. With ``log_per_decade = N`` the rows kept are
    COCO-style log-spaced ones plus the first row at each target f - f* <= 1e-1 .. 1e-8 (when
    ``f_min`` is known) and the last row (see :mod:`optrun.store.thinning`).

    ``hits`` holds the first iteration with f - f* <= 1e-1 .. 1e-8 (-1: not yet), found on every
    row handed in, whatever is kept: the run's summary reports these, not the recorded rows.
    A block whose write fails (a full disk) is cut off both files again, so each ends with a
    whole line and both hold the same rows.
    """

    def __init__(
        self,
        folder: str,
        x_columns: int,
        every: int = 1,
        append: bool = False,
        rows_already: int = 0,
        log_per_decade: int | None = None,
        f_min: float | None = None,
        formats: tuple[str, ...] = ("csv", "jsonl"),
        extra: tuple[str, ...] = (),
    ):
        from .rows import RowFormat
        from .thinning import TARGETS, LogMarks

        self.m, self.every, self.e = x_columns, every, len(extra)
        self.marks = LogMarks(log_per_decade) if log_per_decade else None
        self.f_min = f_min
        self.hits = np.full((len(TARGETS), 1), -1, dtype=np.int64)  # first iteration at each target
        self.columns = ["iteration", "f", "grad_norm", "step_norm", *extra] + [
            f"x{i}" for i in range(x_columns)
        ]
        self._rows = RowFormat(self.columns, ints=1)
        mode = os.O_WRONLY | (os.O_APPEND if append else os.O_CREAT | os.O_EXCL)
        self._csv = os.open(os.path.join(folder, "trace.csv"), mode, 0o644) if "csv" in formats else None
        self._jsonl = (
            os.open(os.path.join(folder, "trace.jsonl"), mode, 0o644) if "jsonl" in formats else None
        )
        self._csv_parts: list[str] = [] if append or self._csv is None else [self._rows.header]
        self._json_parts: list[str] = []
        self._pending = 0
        self._last_flush = time.monotonic()
        self.rows_written = rows_already
        self.last_iteration: int | None = None  # the iteration of the last row written to trace.csv
        self._pending_last: int | None = None
        self.forced_last: int | None = None  # iteration of a last row kept only because it was last

    def add(
        self,
        first_iteration: int,
        f: np.ndarray,
        grad_norm: np.ndarray,
        step_norm: np.ndarray,
        x: np.ndarray,
        last: bool = False,
        extra: tuple[np.ndarray, ...] = (),
    ) -> None:
        """Add rows for iterations ``first_iteration ..`` (1-D f/grad_norm/step_norm and ``extra``
        columns, x ``(n, d)``)."""
        n = len(f)
        if n == 0:
            return
        its = np.arange(first_iteration, first_iteration + n)
        a = 3 + self.e  # the first x column
        block = np.empty((n, a + self.m))
        block[:, 0], block[:, 1], block[:, 2] = f, grad_norm, step_norm
        for j, col in enumerate(extra, 3):
            block[:, j] = col
        if self.m:
            block[:, a:] = x[:, : self.m]
        cross = None
        if self.f_min is not None and (self.hits < 0).any():  # on every row, whatever is kept
            from .thinning import first_crossings

            cross = first_crossings(
                np.asarray(f, dtype=np.float64)[:, None],
                np.ones((n, 1), dtype=bool),
                self.f_min,
                self.hits,
                first_iteration,
            )[:, 0]
        if self.marks is not None:
            keep = self.marks.mask(first_iteration, n)
            if cross is not None:
                keep |= cross
        elif self.every > 1:
            keep = its % self.every == 0
        if self.marks is not None or self.every > 1:
            if last:
                if not keep[-1]:
                    self.forced_last = int(its[-1])
                keep[-1] = True
            its, block = its[keep], block[keep]
        self.rows_written += len(its)
        jsonl = self._jsonl is not None
        for end, csv_text, json_text in self._rows.pieces([its], block, jsonl=jsonl):
            if self._csv is not None:
                self._csv_parts.append(csv_text)
            else:
                csv_text = ""
            if jsonl:
                self._json_parts.append(json_text)
            self._pending_last = int(its[end - 1])
            self._pending += len(csv_text) + len(json_text)
            if self._pending >= FLUSH_BYTES:
                self.flush()
        if time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    @staticmethod
    def _write_all(fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]

    def flush(self) -> None:
        """Append every complete pending line to the files (one write call per file).

        All or nothing: when a write fails (a full disk), every file written by this call is cut
        back to its length before it, so no file ends in a partial line (``pd.read_json(lines=True)``
        refuses one) and the files keep the same rows; the pending rows stay pending."""
        blocks = [
            (fd, parts)
            for fd, parts in ((self._csv, self._csv_parts), (self._jsonl, self._json_parts))
            if fd is not None and parts
        ]
        done: list[tuple[int, int]] = []
        try:
            for fd, parts in blocks:
                start = os.lseek(fd, 0, os.SEEK_END)
                done.append((fd, start))
                self._write_all(fd, "".join(parts).encode())
        except OSError:
            for fd, start in done:
                try:
                    os.ftruncate(fd, start)
                except OSError:
                    pass
            raise
        self._csv_parts, self._json_parts = [], []
        if blocks and self._pending_last is not None:
            self.last_iteration = self._pending_last
        self._pending = 0
        self._last_flush = time.monotonic()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            for fd in (self._csv, self._jsonl):
                if fd is None:
                    continue
                try:
                    os.close(fd)
                except OSError:
                    pass
