"""Ctrl-C at an exact place: a line tracer raises KeyboardInterrupt once, when a function reaches
the first source line that starts with a given text (used to test what an interrupt at that
point leaves behind)."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def interrupt_at(function: Callable, text: str) -> Iterator[list[int]]:
    """Within the block, raise KeyboardInterrupt once when ``function`` reaches the line starting
    with ``text``; yields a list that holds one item once it fired."""
    code = function.__code__
    src, start = inspect.getsourcelines(code)
    line = start + next(i for i, t in enumerate(src) if t.strip().startswith(text))
    fired: list[int] = []

    def local(frame, event, arg):
        if event == "line" and frame.f_lineno == line and not fired:
            fired.append(1)
            raise KeyboardInterrupt
        return local

    sys.settrace(lambda frame, event, arg: local if frame.f_code is code else None)
    try:
        yield fired
    finally:
        sys.settrace(None)
