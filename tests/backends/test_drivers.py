"""Tile drivers and chunk loops are generated from the element kernels (optrun.backends.drivers),
and the backend table covers every built-in variant (optrun.backends.table)."""

from __future__ import annotations

import functools
import inspect
import subprocess
import sys

import pytest

from optrun.optimizers import ALGORITHMS

pytest.importorskip("numba")
from optrun.backends import drivers, fused, kernels
from optrun.backends.table import RULES

HEAD = ["lo", "hi", "step", "so", "add", "C", "g", "x"]


@pytest.mark.parametrize("name", kernels.KERNELS)
def test_every_kernel_has_the_common_head_and_generated_drivers(name):
    kernel = getattr(kernels, name)
    assert list(inspect.signature(kernel.py_func).parameters)[: len(HEAD)] == HEAD
    assert drivers.APPLY[name].py_func.__name__ == f"{name}_apply"
    # its own numba cache entry, renewed when a kernel's source changes
    assert drivers.STEPS[name].py_func.__qualname__ == f"{name}_steps_{drivers.SOURCE_TAG}"


def test_every_rule_names_a_kernel_and_every_variant_has_a_rule():
    assert {r.kernel for r in RULES.values()} == set(kernels.KERNELS)
    for algorithm in ALGORITHMS.values():
        for v in algorithm.variants:
            build = v.build.func if isinstance(v.build, functools.partial) else v.build
            assert build in RULES, f"{algorithm.name}/{v.name}"
            assert fused.fused_builder(v.build) is not None


def test_generated_drivers_are_found_in_numba_cache_by_the_next_process(tmp_path):
    """A generated driver compiled in one process is loaded, not compiled, by the next one."""
    code = (
        "import numpy as np; from optrun.backends import drivers, kernels;"
        "t = np.empty((1, 1024)); sq = np.empty(1); x = np.ones((1, 8)); g = np.ones((1, 8));"
        "drivers.APPLY['gd'](0, 8, t, sq, np.empty((0, 1)), g, x, np.ones(1));"
        "print(sum(drivers.APPLY['gd'].stats.cache_hits.values()))"
    )
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[-1].stderr
    assert runs[1].stdout.strip() == "1"
