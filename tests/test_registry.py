"""optrun.registry: lookup by name or alias, the list suggestions pick from, "did you mean"."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from optrun.registry import all_names, lookup, suggest, unknown


@dataclass(frozen=True)
class Entry:
    name: str
    aliases: tuple[str, ...] = ()


ENTRIES = {"adam": Entry("adam", ("adam-torch",)), "sgd": Entry("sgd", ("gd", "momentum"))}


def test_lookup_by_name_and_by_alias():
    assert lookup("adam", ENTRIES) is ENTRIES["adam"]
    assert lookup("momentum", ENTRIES) is ENTRIES["sgd"]
    with pytest.raises(KeyError):
        lookup("nadam", ENTRIES)


def test_all_names_lists_names_then_aliases_in_order():
    assert all_names(ENTRIES) == ["adam", "sgd", "adam-torch", "gd", "momentum"]


def test_suggest_the_nearest_name_or_the_whole_list():
    assert suggest("adma", all_names(ENTRIES)) == "; did you mean 'adam'?"
    assert suggest("zzz", ["a", "b"]) == "; valid keys: a, b"
    assert suggest("zzz", ["a", "b"], listing="known objectives") == "; known objectives: a, b"


def test_unknown_names_the_kind_and_the_command_that_lists_them():
    assert unknown("algorithm", "sdg", all_names(ENTRIES), "algorithms") == (
        "unknown algorithm 'sdg'; did you mean 'sgd'? (see 'optrun algorithms')"
    )


def test_the_optimizer_and_objective_registries_use_it():
    from optrun.objectives import OBJECTIVES, get_objective, objective_names
    from optrun.optimizers import ALGORITHMS, algorithm_names, get_algorithm

    assert algorithm_names() == all_names(ALGORITHMS)
    assert objective_names() == all_names(OBJECTIVES)
    for name in algorithm_names():
        assert get_algorithm(name) is lookup(name, ALGORITHMS)
    for name in objective_names():
        assert get_objective(name) is lookup(name, OBJECTIVES)
