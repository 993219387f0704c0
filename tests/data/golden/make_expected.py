"""Writes expected/NAME.txt for every case in golden.py with the installed optrun. Run it with the
optrun whose output is the reference (main before a refactoring), from any folder:
python tests/data/golden/make_expected.py"""

from __future__ import annotations

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden import CASES, EXPECTED, copy_runs, run_case


def main() -> None:
    os.makedirs(EXPECTED, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        copy_runs(tmp)
        for name, args in CASES.items():
            with open(os.path.join(EXPECTED, f"{name}.txt"), "w") as f:
                f.write(run_case(list(args), tmp))
    print(f"{len(CASES)} expected outputs in {EXPECTED}")


if __name__ == "__main__":
    main()
