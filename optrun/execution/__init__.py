"""Running configs: a single run (:mod:`.run`, its loop in :mod:`.drive`), a sweep (:mod:`.sweep`)
whose batches (:mod:`.batch`) go through an executor (:mod:`.executors`), with one signal
handling and one set of exit-code rules (:mod:`.signals`) and one ``meta.json`` builder
(:mod:`.provenance`). No console code: progress goes to a reporter the caller supplies.

The package is named ``execution`` rather than ``execute`` so that it never shadows the public
function ``optrun.execute`` (:func:`optrun.execution.run.execute`). Nothing is imported here:
multiprocessing is loaded only by a sweep that needs it.
"""
