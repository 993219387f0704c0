"""Run folders on disk: the only package that reads or writes them.

``folder`` creates run folders and writes their files atomically (a reader never sees half a
file); ``read`` finds and loads them. The layout is a versioned contract documented in the README.
"""

from .folder import FORMAT_VERSION, RunFolder, TraceWriter, atomic_write_json, atomic_write_text

__all__ = ["FORMAT_VERSION", "RunFolder", "TraceWriter", "atomic_write_json", "atomic_write_text"]
