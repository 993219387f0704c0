"""Child process: run the optrun CLI in-process with the given arguments, then write the names of
every imported module as JSON to OUT (at exit, so commands that call ``sys.exit`` are covered).

    python [-X importtime] benchmarks/bench_imports.py OUT.json [optrun arguments...]
"""

import atexit
import sys


def _report(path: str) -> None:
    import json

    with open(path, "w", encoding="utf-8") as f:
        json.dump(sorted(sys.modules), f)


atexit.register(_report, sys.argv[1])
sys.argv = ["optrun", *sys.argv[2:]]

from optrun.cli import main  # noqa: E402  (the registration above must come first)

main()
