"""A study as plain JSON, for the run record and the report (rendered from it alone).

``study_record(study)`` holds every trial (number, state, value, parameters, epochs planned and
run, seconds, the validation score per epoch), the best trial, the running best (the
optimisation history), Optuna's parameter importances and what pruning saved.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any

__all__ = ["study_record", "pruning_savings"]

log = logging.getLogger(__name__)


def _plain(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


def _trial_row(t: Any) -> dict[str, Any]:
    attrs = t.user_attrs
    return {
        "number": t.number,
        "state": t.state.name.lower(),
        "value": _plain(t.value) if t.value is not None else None,
        "params": {k: _plain(v) for k, v in t.params.items()},
        "epochs_planned": attrs.get("epochs_planned"),
        "epochs_run": attrs.get("epochs_run"),
        "seconds": attrs.get("seconds"),
        "val_accuracy_by_epoch": {str(k): _plain(v)
                                  for k, v in sorted(t.intermediate_values.items())},
        **({"error": attrs["error"]} if "error" in attrs else {}),
    }


def pruning_savings(trials: list[dict[str, Any]]) -> dict[str, Any]:
    """Epochs the finished trials would have run without pruning vs the epochs they ran.

    A completed trial that stopped early on its own (early stopping) counts as run; only
    the epochs a pruned trial did not run count as saved.
    """
    rows = [t for t in trials if t["state"] in ("complete", "pruned")
            and t.get("epochs_planned") and t.get("epochs_run") is not None]
    planned = sum(int(t["epochs_planned"]) for t in rows)
    saved = sum(int(t["epochs_planned"]) - int(t["epochs_run"]) for t in rows
                if t["state"] == "pruned")
    return {"trials_pruned": sum(t["state"] == "pruned" for t in trials),
            "epochs_planned": planned,
            "epochs_run": sum(int(t["epochs_run"]) for t in rows),
            "epochs_saved": saved,
            "saved_fraction": round(saved / planned, 4) if planned else None}


def _importances(study: Any) -> dict[str, float] | None:
    import optuna

    try:
        with warnings.catch_warnings():
            # With a handful of trials the evaluator warns that all importances are equal;
            # the report shows them as they are.
            warnings.simplefilter("ignore", UserWarning)
            imp = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError) as e:  # too few completed trials, or one parameter
        log.info("no parameter importances: %s", e)
        return None
    return {k: round(float(v), 4) for k, v in imp.items()}


def study_record(study: Any) -> dict[str, Any]:
    """Plain JSON of ``study`` (see the module docstring)."""
    trials = [_trial_row(t) for t in study.get_trials(deepcopy=False)]
    history, best_so_far = [], None
    for t in trials:
        if t["state"] == "complete" and t["value"] is not None:
            best_so_far = t["value"] if best_so_far is None else max(best_so_far, t["value"])
        history.append({"number": t["number"], "value": t["value"], "state": t["state"],
                        "best": best_so_far})
    complete = [t for t in trials if t["state"] == "complete"]
    best = max(complete, key=lambda t: t["value"]) if complete else None
    counts: dict[str, int] = {}
    for t in trials:
        counts[t["state"]] = counts.get(t["state"], 0) + 1
    return {
        "study_name": study.study_name,
        "direction": "maximize",
        "objective": "validation accuracy",
        "space": study.user_attrs.get("space"),
        "validation": study.user_attrs.get("validation"),
        "n_trials": len(trials),
        "states": counts,
        "best": best,
        "history": history,
        "importances": _importances(study) if len(complete) >= 2 else None,
        "pruning": pruning_savings(trials),
        "trials": trials,
    }
