"""Transferability ranking: the table of scores per backbone and a bar chart per score."""

from __future__ import annotations

from typing import Any

from .. import plots
from ..formatting import is_number
from .common import columns

__all__ = ["prepare"]

NOT_SCORES = {"seconds", "rank", "n", "num_params", "params", "num_features", "time"}


def _score_names(scores: Any) -> bool:
    """True when ``scores`` is a list of score column names (not the scores themselves)."""
    return isinstance(scores, list) and all(isinstance(c, str) for c in scores)


def prepare(record: dict) -> dict[str, Any] | None:
    """The ranking table, its bar chart, the readings and any raw scores; None if empty."""
    rk = record.get("rank")
    if not isinstance(rk, dict) or not rk:
        return None
    rows = [r for r in rk.get("table") or [] if isinstance(r, dict)]
    readings = rk.get("readings") if isinstance(rk.get("readings"), dict) else None
    scores = rk.get("scores")
    raw = scores if scores and scores != rows and not _score_names(scores) else None
    extra = {k: v for k, v in rk.items() if k not in ("table", "readings", "scores", "baseline")}
    baseline = rk.get("baseline") if isinstance(rk.get("baseline"), dict) else None
    if not (rows or readings or raw or extra or baseline):
        return None
    cols = columns(rows)
    if scores and _score_names(scores):
        candidates = [c for c in scores if c in cols]  # the record names its score columns
    else:
        candidates = [c for c in cols if c not in NOT_SCORES and c != "backbone"]
    score_cols = [c for c in candidates if any(is_number(r.get(c)) for r in rows)]
    secs = [r["seconds"] for r in rows if is_number(r.get("seconds"))]
    raw_rows = isinstance(raw, list) and all(isinstance(s, dict) for s in raw)
    return {
        "cols": cols, "rows": [[r.get(c) for c in cols] for r in rows],
        "plot": plots.bars([str(r.get("backbone", i)) for i, r in enumerate(rows)],
                           {c: [r.get(c) for r in rows] for c in score_cols})
        if score_cols else None,
        "seconds": float(sum(secs)) if secs else None,
        "readings": readings or None,
        "readings_are_text": all(isinstance(v, str) for v in (readings or {}).values()),
        "scores": {"cols": columns(raw), "rows": [[s.get(c) for c in columns(raw)] for s in raw]}
        if raw_rows else None,
        "raw_scores": raw if raw is not None and not raw_rows else None,
        "extra": extra,
        "baseline": _baseline(baseline, score_cols),
    }


def _baseline(ref: dict | None, score_cols: list[str]) -> dict | None:
    """The no-transfer reference, and the candidates whose kNN/probe accuracy falls below it."""
    if not ref or not is_number(ref.get("accuracy")):
        return None
    return {"name": ref.get("baseline"), "description": ref.get("description"),
            "accuracy": ref["accuracy"], "folds": ref.get("folds"),
            "seconds": ref.get("seconds"),
            "compared": [c for c in score_cols if c in ("knn", "probe")]}
