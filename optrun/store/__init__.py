"""Run and sweep folders on disk: the only package that reads or writes them.

Writing: ``folder`` creates run folders and writes their files, ``sweepstore`` sweep folders,
both through ``files``, the one atomic writer (a reader never sees half a file); ``rows`` and
``thinning`` format the trace rows. ``names`` (standard library only) says what a run folder is. Reading:
``run`` and ``sweep`` read one folder, ``listing`` a runs folder, ``select`` what a RUN argument
names, from the files ``parts`` and ``traces`` read (``status``, ``values`` and ``members`` help).
The layout is a versioned contract documented in docs/formats.md.

store imports only :mod:`optrun.errors` and its own modules (``hooks`` receives what it needs from
above). The names below are imported on first use, so ``import optrun.store`` stays light.
"""

_LAZY = {
    "FORMAT_VERSION": "folder",
    "RunFolder": "folder",
    "TraceWriter": "folder",
    "atomic_write_json": "folder",
    "atomic_write_text": "folder",
}

__all__ = ["FORMAT_VERSION", "RunFolder", "TraceWriter", "atomic_write_json", "atomic_write_text"]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
