"""Compute backends for the built-in optimizers: ``backend: auto | numpy | numba`` in a config.

``numpy``
    The kernels of :mod:`optrun.optimizers`: in-place ufuncs on preallocated buffers, no
    temporaries per step, and above :data:`optrun.optimizers.blocked.MIN_ELEMENTS` elements
    processed in cache-sized slices (:func:`optrun.optimizers.blocked.blocked`). Always available.
``numba``
    One fused, compiled loop per step (:mod:`optrun.backends.fused`), multi-threaded above
    :data:`optrun.backends.fused.PARALLEL_MIN_D` coordinates; below, whole chunks of steps in
    one compiled call when the objective has a compiled gradient (:mod:`optrun.backends.compiled`;
    the chunk loops are generated in :mod:`optrun.backends.drivers`) or is an online objective
    whose gradient does not depend on ``x`` (:class:`optrun.backends.stepper.GivenStepper`). An optional extra:
    ``pip install numba`` (the ``fast`` extra). Points, f and the optimizer state are bit-identical to the
    numpy backend in float64; the fused step (:attr:`optrun.backends.stepper.Fused.apply`) sums the step norm in another
    order, so ``step_norm`` in the trace may differ in the last bits (within 1e-14 relative).
``auto`` (the default)
    numba when it is installed and ``d >= NUMBA_MIN_D``, numpy otherwise; and numba for a
    built-in online objective whose rounds run as compiled chunks (:func:`optrun.problem.run_backend`).

numba is imported only when the numba backend is chosen, never when optrun starts.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

from ..errors import ConfigError
from ..optimizers.base import Optimizer, Variant

BACKENDS = ("auto", "numpy", "numba")
INSTALL_HINT = "pip install numba (or the fast extra: pip install '.[fast]' in the checkout)"
#: ``auto`` picks numba from this dimension up. Measured (benchmarks/results/latest.md):
#: at d = 1e3 a step is dominated by Python call overhead and numba is no faster (7-21 us vs
#: 7-14 us); at d = 1e5 it is 2-3x faster. 1e4 lies between the two (not measured on its own);
#: at d = 2 the 100,000-iteration tutorial run took 4.2 s with numba vs 2.8 s with numpy.
NUMBA_MIN_D = 10_000


def numba_available() -> bool:
    """Whether numba can be imported (without importing it)."""
    if "numba" in sys.modules:
        return sys.modules["numba"] is not None
    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):
        return False


def resolve_backend(backend: str, d: int) -> str:
    """The backend a run of dimension ``d`` uses: ``numpy`` or ``numba``.

    Raises :class:`ConfigError` for ``numba`` when numba is not installed.
    """
    if backend == "numpy":
        return "numpy"
    if backend == "numba":
        if not numba_available():
            raise ConfigError(
                f"numba is not installed: {INSTALL_HINT} (or use backend: auto or numpy)", path="backend"
            )
        return "numba"
    if backend != "auto":
        raise ConfigError(f"must be one of {', '.join(BACKENDS)}, not {backend!r}", path="backend")
    return "numba" if d >= NUMBA_MIN_D and numba_available() else "numpy"


def build_variant(
    variant: Variant, params: dict[str, Any], backend: str, d: int, schedule: dict[str, Any] | None = None
) -> Optimizer:
    """A built-in variant's optimizer for ``backend`` (``auto | numpy | numba``) at dimension ``d``.

    ``params`` are the variant's hyperparameters (floats or ``(S, 1)`` arrays); ``schedule`` a
    resolved learning-rate schedule (:mod:`optrun.optimizers.schedules`) or None.
    """
    from ..optimizers.blocked import blocked
    from ..optimizers.schedules import scheduled

    alpha = params.get("alpha", 1.0)
    if resolve_backend(backend, d) == "numba":
        try:
            from .fused import fused_builder, given_steps
            from .stepper import Fused
        except ImportError as e:  # installed but broken (e.g. a numpy it does not support)
            if backend == "numba":
                raise ConfigError(
                    f"numba could not be imported ({e}); {INSTALL_HINT} or use backend: numpy", path="backend"
                ) from None
        else:
            fused = fused_builder(variant.build)
            if fused is not None:
                opt = fused(**params)
                if opt.steps is None:
                    return scheduled(opt, schedule, alpha)
                # chunks with given gradients (online objectives), scheduled ones too
                opt = opt._replace(given=given_steps(variant.build, params))
                if not schedule or schedule["name"] == "constant" or opt.given is None:
                    return opt
                plain = scheduled(opt, schedule, alpha)  # (no fused apply: Stepper steps it)
                return Fused(
                    plain[0], plain[1], None, None, given_steps(variant.build, params, schedule, alpha)
                )
    return blocked(scheduled(variant.build(**params), schedule, alpha))


def chunked_gradient(objective: Any, optimizer: Optimizer, d: int) -> tuple[int, Any] | None:
    """The objective's compiled gradient ``(code, params)`` when ``optimizer`` can run whole
    chunks of steps with it (:attr:`optrun.backends.stepper.Fused.steps`, a numba-backend kernel, on one thread:
    ``d`` below :data:`optrun.backends.fused.PARALLEL_MIN_D`), else None. See
    :mod:`optrun.backends.compiled`."""
    if getattr(optimizer, "steps", None) is None:
        return None
    from .compiled import compiled_gradient
    from .fused import PARALLEL_MIN_D

    return compiled_gradient(objective) if d < PARALLEL_MIN_D else None
