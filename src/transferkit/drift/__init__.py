"""Drift: watch a deployed model's incoming data, estimate its accuracy without labels, and
re-adapt it with few new labels without forgetting.

* :class:`DriftMonitor` / :class:`DriftReport` — window-by-window tests against a stored
  reference (:mod:`.monitor`, :mod:`.statistics`) and the ATC accuracy estimate
  (:mod:`.accuracy`);
* :func:`readapt` — a new model for the new data: with a few labels chosen actively
  (:mod:`.active`), refitted toward the deployed weights (:mod:`.anchored`) with rehearsal of
  old examples; without labels, an existing adaptation method.
"""

from .monitor import DriftMonitor
from .readapt import readapt
from .report import DriftReport

__all__ = ["DriftMonitor", "DriftReport", "readapt"]
