"""Opening and running a study: the sampler, the trial loop, what counts as finished."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..exceptions import ConfigError, TransferKitError

__all__ = ["SAMPLERS", "require_optuna", "make_sampler", "finished_trials", "optimize"]

#: how trials choose their parameters: TPE, or uniform random (the equal-budget control)
SAMPLERS = ("tpe", "random")


def require_optuna() -> Any:
    """The ``optuna`` module, or a one-line error saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise ConfigError("tune needs Optuna, which is not installed. Expected the 'tune' "
                          "extra; fix: pip install 'transferkit[tune]'.") from None
    return optuna


def make_sampler(name: Any, seed: int) -> Any:
    """``"tpe"`` (Optuna's default, seeded), ``"random"`` (the equal-budget control), or an
    Optuna sampler object, used as given."""
    import optuna

    if isinstance(name, optuna.samplers.BaseSampler):
        return name
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=5)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ConfigError(f"Unknown sampler {name!r}. Expected one of {', '.join(SAMPLERS)} or an "
                      "optuna.samplers.BaseSampler; fix: sampler='tpe'.")


def finished_trials(study: Any) -> int:
    """Trials that count toward ``n_trials``: completed or pruned (not failed, not running)."""
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def optimize(study: Any, objective: Callable[[Any], float], n_trials: int,
             timeout: float | None) -> None:
    """Run ``n_trials`` trials; a trial that fails on a transferkit error (a parameter
    combination that does not fit) is recorded as failed and the search goes on."""
    study.optimize(objective, n_trials=n_trials, timeout=timeout, catch=(TransferKitError,),
                   gc_after_trial=False)
