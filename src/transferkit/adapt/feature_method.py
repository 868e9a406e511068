"""Shared machinery of the feature-level methods: frozen features in, one probe head out.

A feature-level method learns, from source and target features, a training set for the head
(transformed source features, per-row weights, or both) and optionally a transform applied to
the features of new data at prediction time. The backbone never changes, so features come
from the on-disk cache and a fit takes seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from safetensors.numpy import load_file, save_file

from ..heads import HEADS, probe_head_kwargs
from ..heads.base import ProbeHead
from ..utils.io import _json_default
from ..utils.params import Params
from .base import AdaptContext, AdaptMethod
from .params import ADAPT_COMMON, FEATURE_HEAD
from .weighted import fit_head

__all__ = ["FeatureMethod"]


class FeatureMethod(AdaptMethod):
    """Fit a probe head on ``prepare(...)``'s rows; predict through ``transform``.

    Subclasses implement :meth:`prepare` and may override :meth:`transform` (identity by
    default). Their own fitted arrays go in ``self.state`` (saved as safetensors).
    """

    trains_backbone: ClassVar[bool] = False
    PARAMS: ClassVar[Params] = Params(ADAPT_COMMON, FEATURE_HEAD)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.state: dict[str, np.ndarray] = {}

    # --- to implement ------------------------------------------------------------------------
    def prepare(self, ctx: AdaptContext, Xs: np.ndarray, Xt: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Return the head's training rows ``(X, y, weights or None)``."""
        raise NotImplementedError

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Map features of new (target-domain) data into the space the head was trained in."""
        return X

    def source_transform(self, X: np.ndarray) -> np.ndarray:
        """Map features of source-domain data into that space (default: as target data)."""
        return self.transform(X)

    # --- shared ------------------------------------------------------------------------------
    def fit(self, ctx: AdaptContext) -> FeatureMethod:  # type: ignore[override]
        import time

        t0 = time.perf_counter()
        Xs, Xt = ctx.features(ctx.source), ctx.features(ctx.target)
        t1 = time.perf_counter()
        X, y, w = self.prepare(ctx, Xs, Xt)
        head = self.settings.head
        self.head_ = fit_head(head, X, y, ctx.n_classes, w, seed=ctx.seed,
                              **probe_head_kwargs(head, self.settings.C))
        self.summary.update({
            "head": head,
            "head_choice": getattr(self.head_, "chosen", {}),
            "seconds_features": round(t1 - t0, 3),
            "seconds_adapt": round(time.perf_counter() - t1, 3),
            "trainable_params": int(sum(a.size for a in self.head_.arrays.values())),
        })
        return self

    def embed(self, backbone, layer, data) -> np.ndarray:
        return self.transform(self.features(backbone, layer, data))

    def predict_proba(self, backbone, layer, data) -> np.ndarray:
        return self.head_.predict_proba(self.embed(backbone, layer, data))

    def embed_source(self, backbone, layer, data) -> np.ndarray:
        return self.source_transform(self.features(backbone, layer, data))

    def predict_proba_source(self, backbone, layer, data) -> np.ndarray:
        return self.head_.predict_proba(self.embed_source(backbone, layer, data))

    def save(self, folder: Path) -> dict[str, Any]:
        save_file({k: np.ascontiguousarray(v) for k, v in self.head_.arrays.items()},
                  str(folder / "head.safetensors"))
        if self.state:
            save_file({k: np.ascontiguousarray(v) for k, v in self.state.items()},
                      str(folder / "adapt.safetensors"))
        return {"method": self.name, "head": self.head_.name, "head_config": self.head_.config,
                "summary": _jsonable(self.summary)}

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any], backbone) -> FeatureMethod:
        self = cls(**config.get("params", {}))
        self.head_ = _load_head(folder / "head.safetensors", config["head"], config["head_config"])
        if (folder / "adapt.safetensors").exists():
            self.state = dict(load_file(str(folder / "adapt.safetensors")))
        self.summary = dict(config.get("summary", {}))
        return self


def _load_head(path: Path, name: str, config: dict[str, Any]) -> ProbeHead:
    return HEADS.get(name).from_state(config, load_file(str(path)))


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    import json

    return json.loads(json.dumps(d, default=_json_default))
