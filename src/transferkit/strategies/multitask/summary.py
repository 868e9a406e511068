"""The whole run's gradient-conflict view, from the per-epoch history records."""

from __future__ import annotations

from typing import Any

__all__ = ["conflict_overview"]


def conflict_overview(history: list[dict[str, Any]], every: int) -> dict[str, Any]:
    """Per task pair over all epochs: mean cosine, lowest, share of negative samples.

    A pair whose mean cosine is below zero is listed under ``fighting``: on average a step
    for one task undoes part of the other's.
    """
    pairs: dict[str, dict[str, float]] = {}
    for rec in history:
        for pair, v in (rec.get("grad_cosine") or {}).items():
            p = pairs.setdefault(pair, {"sum": 0.0, "min": 1.0, "negative": 0, "samples": 0})
            p["sum"] += v["mean"] * v["samples"]
            p["min"] = min(p["min"], v["min"])
            p["negative"] += v["negative"]
            p["samples"] += v["samples"]
    out = {pair: {"mean_cosine": round(p["sum"] / p["samples"], 4), "min_cosine": p["min"],
                  "negative_share": round(p["negative"] / p["samples"], 4),
                  "samples": p["samples"]}
           for pair, p in pairs.items() if p["samples"]}
    return {"every_steps": int(every), "pairs": out,
            "fighting": sorted(k for k, v in out.items() if v["mean_cosine"] < 0),
            "note": "cosine between the tasks' loss gradients on the shared encoder's trainable "
                    "parameters, on sampled training batches; below 0 the tasks pull apart"}
