"""The numba backend's out-of-place step (``Fused.apply(..., out)``, the drivers' ``apply_to``):
``out`` gets the bits the in-place ``apply`` leaves in ``x``, ``x`` is left alone, and the state
and the squared step norms are the same, for every variant and its optional branches, on one
thread and on several (a step from d = 2**17 on runs on every thread)."""

from __future__ import annotations

import numpy as np
import pytest
from test_backends import EXTRA, SCRATCH, VARIANTS, hyper

from optrun.optimizers import get_algorithm

CASES = [(a, v, {}) for a, v in VARIANTS] + EXTRA


@pytest.fixture(scope="module")
def fused():
    pytest.importorskip("numba")
    from optrun.backends import fused

    return fused


def kept(state) -> dict:
    return {k: np.array(v, copy=True) for k, v in state._asdict().items() if k not in SCRATCH}


@pytest.mark.parametrize(("algo", "variant", "extra"), CASES)
@pytest.mark.parametrize(("S", "d"), [(2, 1001), (1, (1 << 17) + 5)])
def test_out_of_place_step_is_the_in_place_step(fused, algo, variant, extra, S, d):
    v = get_algorithm(algo).variant(variant)
    builder = fused.fused_builder(v.build)
    if builder is None:
        pytest.skip("no fused kernel")
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal((S, d))
    a, b = builder(**hyper(algo, variant, S, extra)), builder(**hyper(algo, variant, S, extra))
    xa, xb = x0.copy(), x0.copy()
    sa, sb = a.init(xa), b.init(xb)
    qa, qb = np.empty(S), np.empty(S)
    with np.errstate(all="ignore"):
        for t in range(1, 5):
            g = rng.standard_normal((S, d)) + 0.5 * xa
            sa = a.apply(g, sa, xa, t, qa)
            out = np.full_like(xb, np.nan)
            before = xb.copy()
            sb = b.apply(g, sb, xb, t, qb, out)
            assert xb.tobytes() == before.tobytes(), "x was written"
            assert out.tobytes() == xa.tobytes(), f"step {t}: out differs from the in-place x"
            assert qa.tobytes() == qb.tobytes()
            xb = out
    ka, kb = kept(sa), kept(sb)
    for k in ka:
        assert ka[k].tobytes() == kb[k].tobytes(), f"state field {k} differs"
