"""User code under signals: how a user's function is called, and what a real Ctrl-C raises in it.

The low-level half of optrun's signal handling, used by the user objectives and optimizers; the
handlers themselves are :class:`optrun.execution.signals.Signals`. A run or sweep installs
:class:`~optrun.execution.signals.Signals` for its whole life, its clean-up included. The first
SIGINT/SIGTERM sets a flag that the loop polls between steps, and a first Ctrl-C says at once on
stderr what happens next. Later signals never interrupt optrun's own bookkeeping (the trace, the
checkpoint, the summary are always written): a second Ctrl-C raises :class:`Interrupt` only while
user code runs (:func:`call_user`), to abort an evaluation that hangs, and a sweep uses it to stop
waiting for its workers (``Signals.hurry``).

:class:`Interrupt` is the KeyboardInterrupt of a real signal. A KeyboardInterrupt that user code
raises itself is a plain one, and is reported as that code's failure like any other exception.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

from .errors import UserCodeError


class Interrupt(KeyboardInterrupt):
    """A KeyboardInterrupt delivered by a signal (Ctrl-C), as opposed to one raised by user code."""


class EvaluationTimeout(UserCodeError):
    """A user function ran longer than ``objective.timeout_s``; the run adds the iteration."""


class _Alarm(BaseException):
    """Raised by the SIGALRM handler inside a user function that overran its time (a BaseException,
    so that the user's own ``except Exception`` does not swallow it)."""


_in_user = 0  # > 0 while user code runs in this process (call_user)


def main_thread() -> bool:
    """Is this the main thread (the only one where signal handlers can be set)?"""
    return threading.current_thread() is threading.main_thread()


def in_user_code() -> bool:
    """Is user code running in this process (inside :func:`call_user`)?"""
    return _in_user > 0


def _alarm(signum: int, frame: Any) -> None:
    raise _Alarm


def call_user(fn: Callable, *args: Any, timeout_s: float | None = None, what: str = "user code") -> Any:
    """``fn(*args)``, marked as user code (a second Ctrl-C interrupts it) and, with ``timeout_s``
    in the main thread, limited in time by SIGALRM: an overrun raises :class:`EvaluationTimeout`
    naming ``what``. The timer is cleared and the previous SIGALRM handler restored afterwards; no
    thread is started."""
    global _in_user
    alarm = timeout_s is not None and main_thread()
    _in_user += 1
    try:
        if not alarm:
            return fn(*args)
        old = signal.signal(signal.SIGALRM, _alarm)
        try:
            try:
                signal.setitimer(signal.ITIMER_REAL, timeout_s)
                return fn(*args)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                if old is not None:  # None: a handler set outside Python, which cannot be restored
                    signal.signal(signal.SIGALRM, old)
        except _Alarm:
            raise EvaluationTimeout(f"{what} took longer than timeout_s = {timeout_s:g} s") from None
    finally:
        _in_user -= 1
