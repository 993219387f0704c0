"""Sweeps: grids of hyperparameters, seeds, algorithms and objectives, run as vectorized batches.

Declaring axes
--------------
In a config, ``sweep:`` maps dotted keys to values::

    sweep:
      seed: {range: [0, 100]}                 # 0, 1, ..., 99 (Python's range; [start, stop, step])
      algorithm.alpha: {logspace: [1.0e-4, 1.0e-1, 7]}   # 7 log-spaced values, ends included
      algorithm.name: [amsgrad, adam]         # a plain list (algorithm and objective swaps too)
      zip:                                    # paired axes: values move together
        algorithm.beta1: [0.8, 0.9]
        algorithm.beta2: [0.99, 0.999]

``linspace: [a, b, n]`` is also accepted; ``zip`` may also be a list of such groups. On the
command line ``--sweep KEY=SPEC`` adds an axis (Hydra's spirit): ``seed=0:100`` (or ``0:100:5``,
``range(0,100)``), ``algorithm.alpha=0.001,0.01,0.1``, ``algorithm.alpha=logspace(1e-4,1e-1,7)``,
``linspace(a,b,n)``, ``start=[0.1,0.2],[0.3,0.4]`` (commas inside brackets do not split); values
are typed by YAML rules. A ``--sweep`` key replaces the config's axis of that key; one key twice
on the command line is an error. The sweep is the product of the axes, first axis slowest; members
are numbered 0, 1, ... in that order.

Swapping ``algorithm.name``, ``algorithm.variant`` or ``objective.name`` (or the whole section
by a plain name) keeps the base's settings the new one accepts, a pinned variant included where
the new algorithm has it, and drops the others, naming them in :attr:`Plan.notes`; so the
tutorial's AMSGrad config can sweep ``algorithm.name: [amsgrad, adam, gd]``. A whole section
given as a mapping replaces the base's. An override of a key that an axis also sets is refused.
Every distinct member config is validated before anything runs; an error names the axis value
(the ``--sweep`` option, or the config's block) that made it.

The resolved ``sweep:`` block written to a sweep folder keeps ``range``/``logspace``/``linspace``
axes in that form and the axis order, so ``optrun run SWEEP/config.yaml`` (and ``optrun resume``)
rebuilds the same members with the same numbers, even for 100,000 seeds.

Running
-------
Members that share algorithm, variant, non-numeric hyperparameters, objective, iteration budget,
stop rules and trace settings form a group; a group runs as near-equal batches of at most
``BATCH_MAX`` members, each ONE numpy loop over ``x`` of shape ``(S, d)`` with numeric
hyperparameters as ``(S, 1)`` arrays. A single run goes through the same code with S = 1 (its
hyperparameters are ``(1, 1)`` arrays), so a member's trace is bit-identical to that member run
alone. Batches run in a process pool (``--workers``) and their results are merged in member
order; the batches, and so the files, do not depend on the number of workers.

Modules: :mod:`.axes` (the axis grammar), :mod:`.plan` (:class:`Plan` and :func:`load_plan`),
:mod:`.batches` (groups, batches and their hyperparameter arrays), :mod:`.gates` (the sweep's own
``expect:`` gates).
"""

from __future__ import annotations

from .axes import SWEEP_FORMS, Axis, axis_values, parse_sweep_block, parse_sweep_option
from .batches import BATCH_MAX, batch_key, batch_params, make_batches
from .gates import sweep_gate
from .plan import MAX_MEMBERS, Plan, load_plan

__all__ = [
    "BATCH_MAX",
    "MAX_MEMBERS",
    "SWEEP_FORMS",
    "Axis",
    "Plan",
    "axis_values",
    "batch_key",
    "batch_params",
    "load_plan",
    "make_batches",
    "parse_sweep_block",
    "parse_sweep_option",
    "sweep_gate",
]
