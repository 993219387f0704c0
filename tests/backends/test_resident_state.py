"""The numba backend's ``init`` writes every page of the state's fields once (not the scratch
fields): a compiled kernel reads every field it is given, and fields left as fresh zero pages
made an RMSProp step up to 50x slower. Checked through ``/proc/self/pagemap`` (Linux): the
"present" bit of each page of a field, before and after."""

from __future__ import annotations

import os
import struct
from typing import NamedTuple

import numpy as np
import pytest

from optrun.backends.fused import PAGE_FLOATS, resident

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/pagemap"), reason="Linux only")


def present(a: np.ndarray) -> np.ndarray:
    """Which of the 4 KiB pages under ``a`` are mapped (pagemap bit 63)."""
    first = a.ctypes.data // 4096
    last = (a.ctypes.data + a.nbytes - 1) // 4096
    with open("/proc/self/pagemap", "rb") as f:
        f.seek(first * 8)
        raw = f.read((last - first + 1) * 8)
    words = struct.unpack(f"{len(raw) // 8}Q", raw)
    return np.array([(w >> 63) & 1 for w in words], dtype=bool)


class State(NamedTuple):
    nu: np.ndarray
    mu: np.ndarray
    tmp: np.ndarray
    SCRATCH = ("tmp",)


def zeros_init(x: np.ndarray) -> State:
    n = x.shape[-1]
    return State(np.zeros(n), np.zeros(n), np.zeros(n))


def test_resident_writes_every_page_of_the_state_and_none_of_the_scratch():
    x = np.ones(1 << 23)  # 64 MiB a field: above glibc's largest mmap threshold, so fresh pages
    plain = zeros_init(x)
    assert not present(plain.mu)[1:-1].any()  # the control: fresh zero pages are not mapped yet
    state = resident(zeros_init)(x)
    assert present(state.nu).all() and present(state.mu).all()
    assert not present(state.tmp)[1:-1].any()
    for a in state:
        assert not a.any() and not np.signbit(a).any()  # no value changed


def test_resident_keeps_every_value_and_sign():
    x = np.ones(3 * PAGE_FLOATS + 5)

    def init(x):
        n = x.shape[-1]
        nu = np.empty(n)
        nu[...] = np.linspace(-1.0, 1.0, n)
        nu[::7] = -0.0
        return State(nu, np.zeros(n), np.empty(n))

    want = init(x).nu.copy()
    got = resident(init)(x).nu
    assert np.array_equal(np.signbit(got), np.signbit(want)) and np.array_equal(got, want)
