"""Training: per-epoch learning curves and the learning-rate finder."""

from __future__ import annotations

from .. import plots
from ..html import esc, figure, fmt, is_number, section, table

__all__ = ["render", "render_lr_find"]

MAX_EPOCH_ROWS = 40


def _best_epoch(history: list[dict]) -> str:
    for key, better in (("val_loss", min), ("val_accuracy", max)):
        vals = [(h[key], h.get("epoch", i + 1)) for i, h in enumerate(history)
                if is_number(h.get(key))]
        if vals:
            v, e = better(vals, key=lambda t: t[0])
            return (f"Best epoch by {esc(key)}: <b>{fmt(e)}</b> ({esc(key)} = {fmt(v)}); "
                    f"{fmt(len(history))} epochs run.")
    return f"{fmt(len(history))} epochs run."


def render(record: dict) -> str:
    history = [h for h in record.get("history") or [] if isinstance(h, dict)]
    if not history:
        return ""
    keys: list[str] = []
    for h in history:
        keys += [k for k in h if k not in keys]
    shown = history if len(history) <= MAX_EPOCH_ROWS else (
        history[:MAX_EPOCH_ROWS // 2] + history[-MAX_EPOCH_ROWS // 2:])
    rows = [[h.get(k) for k in keys] for h in shown]
    cut = "" if len(shown) == len(history) else (
        f"<p class=\"intro\">Showing the first and last {MAX_EPOCH_ROWS // 2} of "
        f"{fmt(len(history))} epochs.</p>")
    body = (figure(plots.learning_curves(history),
                   "Learning curves: training (dashed) and validation (solid) per epoch.")
            + f'<p>{_best_epoch(history)}</p>{cut}<div class="scroll">{table(keys, rows)}</div>')
    return section("training", "Training", body)


def render_lr_find(record: dict) -> str:
    lf = record.get("lr_find")
    if not isinstance(lf, dict):
        return ""
    lrs, losses = lf.get("lrs") or [], lf.get("losses") or []
    sug = lf.get("suggestion")
    parts = []
    if is_number(sug):
        parts.append(f'<p>Suggested learning rate: <b class="big">{fmt(float(sug))}</b></p>')
    if len(lrs) >= 2 and len(lrs) == len(losses):
        parts.append(figure(plots.lr_finder(lrs, losses, sug if is_number(sug) else None),
                            "Loss during a short run with an exponentially growing learning "
                            "rate; the dashed line marks the suggestion."))
    extra = {k: v for k, v in lf.items() if k not in ("lrs", "losses", "suggestion")}
    if extra:
        parts.append(table(["setting", "value"], list(extra.items())))
    if not parts:
        return ""
    return section("lr-find", "Learning-rate finder", "".join(parts))
