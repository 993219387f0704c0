"""Old home of sweeps, now in :mod:`optrun.execute` (re-exports kept until every importer points
at the new places)."""

from .execute.batch import run_batch  # noqa: F401
from .execute.results import SweepOutcome  # noqa: F401
from .execute.sweep import SweepReporter, execute_sweep, resume_sweep  # noqa: F401
from .problem import start_points  # noqa: F401
