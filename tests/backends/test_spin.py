"""optrun.backends.spin: the bounded busy-waits of the helper team's hand-off."""

from __future__ import annotations

import threading

import numpy as np
import pytest

pytest.importorskip("numba")

from optrun.backends import spin

pytestmark = pytest.mark.skipif(not spin.AVAILABLE, reason="no monotonic clock in the C library")

US = 1000  # nanoseconds


@pytest.mark.parametrize("yield_every", [0, 1, 64])
def test_until_not_reports_a_changed_word_and_gives_up_after_its_window(yield_every):
    words = np.array([3, 7], dtype=np.int64)
    assert spin.until_not(words, 1, 6, 10 * US, 0, yield_every)  # already different
    assert spin.until_not(words, 1, 6, 10 * US, 2 * US, yield_every)  # ... returned after a grace
    assert not spin.until_not(words, 1, 7, 10 * US, 0, yield_every)  # unchanged through the window
    assert not spin.until_not(words, 0, 3, 0, 0, yield_every)


@pytest.mark.parametrize("yield_every", [0, 64])
def test_until_all_needs_every_word_of_the_range(yield_every):
    words = np.array([9, 5, 5, 4], dtype=np.int64)
    assert spin.until_all(words, 1, 3, 5, 10 * US, yield_every)
    assert not spin.until_all(words, 1, 4, 5, 10 * US, yield_every)
    assert spin.until_all(words, 2, 2, 5, 0, yield_every)  # an empty range


def test_a_word_written_by_another_thread_ends_the_watch():
    words = np.zeros(2, dtype=np.int64)
    seen = []
    window = 20_000_000 * US  # 20 s: the watch ends far earlier, when the word changes
    watcher = threading.Thread(target=lambda: seen.append(spin.until_not(words, 1, 0, window, 0, 64)))
    watcher.start()
    words[1] = 1  # a plain store from Python, as the team posts a step
    watcher.join()
    assert seen == [True]


def test_the_clock_is_monotonic_nanoseconds():
    import time

    from numba import njit

    @njit
    def two():
        a = spin.now_ns()
        b = spin.now_ns()
        return a, b

    a, b = two()
    assert 0 < a <= b
    assert abs(a - time.monotonic_ns()) < 60 * 10**9  # the same clock as Python's, not another unit
