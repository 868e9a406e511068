"""Pruning: stop a trial whose per-epoch validation score trails the other trials'.

:class:`PruningCallback` is an engine callback (:mod:`transferkit.engine.callbacks`): after
every epoch's validation it reports the validation accuracy to the Optuna trial as the
intermediate value of that epoch and raises ``optuna.TrialPruned`` when the study's pruner
says so. It is attached to a fit from outside (:func:`~transferkit.engine.attached_callbacks`),
so no strategy needs to know about searches. Strategies that fit in one step (the probe) never
call the engine: their trials are never pruned.
"""

from __future__ import annotations

from typing import Any

from ..engine import Callback
from ..exceptions import ConfigError

__all__ = ["PruningCallback", "make_pruner", "PRUNERS"]

#: the pruners a search may name; ``"none"`` runs every trial to its last epoch
PRUNERS = ("median", "halving", "hyperband", "none")


class PruningCallback(Callback):
    """Report ``monitor`` of each epoch to ``trial``; raise ``TrialPruned`` when told to.

    Args:
        trial: the running ``optuna.Trial``.
        monitor: the history key reported (higher is better, as the study maximises).

    Attributes:
        epochs_run: epochs finished by the fit(s) this callback watched.
    """

    order = 5  # before early stopping and checkpoints: a pruned epoch writes nothing

    def __init__(self, trial: Any, monitor: str = "val_accuracy") -> None:
        self.trial = trial
        self.monitor = monitor
        self.epochs_run = 0

    def on_epoch_end(self, loop: Any, record: dict[str, Any]) -> None:
        import optuna

        self.epochs_run += 1
        value = record.get(self.monitor)
        if value is None:  # no validation data: nothing to compare trials on
            return
        self.trial.report(float(value), step=int(record["epoch"]))
        if int(record["epoch"]) >= loop.config.epochs:
            return  # the last epoch has run: pruning now would save nothing and lose the trial
        if self.trial.should_prune():
            raise optuna.TrialPruned(
                f"{self.monitor} {value:.4f} after epoch {record['epoch']} trails the other "
                "trials")


def make_pruner(pruner: Any, n_startup_trials: int = 3) -> Any:
    """An Optuna pruner from a name in :data:`PRUNERS` or a pruner object (returned as is).

    ``"median"`` prunes a trial whose epoch score is below the median of earlier trials at the
    same epoch, once ``n_startup_trials`` trials have finished; ``"halving"`` is asynchronous
    successive halving; ``"hyperband"`` runs several halving brackets.
    """
    import optuna

    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner
    if pruner is None or pruner == "none":
        return optuna.pruners.NopPruner()
    if pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=n_startup_trials, n_warmup_steps=0)
    if pruner == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, reduction_factor=3)
    raise ConfigError(f"Unknown pruner {pruner!r}. Expected one of {', '.join(PRUNERS)} or an "
                      "optuna.pruners.BasePruner; fix: pruner='median'.")
