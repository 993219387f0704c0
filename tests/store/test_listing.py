"""``last``, ``-1``, ``-2`` ... name folders in the order ``optrun runs`` lists them; they are resolved
from summaries and metas alone (store.listing.newest_first), without parsing every config."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cli_runs import run_folder

from optrun.store.listing import list_runs, newest_first
from optrun.store.select import resolve_run


def _edit(path: Path, name: str, change) -> None:
    data = json.loads((path / name).read_text())
    change(data)
    (path / name).write_text(json.dumps(data))


def test_newest_first_is_the_listing_order(configs_dir, tmp_path):
    runs = tmp_path / "runs"
    first = Path(run_folder(configs_dir / "amsgrad.yaml", runs, "iterations=5"))
    run_folder(configs_dir / "adagrad.yaml", runs, "iterations=5", "--sweep", "seed=0:2")
    run_folder(configs_dir / "amsgrad.yaml", runs, "iterations=5")
    base = first.name[: -len("-amsgrad-tutorial-xxxxxx")]
    odd = {}
    for n, label in enumerate(("newer", "damaged", "nometa", "notime", "badconfig")):
        odd[label] = runs / f"{base[:-1]}{n}-amsgrad-tutorial-{label}"
        shutil.copytree(first, odd[label])
    _edit(odd["newer"], "summary.json", lambda d: d.update(format_version=99))
    (odd["damaged"] / "summary.json").write_text('{"status": ')
    (odd["nometa"] / "meta.json").write_text("[")
    _edit(odd["notime"], "summary.json", lambda d: d.pop("started_at"))
    _edit(odd["notime"], "meta.json", lambda d: d.pop("started_at", None))
    (odd["badconfig"] / "config.yaml").write_text("a: [")
    listed = list_runs(str(runs))
    assert {r.status for r in listed} >= {"unreadable", "damaged", "completed"}
    quick = newest_first(str(runs))
    assert [(e.path, e.kind) for e in quick] == [(r.path, r.kind) for r in listed]
    assert [resolve_run(f"-{n}", str(runs)) for n in range(1, len(listed) + 1)] == [r.path for r in listed]
