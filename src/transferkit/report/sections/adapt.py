"""Unsupervised domain adaptation: source-only vs adapted accuracy, validators, projection, and
with several sources each one's shift, weight and use."""

from __future__ import annotations

from typing import Any

from ...models.adapter_sources import describe_source_use
from .. import plots
from ..formatting import is_number
from .common import columns
from .shift import projection

__all__ = ["prepare"]

# Parts of record['adapt'] with a view of their own; the rest is listed as is.
KNOWN = {"method", "source_only_accuracy", "target_accuracy", "validators", "projection",
         "verdict", "source_finetune", "sources"}


def _sources(v: Any) -> dict[str, Any] | None:
    """Several sources: each one's rows, shift to the target, mixture weight and use."""
    if not isinstance(v, dict) or not v or not all(isinstance(x, dict) for x in v.values()):
        return None
    cols = ["source", "rows", "mixture weight", "proxy A-distance", "MMD", "domain AUC",
            "in the chosen method"]
    rows = [[n, x.get("rows"), x.get("mixture_weight"), x.get("proxy_a_distance"),
             x.get("mmd"), x.get("domain_auc"), describe_source_use(x.get("in_chosen_method"))]
            for n, x in v.items()]
    if any("target_accuracy_alone" in x for x in v.values()):
        # What each source contributed, measured once target labels were available.
        cols += ["target accuracy alone", "ensemble without it"]
        for row, x in zip(rows, v.values(), strict=True):
            row += [x.get("target_accuracy_alone"), x.get("target_accuracy_without")]
    weights = [float(x.get("mixture_weight") or 0) for x in v.values()]
    return {"cols": cols, "rows": rows,
            "plot": plots.paired_bars(list(v), weights, "mixture weight")}


def _validators(v: Any) -> dict[str, Any] | None:
    """Validator scores in one of three forms: ``scores`` (a number each), ``table`` (a dict
    of values each) or ``other`` (listed as is)."""
    if not isinstance(v, dict) or not v:
        return None
    if all(is_number(x) for x in v.values()):
        return {"form": "scores", "rows": list(v.items())}
    if all(isinstance(x, dict) for x in v.values()):
        cols = columns(v.values())
        return {"form": "table", "cols": ["validator"] + cols,
                "rows": [[k] + [x.get(c) for c in cols] for k, x in v.items()]}
    return {"form": "other", "mapping": v}


def prepare(record: dict) -> dict[str, Any] | None:
    """Accuracy on the target before and after adapting, validators, projection; None if empty."""
    ad = record.get("adapt")
    if not isinstance(ad, dict) or not ad:
        return None
    method = ad.get("method")
    src, tgt = ad.get("source_only_accuracy"), ad.get("target_accuracy")
    both = is_number(src) and is_number(tgt)
    data = {
        "method": method or None,
        "source_finetune": ad.get("source_finetune")
        if isinstance(ad.get("source_finetune"), dict) else None,
        "source": float(src) if both else None,
        "target": float(tgt) if is_number(tgt) else None,
        "plot": plots.paired_bars(["source only", str(method or "adapted")],
                                  [float(src), float(tgt)], "target accuracy") if both else None,
        "validators": _validators(ad.get("validators")),
        "sources": _sources(ad.get("sources")),
        "projection": projection(ad.get("projection"), "adapted source and target"),
        "extra": {k: v for k, v in ad.items() if k not in KNOWN},
    }
    return data if any(v is not None and v != {} for v in data.values()) else None
