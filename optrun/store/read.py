"""The readers' old address: every public name of the reading modules, re-exported.

Reading is split by job (:mod:`~optrun.store.parts`, :mod:`~optrun.store.traces`,
:mod:`~optrun.store.status`, :mod:`~optrun.store.values`, :mod:`~optrun.store.run`,
:mod:`~optrun.store.sweep`, :mod:`~optrun.store.members`, :mod:`~optrun.store.listing`,
:mod:`~optrun.store.select`); import from those. This module keeps ``optrun.store.read``
importable until its importers are repointed.
"""

from .folder import FORMAT_VERSION  # noqa: F401
from .listing import ID_TIME_RE, default_runs_dir, list_runs, sort_key  # noqa: F401
from .parts import (  # noqa: F401
    NEWER_FORMAT,
    RUN_FILES,
    SUMMARY_TYPES,
    folder_kind,
    newer_format,
    summary_problem,
)
from .run import Run  # noqa: F401
from .select import (  # noqa: F401
    RELATIVE_RE,
    MemberGroup,
    load_run,
    load_sweep,
    relative_index,
    resolve_run,
    select,
    select_members,
    select_run,
    split_groups,
)
from .status import STALE_SECONDS, reconcile_status  # noqa: F401
from .sweep import Sweep, missing_batch_files  # noqa: F401
from .traces import (  # noqa: F401
    TRACE_BASE_COLUMNS,
    TRACE_FILES,
    WROTE_ROWS,
    batch_trace_file,
    read_batch_trace,
    read_trace,
    trace_damage,
    trace_file,
)
from .values import (  # noqa: F401
    json_value,
    parse_member_spec,
    parse_pairs,
    rounds_to,
    same_value,
    significant_digits,
    value_key,
    value_label,
)
