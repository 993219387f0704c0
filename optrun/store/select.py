"""RUN selectors: which folder a RUN argument names, and reading it.

A RUN argument is a folder path, ``last`` / ``-1`` / ``-2`` ... (as ``optrun runs`` lists them), an
id or a unique prefix of one (or the ``name-hash`` end of an id), or one member of a sweep,
``SWEEP/7`` (member number 7) or ``SWEEP:algorithm.alpha=0.01,seed=3`` (its axis values) where SWEEP
is any selector. :func:`resolve_run` turns it into a path (``<sweep folder>/<member>`` for a member);
:func:`load_run`, :func:`load_sweep` and :func:`select` read what it names;
``SWEEP:key=value`` matching several members is a :class:`MemberGroup`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import OptrunError, RunSelectionError
from .listing import newest_first, run_folders
from .names import default_runs_dir, has_run_files
from .parts import folder_kind
from .run import Run, read_run
from .sweep import Sweep, read_sweep
from .values import SPEC_SPLIT

RELATIVE_RE = re.compile(r"^(?:last|-(\d+))$")
_SWEEP_CACHE: dict[str, tuple[tuple[int, int], Sweep]] = {}
_SWEEP_CACHE_SIZE = 4


def _selected_path(path: str, runs_dir: str | None) -> str:
    """``path`` itself when it is a folder or a sweep member's address, else what the RUN
    selector ``path`` names in ``runs_dir`` (:func:`resolve_run`)."""
    if os.path.isdir(path):
        return path
    head, tail = os.path.split(os.path.normpath(path))
    if tail.isdigit() and os.path.isdir(head) and folder_kind(head) == "sweep":
        return path
    return resolve_run(path, runs_dir if runs_dir is not None else default_runs_dir())


def load_run(path: str, lenient: bool = False, runs_dir: str | None = None) -> Run:
    """Read the run folder at ``path``, or the run any RUN selector names, as the CLI takes it:
    ``load_run("last")``, ``load_run("-2", runs_dir="runs")``, an id prefix, ``SWEEP/7``,
    ``SWEEP:alpha=0.01,seed=3``. Selectors are resolved in ``runs_dir`` (default
    ``$OPTRUN_RUNS_DIR``, else ``runs``) by :func:`resolve_run`; an existing folder path wins.

    Strict (default): a missing or damaged ``summary.json``, ``config.yaml`` or ``meta.json``
    raises :class:`~optrun.errors.RunReadError` naming the run and the problem; a path that is
    not a run folder raises :class:`~optrun.errors.RunSelectionError`. Lenient: a damaged folder
    comes back with status ``damaged`` and the reason in ``problem``. The trace is read on
    demand by :meth:`Run.trace`.

    ``<sweep folder>/<N>`` (what :func:`resolve_run` gives for ``SWEEP/N`` and
    ``SWEEP:key=value``) reads member N of the sweep (:meth:`Sweep.member`); a sweep folder
    itself is not a run (:func:`load_sweep` reads it).
    """
    path = os.path.normpath(_selected_path(path, runs_dir))
    run_id = os.path.basename(os.path.abspath(path))
    if not os.path.isdir(path):
        head, tail = os.path.split(path)
        if tail.isdigit() and os.path.isdir(head) and folder_kind(head) == "sweep":
            return _cached_sweep(head).member(int(tail))
        what = "does not exist" if not os.path.exists(path) else "is a file, not a run folder"
        raise RunSelectionError(f"{path} {what}")
    if not has_run_files(path):
        raise RunSelectionError(f"{path} is not a run folder (no summary.json, config.yaml or trace.csv)")
    if folder_kind(path) == "sweep":
        try:
            spec = _cached_sweep(path).example_selector()
        except OptrunError:  # a damaged sweep: its member numbers still name members
            spec = None
        raise RunSelectionError(
            f"{path} is a sweep, not one run: name a member as {run_id}/0"
            + (f" or {run_id}:{spec}" if spec else "")
            + " (load_sweep reads the whole sweep)"
        )
    return read_run(path, lenient)


def load_sweep(path: str, lenient: bool = False, runs_dir: str | None = None) -> Sweep:
    """Read the sweep folder at ``path``, or the sweep a selector names (``last``, ``-2``, an id
    prefix, resolved in ``runs_dir`` as :func:`load_run` does); strict or lenient as
    :func:`load_run`.

    A path that is a run folder or not a folder raises :class:`~optrun.errors.RunSelectionError`;
    a damaged ``summary.json``, ``config.yaml`` or ``meta.json`` raises
    :class:`~optrun.errors.RunReadError` (lenient: status ``damaged``, reason in ``problem``).
    """
    if not os.path.isdir(path):
        path = resolve_run(path, runs_dir if runs_dir is not None else default_runs_dir())
    path = os.path.normpath(path)
    if not os.path.isdir(path):
        what = "does not exist" if not os.path.exists(path) else "is a file, not a sweep folder"
        raise RunSelectionError(f"{path} {what}")
    if folder_kind(path) != "sweep":
        raise RunSelectionError(f'{path} is not a sweep folder (its summary.json has no "kind": "sweep")')
    return read_sweep(path, lenient)


def _cached_sweep(path: str) -> Sweep:
    """:func:`load_sweep`, remembered while ``summary.json`` is unchanged (resolving then loading
    ``SWEEP/7`` and ``SWEEP/8`` reads and plans the sweep once)."""
    key = os.path.abspath(path)
    try:
        st = os.stat(os.path.join(key, "summary.json"))
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError:
        return load_sweep(path)
    hit = _SWEEP_CACHE.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    sweep = load_sweep(path)
    _SWEEP_CACHE[key] = (stamp, sweep)
    while len(_SWEEP_CACHE) > _SWEEP_CACHE_SIZE:
        _SWEEP_CACHE.pop(next(iter(_SWEEP_CACHE)))
    return sweep


def relative_index(selector: str) -> int | None:
    """``last`` -> 1, ``-N`` -> N (the N-th newest run), anything else -> ``None``."""
    m = RELATIVE_RE.match(selector)
    if not m:
        return None
    return int(m.group(1)) if m.group(1) else 1


def _kinds_text(kinds: Sequence[str]) -> str:
    """``3 runs``, ``2 runs and 1 sweep``: folders counted by kind."""
    sweeps = sum(1 for k in kinds if k == "sweep")
    parts = [
        f"{n:,} {word}{'s' * (n != 1)}" for n, word in ((len(kinds) - sweeps, "run"), (sweeps, "sweep")) if n
    ]
    return " and ".join(parts) or "0 runs"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


_MEMBER_AXES_RE = re.compile(r"^(?P<head>[^:]+?):(?P<spec>\s*[A-Za-z_][A-Za-z0-9_.]*\s*=.*)$", re.DOTALL)
_MEMBER_NUMBER_RE = re.compile(r"^(?P<head>.+)/(?P<n>\d+)/?$")


def _split_member(sel: str, runs_dir: str) -> tuple[str, int | None, str | None] | None:
    """``SWEEP/7`` -> (sweep folder, 7, None); ``SWEEP:key=value,...`` -> (sweep folder, None,
    the spec); ``None`` when ``sel`` has neither form."""
    m = _MEMBER_AXES_RE.match(sel)
    number = None
    if m is None:
        m = _MEMBER_NUMBER_RE.match(sel)
        if m is None or os.path.exists(sel):
            return None
        number = int(m.group("n"))
    head = m.group("head")
    path = resolve_run(head, runs_dir)
    if not os.path.isdir(path) or folder_kind(path) != "sweep":
        raise RunSelectionError(
            f"'{sel}' names a member of a sweep, but '{head}' is the run "
            f"{os.path.basename(path)}, not a sweep"
        )
    return path, number, (None if number is not None else m.group("spec"))


def _member_address(sel: str, runs_dir: str) -> str | None:
    """``SWEEP/7`` or ``SWEEP:key=value,...`` -> ``<sweep folder>/<member>``; ``None`` when
    ``sel`` has neither form."""
    split = _split_member(sel, runs_dir)
    if split is None:
        return None
    path, number, spec = split
    sweep = _cached_sweep(path)
    if number is None:
        number = sweep.find(spec)
    else:
        sweep.require_rows()
        if number >= len(sweep.rows):
            raise RunSelectionError(
                f"sweep {sweep.id} has members 0 to {len(sweep.rows) - 1}; there is no member {number}"
            )
    return os.path.join(path, str(number))


@dataclass
class MemberGroup:
    """Several members of one sweep named by one selector: ``SWEEP:algorithm=adam,alpha=0.1`` is
    a whole configuration (all its seeds), ``SWEEP:algorithm=adam`` every member running Adam.

    ``members`` are member numbers in member order, ``spec`` the axis values as given. ``id``,
    ``path`` and ``kind`` (``"group"``) read like a run's; ``rows`` are the members' table rows."""

    sweep: Sweep
    members: list[int]
    spec: str

    kind = "group"

    @property
    def id(self) -> str:
        return f"{self.sweep.id}:{self.spec}"

    @property
    def path(self) -> str:
        return self.sweep.path

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [self.sweep.rows[m] for m in self.members]


def select_members(sweep: Sweep, spec: str | dict[str, Any]) -> list[int]:
    """The member numbers of ``sweep`` whose axis values match ``spec`` (the text after
    ``SWEEP:``, e.g. ``"algorithm=adam,alpha=0.1"``, or a mapping), in member order.

    One member, a configuration (all its seeds) or any subset: what ``optrun compare`` and
    ``optrun plot`` draw for ``SWEEP:...``. Keys may be shortened (``alpha`` for
    ``algorithm.alpha``, ``algorithm`` for ``algorithm.name``); values are typed by YAML and a
    number matches exactly or at the precision written (``alpha=0.0316228``, as compare prints
    it, selects 0.03162277660168379). Nothing matching, an unknown axis, or a number that
    matches several values at its precision raises :class:`~optrun.errors.RunSelectionError`
    (one line naming the values that exist)."""
    return sweep.select_members(spec)


def resolve_run(selector: str, runs_dir: str) -> str:
    """The folder a RUN argument names (a run's or a sweep's), or a sweep member's address.

    In order: an existing run or sweep folder path; a sweep member, ``SWEEP/7`` or
    ``SWEEP:alpha=0.01,seed=3`` with SWEEP any selector (gives ``<sweep folder>/7``, which
    :func:`load_run` reads); a relative selector (``last`` = ``-1`` the newest run or sweep,
    ``-2`` the one before, ... as ``optrun runs`` lists them); an exact id; a unique prefix of an
    id in ``runs_dir``. Raises :class:`~optrun.errors.RunSelectionError` when nothing matches,
    when a prefix is ambiguous (listing the candidates), when the path is not a run, or when a
    member address matches no member or several.
    """
    sel = selector.strip()
    if not sel:
        raise RunSelectionError("an empty RUN selector: give a run folder, an id prefix, last or -1")
    if os.path.isdir(sel) and has_run_files(sel):
        return os.path.normpath(sel)
    member = _member_address(sel, runs_dir)
    if member is not None:
        return member
    n = relative_index(sel)
    if n is not None:
        runs = newest_first(runs_dir)
        if n == 0:
            raise RunSelectionError("'-0' names no run: -1 (or last) is the newest, -2 the one before")
        if n > len(runs):
            held = f"holds {_kinds_text([r.kind for r in runs])}" if runs else "holds no runs"
            raise RunSelectionError(f"'{sel}' asks for the {_ordinal(n)} newest run but {runs_dir} {held}")
        return runs[n - 1].path
    if os.sep in sel or (os.altsep and os.altsep in sel) or os.path.exists(sel):
        if os.path.isdir(sel):
            raise RunSelectionError(f"{sel} is not a run folder (no summary.json, config.yaml or trace.csv)")
        if os.path.exists(sel):
            raise RunSelectionError(f"{sel} is a file, not a run folder")
        if os.sep in sel:
            raise RunSelectionError(f"no run folder {sel}: it does not exist")
    folders = {os.path.basename(p): p for p in run_folders(runs_dir)}
    if sel in folders:
        return folders[sel]
    matches = sorted((i for i in folders if i.startswith(sel)), reverse=True)
    if not matches:  # the short label compare and plot print: name-hash, the end of the id
        matches = sorted((i for i in folders if i.endswith("-" + sel)), reverse=True)
    if len(matches) == 1:
        return folders[matches[0]]
    if len(matches) > 1:
        shown = ", ".join(matches[:8]) + (f", ... ({len(matches)} in all)" if len(matches) > 8 else "")
        kinds = _kinds_text([folder_kind(folders[m]) for m in matches])
        raise RunSelectionError(
            f"'{sel}' matches {kinds} in {runs_dir}: {shown}; give more characters of the id"
        )
    if not folders:
        raise RunSelectionError(
            f"no run matches '{sel}': {runs_dir} holds no runs "
            "(set --runs-dir or OPTRUN_RUNS_DIR to the folder that does)"
        )
    raise RunSelectionError(
        f"no run matches '{sel}' in {runs_dir} (optrun runs lists them; "
        "a RUN is a folder, an id prefix, last or -1, -2, ...)"
    )


def select(selector: str, runs_dir: str, groups: bool = False) -> Run | Sweep | MemberGroup:
    """:func:`resolve_run` then a strict :func:`load_sweep` for a sweep, :func:`load_run` otherwise.

    With ``groups``, ``SWEEP:key=value,...`` matching several members gives a
    :class:`MemberGroup` of them (one member is still a :class:`Run`); without, it is an error."""
    if groups:
        split = _split_member(selector.strip(), runs_dir)
        if split is not None and split[2] is not None:
            sweep = _cached_sweep(split[0])
            found = sweep.select_members(split[2])
            if len(found) > 1:
                spec = ", ".join(part.strip() for part in SPEC_SPLIT.split(split[2]))
                return MemberGroup(sweep, found, spec)
            return load_run(os.path.join(split[0], str(found[0])))
    path = resolve_run(selector, runs_dir)
    if os.path.isdir(path) and folder_kind(path) == "sweep":
        return load_sweep(path)
    return load_run(path)


def split_groups(chosen: Sequence[Any]) -> tuple[list[Any], dict[str, set[int]]]:
    """``chosen`` (what :func:`select` returned with ``groups=True``) with each
    :class:`MemberGroup` replaced by its sweep, and per such sweep the members the groups name
    (a sweep also named whole is not narrowed): what ``plot_sweeps(..., only=...)`` draws."""
    whole = {c.id for c in chosen if getattr(c, "kind", None) == "sweep"}
    only: dict[str, set[int]] = {}
    for c in chosen:
        if getattr(c, "kind", None) == "group" and c.sweep.id not in whole:
            only.setdefault(c.sweep.id, set()).update(c.members)
    return [c.sweep if getattr(c, "kind", None) == "group" else c for c in chosen], only
