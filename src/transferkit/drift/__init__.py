"""Drift: watch a deployed model's incoming data, estimate its accuracy without labels, and
re-adapt it with few new labels without forgetting.

* :class:`DriftMonitor` / :class:`DriftReport` — window-by-window tests against a stored
  reference (:mod:`.monitor`, :mod:`.statistics`) and the ATC accuracy estimate
  (:mod:`.accuracy`);
"""

from .monitor import DriftMonitor
from .report import DriftReport

__all__ = ["DriftMonitor", "DriftReport"]
