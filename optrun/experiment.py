"""Old home of single runs, now in :mod:`optrun.execute` and :mod:`optrun.problem` (re-exports
kept until every importer points at the new places)."""

from .execute.drive import Reporter  # noqa: F401
from .execute.notes import trace_notes, trace_size_note  # noqa: F401
from .execute.provenance import git_commit  # noqa: F401
from .execute.results import RunOutcome, check_expect, final_distances, member_summary  # noqa: F401
from .execute.run import execute, resume_run  # noqa: F401
from .problem import bounds_array, build_objective, build_optimizer, located, start_point  # noqa: F401
