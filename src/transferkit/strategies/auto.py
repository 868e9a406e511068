"""``auto``: pick probe, partial or full fine-tuning from how much labelled data there is.

The rule, on the median number of labelled examples per class ``m``:

============  ===========================================  =====================================
``m``         choice                                       why
============  ===========================================  =====================================
< 10          ``probe`` (frozen backbone, logistic head)   too few labels to move millions of
                                                           weights without over-fitting
10 – 99       ``finetune``, top 2 layer groups + head      enough to adapt the task-specific top
                                                           layers; the generic lower ones stay
>= 100        ``finetune``, all layer groups               enough data to adapt the whole model
============  ===========================================  =====================================

When a shift score is known (``shift_score``: a proxy A-distance in [0, 2] from the shift
measurements), a large shift (>= 1.0) moves the choice one step toward more tuning: features
from a distant source domain need more adaptation. The chosen strategy, its settings and the
reason are written into the run record (``strategy.auto``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..exceptions import ConfigError
from ..heads import HEADS
from ..heads.torch_heads import TORCH_HEADS
from ..utils.params import Param, Params
from .base import STRATEGIES, FitContext, Strategy, register_strategy
from .finetune import FineTuneStrategy
from .params import PROBE_HEAD

__all__ = ["AutoStrategy", "choose_strategy", "TINY_PER_CLASS", "LARGE_PER_CLASS"]

TINY_PER_CLASS = 10
LARGE_PER_CLASS = 100
SHIFT_LARGE = 1.0

_LEVELS = [
    ("probe", {}, "a frozen probe is the safe choice with so few labels"),
    ("finetune", {"unfreeze": 2}, "enough labels to adapt the top 2 layer groups; the lower, "
                                  "more generic ones stay frozen"),
    ("finetune", {"unfreeze": "all"}, "enough labels to fine-tune every layer group"),
]


def choose_strategy(per_class: float, shift_score: float | None = None
                    ) -> tuple[str, dict[str, Any], str]:
    """``(strategy, settings overrides, reason)`` for a median of ``per_class`` per class."""
    level = 0 if per_class < TINY_PER_CLASS else 1 if per_class < LARGE_PER_CLASS else 2
    name, over, why = _LEVELS[level]
    reason = f"{per_class:g} labelled examples per class (median): {why}"
    if shift_score is not None and shift_score >= SHIFT_LARGE and level < 2:
        name, over, why = _LEVELS[level + 1]
        reason += (f"; but the shift score {shift_score:.2f} >= {SHIFT_LARGE} says the target "
                   f"domain is far from the source, so one step more: {why}")
    return name, dict(over), reason


def _check_any_head(owner: str, head: str) -> None:
    if head not in HEADS and head not in TORCH_HEADS:
        raise ConfigError(f"The 'head' parameter of {owner} must be a probe head "
                          f"{HEADS.names()} or a torch head {TORCH_HEADS.names()}; got {head!r}.")


@register_strategy("auto", description="probe / top groups / full fine-tune by examples per class")
class AutoStrategy(Strategy):
    """Choose a strategy by :func:`choose_strategy`, then fit it; see the module docstring."""

    name = "auto"
    # Until the choice is made, assume the backbone may train (so the estimator copies a
    # backbone instance it was given); after fit this instance attribute says the truth.
    trains_backbone = True
    uses_engine: ClassVar[bool] = True
    # It reads what the strategies it may choose read; the head goes to the one chosen.
    # Augmentation is left out: the probe it may choose never trains on augmented inputs.
    PARAMS = Params(PROBE_HEAD.without("head"),
                    FineTuneStrategy.PARAMS.without("head", "augment", "augment_prob"),
                    Param("head", "the head: a probe head (logistic, ridge, svm, knn) when the "
                          "probe is chosen, a torch head (linear, mlp) when fine-tuning; a head "
                          "the chosen strategy lacks becomes its default", "logistic",
                          check=_check_any_head),
                    Param("shift_score", "a proxy A-distance in [0, 2] between the data the "
                          "backbone was trained on and this task's (`transferkit shift`); from "
                          f"{SHIFT_LARGE} on, the choice moves one step toward more tuning",
                          None, "float", low=0, high=2))

    @staticmethod
    def _inner_params(params: dict[str, Any], name: str, over: dict[str, Any]) -> dict[str, Any]:
        p = {**params, **over, "strategy": name}
        head = p.get("head") or "logistic"
        if name == "probe" and head not in HEADS:
            p["head"] = "logistic"
        if name != "probe" and head not in TORCH_HEADS:
            p["head"] = "linear"
        return p

    def fit(self, ctx: FitContext) -> AutoStrategy:
        counts = np.bincount(np.asarray(ctx.y, dtype=np.int64), minlength=ctx.n_classes)
        per_class = float(np.median(counts))
        name, over, reason = choose_strategy(per_class, self.settings.shift_score)
        inner_cls = STRATEGIES.get(name)
        params = self._inner_params(self.params, name, over)
        if hasattr(inner_cls, "check_params"):
            inner_cls.check_params(type(self).__name__, {**params, "layer": ctx.layer})
        self.inner_ = inner_cls(**params).fit(ctx)
        self.trains_backbone = bool(self.inner_.trains_backbone)
        self.chosen_ = {"chosen": name, "settings": over, "reason": reason,
                        "examples_per_class": per_class}
        self.history = self.inner_.history
        self.summary = {"auto": self.chosen_, **self.inner_.summary}
        return self

    def predict_proba(self, backbone: Any, layer: int, data: Any) -> np.ndarray:
        return self.inner_.predict_proba(backbone, layer, data)

    def save(self, folder: Path) -> dict[str, Any]:
        return {"auto": self.chosen_, "inner": self.inner_.save(folder)}

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any], backbone: Any) -> AutoStrategy:
        self = cls(**config.get("params", {}))
        self.chosen_ = config["auto"]
        name = self.chosen_["chosen"]
        params = cls._inner_params(self.params, name, self.chosen_["settings"])
        self.inner_ = STRATEGIES.get(name).load(folder, {**config["inner"], "params": params},
                                                backbone)
        self.trains_backbone = bool(self.inner_.trains_backbone)
        return self
