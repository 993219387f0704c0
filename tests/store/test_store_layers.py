"""store stands below config and sweep: it imports only optrun.errors and its own modules (imports
inside functions included), and gets what it needs from above through optrun.store.hooks."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import optrun.store

STORE = Path(optrun.store.__file__).parent


def _optrun_imports(path: Path) -> set[str]:
    """The optrun modules a store module imports, anywhere in it, as absolute dotted names."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "optrun"}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if (node.module or "").split(".")[0] == "optrun":
                    found.add(node.module)
            else:
                base = ["optrun", "store"][: 3 - node.level]  # modules of optrun/store
                found.add(".".join(base + ([node.module] if node.module else [])))
    return found


def test_store_imports_only_errors_and_itself():
    bad = {
        f"{p.name}: {m}"
        for p in sorted(STORE.glob("*.py"))
        for m in _optrun_imports(p)
        if m != "optrun.errors" and m != "optrun.store" and not m.startswith("optrun.store.")
    }
    assert not bad, sorted(bad)


def test_the_hooks_are_registered_by_importing_optrun_and_stay_light():
    code = (
        "import sys, optrun.store.hooks as h; "
        "assert 'numpy' not in sys.modules and 'optrun.sweep' not in sys.modules and "
        "'optrun.config.yamlio' not in sys.modules, sorted(sys.modules); "
        "print(h.parse_value('[1e-3, adam, {a: 1}]', 'x'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[0.001, 'adam', {'a': 1}]"
