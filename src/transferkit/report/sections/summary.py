"""The summary card at the top of the page, and the one-line headline of a run."""

from __future__ import annotations

from typing import Any

from ..html import esc, fmt, is_number

__all__ = ["render", "headline", "verdicts", "task"]

_TASKS = {
    "compare": "transfer vs scratch vs probe over data fractions and seeds",
    "rank": "transferability ranking of candidate backbones",
    "shift": "distribution shift between source and target",
    "adapt": "unsupervised domain adaptation",
}


def _d(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def task(record: dict) -> str:
    """What the run did, in words (plain text)."""
    kind = record.get("kind") or "fit"
    train = _d(_d(record.get("dataset")).get("train"))
    k = train.get("n_classes") or len(_d(record.get("metrics")).get("labels") or []) or None
    modality = train.get("modality") or _d(record.get("backbone")).get("modality") or ""
    what = f"{k}-class {modality} classification".replace("  ", " ") if k else "classification"
    if kind in _TASKS:
        return f"{_TASKS[kind]} ({what})" if k else _TASKS[kind]
    return what


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def headline(record: dict) -> tuple[str, str] | None:
    """The run's main number as ``(label, text)``, plain text (callers escape for HTML)."""
    metrics = _d(record.get("metrics"))
    adapt = _d(record.get("adapt"))
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
    compare = _d(record.get("compare"))
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
    rank = _d(record.get("rank"))
    table = [r for r in rank.get("table") or [] if isinstance(r, dict)]
    if table:
        return "top-ranked backbone", str(table[0].get("backbone", table[0]))
    shift = _d(record.get("shift"))
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
        src = _d(record.get(part)) if part else record
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


def render(record: dict) -> str:
    train = _d(_d(record.get("dataset")).get("train"))
    test = _d(_d(record.get("dataset")).get("test"))
    bb = _d(record.get("backbone"))
    strat = _d(record.get("strategy"))
    rows: list[tuple[str, str]] = [("task", esc(task(record)))]
    if train:
        data = esc(train.get("name", "?"))
        sizes = [f"{fmt(train['n'])} train" if is_number(train.get("n")) else "",
                 f"{fmt(test['n'])} test" if is_number(test.get("n")) else ""]
        sizes = [s for s in sizes if s]
        rows.append(("data", data + (f" ({', '.join(sizes)})" if sizes else "")))
    if bb.get("name"):
        extra = []
        if is_number(bb.get("num_params")):
            extra.append(f"{fmt(bb['num_params'])} params")
        if is_number(bb.get("trainable_params")):
            extra.append(f"{fmt(bb['trainable_params'])} trainable")
        rows.append(("backbone", esc(bb["name"]) + (f" ({', '.join(extra)})" if extra else "")))
    if strat.get("name"):
        head = f" + {esc(strat['head'])} head" if isinstance(strat.get("head"), str) else ""
        rows.append(("strategy", esc(strat["name"]) + head))
    init = _d(strat.get("head_init"))
    if init.get("kind") == "probe":
        rows.append(("head start", "a linear probe on the frozen features (LP-FT), C = "
                     f"{fmt(init.get('C'))}, logits / {fmt(init.get('temperature'))}"))
    hl = headline(record)
    if hl:
        rows.append((hl[0], f'<span class="big">{esc(hl[1])}</span>'))
    for what, text in verdicts(record):
        cls = verdict_class(text, judged=what in ("transfer vs scratch", "adaptation"))
        rows.append((f"verdict ({what})", f'<span class="verdict {cls}">{esc(text)}</span>'))
    meta = [esc(record.get("kind") or "fit")]
    if record.get("created"):
        meta.append(esc(str(record["created"]).replace("T", " ")))
    if record.get("seed") is not None:
        meta.append(f"seed {fmt(record['seed'])}")
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return (f'<section id="summary" class="card"><h2>Summary</h2>'
            f'<p class="meta">{" &middot; ".join(meta)}</p>'
            f'<table class="kv summary"><tbody>{body}</tbody></table></section>')
