"""Training: per-epoch learning curves and the learning-rate finder."""

from __future__ import annotations

from typing import Any

from .. import plots
from ..formatting import is_number
from .common import columns

__all__ = ["prepare", "prepare_lr_find"]

MAX_EPOCH_ROWS = 40


def _best_epoch(history: list[dict]) -> dict[str, Any] | None:
    """The best epoch by validation loss (else accuracy): ``{"key", "epoch", "value"}``."""
    for key, better in (("val_loss", min), ("val_accuracy", max)):
        vals = [(h[key], h.get("epoch", i + 1)) for i, h in enumerate(history)
                if is_number(h.get(key))]
        if vals:
            v, e = better(vals, key=lambda t: t[0])
            return {"key": key, "epoch": e, "value": v}
    return None


def prepare(record: dict) -> dict[str, Any] | None:
    """Learning curves and the per-epoch table (first and last epochs of long runs)."""
    history = [h for h in record.get("history") or [] if isinstance(h, dict)]
    if not history:
        return None
    keys = columns(history)
    shown = history if len(history) <= MAX_EPOCH_ROWS else (
        history[:MAX_EPOCH_ROWS // 2] + history[-MAX_EPOCH_ROWS // 2:])
    return {"plot": plots.learning_curves(history), "best": _best_epoch(history),
            "epochs": len(history), "shown_each_end": MAX_EPOCH_ROWS // 2,
            "cut": len(shown) < len(history),
            "cols": keys, "rows": [[h.get(k) for k in keys] for h in shown]}


def prepare_lr_find(record: dict) -> dict[str, Any] | None:
    """The learning-rate finder's curve and suggestion; None when the run did not use it."""
    lf = record.get("lr_find")
    if not isinstance(lf, dict):
        return None
    lrs, losses = lf.get("lrs") or [], lf.get("losses") or []
    sug = float(lf["suggestion"]) if is_number(lf.get("suggestion")) else None
    data = {
        "suggestion": sug,
        "plot": plots.lr_finder(lrs, losses, sug)
        if len(lrs) >= 2 and len(lrs) == len(losses) else None,
        "extra": [(k, v) for k, v in lf.items() if k not in ("lrs", "losses", "suggestion")],
    }
    return data if sug is not None or data["plot"] or data["extra"] else None
