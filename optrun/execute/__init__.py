"""Running configs: a single run (:mod:`.run`, its loop in :mod:`.drive`), a sweep (:mod:`.sweep`)
whose batches (:mod:`.batch`) go through an executor (:mod:`.executors`), with one signal
handling and one set of exit-code rules (:mod:`.signals`) and one ``meta.json`` builder
(:mod:`.provenance`). No console code: progress goes to a reporter the caller supplies.

``optrun.execute`` is also the public function ``optrun.execute(config, runs_dir, ...)``
(:func:`optrun.execute.run.execute`): once this package is imported it is the attribute
``execute`` of :mod:`optrun`, so the package itself is callable and forwards to the function.
Nothing else is imported here: multiprocessing is loaded only by a sweep that needs it.
"""

import sys
import types


class _CallablePackage(types.ModuleType):
    def __call__(self, *args, **kwargs):
        from .run import execute

        return execute(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
