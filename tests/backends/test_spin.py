"""optrun.backends.spin: the bounded busy-waits of the helper team's hand-off."""

from __future__ import annotations

import threading

import numpy as np
import pytest

pytest.importorskip("numba")

from optrun.backends import spin


def test_until_not_reports_a_changed_word_and_gives_up_after_its_rounds():
    words = np.array([3, 7], dtype=np.int64)
    assert spin.until_not(words, 1, 6, 10, 0)  # already different
    assert not spin.until_not(words, 1, 7, 10, 0)  # unchanged through every round
    assert not spin.until_not(words, 0, 3, 0, 0)


def test_until_all_needs_every_word_of_the_range():
    words = np.array([9, 5, 5, 4], dtype=np.int64)
    assert spin.until_all(words, 1, 3, 5, 10)
    assert not spin.until_all(words, 1, 4, 5, 10)
    assert spin.until_all(words, 2, 2, 5, 0)  # an empty range


def test_a_word_written_by_another_thread_ends_the_watch():
    words = np.zeros(2, dtype=np.int64)
    seen = []
    rounds = int(spin.rounds_per_us() * 5_000_000)  # 5 s: ends far earlier, when the word changes
    watcher = threading.Thread(target=lambda: seen.append(spin.until_not(words, 1, 0, rounds, 0)))
    watcher.start()
    words[1] = 1  # a plain store from Python, as the team posts a step
    watcher.join()
    assert seen == [True]


def test_rounds_per_us_is_a_positive_rate():
    assert spin.rounds_per_us(trials=1, spins=1000) > 0
