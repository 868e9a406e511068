"""``strategy="baseline"``: the strongest cheap model trained on the target data only.

"Did transfer help?" needs a reference that uses no pre-trained weights at all. Beside
``scratch`` (the backbone's architecture, randomly initialised), this strategy fits the
model a practitioner would try first for the data's modality, on the raw inputs:

==========  ==========  =====================================================================
modality    baseline    model
==========  ==========  =====================================================================
text        tfidf       TF-IDF word 1-2-grams + char 2-5-grams, logistic regression
image       pixels      raw pixels (up to 32x32) + logistic regression
image       cnn         a small CNN (LeNet) trained from scratch
tabular     hgb         histogram gradient boosting (scikit-learn)
audio       logmel      log-mel statistics (40 bands, 16 kHz) + logistic regression
audio       logmel-cnn  a small CNN on log-mel spectrograms, trained from scratch (augmented)
==========  ==========  =====================================================================

Each chooses its regularisation on held-out training rows (C, rounds or epochs). The
backbone is never loaded or run: a baseline that paid for an encoder would not be one. A
fitted model's run folder names the placeholder backbone ``none:<modality>``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from ..exceptions import ConfigError
from ..utils.params import Param, Params
from .base import FitContext, Strategy, register_strategy
from .baselines import (
    GradientBoosting,
    LogMelCNN,
    LogMelLogistic,
    PixelLogistic,
    SmallCNN,
    TfidfLogistic,
)
from .params import COMMON

__all__ = ["BaselineStrategy", "BASELINES", "BASELINE_DESCRIPTIONS", "DEFAULT_BASELINE",
           "baselines_for", "check_baseline"]

#: modality -> the baselines that apply to it, the default first
BASELINES: dict[str, tuple[str, ...]] = {
    "text": ("tfidf",),
    "image": ("pixels", "cnn"),
    "tabular": ("hgb",),
    "audio": ("logmel", "logmel-cnn"),
}
DEFAULT_BASELINE = {m: names[0] for m, names in BASELINES.items()}
_KINDS = {"tfidf": TfidfLogistic, "pixels": PixelLogistic, "cnn": SmallCNN,
          "hgb": GradientBoosting, "logmel": LogMelLogistic, "logmel-cnn": LogMelCNN}
#: the baselines that train a network through the engine and save it themselves
_NETWORKS = {"cnn": SmallCNN, "logmel-cnn": LogMelCNN}
#: one line per baseline: what it fits
BASELINE_DESCRIPTIONS = {name: kind.description for name, kind in _KINDS.items()}
#: the arrays of a fitted baseline in a run folder
ARRAYS = "baseline.safetensors"


def baselines_for(modality: str) -> tuple[str, ...]:
    """The baselines that apply to data of ``modality`` (empty when none does)."""
    return BASELINES.get(modality, ())


def check_baseline(modality: str, name: str | None, owner: str = "strategy='baseline'") -> str:
    """The baseline to fit on ``modality`` data: ``name``, or the modality's default.

    Raises:
        ConfigError: ``name`` does not apply to that modality (the message lists those that
            do), or no baseline exists for it.
    """
    fitting = baselines_for(modality)
    if not fitting:
        known = "; ".join(f"{m}: {', '.join(n)}" for m, n in BASELINES.items())
        raise ConfigError(f"{owner}: no baseline applies to {modality} data (baselines exist "
                          f"for {known}). Use strategy='scratch' as the no-transfer reference.")
    if name is None:
        return fitting[0]
    if name not in fitting:
        raise ConfigError(f"{owner}: baseline={name!r} does not apply to {modality} data; the "
                          f"{modality} baselines are {', '.join(fitting)}.")
    return name


@register_strategy("baseline", description="no transfer: TF-IDF / pixels / CNN / gradient "
                                           "boosting / log-mel on the target data only")
class BaselineStrategy(Strategy):
    """Fit the modality's no-transfer baseline on the raw inputs; the backbone is unused."""

    name = "baseline"
    #: the backbone is neither loaded nor run: the estimator passes a ``none:`` placeholder
    uses_backbone = False
    PARAMS = Params(
        COMMON,
        Param("baseline", "which no-transfer baseline: 'tfidf' (text), 'pixels' or 'cnn' "
              "(images), 'hgb' (tabular), 'logmel' or 'logmel-cnn' (audio); default: the first "
              "for the data's modality",
              None, choices=tuple(_KINDS)),
    )

    def fit(self, ctx: FitContext) -> BaselineStrategy:
        t0 = time.perf_counter()
        modality = ctx.train.modality
        kind = check_baseline(modality, self.settings.baseline)
        seed = int(self.settings.seed)
        if kind in _NETWORKS:
            self.model_ = _NETWORKS[kind](seed=seed, batch_size=self.settings.batch_size)
            self.model_.fit(ctx.train, np.asarray(ctx.y), ctx.n_classes, seed=seed)
        elif getattr(_KINDS[kind], "takes_dataset", False):
            self.model_ = _KINDS[kind]().fit(ctx.train, np.asarray(ctx.y), ctx.n_classes,
                                            seed=seed)
        else:
            self.model_ = _KINDS[kind]().fit(ctx.train.inputs, np.asarray(ctx.y), ctx.n_classes,
                                            seed=seed)
        self.kind_ = kind
        self.summary = {
            "baseline": kind,
            "description": self.model_.description,
            "head_choice": _plain(self.model_.chosen),
            "seconds_fit": round(time.perf_counter() - t0, 3),
            "trainable_params": _count(self.model_),
        }
        return self

    def predict_proba(self, backbone: Any, layer: int, data: Any) -> np.ndarray:
        if getattr(self.model_, "takes_dataset", False):
            return self.model_.predict_proba(data)
        return self.model_.predict_proba(data.inputs)

    def save(self, folder: Path) -> dict[str, Any]:
        if self.kind_ in _NETWORKS:
            return {"baseline": self.kind_, "cnn": self.model_.save(folder)}
        config, arrays = self.model_.state()
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(folder / ARRAYS))
        return {"baseline": self.kind_, "state": config}

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any], backbone: Any) -> BaselineStrategy:
        self = cls(**config.get("params", {}))
        self.kind_ = config["baseline"]
        if self.kind_ in _NETWORKS:
            self.model_ = _NETWORKS[self.kind_].load(folder, config["cnn"])
        else:
            self.model_ = _KINDS[self.kind_].from_state(config["state"],
                                                        load_file(str(folder / ARRAYS)))
        return self


def _count(model: Any) -> int:
    if isinstance(model, SmallCNN):
        return int(sum(p.numel() for p in model.net.parameters()))
    arrays = model.state()[1]
    return int(sum(np.asarray(arrays[k]).size for k in ("coef", "intercept", "value")
                   if k in arrays))


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in d.items()}
