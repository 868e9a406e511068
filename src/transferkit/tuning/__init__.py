"""Hyper-parameter search on Optuna: ``tune(estimator, data)`` -> ``(best_estimator, study)``.

* :mod:`.space` — search spaces: the default per strategy from its parameter declarations, or
  a YAML file that replaces or narrows it;
* :mod:`.search` — the search: validation split, TPE sampler, pruner, resume, the refit;
* :mod:`.pruning` — the engine callback that reports each epoch and prunes;
* :mod:`.storage` — memory, SQLite, journal file or database URL;
* :mod:`.workers` — several local processes on one stored study;
* :mod:`.record` — the study as plain JSON for the run record and the report.
"""

from .pruning import PRUNERS, PruningCallback
from .record import study_record
from .search import tune
from .space import Dimension, SearchSpace, default_space, load_space, parse_space
from .storage import open_storage
from .study import SAMPLERS

__all__ = ["PRUNERS", "SAMPLERS", "Dimension", "PruningCallback", "SearchSpace",
           "default_space", "load_space", "open_storage", "parse_space", "study_record", "tune"]
