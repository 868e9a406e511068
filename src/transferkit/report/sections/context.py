"""Where the numbers come from: data, backbone, strategy, timings, environment, config."""

from __future__ import annotations

from typing import Any

from .. import plots
from ..formatting import is_number

__all__ = ["prepare_data", "prepare_setup", "prepare_other", "KNOWN"]

KNOWN = {"schema_version", "kind", "created", "config", "seed", "environment", "dataset",
         "backbone", "strategy", "history", "metrics", "timings", "lr_find", "rank", "shift",
         "compare", "adapt", "verdict", "name", "monitor", "readapt", "pretrain"}

SETUP = (("backbone", "Backbone"), ("strategy", "Strategy"), ("timings", "Timings (seconds)"),
         ("environment", "Environment"), ("config", "Configuration"))


def _split(name: str, summary: Any) -> dict[str, Any] | None:
    """One split of the dataset summary: its fields and, from its class counts, a bar chart."""
    if not isinstance(summary, dict):
        return None if summary is None else {"name": name, "text": summary}
    counts = summary.get("class_counts")
    balance = None
    if isinstance(counts, dict) and counts and all(is_number(v) for v in counts.values()):
        balance = {"plot": plots.class_balance(counts, f"{name}: examples per class"),
                   "classes": len(counts), "lo": min(counts.values()), "hi": max(counts.values())}
    return {"name": name, "text": None, "balance": balance,
            "info": {k: v for k, v in summary.items() if k != "class_counts"}}


def prepare_data(record: dict) -> dict[str, Any] | None:
    """Each split the record describes; None when it describes none."""
    ds = record.get("dataset")
    if not isinstance(ds, dict):
        return None
    splits = [s for s in (_split(str(k), v) for k, v in ds.items()) if s]
    return {"splits": splits} if splits else None


def prepare_setup(record: dict) -> dict[str, Any] | None:
    """Backbone, strategy, timings, environment and config: small values in a table, large
    nested ones (more than four fields) as collapsible JSON."""
    parts = []
    for key, title in SETUP:
        v = record.get(key)
        if isinstance(v, dict) and v:
            parts.append({
                "title": title,
                "fields": {k: x for k, x in v.items() if not isinstance(x, dict) or len(x) <= 4},
                "nested": [(k, x) for k, x in v.items() if isinstance(x, dict) and len(x) > 4]})
    seed = record.get("seed")
    return {"parts": parts, "seed": seed} if parts or seed is not None else None


def prepare_other(record: dict) -> dict[str, Any] | None:
    """Record parts this version has no view for, shown as JSON so nothing is hidden."""
    extra = {k: v for k, v in record.items() if k not in KNOWN}
    return {"parts": extra} if extra else None
