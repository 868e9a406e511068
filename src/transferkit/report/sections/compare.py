"""Comparison of strategies over data fractions and seeds: curves with error bands."""

from __future__ import annotations

import math
from typing import Any

from .. import plots
from ..formatting import is_number

__all__ = ["prepare", "aggregate"]


# Parts of record['compare'] with a view of their own; the rest is listed as is.
KNOWN = {"table", "verdict", "data_efficiency", "metric", "reason", "tests", "per_amount",
         "reference", "references", "efficiency", "best_transfer", "backbones",
         "backbone_tests"}


def aggregate(rows: list[dict], metric: str, xkey: str) -> dict[str, dict[float, list[float]]]:
    """``{strategy: {x: [metric per seed]}}``."""
    out: dict[str, dict[float, list[float]]] = {}
    for r in rows:
        if is_number(r.get(metric)) and is_number(r.get(xkey)):
            out.setdefault(str(r.get("strategy", "?")), {}).setdefault(r[xkey], []).append(
                float(r[metric]))
    return out


def _mean_std(xs: list[float]) -> tuple[float, float]:
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return m, 0.0
    return m, math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def prepare(record: dict) -> dict[str, Any] | None:
    """The comparison's verdicts, paired tests, curves, mean table and raw runs; None if empty."""
    cmp_ = record.get("compare")
    if not isinstance(cmp_, dict) or not cmp_:
        return None
    rows = [r for r in cmp_.get("table") or [] if isinstance(r, dict)]
    metric = str(cmp_.get("metric") or "accuracy")
    per = cmp_.get("per_amount")
    per_cols = [c for c in per[0] if c != "n_pairs"] if (
        isinstance(per, list) and per and all(isinstance(r, dict) for r in per)) else []
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    data = {
        "metric": metric,
        "reference": cmp_.get("reference"),
        "notes": _notes(cmp_),
        "tests": _tests(cmp_.get("tests")),
        "per_amount": {"cols": per_cols, "rows": [[r.get(c) for c in per_cols] for r in per]}
        if per_cols else None,
        "means": _means(rows, metric),
        "runs": {"cols": cols, "rows": [[r.get(c) for c in cols] for r in rows]} if rows else None,
        "extra": {k: v for k, v in cmp_.items() if k not in KNOWN},
    }
    return data if any(v for k, v in data.items() if k not in ("metric", "reference")) else None


def _notes(cmp_: dict) -> list[dict[str, str | None]]:
    """Callouts: the verdict (red when it reports negative transfer), data efficiency, reason."""
    out = []
    for key, title in (("verdict", "Verdict"), ("data_efficiency", "Data efficiency")):
        if cmp_.get(key):
            text = str(cmp_[key])
            kind = "bad" if key == "verdict" and "negative" in text.lower() else "info"
            if key == "verdict" and isinstance(cmp_.get("reason"), str):
                text = f"{text}. {cmp_['reason']}"
            out.append({"kind": kind, "title": title, "text": text})
    refs = cmp_.get("references")
    if cmp_.get("reference") and isinstance(refs, dict) and refs:
        means = ", ".join(f"{s} {float(m):.3f}" for s, m in refs.items() if is_number(m))
        out.append({"kind": "info", "title": "Reference",
                    "text": f"the verdict and the data efficiency are against "
                            f"{cmp_['reference']}, the stronger no-transfer reference compared "
                            f"(mean {cmp_.get('metric') or 'accuracy'} over all cells: {means})."})
    if cmp_.get("reason") and not cmp_.get("verdict"):
        out.append({"kind": "info", "title": None, "text": str(cmp_["reason"])})
    # Several backbones on the same samples: each against the first (a pre-trained run vs
    # its base, say).
    for t in cmp_.get("backbone_tests") or []:
        if isinstance(t, dict) and t.get("verdict"):
            out.append({"kind": "bad" if "negative" in str(t["verdict"]) else "info",
                        "title": f"Backbone {t.get('backbone', '?')}",
                        "text": f"{t['verdict']}. {t.get('reason', '')}"})
    return out


def _tests(tests: Any) -> list[dict[str, Any]]:
    """One row per strategy paired against scratch; ``ci`` is the 95% interval's ends."""
    if not isinstance(tests, dict):
        return []
    out = []
    for s, t in tests.items():
        if isinstance(t, dict):
            ci = t.get("ci95") if isinstance(t.get("ci95"), list) and t.get("ci95") else [None]
            out.append({"strategy": s, "mean_diff": t.get("mean_diff"), "ci": (ci[0], ci[-1]),
                        "p_value": t.get("p_value"), "wins": t.get("wins"),
                        "losses": t.get("losses"), "n_pairs": t.get("n_pairs")})
    return out


def _means(rows: list[dict], metric: str) -> dict[str, Any] | None:
    """Mean and std over seeds per strategy and amount of data, with the curves' figure."""
    has_n = any(is_number(r.get("n_labels")) for r in rows)
    xkey = "n_labels" if has_n else "fraction"
    agg = aggregate(rows, metric, xkey)
    if not agg:
        return None
    curves = {s: [(x, *_mean_std(v), len(v)) for x, v in d.items()] for s, d in agg.items()}
    xs = sorted({x for d in agg.values() for x in d})
    frac = {r[xkey]: r["fraction"] for r in rows
            if is_number(r.get(xkey)) and is_number(r.get("fraction"))}
    heads = ["strategy"] + [
        f"{x:g} labels" + (f" ({100 * frac[x]:.0f}%)" if x in frac else "") if has_n
        else f"{100 * x:.0f}%" for x in xs]
    counts = {len(v) for d in agg.values() for v in d.values()}
    if len(counts) == 1:
        (n_seeds,) = counts
        over = f"{n_seeds} seed" + ("s" if n_seeds != 1 else "")
    else:
        over = "seeds (n per cell)"
    return {
        "plot": plots.data_efficiency(
            curves, "labelled examples" if has_n else "fraction of labels", metric),
        "heads": heads, "over": over, "same_n": len(counts) == 1,
        "rows": [{"strategy": s, "cells": [_cell(d[x]) if x in d else None for x in xs]}
                 for s, d in agg.items()],
    }


def _cell(xs: list[float]) -> dict[str, float]:
    m, sd = _mean_std(xs)
    return {"mean": m, "std": sd, "n": len(xs)}
