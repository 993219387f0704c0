"""Ctrl-C and SIGTERM during a run or sweep, and the exit status they end it with.

A run or sweep installs :class:`Signals` for its whole life, its clean-up included. The first
SIGINT/SIGTERM sets a flag that the loop polls between steps, and a first Ctrl-C says at once on
stderr what happens next. Later signals never interrupt optrun's own bookkeeping (the trace, the
checkpoint, the summary are always written): a second Ctrl-C raises
:class:`~optrun.signals.Interrupt` only while user code runs (:func:`optrun.signals.call_user`),
to abort an evaluation that hangs, and a sweep uses it to stop waiting for its workers
(:attr:`Signals.hurry`). Single runs and sweeps share these rules and :func:`exit_code`.

Under the CLI (:func:`hold_interrupts`) no Ctrl-C, however late, can turn the exit status 130
into death by SIGINT: once a run or sweep is interrupted, SIGINT is ignored from the moment its
handlers go, and outside a run the first Ctrl-C raises KeyboardInterrupt and the next are ignored.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from typing import Any

from ..signals import Interrupt, in_user_code, main_thread

EXIT_INTERRUPTED = {signal.SIGINT: 130, signal.SIGTERM: 143}
#: the exit statuses of an interrupted run or sweep (its record is final; only exiting is left)
INTERRUPTED_CODES = frozenset(EXIT_INTERRUPTED.values())

# Set by the CLI (hold_interrupts): once a run or sweep of this process was interrupted, a late
# SIGINT is ignored from the moment its Signals are left, so that nothing after its record (the
# result line, the exit) can be cut by a KeyboardInterrupt or by death by SIGINT.
_hold = False


def exit_code(status: str, received: int | None, failed: bool) -> int:
    """The exit status of a run or sweep that ended ``status``: 130 (143 after SIGTERM) when it
    was interrupted, 1 when ``failed`` (it diverged, failed, or missed its ``expect:`` block or
    gate), else 0."""
    if status == "interrupted":
        return EXIT_INTERRUPTED.get(received or signal.SIGINT, 130)
    return 1 if failed else 0


def signal_name(received: int) -> str:
    """The name a summary records for a signal (``SIGINT``)."""
    return signal.Signals(received).name


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
        if main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.count += 1
        first = self.received is None
        if first:
            self.received = signum
        if signum == signal.SIGINT and (self.eager or (not first and in_user_code())):
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
            if _hold and sig == signal.SIGINT and self.received is not None:
                old = signal.SIG_IGN  # the record is final: no gap where a Ctrl-C kills the exit
            signal.signal(sig, old)
        self._old = {}


def interrupted(code: int) -> bool:
    """Does exit status ``code`` say a run or sweep was interrupted (130, or 143 after SIGTERM)?"""
    return code in INTERRUPTED_CODES


def hold_interrupts() -> None:
    """For the CLI, before it runs anything: when a run or sweep ends interrupted, SIGINT stays
    ignored from the moment its handlers are removed, with no moment in between where Python's
    default handler (a KeyboardInterrupt, or death by SIGINT while the interpreter exits) is in
    place. Outside a run, a Ctrl-C raises KeyboardInterrupt as usual but SIGINT is ignored from
    then on, so that a second one cannot cut the exit (status 130) either. A library caller's
    handlers are restored as they were (this is not called outside the CLI)."""
    global _hold
    _hold = True
    if main_thread():
        signal.signal(signal.SIGINT, _interrupt_once)


def _interrupt_once(signum: int, frame: Any) -> None:
    """The CLI's SIGINT handler outside a run or sweep: KeyboardInterrupt, once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def ignore_interrupts() -> None:
    """For the CLI once an interrupted run's or sweep's record is final and only exiting is left:
    a late Ctrl-C (``timeout`` sends two) must not turn exit status 130 into death by SIGINT."""
    if main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
