"""Raw pixels + logistic regression: the image baseline with no learned features at all.

Each image is resized to one square side (its native side up to 32 pixels), kept in colour
or grey, flattened, standardised, and fed to the same multinomial logistic regression as the
probe (:class:`~transferkit.heads.logistic.LogisticHead`, ``C`` chosen on held-out data).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...heads import HEADS
from ...heads.logistic import LogisticHead
from .common import image_pixels, pixel_layout

__all__ = ["PixelLogistic"]


class PixelLogistic:
    name = "pixels"
    description = "raw pixels (up to 32x32) + logistic regression"

    def __init__(self) -> None:
        self.layout: dict[str, int] = {}
        self.head: LogisticHead | None = None
        self.chosen: dict[str, Any] = {}

    def _X(self, inputs: Any) -> np.ndarray:
        return image_pixels(inputs, **self.layout).reshape(len(inputs), -1)

    def fit(self, inputs: Any, y: np.ndarray, n_classes: int, seed: int = 0) -> PixelLogistic:
        self.layout = pixel_layout(inputs)
        self.head = LogisticHead().fit(self._X(inputs), y, n_classes, seed=seed)
        self.chosen = {**self.head.chosen, **self.layout}
        return self

    def predict_proba(self, inputs: Any) -> np.ndarray:
        return self.head.predict_proba(self._X(inputs))

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return ({"layout": self.layout, "head_config": self.head.config, "chosen": self.chosen},
                dict(self.head.arrays))

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> PixelLogistic:
        self = cls()
        self.layout = {k: int(v) for k, v in config["layout"].items()}
        self.head = HEADS.get("logistic").from_state(config["head_config"], arrays)
        self.chosen = dict(config.get("chosen", {}))
        return self
