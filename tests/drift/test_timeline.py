"""The timeline page marks the moments the watched model was re-adapted (fast: a record)."""

from __future__ import annotations

import re

from transferkit.report.render import render_html


def _record(readaptations):
    windows = [{"window": w, "start": 100 * w, "stop": 100 * w + 100, "statistic": 0.1,
                "p_value": 1e-4 if w in (2, 3) else 0.5, "threshold": 5e-4,
                "detected": w in (2, 3), "estimated_accuracy": 0.8,
                "average_confidence": 0.9, "true_accuracy": 0.7} for w in range(7)]
    return {"schema_version": 1, "kind": "monitor",
            "monitor": {"method": "mmd", "windows": windows,
                        "readaptations": readaptations}}


def test_the_timeline_marks_each_readaptation_with_its_runs_and_budget():
    moment = {"after_window": 3, "stream_row": 400, "parent": "runs/kitchen",
              "run": "runs/kitchen-v2", "method": "l2sp", "budget": 50, "labelled": 50,
              "reference": "the next window"}
    page = render_html(_record([moment]), missing=[])
    shown = re.sub(r"<[^>]+>", " ", page)
    shown = re.sub(r"\s+", " ", shown)
    assert "re-adapted 1 time(s), after window(s) 3" in shown
    assert "Re-adaptations" in shown
    assert "3 400 runs/kitchen runs/kitchen-v2 l2sp 50 50 the next window" in shown
    assert 'alt="drift timeline over 7 windows, 1 re-adaptation(s)"' in page
    # Without a moment the page says nothing about re-adaptation.
    plain = render_html(_record([]), missing=[])
    assert "Re-adaptations" not in plain and "re-adapted" not in plain
