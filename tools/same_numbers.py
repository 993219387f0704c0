#!/usr/bin/env python3
"""Do two versions of optrun give the same numbers? Records what users see and compares it.

    python tools/same_numbers.py --base 3e05189          # that commit against the working tree
    python tools/same_numbers.py record OUT               # this tree's outputs into OUT
    python tools/same_numbers.py compare OLD NEW          # two recorded folders

For a refactoring that must change no number a user sees (issue 15): every trace file, summary
and sweep table is recorded byte for byte, except what differs between any two runs of the same
config (timings, run ids, process ids, hosts, dates, paths). The cases: every shipped config,
one run of every algorithm x variant, a thinned run (trace.every) and a log-spaced one, a numba
run, and two sweeps (seeds x step sizes; algorithms x objectives).

``--base REV`` checks REV out into a temporary git worktree and runs its optrun with the
interpreter running this script (``PYTHONPATH`` = that worktree), then this tree's, into two
temporary folders, and compares them. Exit 0 when every file matches, 1 otherwise (each
difference is listed: case, file, first differing line).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(ROOT, "configs")

# what differs between two runs of one config: left out of the comparison
VOLATILE = {
    "id",
    "pid",
    "pid_start",
    "hostname",
    "started_at",
    "ended_at",
    "updated_at",
    "wall_time_s",
    "time_per_iteration_s",
    "batch_wall_time_s",
    "members_per_second",
    "path",
    "workers",
}
ROSENBROCK = ["objective={name: rosenbrock, dim: 3}", "bounds=[-2, 2]", "seed=4"]


def variants(env: dict[str, str]) -> list[tuple[str, str]]:
    """Every (algorithm, variant) the optrun under test lists."""
    out = subprocess.run(
        [sys.executable, "-m", "optrun", "algorithms", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data = json.loads(out)
    rows = data if isinstance(data, list) else data.get("algorithms", [])
    pairs = []
    for a in rows:
        for v in a.get("variants", []):
            pairs.append((a["name"], v["name"] if isinstance(v, dict) else v))
    return pairs


def cases(env: dict[str, str]) -> dict[str, list[str]]:
    """Case name -> ``optrun run`` arguments."""
    out: dict[str, list[str]] = {}
    for name in sorted(os.listdir(CONFIGS)):
        if name.endswith(".yaml"):
            out[f"config-{name[:-5]}"] = [os.path.join(CONFIGS, name)]
    examples = os.path.join(CONFIGS, "examples")
    for name in sorted(os.listdir(examples)):
        if name.endswith(".yaml"):
            out[f"example-{name[:-5]}"] = [os.path.join(examples, name)]
    base = os.path.join(CONFIGS, "amsgrad.yaml")
    for algo, var in variants(env):
        out[f"variant-{algo}-{var}"] = [
            base,
            *ROSENBROCK,
            "iterations=300",
            f"algorithm={{name: {algo}, variant: {var}}}",
        ]
    out["thinned-every"] = [base, *ROSENBROCK, "iterations=5000", "trace.every=37"]
    out["thinned-log"] = [base, *ROSENBROCK, "iterations=5000", "trace.log_per_decade=7"]
    out["numba"] = [base, *ROSENBROCK, "backend=numba", "iterations=3000"]
    out["sweep-seeds-alphas"] = [
        base,
        "--sweep",
        "seed=0:40",
        "--sweep",
        "algorithm.alpha=logspace(1e-3,1e-1,4)",
    ]
    out["sweep-algorithms-objectives"] = [
        base,
        "iterations=500",
        "--sweep",
        "algorithm.name=adam,amsgrad,gd,rmsprop",
        "--sweep",
        "objective.name=sphere,rosenbrock,himmelblau",
        "--sweep",
        "seed=0:3",
    ]
    return out


def _clean_json(value):
    if isinstance(value, dict):
        return {k: _clean_json(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    return value


def _clean_csv(text: str) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return text
    keep = [i for i, c in enumerate(rows[0]) if c not in VOLATILE]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        w.writerow([r[i] for i in keep if i < len(r)])
    return buf.getvalue()


def normalized(folder: str) -> dict[str, str]:
    """Relative path -> comparable text of a run or sweep folder (meta.json and locks left out)."""
    out = {}
    for dirpath, _, files in os.walk(folder):
        for name in sorted(files):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, folder)
            if name in ("meta.json", "meta.resume.json") or name.startswith("."):
                continue
            if name.endswith((".png", ".npz")):
                with open(path, "rb") as f:
                    out[rel] = f.read().hex()
                continue
            with open(path, encoding="utf-8") as f:
                text = f.read()
            if name == "summary.json":
                text = json.dumps(_clean_json(json.loads(text)), indent=1, sort_keys=True)
            elif name == "summary.csv":
                text = _clean_csv(text)
            out[rel] = text
    return out


def record(out_dir: str, pythonpath: str | None = None) -> None:
    """Run every case with the optrun importable from ``pythonpath`` (default: this interpreter's)
    and write each folder's comparable files under ``out_dir/<case>/``."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("OPTRUN_RUNS_DIR", None)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    os.makedirs(out_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="optrun-same-")
    try:
        for case, args in cases(env).items():
            runs = os.path.join(work, case)
            workers = ["--workers", "2"] if "--sweep" in args else []
            p = subprocess.run(
                [sys.executable, "-m", "optrun", "run", *args, "--runs-dir", runs, "-q", *workers],
                env=env,
                cwd=work,
                capture_output=True,
                text=True,
                check=False,
            )
            target = os.path.join(out_dir, case)
            os.makedirs(target, exist_ok=True)
            with open(os.path.join(target, "exit"), "w", encoding="utf-8") as f:
                f.write(f"{p.returncode}\n{p.stderr if p.returncode == 2 else ''}")
            folders = sorted(os.listdir(runs)) if os.path.isdir(runs) else []
            for i, folder in enumerate(folders):
                for rel, text in normalized(os.path.join(runs, folder)).items():
                    dest = os.path.join(target, str(i), rel)
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    with open(dest, "w", encoding="utf-8") as f:
                        f.write(text)
            print(f"{case}: exit {p.returncode}, {len(folders)} folder(s)", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def compare(old: str, new: str) -> int:
    """List every file that differs between two recorded folders; the number of differences."""

    def files(top):
        found = set()
        for dirpath, _, names in os.walk(top):
            found |= {os.path.relpath(os.path.join(dirpath, n), top) for n in names}
        return found

    a, b = files(old), files(new)
    problems = [f"only in {old}: {p}" for p in sorted(a - b)] + [f"only in {new}: {p}" for p in sorted(b - a)]
    for rel in sorted(a & b):
        with open(os.path.join(old, rel), encoding="utf-8") as f:
            x = f.read().splitlines()
        with open(os.path.join(new, rel), encoding="utf-8") as f:
            y = f.read().splitlines()
        if x != y:
            i = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
            problems.append(
                f"{rel}: line {i + 1} differs: {x[i][:100] if i < len(x) else '<end>'!r} != "
                f"{y[i][:100] if i < len(y) else '<end>'!r}"
            )
    for p in problems:
        print(p)
    n = len(a & b)
    print(f"{n} files compared, {len(problems)} difference(s)")
    return len(problems)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--base", metavar="REV", help="compare git revision REV with the working tree")
    sub = p.add_subparsers(dest="what")
    r = sub.add_parser("record", help="record this tree's outputs into OUT")
    r.add_argument("out")
    c = sub.add_parser("compare", help="compare two recorded folders")
    c.add_argument("old")
    c.add_argument("new")
    a = p.parse_args(argv)
    if a.what == "record":
        record(a.out)
        return 0
    if a.what == "compare":
        return 1 if compare(a.old, a.new) else 0
    if not a.base:
        p.error("give --base REV, or record / compare")
    top = tempfile.mkdtemp(prefix="optrun-same-base-")
    tree = os.path.join(top, "tree")
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", "-q", tree, a.base], check=True)
    try:
        record(os.path.join(top, "old"), pythonpath=tree)
        record(os.path.join(top, "new"), pythonpath=ROOT)
        return 1 if compare(os.path.join(top, "old"), os.path.join(top, "new")) else 0
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", tree], check=False)
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
