"""Where the numbers come from: data, backbone, strategy, timings, environment, config."""

from __future__ import annotations

from typing import Any

from .. import plots
from ..html import esc, figure, is_number, json_block, kv_table, section

__all__ = ["render_data", "render_setup", "render_other", "KNOWN"]

KNOWN = {"schema_version", "kind", "created", "config", "seed", "environment", "dataset",
         "backbone", "strategy", "history", "metrics", "timings", "lr_find", "rank", "shift",
         "compare", "adapt", "verdict", "name"}


def _flat(d: dict) -> dict[str, Any]:
    return {k: v for k, v in d.items() if not isinstance(v, dict) or len(v) <= 4}


def render_data(record: dict) -> str:
    ds = record.get("dataset")
    if not isinstance(ds, dict) or not ds:
        return ""
    parts = []
    for split, summary in ds.items():
        if not isinstance(summary, dict):
            if summary is not None:
                parts.append(f"<p><b>{esc(split)}</b>: {esc(summary)}</p>")
            continue
        counts = summary.get("class_counts")
        info = {k: v for k, v in summary.items() if k != "class_counts"}
        parts.append(f"<h3>{esc(split)}</h3>" + kv_table(info))
        if isinstance(counts, dict) and counts and all(is_number(v) for v in counts.values()):
            lo, hi = min(counts.values()), max(counts.values())
            parts.append(figure(plots.class_balance(counts, f"{split}: examples per class"),
                                f"Class balance of the {esc(split)} split: {len(counts)} classes, "
                                f"{lo} to {hi} examples each."))
    if not parts:
        return ""
    return section("data", "Data", "".join(parts))


def render_setup(record: dict) -> str:
    parts = []
    for key, title in (("backbone", "Backbone"), ("strategy", "Strategy"),
                       ("timings", "Timings (seconds)"), ("environment", "Environment"),
                       ("config", "Configuration")):
        v = record.get(key)
        if isinstance(v, dict) and v:
            parts.append(f"<h3>{esc(title)}</h3>" + kv_table(_flat(v)))
            nested = {k: x for k, x in v.items() if isinstance(x, dict) and len(x) > 4}
            for k, x in nested.items():
                parts.append(json_block(x, f"{title}: {k}"))
    if record.get("seed") is not None:
        parts.append(f"<p>Seed: <b>{esc(record['seed'])}</b> (the same seed gives the same "
                     "numbers).</p>")
    if not parts:
        return ""
    return section("setup", "Setup, environment and configuration", "".join(parts))


def render_other(record: dict) -> str:
    extra = {k: v for k, v in record.items() if k not in KNOWN}
    if not extra:
        return ""
    body = "".join(json_block(v, k) for k, v in extra.items())
    return section("other", "Other parts of the record", body,
                   intro="Parts this version of the report has no dedicated view for.")
