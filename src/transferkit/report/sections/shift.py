"""Shift between source and target: test statistics, their scales, per-class shift, projection."""

from __future__ import annotations

from typing import Any

from .. import plots
from ..html import esc, figure, fmt, is_number, json_block, note, section, table

__all__ = ["render", "render_projection"]

# name -> (label, value meaning no shift, value meaning full shift, hint)
SCALES = {
    "proxy_a_distance": ("proxy A-distance", 0.0, 2.0, "0: indistinguishable, 2: separable"),
    "c2st_auc": ("two-sample classifier AUC", 0.5, 1.0, "0.5: chance, 1: separable"),
}
LABELS = {"mmd": "MMD", "p_value": "MMD test p-value", "proxy_a_distance": "proxy A-distance",
          "c2st_auc": "classifier two-sample AUC"}


def _scalar(v: Any) -> float | None:
    if is_number(v):
        return float(v)
    if isinstance(v, dict):  # {"statistic": ..., "p_value": ...} or {"value": ...}
        for k in ("statistic", "value", "mmd", "score"):
            if is_number(v.get(k)):
                return float(v[k])
    return None


def _points(v: Any) -> bool:
    return (isinstance(v, list) and len(v) > 0 and all(isinstance(p, (list, tuple))
                                                       and len(p) == 2 for p in v[:50]))


def render_projection(proj: Any, where: str) -> str:
    if not isinstance(proj, dict):
        return ""
    groups = {str(k): v for k, v in proj.items() if _points(v)}
    if not groups:
        return ""
    method = str(proj.get("method") or "").upper() or "2-D projection"
    return figure(plots.projection(groups, f"{method} of {where} features"),
                  f"{esc(method)} of the features of {', '.join(esc(g) for g in groups)}: "
                  "overlapping clouds mean little shift; separate clouds mean strong shift.")


def _per_class(pc: Any) -> str:
    if isinstance(pc, list) and pc and all(isinstance(r, dict) and "class" in r for r in pc):
        pc = {str(r["class"]): {k: v for k, v in r.items() if k != "class"} for r in pc}
    if not isinstance(pc, dict) or not pc:
        return ""
    if all(is_number(v) for v in pc.values()):
        names = list(pc)
        parts = [figure(plots.bars([str(n) for n in names], {"shift": [pc[n] for n in names]}),
                        "Shift per class.")]
        parts.append(table(["class", "shift"], [(n, pc[n]) for n in names]))
        return "<h3>Per class</h3>" + "".join(parts)
    if all(isinstance(v, dict) for v in pc.values()):
        cols: list[str] = []
        for v in pc.values():
            cols += [k for k in v if k not in cols]
        rows = [[c] + [v.get(k) for k in cols] for c, v in pc.items()]
        # Plot a shift measure, not a count, where one exists; classes without it are skipped.
        num = [k for k in ("domain_auc", "mmd", "shift") if any(is_number(v.get(k))
                                                               for v in pc.values())]
        num += [k for k in cols if all(is_number(v.get(k)) for v in pc.values())]
        fig = ""
        if num:
            shown = {c: v[num[0]] for c, v in pc.items() if is_number(v.get(num[0]))}
            fig = figure(plots.bars([str(c) for c in shown], {num[0]: list(shown.values())}),
                         f"{esc(num[0])} per class.")
        return f'<h3>Per class</h3>{fig}<div class="scroll">{table(["class"] + cols, rows)}</div>'
    return json_block(pc, "Per class")


def render(record: dict) -> str:
    sh = record.get("shift")
    if not isinstance(sh, dict) or not sh:
        return ""
    parts = []
    if sh.get("verdict"):
        parts.append(note(f"<b>Verdict:</b> {esc(sh['verdict'])}", "info"))
    tiles = []
    for k, label in LABELS.items():
        v = _scalar(sh.get(k))
        if v is not None:
            tiles.append(f'<div class="tile"><div class="v">{fmt(v)}</div>'
                         f'<div class="k">{esc(label)}</div></div>')
    if isinstance(sh.get("mmd"), dict) and is_number(sh["mmd"].get("p_value")) and \
            "p_value" not in sh:
        tiles.append(f'<div class="tile"><div class="v">{fmt(float(sh["mmd"]["p_value"]))}</div>'
                     '<div class="k">MMD test p-value</div></div>')
    if tiles:
        parts.append(f'<div class="tiles">{"".join(tiles)}</div>')
    gauges = [(label, _scalar(sh.get(k)), lo, hi, hint) for k, (label, lo, hi, hint)
              in SCALES.items() if _scalar(sh.get(k)) is not None]
    if gauges:
        parts.append(figure(plots.shift_gauges(gauges),
                            "Each score on its own scale, from no shift (left) to full shift "
                            "(right)."))
    parts.append(render_projection(sh.get("projection"), "source and target"))
    parts.append(_per_class(sh.get("per_class")))
    known = set(LABELS) | {"verdict", "projection", "per_class"}
    extra = {k: v for k, v in sh.items() if k not in known}
    if extra:
        parts.append(table(["detail", "value"], list(extra.items())))
    body = "".join(p for p in parts if p)
    if not body:
        return ""
    return section("shift", "Shift between source and target", body)
