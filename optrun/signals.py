"""Ctrl-C, SIGTERM and user code: how a run stops, and how a user's function is called.

A run or sweep installs :class:`Signals` for its whole life, its clean-up included. The first
SIGINT/SIGTERM sets a flag that the loop polls between steps, and a first Ctrl-C says at once on
stderr what happens next. Later signals never interrupt optrun's own bookkeeping (the trace, the
checkpoint, the summary are always written): a second Ctrl-C raises :class:`Interrupt` only while
user code runs (:func:`call_user`), to abort an evaluation that hangs, and a sweep uses it to stop
waiting for its workers (:attr:`Signals.hurry`).

:class:`Interrupt` is the KeyboardInterrupt of a real signal. A KeyboardInterrupt that user code
raises itself is a plain one, and is reported as that code's failure like any other exception.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
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


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class Signals:
    """SIGINT/SIGTERM handling for one run or sweep (installed from the main thread only).

    ``received`` is the first signal (None until one arrives), ``count`` how many arrived. With
    ``eager`` set (while the problem is built, before there is anything to record) a Ctrl-C
    raises :class:`Interrupt` at once. ``notice`` is printed on stderr at the first Ctrl-C.
    """

    def __init__(self, notice: str | None = None):
        self.received: int | None = None
        self.count = 0
        self.eager = False
        self.notice = notice
        self._old: dict[int, Any] = {}

    @property
    def hurry(self) -> bool:
        """A second signal came: shorten the clean-up (never skip the record)."""
        return self.count > 1

    def __enter__(self):
        if _main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.count += 1
        first = self.received is None
        if first:
            self.received = signum
        if signum == signal.SIGINT and (self.eager or (not first and _in_user)):
            raise Interrupt
        if first and signum == signal.SIGINT and self.notice:
            try:  # os.write: safe even if the signal cut into a print to stderr
                os.write(2, f"\noptrun: {self.notice}\n".encode())
            except OSError:
                pass

    @contextlib.contextmanager
    def eagerly(self) -> Iterator[None]:
        """Within the block a Ctrl-C raises :class:`Interrupt` at once (nothing to record yet)."""
        self.eager = True
        try:
            if self.received == signal.SIGINT:
                raise Interrupt
            yield
        finally:
            self.eager = False

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old = {}


def ignore_interrupts() -> None:
    """For the CLI once an interrupted run's or sweep's record is final and only exiting is left:
    a late Ctrl-C (``timeout`` sends two) must not turn exit status 130 into death by SIGINT."""
    if _main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _alarm(signum: int, frame: Any) -> None:
    raise _Alarm


def call_user(fn: Callable, *args: Any, timeout_s: float | None = None, what: str = "user code") -> Any:
    """``fn(*args)``, marked as user code (a second Ctrl-C interrupts it) and, with ``timeout_s``
    in the main thread, limited in time by SIGALRM: an overrun raises :class:`EvaluationTimeout`
    naming ``what``. The timer is cleared and the previous SIGALRM handler restored afterwards; no
    thread is started."""
    global _in_user
    alarm = timeout_s is not None and _main_thread()
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
