"""The tile drivers as issue 16 left them (kernel inlined, short tiles for gd and momentum, tiles
moved off ``x``'s page offset) against the drivers before (the kernel called per 32K-element
tile with ``*rest``, kept here): the same x, state and squared step norms, bit for bit, for every
kernel and its branches, at sizes around the sum block and the tile, on whole rows and on the
column ranges of two threads, in place and out of place."""

from __future__ import annotations

import types

import numpy as np
import pytest
from test_backends import EXTRA, VARIANTS, hyper

from optrun.optimizers import get_algorithm

numba = pytest.importorskip("numba")
from optrun.backends import drivers, fused, kernels  # noqa: E402


def _old_apply(lo, hi, tile, sq, C, g, x, *rest):
    acc = np.zeros(g.shape[0])
    for a in range(lo, hi, tile.shape[1]):
        b = min(hi, a + tile.shape[1])
        kernel(a, b, tile, a, True, C, g, x, *rest)  # noqa: F821 (bound below)
        sum_tile(b - a, tile, acc)  # noqa: F821
    sq[:] = acc


def _old_apply_to(lo, hi, tile, sq, out, C, g, x, *rest):
    acc = np.zeros(g.shape[0])
    for a in range(lo, hi, tile.shape[1]):
        b = min(hi, a + tile.shape[1])
        out[:, a:b] = x[:, a:b]
        kernel(a, b, tile, a, True, C, g, out, *rest)  # noqa: F821
        sum_tile(b - a, tile, acc)  # noqa: F821
    sq[:] = acc


OLD: dict[tuple[str, str], object] = {}


def old_driver(name: str, role: str):
    """The driver before issue 16's tile changes (compiled here, not cached)."""
    if (name, role) not in OLD:
        template = _old_apply if role == "apply" else _old_apply_to
        scope = {"np": np, "kernel": getattr(kernels, name), "sum_tile": drivers.sum_tile}
        fn = types.FunctionType(template.__code__, scope, f"old_{name}_{role}")
        OLD[name, role] = numba.njit(error_model="numpy", nogil=True)(fn)
    return OLD[name, role]


def driver_args(algo: str, variant: str, extra: dict, S: int, d: int, seed: int):
    """The kernel name and the driver arguments (``C, g, x, *state, *rows, *flags``) of a real
    step of the variant, after two steps so that the state is not its initial value."""
    v = get_algorithm(algo).variant(variant)
    opt = fused.fused_builder(v.build)(**hyper(algo, variant, S, extra))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((S, d))
    s, sq = opt.init(x), np.empty(S)
    with np.errstate(all="ignore"):
        for t in (1, 2):
            s = opt.apply(rng.standard_normal((S, d)) + 0.5 * x, s, x, t, sq)
    seen = {}
    real = fused._call

    def spy(sq_, step, name, d_, x_, *args, out=None):
        seen["call"] = (name, args)

    fused._call = spy
    try:
        opt.apply(rng.standard_normal((S, d)) + 0.5 * x, s, x, 3, sq)
    finally:
        fused._call = real
    return seen["call"]


def run(drive, ranges, tile_of, S, args, out=None):
    """Each range's driver call on copies of the written arrays; the sq partials added in range
    order, as ``fused._call`` does. Returns the arrays after the step and the norms."""
    args = tuple(a.copy() if isinstance(a, np.ndarray) and a.flags.writeable else a for a in args)
    out = None if out is None else out.copy()
    sq = np.zeros(S)
    for c, (lo, hi) in enumerate(ranges):
        part = np.empty(S)
        head = (out,) if out is not None else ()
        with np.errstate(all="ignore"):
            drive(lo, hi, tile_of(c), part, *head, *args)
        sq = part if c == 0 else sq + part
    written = [a for a in args if isinstance(a, np.ndarray) and a.flags.writeable]
    return [a.tobytes() for a in written] + ([] if out is None else [out.tobytes()]), sq.tobytes()


CASES = [(a, v, {}) for a, v in VARIANTS] + EXTRA


@pytest.mark.parametrize(("algo", "variant", "extra"), CASES)
@pytest.mark.parametrize(("S", "d"), [(1, 1), (1, 1023), (2, 1025), (3, 40_001), (1, 70_000)])
def test_new_drivers_give_the_old_drivers_bits(algo, variant, extra, S, d):
    name, args = driver_args(algo, variant, extra, S, d, seed=S * 7 + d)
    half = d // 2 + 7 if d > 20 else d
    old_tile = np.empty((2, S, max(1, (1 << 15) // (S * drivers.SUM_BLOCK)) * drivers.SUM_BLOCK))
    new_tiles = fused._tiles(2, S, name)
    for ranges in ([(0, d)], [(0, half), (half, d)]):
        for role, drive in (("apply", drivers.APPLY[name]), ("apply_to", drivers.APPLY_TO[name])):
            out = None if role == "apply" else np.full((S, d), np.nan)
            old = run(old_driver(name, role), ranges, lambda c: old_tile[c], S, args, out)
            new = run(drive, ranges, lambda c: new_tiles[c], S, args, out)
            assert new[1] == old[1], f"{role} {ranges}: squared step norms differ"
            assert new[0] == old[0], f"{role} {ranges}: x, out or a state array differs"


def test_tiles_start_at_their_page_offset_and_are_short_for_light_kernels():
    for name in ("gd", "adam_torch"):
        t = fused._tiles(2, 3, name)
        assert t.flags.c_contiguous
        assert t.ctypes.data % 4096 == fused.TILE_OFFSET
        assert t.shape[2] % drivers.SUM_BLOCK == 0
    assert fused._tiles(1, 1, "gd").shape == (1, 1, drivers.SUM_BLOCK)
    assert fused._tiles(1, 1, "heavy_ball").shape == (1, 1, drivers.SUM_BLOCK)
    assert fused._tiles(1, 1, "adam_torch").shape == (1, 1, fused.TILE_ELEMENTS)
