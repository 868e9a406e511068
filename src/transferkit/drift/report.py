"""``DriftReport``: what one window of a monitored stream showed."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["DriftReport"]


@dataclass
class DriftReport:
    """One window of the stream against the stored reference.

    Attributes:
        window: the window's index in the stream (0-based; with no reference given, the
            first window became the reference and the reports start at window 1).
        start, stop: the window's rows in the stream, ``[start, stop)``.
        method: the detection test(s) that decide the alarm (``"mmd"``, ``"bbsd"``,
            ``"classifier"``, or several joined by ``+``).
        statistic: the first test's statistic (MMD^2, largest KS distance, or domain AUC).
        p_value: the window's p-value (several tests: their smallest p-value times their
            number, Bonferroni).
        threshold: the per-window level the p-value is compared with (the monitor's
            ``alpha`` spread over its ``horizon`` under the Bonferroni rule).
        detected: ``p_value <= threshold``: the window has drifted away from the reference.
        estimated_accuracy: ATC estimate of the accuracy on this window (``None`` when the
            reference had no labels to calibrate it).
        average_confidence: mean max-softmax probability (the plain confidence estimate).
        true_accuracy: the accuracy on the window when it came with labels, else ``None``.
        tests: every test run: name -> ``{"statistic", "p_value"}``.
        label_shift: BBSE on the window (``p_value``, ``priors``, ``weights``; ``None`` when
            the reference had no labels); reported beside the alarm, never part of it.
        n: rows in the window; seconds: time spent on it (encoding included).
    """

    window: int
    start: int
    stop: int
    method: str
    statistic: float
    p_value: float
    threshold: float
    detected: bool
    estimated_accuracy: float | None
    average_confidence: float
    true_accuracy: float | None = None
    tests: dict[str, dict[str, float]] = field(default_factory=dict)
    label_shift: dict[str, Any] | None = None
    n: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite numbers become ``None``)."""
        def clean(v: Any) -> Any:
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, list):
                return [clean(x) for x in v]
            if isinstance(v, float) and not math.isfinite(v):
                return None
            return v

        return clean(asdict(self))

    def __str__(self) -> str:
        alarm = "DRIFT" if self.detected else "ok"
        est = "n/a" if self.estimated_accuracy is None else f"{self.estimated_accuracy:.3f}"
        true = "" if self.true_accuracy is None else f", true accuracy {self.true_accuracy:.3f}"
        return (f"window {self.window} (rows {self.start}-{self.stop - 1}): {alarm} "
                f"{self.method} {self.statistic:.4g}, p = {self.p_value:.3g} (alarm at "
                f"<= {self.threshold:.3g}); estimated accuracy {est}{true}")
