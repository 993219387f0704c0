"""Where a learning objective's data and f* come from inside one process.

* :func:`read` is :func:`.data.load`, unless the arrays were handed to this process under
  :func:`provided` (a Dask worker gets them from the client, once per sweep, and may not have the
  file at all). Keys are :func:`file_key`: the file, the target column and a libsvm test file's
  width, as the loss reads them.
* :func:`optimum_once` is :func:`.data_optimum.cached_optimum` computed once per process: the
  answer is kept under the disk cache's key (the SHA-256 of the training arrays and the problem's
  parameters), so a sweep's batches, and synthetic data that have no folder to cache beside, solve
  for f* once. The key is also the content hash ``meta.json`` records (``data.sha256``), which
  ``optrun resume`` checks.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from .data import Dataset, load
from .data_losses import DataLoss
from .data_optimum import Optimum, array_hash, cache_key, cached_optimum

FileKey = tuple[str, "str | None", "int | None"]

_lock = threading.Lock()
_given: dict[FileKey, Dataset] = {}
_given_count: dict[FileKey, int] = {}
_optima: dict[str, Optimum] = {}


def file_key(path: str | Path, target: str | None = None, features: int | None = None) -> FileKey:
    return (str(path), target, features)


def read(path: str | Path, target: str | None = None, features: int | None = None) -> Dataset:
    """The data set in ``path``: the arrays handed over under :func:`provided`, else the file's,
    read once per content stamp (config validation, the run's build and a sweep's preparation
    ask for it in turn)."""
    got = _given.get(file_key(path, target, features))
    if got is not None:
        return got
    try:
        st = Path(path).stat()
    except OSError:
        return load(path, target, features=features)  # (which names what is wrong)
    return _loaded(str(path), target, features, (st.st_mtime_ns, st.st_size))


@functools.lru_cache(maxsize=4)
def _loaded(path: str, target: str | None, features: int | None, stamp: tuple[int, int]) -> Dataset:
    return load(path, target, features=features)


@contextlib.contextmanager
def provided(datasets: dict[FileKey, Dataset], optima: dict[str, Optimum] | None = None) -> Iterator[None]:
    """Inside the block :func:`read` answers ``datasets`` without reading their files (threads of
    one process may nest blocks: a key leaves with its last block); ``optima`` (f* by key) are
    kept for the process."""
    with _lock:
        _optima.update(optima or {})
        for k, v in datasets.items():
            _given[k] = v
            _given_count[k] = _given_count.get(k, 0) + 1
    try:
        yield
    finally:
        with _lock:
            for k in datasets:
                _given_count[k] -= 1
                if not _given_count[k]:
                    del _given_count[k], _given[k]


def owned(datasets: dict[FileKey, Dataset]) -> None:
    """Replace, in place, each data set whose arrays numpy did not allocate (arrays unpickled
    from a message buffer, say) by a copy numpy allocates, as a read file's are: matrix products
    on a buffer aligned otherwise may round differently, and a member must get the same bits
    wherever it runs. A data set already owned is left as it is (a second call copies nothing)."""
    for k, ds in list(datasets.items()):
        if not all(a.flags.owndata and a.flags.writeable for a in (ds.X, ds.y)):
            datasets[k] = replace(ds, X=np.array(ds.X, order="C"), y=np.array(ds.y))


def optimum_once(loss: DataLoss, beside: str | Path | None) -> tuple[Optimum, str]:
    """``(f*, key)``: :func:`cached_optimum` of ``loss`` (``beside``: the data file, or None), once
    per process and key; ``key`` is the SHA-256 of the training arrays and the parameters."""
    key = cache_key(loss)
    found = _optima.get(key)
    if found is None:
        found = cached_optimum(loss, beside)
        with _lock:
            _optima[key] = found
    return found, key


def files_of(params: dict) -> dict[FileKey, Dataset]:
    """The data sets a learning objective's validated ``params`` (absolute file names) read, by
    :func:`file_key`, each file read once (none for synthetic data)."""
    data, test, target = params["data"], params.get("test"), params.get("target")
    if not isinstance(data, str):
        return {}
    train = read(data, target)
    out = {file_key(data, target): train}
    if isinstance(test, str):
        out[file_key(test, target, train.features)] = read(test, target, train.features)
    return out


def known_optima() -> dict[str, Optimum]:
    """Every f* this process found or was handed (by key): what a Dask client sends its workers."""
    with _lock:
        return dict(_optima)


__all__ = [
    "FileKey",
    "array_hash",
    "file_key",
    "files_of",
    "known_optima",
    "optimum_once",
    "provided",
    "read",
]
