"""Continued pre-training: the chain of the backbone (base -> pretrained on X -> fine-tuned on
Y) and, for a pre-training run, its pretext loss curve, tokens seen and cost."""

from __future__ import annotations

from typing import Any

from .. import plots
from ..formatting import is_number
from .common import as_dict

__all__ = ["prepare", "chain"]


def _step_text(step: dict[str, Any]) -> str:
    if step.get("step") == "base":
        return f"{step.get('backbone', '?')} (as published)"
    if step.get("step") == "pretrained":
        return (f"pretrained with {step.get('objective', '?')} on {step.get('data', '?')} "
                f"({step.get('n', '?')} unlabelled rows)")
    return str(step.get("step", "?"))


def chain(record: dict) -> list[str]:
    """The backbone's history, oldest first, ending with what this run did with it."""
    pre = as_dict(record.get("pretrain"))
    lineage = pre.get("lineage") or as_dict(record.get("backbone")).get("lineage") or []
    steps = [_step_text(as_dict(s)) for s in lineage if isinstance(s, dict)]
    if not steps:
        return []
    if record.get("kind", "fit") == "fit":
        strategy = as_dict(record.get("strategy")).get("name", "?")
        data = as_dict(as_dict(record.get("dataset")).get("train")).get("name", "?")
        steps.append(f"{strategy} on {data} (this run)")
    return steps


def prepare(record: dict) -> dict[str, Any] | None:
    steps = chain(record)
    pre = as_dict(record.get("pretrain"))
    if not steps and not pre:
        return None
    curve = [p for p in pre.get("loss_curve") or [] if isinstance(p, dict)]
    held = as_dict(pre.get("held_out_loss"))
    marks: list[tuple[float, float]] = []
    if is_number(held.get("before")):
        marks.append((0, held["before"]))
    history = [h for h in record.get("history") or [] if isinstance(h, dict)]
    per_epoch = max(1, int(pre.get("steps") or 0) // max(1, len(history))) if history else 1
    for i, h in enumerate(history):
        if is_number(h.get("val_loss")):
            last = i == len(history) - 1
            marks.append((pre.get("steps") if last else (i + 1) * per_epoch, h["val_loss"]))
    facts = {k: pre.get(k) for k in ("objective", "parent", "steps", "stopped_by", "texts_seen",
                                     "rows_seen", "tokens_seen", "train_seconds",
                                     "texts_per_second", "rows_per_second",
                                     "tokens_per_second") if pre.get(k) is not None}
    if "texts_seen" in facts:  # text runs: the rows are texts, said once
        facts.pop("rows_seen", None)
        facts.pop("rows_per_second", None)
    fp = as_dict(as_dict(record.get("dataset")).get("train")).get("fingerprint")
    if fp:
        facts["data fingerprint"] = fp
    return {"chain": steps, "facts": facts, "held": held,
            "plot": plots.pretext_curve(curve, marks) if curve else None}
