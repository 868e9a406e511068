"""Drift over a stream: per window the test's p-value against its alarm level, the alarms,
the estimated and (when the stream had labels) true accuracy; and a re-adaptation's record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import plots
from ..formatting import is_number

__all__ = ["prepare", "prepare_readapt", "timeline"]


def timeline(windows: Sequence[dict[str, Any]]) -> plots.Plot:
    """Two panels over the window index: p-value (log) with the alarm level and the alarms
    marked; estimated and true accuracy."""
    fig = plots._new_figure(7.2, 5.0)
    top, bottom = fig.subplots(2, 1, sharex=True)
    x = [w["window"] for w in windows]
    p = [max(float(w["p_value"]), 1e-6) for w in windows]
    top.semilogy(x, p, "-o", ms=3, color=plots.PALETTE[0], label="p-value")
    top.axhline(float(windows[0]["threshold"]), color=plots.PALETTE[1], ls="--", lw=1,
                label="alarm level")
    alarms = [(xi, pi) for xi, pi, w in zip(x, p, windows, strict=True) if w["detected"]]
    if alarms:
        top.scatter(*zip(*alarms, strict=True), color=plots.PALETTE[1], zorder=3, s=18,
                    label="alarm")
    top.set_ylabel("p-value")
    top.legend(fontsize=7, loc="lower left")
    for key, label, colour in (("estimated_accuracy", "estimated (ATC)", 2),
                               ("average_confidence", "average confidence", 8),
                               ("true_accuracy", "true", 3)):
        pts = [(xi, w[key]) for xi, w in zip(x, windows, strict=True) if is_number(w.get(key))]
        if pts:
            bottom.plot(*zip(*pts, strict=True), "-o", ms=3, color=plots.PALETTE[colour],
                        label=label)
    bottom.set_ylabel("accuracy")
    bottom.set_xlabel("window")
    bottom.legend(fontsize=7, loc="lower left")
    for ax in (top, bottom):
        plots._style(ax)
    return plots._img(fig, f"drift timeline over {len(windows)} windows")


def prepare(record: dict) -> dict[str, Any] | None:
    """The monitor's timeline, its settings and the per-window table; None without one."""
    mon = record.get("monitor")
    windows = mon.get("windows") if isinstance(mon, dict) else None
    if not windows:
        return None
    cols = ["window", "rows", "statistic", "p_value", "alarm", "estimated", "confidence",
            "true"]
    rows = [[w["window"], f"{w['start']}-{w['stop'] - 1}", w["statistic"], w["p_value"],
             "ALARM" if w["detected"] else "", w.get("estimated_accuracy"),
             w.get("average_confidence"), w.get("true_accuracy")] for w in windows]
    alarms = [w["window"] for w in windows if w["detected"]]
    settings = {k: mon.get(k) for k in ("method", "window", "alpha", "horizon", "alarm_rule",
                                        "level", "n_permutations")}
    return {"plot": timeline(windows), "cols": cols, "rows": rows, "alarms": alarms,
            "settings": settings, "reference": mon.get("reference") or {},
            "stream": mon.get("stream") or {}}


def prepare_readapt(record: dict) -> dict[str, Any] | None:
    """What a re-adaptation did: its parent, the labelled rows, the anchor, old accuracy."""
    ra = record.get("readapt")
    if not isinstance(ra, dict) or not ra:
        return None
    shown = {k: v for k, v in ra.items() if k not in ("labelled_rows", "by_C")}
    by_c = ra.get("by_C") if isinstance(ra.get("by_C"), dict) else {}
    rows = [[c, v.get("cv_new_accuracy"), v.get("old_accuracy"), v.get("allowed")]
            for c, v in by_c.items() if isinstance(v, dict)]
    return {"summary": shown, "rows": rows}
