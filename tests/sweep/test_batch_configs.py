"""A batch's member configs sent to a worker (optrun/sweep/batches.py, ``BatchConfigs``): the
distinct configs once, which one each member is and its seed; unpickled, the same configs."""

from __future__ import annotations

import pickle

from optrun.sweep import load_plan, make_batches
from optrun.sweep.batches import BatchConfigs, batch_configs


def test_batch_configs_pickle_small_and_come_back_equal(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "objective: {name: sphere, dim: 2}\niterations: 5\nalgorithm: {name: adam}\nstart: random\n"
    )
    plan = load_plan(str(cfg), [], ["seed=0:300", "algorithm.alpha=0.1,0.01", "algorithm.name=adam,gd"])
    assert len(plan.bases) == 4 and len(plan.base_of) == len(plan.members) == 1200
    for idx in make_batches(plan.members):
        configs = batch_configs(plan, idx)
        assert isinstance(configs, BatchConfigs) and list(configs) == [plan.members[i] for i in idx]
        data = pickle.dumps(configs, pickle.HIGHEST_PROTOCOL)
        back = pickle.loads(data)
        assert type(back) is list
        assert back == list(configs)
        assert [c.__dict__ for c in back] == [c.__dict__ for c in configs]
        assert len(data) * 5 < len(pickle.dumps(list(configs), pickle.HIGHEST_PROTOCOL))


def test_a_plan_without_bases_gives_a_plain_list(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("objective: {name: sphere, dim: 2}\niterations: 5\nalgorithm: {name: adam}\n")
    plan = load_plan(str(cfg), [], ["seed=0:3"])
    plan.base_of = []
    assert type(batch_configs(plan, [0, 2])) is list
