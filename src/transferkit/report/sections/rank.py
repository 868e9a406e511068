"""Transferability ranking: the table of scores per backbone and a bar chart per score."""

from __future__ import annotations

from .. import plots
from ..html import esc, figure, fmt, is_number, json_block, kv_table, section, table

__all__ = ["render"]

NOT_SCORES = {"seconds", "rank", "n", "num_params", "params", "num_features", "time"}


def render(record: dict) -> str:
    rk = record.get("rank")
    if not isinstance(rk, dict) or not rk:
        return ""
    rows = [r for r in rk.get("table") or [] if isinstance(r, dict)]
    parts = []
    if rows:
        cols: list[str] = []
        for r in rows:
            cols += [k for k in r if k not in cols]
        parts.append(f'<div class="scroll">{table(cols, [[r.get(c) for c in cols] for r in rows])}'
                     "</div>")
        named = rk.get("scores")
        if isinstance(named, list) and named and all(isinstance(c, str) for c in named):
            candidates = [c for c in named if c in cols]  # the record names its score columns
        else:
            candidates = [c for c in cols if c not in NOT_SCORES and c != "backbone"]
        score_cols = [c for c in candidates if any(is_number(r.get(c)) for r in rows)]
        if score_cols:
            names = [str(r.get("backbone", i)) for i, r in enumerate(rows)]
            parts.append(figure(
                plots.bars(names, {c: [r.get(c) for r in rows] for c in score_cols}),
                "Scores per candidate backbone (for LogME, LEEP, NCE, H-score and kNN accuracy, "
                "higher means a better expected transfer)."))
        secs = [r.get("seconds") for r in rows if is_number(r.get("seconds"))]
        if secs:
            parts.append(f"<p>Scoring took {fmt(float(sum(secs)))} s in total.</p>")
    readings = rk.get("readings")
    if isinstance(readings, dict) and readings:
        if all(isinstance(v, str) for v in readings.values()):
            items = "".join(f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in readings.items())
            parts.append(f"<h3>Readings</h3><ul>{items}</ul>")
        else:
            parts.append("<h3>Readings</h3>" + kv_table(readings))
    scores = rk.get("scores")
    if scores and scores != rows and not (
            isinstance(scores, list) and all(isinstance(c, str) for c in scores)):
        if isinstance(scores, list) and all(isinstance(s, dict) for s in scores):
            cols = []
            for s in scores:
                cols += [k for k in s if k not in cols]
            parts.append("<h3>Scores</h3>" + table(cols, [[s.get(c) for c in cols]
                                                          for s in scores]))
        else:
            parts.append(json_block(scores, "Raw scores"))
    extra = {k: v for k, v in rk.items() if k not in ("table", "readings", "scores")}
    if extra:
        parts.append(kv_table(extra))
    if not parts:
        return ""
    return section("rank", "Transferability ranking", "".join(parts),
                   intro="Candidate backbones scored on the target data without fine-tuning.")
