"""CONTRIBUTING.md stays true where it can go stale mechanically.

Checked: every repository path it names exists (or lies in a git-ignored output folder), every
``path::name`` it points to is a top-level definition of that file, every command line it shows
runs an existing script or test file, the extras it installs and tabulates are pyproject.toml's,
and its test and lint commands are the ones the README and ``.ci/run`` use.
"""

from __future__ import annotations

import ast
import re
import shlex
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "CONTRIBUTING.md"
TOP = ("optrun", "tests", "tools", "benchmarks", "docs", "configs", ".ci")
ROOT_FILES = ("README.md", "CONTRIBUTING.md", "pyproject.toml")


def text() -> str:
    return DOC.read_text()


def inline_spans() -> list[str]:
    """Text of every inline `code` span (fenced blocks excluded)."""
    prose = re.sub(r"```.*?```", "", text(), flags=re.DOTALL)
    return re.findall(r"`([^`\n]+)`", prose)


def command_lines() -> list[str]:
    """Each shell command of the fenced blocks, ``&&`` chains split, comments dropped."""
    out = []
    for block in re.findall(r"```(?:bash|console|sh)?\n(.*?)```", text(), flags=re.DOTALL):
        for line in block.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            out.extend(part.strip() for part in line.split("&&") if part.strip())
    return out


def named_paths() -> list[str]:
    """Repository paths named anywhere in the document (inline spans and commands)."""
    found = set()
    pattern = re.compile(
        rf"(?<![\w./-])((?:{'|'.join(re.escape(t) for t in TOP)})/[\w./*-]*|{'|'.join(map(re.escape, ROOT_FILES))})"
    )
    for chunk in inline_spans() + command_lines():
        for m in pattern.finditer(chunk):
            found.add(m.group(1).split("::")[0].rstrip("."))
    return sorted(found)


def ignored_dirs() -> list[str]:
    """Folders .gitignore names (outputs a command writes, such as benchmark results)."""
    lines = (ROOT / ".gitignore").read_text().splitlines()
    return [ln.strip().rstrip("/") + "/" for ln in lines if ln.strip().endswith("/") and "*" not in ln]


def test_the_document_names_paths_and_commands():
    """The checks below can fail: the extraction finds what the document is about."""
    paths = named_paths()
    assert "optrun/backends/fused.py" in paths and "tools/make_references.py" in paths
    assert any(c.startswith("python tools/same_numbers.py") for c in command_lines())
    assert len(pointers()) >= 30


@pytest.mark.parametrize("path", named_paths())
def test_every_named_path_exists(path):
    if any(ch in path for ch in "*?["):
        assert list(ROOT.glob(path)), f"CONTRIBUTING.md names {path}, which matches nothing"
        return
    if any(path.startswith(d) for d in ignored_dirs()):
        return  # written by a command (git-ignored output), not part of the checkout
    assert (ROOT / path).exists(), f"CONTRIBUTING.md names {path}, which does not exist"


def pointers() -> list[tuple[str, str]]:
    """Every ``path.py::name`` the document points to."""
    return sorted({(p, n) for s in inline_spans() for p, n in re.findall(r"([\w./-]+\.py)::(\w+)", s)})


@cache
def top_level_names(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


@pytest.mark.parametrize(("path", "name"), pointers(), ids=[f"{p}::{n}" for p, n in pointers()])
def test_every_pointer_names_a_definition_of_its_file(path, name):
    assert (ROOT / path).is_file(), path
    assert name in top_level_names(path), (
        f"CONTRIBUTING.md points to {path}::{name}, which it does not define"
    )


def script_and_files(cmd: str) -> list[str]:
    """The scripts and test files a ``python ...`` / ``pytest ...`` command line runs."""
    words = shlex.split(cmd)
    if words[:3] == ["python", "-m", "pytest"]:
        words = words[3:]
    elif words[:1] == ["pytest"]:
        words = words[1:]
    elif words[:1] in (["python"], ["python3"]):
        words = words[1:]
        if words[:1] == ["-m"]:
            return []  # a module run (python -m venv ...): no file
        return words[:1]
    else:
        return []
    return [w.split("::")[0] for w in words if not w.startswith("-")]


RUNS = [c for c in command_lines() if re.match(r"(python3? |pytest )", c)]


@pytest.mark.parametrize("cmd", RUNS)
def test_every_command_runs_an_existing_script(cmd):
    files = script_and_files(cmd)
    assert files or cmd.startswith(("python3 -m venv", "python -m pytest -q")), cmd
    for f in files:
        assert (ROOT / f).is_file(), f"`{cmd}` in CONTRIBUTING.md: {f} does not exist"


def extras() -> dict[str, list[str]]:
    """pyproject.toml's optional dependencies, name -> requirements (read with a regular
    expression: tomllib is Python 3.11+, and optrun supports 3.10)."""
    toml = (ROOT / "pyproject.toml").read_text()
    section = re.search(r"^\[project\.optional-dependencies\]\n(.*?)(?=^\[)", toml, re.DOTALL | re.MULTILINE)
    assert section, "pyproject.toml has no [project.optional-dependencies]"
    body = re.sub(r"\s*#[^\n]*", "", section.group(1))  # comments may hold brackets or quotes
    found = re.findall(r"^([\w-]+) = \[(.*?)\]$", body, re.DOTALL | re.MULTILINE)
    return {name: re.findall(r'"([^"]+)"', reqs) for name, reqs in found}


def test_installed_and_tabulated_extras_are_pyprojects():
    have = extras()
    for cmd in command_lines():
        for group in re.findall(r"pip install -e '\.\[([\w,]+)\]'", cmd):
            assert set(group.split(",")) <= set(have), cmd
    table = re.findall(r"^\| `(\w+)` \|", text(), flags=re.MULTILINE)
    assert sorted(table) == sorted(have), "the extras table lists pyproject.toml's optional dependencies"
    ruff = next(r for r in have["dev"] if r.startswith("ruff"))
    assert f"`{ruff}`" in text(), "the ruff pin quoted is the dev extra's"


def test_test_and_lint_commands_are_the_readmes_and_cis():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_cmd = "pip install -e '.[test]' && python -m pytest -q"
    lint_cmd = "ruff check . && ruff format --check ."
    assert test_cmd in text() and test_cmd in readme and test_cmd in ci
    assert lint_cmd in text() and lint_cmd in ci
