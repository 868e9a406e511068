"""Hyper-parameter search: the optimisation history, parameter importances, the best trial,
what pruning saved, and every trial."""

from __future__ import annotations

from typing import Any

from .. import plots
from ..formatting import is_number

__all__ = ["prepare"]

TRIAL_COLS = ["number", "state", "value", "epochs_run", "epochs_planned", "seconds"]


def _shown_value(t: dict) -> float | None:
    """A pruned trial has no value: show its last reported epoch score instead."""
    if is_number(t.get("value")):
        return t["value"]
    by_epoch = t.get("val_accuracy_by_epoch") or {}
    last = [v for _, v in sorted(by_epoch.items(), key=lambda kv: int(kv[0])) if is_number(v)]
    return last[-1] if last else None


def prepare(record: dict) -> dict[str, Any] | None:
    tn = record.get("tune")
    if not isinstance(tn, dict) or not tn.get("trials"):
        return None
    trials = [t for t in tn["trials"] if isinstance(t, dict)]
    hist = [h for h in tn.get("history") or [] if isinstance(h, dict)]
    params = sorted({k for t in trials for k in (t.get("params") or {})})
    imp = tn.get("importances") if isinstance(tn.get("importances"), dict) else None
    return {
        "n_trials": len(trials),
        "states": tn.get("states") or {},
        "best": tn.get("best"),
        "objective": tn.get("objective", "validation accuracy"),
        "validation": tn.get("validation"),
        "space": tn.get("space"),
        "pruning": tn.get("pruning"),
        "storage": tn.get("storage"),
        "history_plot": plots.optimisation_history(
            [t.get("number", i) for i, t in enumerate(trials)],
            [_shown_value(t) for t in trials], [str(t.get("state")) for t in trials],
            [h.get("best") for h in hist] if len(hist) == len(trials) else
            [None] * len(trials)),
        "importance_plot": plots.bars(list(imp), {"importance": list(imp.values())})
        if imp else None,
        "cols": TRIAL_COLS + params,
        "rows": [[t.get(c) for c in TRIAL_COLS] + [(t.get("params") or {}).get(p)
                                                  for p in params] for t in trials],
    }
