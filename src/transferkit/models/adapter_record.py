"""The ``adapt`` section of a :class:`~transferkit.DomainAdapter`'s run record.

What was tried and why one was chosen: every candidate's label-free validator scores and
held-out source accuracy, the choice and its reason, the source-collapse check, and, once
:meth:`~transferkit.DomainAdapter.evaluate_target` has seen labelled target data, each
candidate's target accuracy, the best in hindsight and which validators would have found it.
"""

from __future__ import annotations

from typing import Any

from ..adapt.validators import VALIDATORS
from .adapter_sources import chosen_use_of_sources

__all__ = ["adaptation_record"]


def adaptation_record(model: Any) -> dict[str, Any]:
    """The ``adapt`` record section of a fitted ``DomainAdapter`` that holds its candidates."""
    chosen = model.candidates_[model.chosen_]
    rec: dict[str, Any] = {
        "method": model.chosen_,
        "requested": model.method,
        "reason": model.reason_,
        "validators": dict(chosen["validators"]),
        "candidates": {
            n: {**c["validators"], "source_accuracy": round(c["source_accuracy"], 4),
                **({"target_accuracy": c["target_accuracy"]} if "target_accuracy" in c
                   else {}),
                "seconds": c["seconds"]}
            for n, c in model.candidates_.items()},
        "baseline": model.baseline_name_,
        "source_collapse": dict(model.collapse_),
        "target_labels": model.target_labels,
        "n_target_labelled": 0 if model.target_label_rows_ is None
        else int(len(model.target_label_rows_)),
    }
    if getattr(model, "sources_", None):
        use = chosen_use_of_sources(model.strategy_, model.sources_)
        seen = (getattr(model, "target_eval_", None) or {}).get("sources") or {}
        rec["sources"] = {n: {**t, "in_chosen_method": use[n], **seen.get(n, {})}
                          for n, t in model.sources_.items()}
    if getattr(model, "projection_", None):
        rec["projection"] = model.projection_
    if getattr(model, "source_tune_", None):
        rec["source_finetune"] = dict(model.source_tune_)
    if model.method == "auto":
        rec["chosen"] = model.chosen_
        rec["selection"] = model.selection_
    ev = getattr(model, "target_eval_", None)
    if ev:
        rec.update(_target_results(model, ev))
    return rec


def _target_results(model: Any, ev: dict[str, Any]) -> dict[str, Any]:
    acc = ev["accuracy"]
    out: dict[str, Any] = {"target_accuracy": round(acc[model.chosen_], 4),
                           "n_target_evaluated": ev["n"]}
    if model.baseline_name_ is not None:
        out["source_only_accuracy"] = round(acc[model.baseline_name_], 4)
        out["gain"] = round(acc[model.chosen_] - acc[model.baseline_name_], 4)
    if len(acc) > 1:
        best = max(acc, key=lambda n: acc[n])
        out["best_in_hindsight"] = best
        out["choice_matches_best"] = bool(acc[model.chosen_] >= acc[best] - 1e-12)
        picks = {}
        for v in VALIDATORS:
            have = {n: c["validators"][v] for n, c in model.candidates_.items()
                    if v in c["validators"]}
            if have:
                top = max(have, key=lambda n: have[n])
                picks[v] = {"picks": top, "picks_best": bool(acc[top] >= acc[best] - 1e-12)}
        out["validator_picks"] = picks
    return out
