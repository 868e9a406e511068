"""One trial: fit a copy of the estimator with the trial's parameters, score it on validation.

The objective is a plain picklable object so that worker processes (``workers > 1``) can run
it too. Each trial stores what it cost in the study (user attributes, so they live in the
storage, whichever process ran it): epochs planned and run, seconds, and the validation
accuracy per epoch goes in as Optuna's intermediate values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sklearn.base import clone

from ..data import Dataset
from ..engine import attached_callbacks
from ..exceptions import TransferKitError
from .pruning import PruningCallback
from .space import SearchSpace

__all__ = ["Objective", "trial_estimator"]


def trial_estimator(base: Any, params: dict[str, Any]) -> Any:
    """A fresh copy of ``base`` with ``params``, quiet, writing nothing to disk.

    ``shots`` is dropped: the search samples the shots once, before splitting off
    validation, so every trial sees the same rows.
    """
    model = clone(base)
    own = model.get_params(deep=False)
    quiet = {k: v for k, v in (("shots", None), ("progress", False), ("checkpoint_dir", None),
                                ("resume", None)) if k in own}
    return model.set_params(**quiet, **params)


@dataclass
class Objective:
    """``objective(trial) -> validation accuracy`` of ``base`` fitted with the trial's params.

    Attributes:
        base: the estimator as the user gave it (cloned per trial).
        train: the rows trials fit on.
        val: the held-out rows trials are scored on (never the test set).
        space: what the trials vary.
    """

    base: Any
    train: Dataset
    val: Dataset
    space: SearchSpace

    def __call__(self, trial: Any) -> float:
        params = self.space.suggest(trial)
        model = trial_estimator(self.base, params)
        settings = model.settings()
        trial.set_user_attr("epochs_planned", settings.get("epochs"))
        pruning = PruningCallback(trial)
        t0 = time.perf_counter()
        try:
            with attached_callbacks(pruning):
                model.fit(self.train, val=self.val)
            return float(model.score(self.val))
        except TransferKitError as e:
            # Kept with the trial: a search whose every trial fails reports the first reason.
            trial.set_user_attr("error", str(e))
            raise
        finally:
            # Also for a pruned or failed trial: the epochs it did run are what pruning saved.
            trial.set_user_attr("epochs_run", pruning.epochs_run)
            trial.set_user_attr("seconds", round(time.perf_counter() - t0, 3))
