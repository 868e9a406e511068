"""The summary card at the top of the page, and the one-line headline of a run."""

from __future__ import annotations

from typing import Any

from ..formatting import is_number
from .common import as_dict

__all__ = ["prepare", "headline", "verdicts", "task"]

_TASKS = {
    "compare": "transfer vs scratch vs probe over data fractions and seeds",
    "rank": "transferability ranking of candidate backbones",
    "shift": "distribution shift between source and target",
    "adapt": "unsupervised domain adaptation",
}


def task(record: dict) -> str:
    """What the run did, in words (plain text)."""
    kind = record.get("kind") or "fit"
    train = as_dict(as_dict(record.get("dataset")).get("train"))
    k = train.get("n_classes") or len(as_dict(record.get("metrics")).get("labels") or []) or None
    modality = train.get("modality") or as_dict(record.get("backbone")).get("modality") or ""
    what = f"{k}-class {modality} classification".replace("  ", " ") if k else "classification"
    if kind in _TASKS:
        return f"{_TASKS[kind]} ({what})" if k else _TASKS[kind]
    return what


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def headline(record: dict) -> tuple[str, str] | None:
    """The run's main number as ``(label, text)``, plain text (callers escape for HTML)."""
    metrics = as_dict(record.get("metrics"))
    adapt = as_dict(record.get("adapt"))
    if is_number(adapt.get("target_accuracy")):
        text = f"{adapt['target_accuracy']:.4f}"
        if is_number(adapt.get("source_only_accuracy")):
            text += f" (source only {adapt['source_only_accuracy']:.4f})"
        return "target accuracy", text
    if is_number(metrics.get("accuracy")):
        text = f"{metrics['accuracy']:.4f}"
        if is_number(metrics.get("macro_f1")):
            text += f" (macro-F1 {metrics['macro_f1']:.4f})"
        return "test accuracy", text
    compare = as_dict(record.get("compare"))
    rows = [r for r in compare.get("table") or [] if isinstance(r, dict)]
    metric = compare.get("metric") or "accuracy"
    rows = [r for r in rows if is_number(r.get(metric))]
    if rows:
        xkey = "fraction" if any(is_number(r.get("fraction")) for r in rows) else "n_labels"
        top = max((r.get(xkey) for r in rows if is_number(r.get(xkey))), default=None)
        at = [r for r in rows if r.get(xkey) == top] or rows
        by: dict[str, list[float]] = {}
        for r in at:
            by.setdefault(str(r.get("strategy")), []).append(float(r[metric]))
        best = max(by, key=lambda s: _mean(by[s]))
        where = ""
        if is_number(top):
            where = (f" with {100 * top:g}% of the labels" if xkey == "fraction"
                     else f" with {top:g} labels")
        return f"best mean {metric}", f"{best} {_mean(by[best]):.4f}{where}"
    rank = as_dict(record.get("rank"))
    table = [r for r in rank.get("table") or [] if isinstance(r, dict)]
    if table:
        return "top-ranked backbone", str(table[0].get("backbone", table[0]))
    shift = as_dict(record.get("shift"))
    if shift:
        names = {"proxy_a_distance": "proxy A-distance", "c2st_auc": "classifier AUC",
                 "p_value": "MMD p-value"}
        parts = [f"{label} {shift[k]:.4g}" for k, label in names.items()
                 if is_number(shift.get(k))]
        if parts:
            return "shift", ", ".join(parts)
    history = [h for h in record.get("history") or [] if isinstance(h, dict)]
    accs = [h["val_accuracy"] for h in history if is_number(h.get("val_accuracy"))]
    if accs:
        return "best validation accuracy", f"{max(accs):.4f}"
    return None


def verdicts(record: dict) -> list[tuple[str, str]]:
    """Every verdict the record holds, as ``(what, text)``: transfer vs scratch first."""
    out = []
    for part, what in (("compare", "transfer vs scratch"), (None, "verdict"),
                       ("adapt", "adaptation"), ("shift", "shift")):
        src = as_dict(record.get(part)) if part else record
        v = src.get("verdict")
        if isinstance(v, dict):  # {"text": ..., ...} or {"label": ...}
            v = v.get("text") or v.get("label") or v.get("verdict")
        if v:
            out.append((what, str(v)))
    return out


BAD_WORDS = ("negative", "worse", "hurt", "did not help", "no gain", "fails")


def verdict_class(text: str, judged: bool = True) -> str:
    """CSS class of a verdict: red when it reports harm, green when a judged verdict does not."""
    low = text.lower()
    if any(w in low for w in BAD_WORDS):
        return "bad"
    return "good" if judged else "neutral"


def prepare(record: dict) -> dict[str, Any]:
    """The card's values: what ran, on what, how it scored, and every verdict."""
    dataset = as_dict(record.get("dataset"))
    train, test = as_dict(dataset.get("train")), as_dict(dataset.get("test"))
    bb, strat = as_dict(record.get("backbone")), as_dict(record.get("strategy"))
    init = as_dict(strat.get("head_init"))
    return {
        "kind": record.get("kind") or "fit",
        "created": str(record["created"]).replace("T", " ") if record.get("created") else None,
        "seed": record.get("seed"),
        "task": task(record),
        "data": {"name": train.get("name", "?"),
                 "sizes": _counted((train.get("n"), "train"), (test.get("n"), "test"))}
        if train else None,
        "backbone": {"name": bb["name"],
                     "sizes": _counted((bb.get("num_params"), "params"),
                                       (bb.get("trainable_params"), "trainable"))}
        if bb.get("name") else None,
        "strategy": {"name": strat["name"],
                     "head": strat["head"] if isinstance(strat.get("head"), str) else None}
        if strat.get("name") else None,
        "probe_start": {"C": init.get("C"), "temperature": init.get("temperature")}
        if init.get("kind") == "probe" else None,
        "augment": {"spec": aug.get("spec", "?"), "prob": aug.get("prob")}
        if (aug := as_dict(strat.get("augment"))) else None,
        "headline": headline(record),
        "verdicts": [(what, text, verdict_class(text, judged=what in ("transfer vs scratch",
                                                                        "adaptation")))
                     for what, text in verdicts(record)],
    }


def _counted(*pairs: tuple[Any, str]) -> list[tuple[Any, str]]:
    """The ``(count, what)`` pairs whose count is a number, e.g. ``(200, "train")``."""
    return [(n, what) for n, what in pairs if is_number(n)]
