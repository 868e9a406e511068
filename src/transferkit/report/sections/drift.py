"""Drift over a stream: per window the test's p-value against its alarm level, the alarms,
the estimated and (when the stream had labels) true accuracy, the moments the watched model
was re-adapted; and a re-adaptation's record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import plots
from ..formatting import is_number

__all__ = ["prepare", "prepare_readapt", "timeline"]


def timeline(windows: Sequence[dict[str, Any]],
             readaptations: Sequence[dict[str, Any]] = ()) -> plots.Plot:
    """Two panels over the window index: p-value (log) with the alarm level and the alarms
    marked; estimated and true accuracy. A re-adaptation is a dotted vertical line between
    the last window the old model saw and the first the new one sees."""
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
    for i, moment in enumerate(readaptations):
        x_at = float(moment["after_window"]) + 0.5
        for ax in (top, bottom):
            ax.axvline(x_at, color=plots.PALETTE[4], ls=":", lw=1.5,
                       label="re-adapted" if i == 0 and ax is top else None)
        top.annotate(f"readapt {moment.get('labelled') or 0} labels", (x_at, 1.0),
                     xycoords=("data", "axes fraction"), fontsize=6, rotation=90,
                     va="top", ha="right", color=plots.PALETTE[4])
    top.legend(fontsize=7, loc="lower left")
    for ax in (top, bottom):
        plots._style(ax)
    extra = f", {len(readaptations)} re-adaptation(s)" if readaptations else ""
    return plots._img(fig, f"drift timeline over {len(windows)} windows{extra}")


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
    moments = [m for m in mon.get("readaptations") or [] if isinstance(m, dict)
               and is_number(m.get("after_window"))]
    readapt_cols = ["after window", "stream row", "parent run", "new run", "method", "budget",
                    "labels used", "new reference"]
    readapt_rows = [[m["after_window"], m.get("stream_row"), m.get("parent"), m.get("run"),
                     m.get("method"), m.get("budget"), m.get("labelled"), m.get("reference")]
                    for m in moments]
    return {"plot": timeline(windows, moments), "cols": cols, "rows": rows, "alarms": alarms,
            "settings": settings, "reference": mon.get("reference") or {},
            "stream": mon.get("stream") or {}, "readapt_cols": readapt_cols,
            "readapt_rows": readapt_rows}


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
