"""``tune``: an Optuna search over an estimator's hyper-parameters, then a refit of the best.

Protocol: the training rows (``shots`` per class when the estimator samples shots) are split
once, stratified and seeded, into the rows trials fit on and a validation part they are scored
on; the test set is never seen. The TPE sampler (seeded) proposes each trial's parameters from
the search space; estimators that train through the engine report their validation accuracy
after every epoch, and the pruner stops trials that trail. The best trial's parameters are
then refitted on all the training rows.

A study in a storage (SQLite, a journal file, a database) is resumable: running the same
search again loads it and runs only the trials still missing from ``n_trials`` — finished and
pruned trials count; failed and interrupted ones are run again.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from sklearn.base import clone

from ..data import Dataset, DatasetSplits, as_dataset, train_test_split
from ..exceptions import ConfigError
from ..utils.checks import check_number
from .objective import Objective
from .pruning import make_pruner
from .space import SearchSpace, default_space, load_space, parse_space
from .storage import describe_storage, open_storage
from .study import finished_trials, make_sampler, optimize, require_optuna
from .workers import WorkerJob, run_workers

__all__ = ["tune", "resolve_space", "validation_split"]

log = logging.getLogger(__name__)


def validation_split(train: Dataset, val_size: float, seed: int) -> tuple[Dataset, Dataset]:
    """``(fit rows, validation rows)``: a stratified, seeded split of the training rows."""
    try:
        parts = train_test_split(train, test_size=val_size, seed=seed)
    except ConfigError as e:
        raise ConfigError(
            f"tune holds out val_size={val_size} of the {len(train)} training rows for "
            f"validation and could not: {e} Expected at least 2 rows per class; fix: use more "
            "shots or another val_size.") from None
    return parts.train, parts.test


def _n_groups(estimator: Any, train: Dataset) -> int | None:
    """The backbone's layer-group count, for the default ``unfreeze`` depths."""
    if "unfreeze" not in estimator.declared_params() or not hasattr(estimator, "backbone_for"):
        return None
    backbone, _ = estimator.backbone_for(train)
    groups = getattr(backbone, "layer_groups", None)
    return len(groups()) if groups is not None else None


def resolve_space(space: Any, estimator: Any, train: Dataset) -> SearchSpace:
    """A :class:`SearchSpace` from ``None`` (the default), a YAML path, a dict or a space."""
    if isinstance(space, SearchSpace):
        return space
    n_groups = _n_groups(estimator, train)
    if space is None:
        return default_space(estimator, n_groups)
    if isinstance(space, str | os.PathLike):
        return load_space(space, estimator, n_groups)
    return parse_space(space, estimator, n_groups)


def _check_args(n_trials: Any, timeout: Any, workers: Any, val_size: Any, storage: Any) -> None:
    check_number("tune", "n_trials", n_trials, low=1, integer=True)
    if timeout is not None:
        check_number("tune", "timeout", timeout, low=0, low_open=True)
    check_number("tune", "workers", workers, low=1, integer=True)
    check_number("tune", "val_size", val_size, low=0, high=0.9, low_open=True)
    if workers > 1 and (storage is None or not isinstance(storage, str | os.PathLike)):
        raise ConfigError(
            f"tune with workers={workers} needs a storage every process can open; got "
            f"{describe_storage(storage)}. Expected storage='journal:PATH' (or a database "
            "URL); fix: pass one.")


def tune(estimator: Any, data: Dataset | DatasetSplits, space: Any = None, n_trials: int = 20,
         timeout: float | None = None, storage: Any = None, pruner: Any = "median",
         seed: int = 0, *, sampler: Any = "tpe", val_size: float = 0.25,
         study_name: str = "transferkit", workers: int = 1) -> tuple[Any, Any]:
    """Search ``estimator``'s hyper-parameters with Optuna; refit the best on all ``data``.

    Args:
        estimator: an unfitted transferkit estimator (``TransferClassifier(strategy=...)``);
            its own settings are the starting point, the space varies some of them.
        data: labelled training data (a Dataset, or splits: their ``train`` part is used; the
            test split is never read).
        space: ``None`` (the chosen strategy's default space, from its parameter
            declarations), a YAML file path, a dict of the same form, or a
            :class:`~transferkit.tuning.SearchSpace`.
        n_trials: trials the study should hold when done; finished trials of an earlier run
            of the same stored study count, so a rerun completes an interrupted search and a
            larger number extends it.
        timeout: stop starting trials after this many seconds (``None``: no limit).
        storage: ``None`` (in memory), ``"sqlite:///study.db"``, ``"journal:PATH"``, a
            database URL, or an Optuna storage object.
        pruner: ``"median"``, ``"halving"``, ``"hyperband"``, ``"none"`` or an Optuna pruner.
        seed: seeds the validation split and the sampler.
        sampler: ``"tpe"``, ``"random"`` (both seeded from ``seed``) or an Optuna sampler
            object (used as given).
        val_size: fraction of the training rows held out (stratified) to score trials.
        study_name: the study's name in the storage.
        workers: local processes sharing the study (needs a storage other than memory).

    Returns:
        ``(best_estimator, study)``: the estimator refitted with the best trial's parameters
        on all training rows, and the ``optuna.Study``.

    Raises:
        ConfigError: bad arguments, an unknown parameter or empty range in the space, a
            storage that cannot be opened; every trial failing (with the first reason).
    """
    optuna = require_optuna()
    _check_args(n_trials, timeout, workers, val_size, storage)
    make_sampler(sampler, seed)  # an unknown name fails before a study is created
    estimator._validate_params()  # a bad starting point fails once, not once per trial
    if isinstance(data, DatasetSplits):
        data = data.train
    data = as_dataset(data)
    train_all = estimator.training_data(data) if hasattr(estimator, "training_data") else data
    search_space = resolve_space(space, estimator, train_all)
    fit_rows, val_rows = validation_split(train_all, val_size, seed)
    study = optuna.create_study(
        study_name=study_name, storage=open_storage(storage), direction="maximize",
        pruner=make_pruner(pruner), load_if_exists=True)
    study.set_user_attr("space", search_space.describe())
    study.set_user_attr("validation", {"fit_rows": len(fit_rows), "val_rows": len(val_rows),
                                       "val_size": val_size, "seed": seed})
    objective = Objective(estimator, fit_rows, val_rows, search_space)
    missing = n_trials - finished_trials(study)
    # A resumed study must not replay the proposals of its first run: a sampler seeded as
    # before would start again from the same random points.
    seed_now = seed + len(study.trials)
    study.sampler = make_sampler(sampler, seed_now)
    if missing > 0 and workers > 1:
        job = WorkerJob(objective, str(storage), study_name, sampler, make_pruner(pruner),
                        seed_now, timeout)
        run_workers(job, missing, workers)
    elif missing > 0:
        optimize(study, objective, missing, timeout)
    log.info("study %r: %d finished trials", study_name, finished_trials(study))
    best = _best_trial(study)
    best_estimator = clone(estimator).set_params(**search_space.fixed, **best.params)
    best_estimator.fit(data)
    return best_estimator, study


def _best_trial(study: Any) -> Any:
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if done:
        return study.best_trial
    failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    reason = next((t.user_attrs["error"] for t in failed if "error" in t.user_attrs), None)
    raise ConfigError(
        f"No trial of the study finished ({len(failed)} failed, the rest pruned or "
        f"interrupted). Expected at least one completed trial; first failure: "
        f"{reason or 'see the log above'}. Fix: narrow the space to values that fit.")
