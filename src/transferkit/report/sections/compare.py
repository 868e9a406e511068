"""Comparison of strategies over data fractions and seeds: curves with error bands."""

from __future__ import annotations

import math

from .. import plots
from ..html import esc, figure, fmt, is_number, kv_table, note, section, table

__all__ = ["render", "aggregate"]


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


def render(record: dict) -> str:
    cmp_ = record.get("compare")
    if not isinstance(cmp_, dict) or not cmp_:
        return ""
    rows = [r for r in cmp_.get("table") or [] if isinstance(r, dict)]
    metric = str(cmp_.get("metric") or "accuracy")
    parts = []
    for key, title in (("verdict", "Verdict"), ("data_efficiency", "Data efficiency")):
        if cmp_.get(key):
            text = cmp_[key] if isinstance(cmp_[key], str) else str(cmp_[key])
            kind = "bad" if key == "verdict" and "negative" in text.lower() else "info"
            if key == "verdict" and isinstance(cmp_.get("reason"), str):
                text = f"{text}. {cmp_['reason']}"
            parts.append(note(f"<b>{esc(title)}:</b> {esc(text)}", kind))
    if cmp_.get("reason") and not cmp_.get("verdict"):
        parts.append(note(esc(cmp_["reason"]), "info"))
    tests = cmp_.get("tests")
    if isinstance(tests, dict) and tests:
        body = [[s, t.get("mean_diff"), f"{fmt(t.get('ci95', [None])[0])} to "
                 f"{fmt(t.get('ci95', [None, None])[-1])}", t.get("p_value"), t.get("wins"),
                 t.get("losses"), t.get("n_pairs")]
                for s, t in tests.items() if isinstance(t, dict)]
        parts.append("<h3>Paired against scratch (same samples, same seeds)</h3>" + table(
            ["strategy", "mean difference", "95% interval", "sign-flip p", "wins", "losses",
             "pairs"], body))
    per = cmp_.get("per_amount")
    if isinstance(per, list) and per and all(isinstance(r, dict) for r in per):
        cols = [c for c in per[0] if c != "n_pairs"]
        parts.append(f"<h3>Best transfer strategy against scratch, per amount of data</h3>"
                     f"{table(cols, [[r.get(c) for c in cols] for r in per])}")
    has_n = any(is_number(r.get("n_labels")) for r in rows)
    xkey = "n_labels" if has_n else "fraction"
    agg = aggregate(rows, metric, xkey)
    if agg:
        curves = {s: [(x, *_mean_std(v), len(v)) for x, v in d.items()] for s, d in agg.items()}
        parts.append(figure(
            plots.data_efficiency(curves, "labelled examples" if has_n else "fraction of labels",
                                  metric),
            f"Mean {esc(metric)} per strategy against the amount of labelled data; the band is "
            "&plusmn; one standard deviation over seeds."))
        xs = sorted({x for d in agg.values() for x in d})
        frac = {}
        for r in rows:
            if is_number(r.get(xkey)) and is_number(r.get("fraction")):
                frac[r[xkey]] = r["fraction"]
        heads = ["strategy"] + [
            f"{x:g} labels" + (f" ({100 * frac[x]:.0f}%)" if x in frac else "") if has_n
            else f"{100 * x:.0f}%" for x in xs]
        counts = {len(v) for d in agg.values() for v in d.values()}
        same_n = len(counts) == 1
        if same_n:
            (n_seeds,) = counts
            over = f"{n_seeds} seed" + ("s" if n_seeds != 1 else "")
        else:
            over = "seeds (n per cell)"
        body = []
        for s, d in agg.items():
            cells = [esc(s)]
            for x in xs:
                if x in d:
                    m, sd = _mean_std(d[x])
                    n = "" if same_n else f'<span class="n"> (n={len(d[x])})</span>'
                    cells.append(f"{fmt(m)} &plusmn; {fmt(sd)}{n}")
                else:
                    cells.append("&ndash;")
            body.append(cells)
        parts.append(f"<h3>Mean {esc(metric)} &plusmn; std over {esc(over)}</h3>"
                     + f'<div class="scroll">{table(heads, body, raw=True)}</div>')
    if rows:
        cols: list[str] = []
        for r in rows:
            cols += [k for k in r if k not in cols]
        detail = table(cols, [[r.get(c) for c in cols] for r in rows])
        parts.append(f"<details><summary>All {fmt(len(rows))} runs (one row per strategy, "
                     f"fraction and seed)</summary><div class=\"scroll\">{detail}</div></details>")
    extra = {k: v for k, v in cmp_.items()
             if k not in ("table", "verdict", "data_efficiency", "metric", "reason", "tests",
                          "per_amount")}
    if extra:
        parts.append(kv_table(extra))
    if not parts:
        return ""
    return section("compare", "Transfer vs scratch: data efficiency", "".join(parts))
