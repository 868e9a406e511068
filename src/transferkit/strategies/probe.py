"""Feature extraction: a frozen backbone, cached features, and a probe head on top."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from ..features import extract_features
from ..heads import HEADS, make_probe_head
from ..utils.params import Params
from .base import FitContext, Strategy, register_strategy
from .params import COMMON, PROBE_HEAD

__all__ = ["ProbeStrategy"]


@register_strategy("probe", description="frozen backbone + head (logistic, ridge, svm, knn)")
class ProbeStrategy(Strategy):
    """Encode once (cached), then fit a probe head; the backbone never changes."""

    name = "probe"
    PARAMS = Params(COMMON, PROBE_HEAD)

    def _features(self, backbone, layer, data) -> np.ndarray:
        s = self.settings
        return extract_features(backbone, data, layer=layer, batch_size=s.batch_size,
                                cache=s.cache, progress=s.progress)

    def fit(self, ctx: FitContext) -> ProbeStrategy:
        t0 = time.perf_counter()
        X = self._features(ctx.backbone, ctx.layer, ctx.train)
        t1 = time.perf_counter()
        self.head_ = make_probe_head(self.settings)
        # The cached features stay memory-mapped: a head that streams them (the logistic head
        # above its memory budget) never copies them whole into memory.
        self.head_.fit(X, ctx.y, ctx.n_classes, seed=self.settings.seed)
        t2 = time.perf_counter()
        self.summary = {
            "head": self.head_.name,
            "head_choice": getattr(self.head_, "chosen", {}),
            "seconds_features": round(t1 - t0, 3),
            "seconds_head": round(t2 - t1, 3),
            "trainable_params": int(sum(a.size for a in self.head_.arrays.values())),
        }
        return self

    def predict_proba(self, backbone, layer, data) -> np.ndarray:
        return self.head_.predict_proba(self._features(backbone, layer, data))

    def save(self, folder: Path) -> dict[str, Any]:
        save_file({k: np.ascontiguousarray(v) for k, v in self.head_.arrays.items()},
                  str(folder / "head.safetensors"))
        return {"head": self.head_.name, "head_config": self.head_.config}

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any], backbone) -> ProbeStrategy:
        self = cls(**config.get("params", {}))
        arrays = load_file(str(folder / "head.safetensors"))
        self.head_ = HEADS.get(config["head"]).from_state(config["head_config"], arrays)
        return self
