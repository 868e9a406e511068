"""Shift between source and target: test statistics, their scales, per-class shift, projection."""

from __future__ import annotations

from typing import Any

from .. import plots
from ..formatting import is_number
from .common import columns

__all__ = ["prepare", "projection"]

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


def projection(proj: Any, where: str) -> dict[str, Any] | None:
    """A 2-D projection of features (``{"method", group: [[x, y], ...]}``) as a figure's data."""
    if not isinstance(proj, dict):
        return None
    groups = {str(k): v for k, v in proj.items() if _points(v)}
    if not groups:
        return None
    method = str(proj.get("method") or "").upper() or "2-D projection"
    return {"plot": plots.projection(groups, f"{method} of {where} features"),
            "method": method, "groups": list(groups)}


def _per_class(pc: Any) -> dict[str, Any] | None:
    """Shift per class, in one of three forms: ``numbers`` (one value per class, a bar each),
    ``measures`` (a dict of measures per class, a table) or ``raw`` (anything else, as JSON)."""
    if isinstance(pc, list) and pc and all(isinstance(r, dict) and "class" in r for r in pc):
        pc = {str(r["class"]): {k: v for k, v in r.items() if k != "class"} for r in pc}
    if not isinstance(pc, dict) or not pc:
        return None
    if all(is_number(v) for v in pc.values()):
        return {"form": "numbers", "rows": list(pc.items()),
                "plot": plots.bars([str(n) for n in pc], {"shift": list(pc.values())})}
    if not all(isinstance(v, dict) for v in pc.values()):
        return {"form": "raw", "value": pc}
    cols = columns(pc.values())
    # Plot a shift measure, not a count, where one exists; classes without it are skipped.
    num = [k for k in ("domain_auc", "mmd", "shift") if any(is_number(v.get(k))
                                                           for v in pc.values())]
    num += [k for k in cols if all(is_number(v.get(k)) for v in pc.values())]
    plot = None
    if num:
        shown = {c: v[num[0]] for c, v in pc.items() if is_number(v.get(num[0]))}
        plot = plots.bars([str(c) for c in shown], {num[0]: list(shown.values())})
    return {"form": "measures", "measure": num[0] if num else None, "plot": plot,
            "cols": ["class"] + cols, "rows": [[c] + [v.get(k) for k in cols]
                                               for c, v in pc.items()]}


def prepare(record: dict) -> dict[str, Any] | None:
    """The shift scores as tiles and gauges, the projection, per-class shift; None if empty."""
    sh = record.get("shift")
    if not isinstance(sh, dict) or not sh:
        return None
    tiles = [(_scalar(sh.get(k)), label) for k, label in LABELS.items()
             if _scalar(sh.get(k)) is not None]
    mmd = sh.get("mmd")
    if isinstance(mmd, dict) and is_number(mmd.get("p_value")) and "p_value" not in sh:
        tiles.append((float(mmd["p_value"]), "MMD test p-value"))
    gauges = [(label, _scalar(sh.get(k)), lo, hi, hint) for k, (label, lo, hi, hint)
              in SCALES.items() if _scalar(sh.get(k)) is not None]
    known = set(LABELS) | {"verdict", "projection", "per_class"}
    data = {
        "verdict": sh.get("verdict") or None,
        "tiles": tiles,
        "gauges": plots.shift_gauges(gauges) if gauges else None,
        "projection": projection(sh.get("projection"), "source and target"),
        "per_class": _per_class(sh.get("per_class")),
        "extra": [(k, v) for k, v in sh.items() if k not in known],
    }
    return data if any(data.values()) else None
