"""Batches: which sweep members share one vectorized loop, and their hyperparameters as arrays.

Members that share algorithm, variant, non-numeric hyperparameters, objective (and its gradient
noise), constraint (and the bounds it projects onto), iteration budget, stop rules, trace settings
and backend form a group; a group runs as near-equal batches of at most
:data:`BATCH_MAX` members, whatever the number of workers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config.model import RunConfig

BATCH_MAX = 1024


def batch_key(cfg: RunConfig) -> tuple:
    """Members with equal keys can share one vectorized loop."""
    fixed = tuple(sorted((k, repr(v)) for k, v in cfg.algorithm.params.items() if not _numeric(v)))
    return (
        cfg.algorithm.name,
        cfg.algorithm.variant,
        fixed,
        cfg.objective.name,
        cfg.objective.dim,
        repr(sorted(cfg.objective.params.items())),
        repr(cfg.objective.noise),
        cfg.constraint,
        cfg.bounds if cfg.constraint == "box" else None,  # (the projection is the batch's)
        cfg.iterations,
        cfg.stop,
        cfg.trace,
        cfg.backend,
    )


def _numeric(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def batch_params(configs: list[RunConfig]) -> dict[str, Any]:
    """The batch's hyperparameters: numeric ones as ``(S, 1)`` float arrays, others as they are.

    Single runs use this too (S = 1), so that a member and the same run alone compute with the
    same numpy operations and agree bit for bit.
    """
    out: dict[str, Any] = {}
    sections = [c.algorithm for c in configs]
    distinct = list({id(a): a for a in sections}.values())  # seeds of one config share a section
    place = {id(a): j for j, a in enumerate(distinct)}
    which = np.array([place[id(a)] for a in sections], dtype=np.intp)
    for k, v in configs[0].algorithm.params.items():
        if _numeric(v):
            values = np.array([float(a.params[k]) for a in distinct])
            out[k] = values[which].reshape(-1, 1)
        else:
            out[k] = v
    return out


def make_batches(
    members: list[RunConfig], batch_max: int = BATCH_MAX, kinds: list[int] | None = None
) -> list[list[int]]:
    """Member indices grouped into batches, in order of each group's first member.

    A group of n members runs as ceil(n / batch_max) batches of near-equal size (10,000 members:
    ten batches of 1,000), so that a process pool shares the work evenly. The batches depend only
    on the members, never on the number of workers: a sweep's files are the same with any --workers.
    ``kinds`` (the plan's ``base_of``: members of one kind differ only by seed) spares looking at
    every member's sections.
    """
    groups: dict[tuple, list[int]] = {}
    # members that differ only in scalars (seed, start) share their section objects: their key
    # is computed once (the members are alive throughout, so the ids stay theirs)
    keys: dict[tuple, tuple] = {}
    of_kind: dict[int, list[int]] = {}
    for i, cfg in enumerate(members):
        group = of_kind.get(kinds[i]) if kinds is not None else None
        if group is None:
            ids = (
                id(cfg.algorithm),
                id(cfg.objective),
                id(cfg.stop),
                id(cfg.trace),
                cfg.iterations,
                cfg.backend,
            )
            key = keys.get(ids)
            if key is None:
                key = keys[ids] = batch_key(cfg)
            group = groups.setdefault(key, [])
            if kinds is not None:
                of_kind[kinds[i]] = group
        group.append(i)
    out = []
    for idx in groups.values():
        k = -(-len(idx) // batch_max)
        q, r = divmod(len(idx), k)
        j = 0
        for b in range(k):
            size = q + (b < r)
            out.append(idx[j : j + size])
            j += size
    return out


class BatchConfigs(list):
    """A batch's member configs (a plain list of them), which pickles small: the distinct configs
    once, then which one each member is and its seed (``RunConfig.with_seed`` rebuilds the same
    configs where it is unpickled). A process pool sends each batch's configs to a worker: a
    1,000-member batch of seeds is a few kilobytes instead of a config's fields per member."""

    def __init__(self, configs: list[RunConfig], bases: list[RunConfig], which: list[int], seeds: list):
        super().__init__(configs)
        self.bases, self.which, self.seeds = bases, which, seeds

    def __reduce__(self):
        used = sorted(set(self.which))
        place = {b: k for k, b in enumerate(used)}
        return unpack_configs, ([self.bases[b] for b in used], [place[b] for b in self.which], self.seeds)


def unpack_configs(bases: list[RunConfig], which: list[int], seeds: list) -> list[RunConfig]:
    """The member configs a :class:`BatchConfigs` pickled."""
    return [bases[b] if s is None else bases[b].with_seed(s) for b, s in zip(which, seeds)]


def batch_configs(plan: Any, idx: list[int]) -> list[RunConfig]:
    """The configs of the members ``idx`` of ``plan`` (:class:`~optrun.sweep.plan.Plan`): a
    :class:`BatchConfigs` when the plan says which distinct config each member is (small to
    pickle for a worker), else a plain list."""
    configs = [plan.members[i] for i in idx]
    if len(plan.base_of) != len(plan.members):  # a plan made by hand
        return configs
    base_of, assignments = plan.base_of, plan.assignments
    seeds = [assignments[i].get("seed") for i in idx]
    return BatchConfigs(configs, plan.bases, [base_of[i] for i in idx], seeds)
