"""Self-training with confidence-thresholded pseudo-labels.

Each step, the current model labels the target half of the batch; target rows whose top
class probability reaches ``threshold`` are trained toward that class (a cross-entropy on
the model's own confident guesses), the rest are ignored. The loss weight follows the DANN
ramp, so early, unreliable predictions count little. Lee, "Pseudo-Label", ICML workshop 2013;
the fixed confidence threshold as in FixMatch (Sohn et al. 2020,
https://arxiv.org/abs/2001.07685), here without augmentation.

The method only ever receives the target *inputs*: the context it is fitted from carries
the target with its labels removed, and the paired batches carry no target labels.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..utils.params import Param, Params
from .base import AdaptContext, register_adapt_method
from .deep import DeepMethod
from .training import OBJECTIVES, _Objective

__all__ = ["ConfidencePseudoLabelLoss", "SelfTrainingMethod"]


class ConfidencePseudoLabelLoss(nn.Module):
    """Cross-entropy toward the model's own confident predictions.

    Args:
        threshold: minimum top-class probability for a row to get a pseudo-label.

    After a call, ``mask_rate`` is the fraction of rows that got one.

    Shape:
        ``logits (B, C)`` -> scalar: the sum of the masked rows' cross-entropies divided by
        ``B`` (so the loss shrinks when few rows are confident).
    """

    def __init__(self, threshold: float = 0.9) -> None:
        super().__init__()
        self.threshold = float(threshold)
        self.mask_rate = torch.tensor(0.0)

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        probs = F.softmax(logits.detach().float(), dim=1)
        conf, pseudo = probs.max(dim=1)
        mask = (conf >= self.threshold).float()
        self.mask_rate = mask.mean()
        ce = F.cross_entropy(logits.float(), pseudo, reduction="none")
        return (ce * mask).sum() / max(len(logits), 1)


class SelfTrainObjective(_Objective):
    """:class:`ConfidencePseudoLabelLoss` on the target half of each batch."""

    def __init__(self, in_features: int = 0, n_classes: int = 0, threshold: float = 0.9,
                 **_: Any) -> None:
        super().__init__(in_features, n_classes)
        self.loss = ConfidencePseudoLabelLoss(threshold)

    def forward(self, f_s, f_t, logits_s, logits_t, target_labels=None) -> torch.Tensor:
        out = self.loss(logits_t)
        self.stats = {"pseudo_label_rate": float(self.loss.mask_rate)}
        return out


OBJECTIVES["selftrain"] = SelfTrainObjective


@register_adapt_method("selftrain", needs_target_labels=False, deep=True,
                       description="self-training on confident target pseudo-labels")
class SelfTrainingMethod(DeepMethod):
    """Self-training; ``threshold`` sets the confidence a pseudo-label needs (default 0.9)."""

    name = "selftrain"
    objective = "selftrain"
    PARAMS = Params(DeepMethod.PARAMS, Param(
        "threshold", "confidence a target prediction needs to become a pseudo-label "
        "(self-training)", 0.9, "float", low=0, high=1))

    def _objective_kwargs(self, ctx: AdaptContext) -> dict[str, Any]:
        return {"seed": ctx.seed, "threshold": float(self.settings.threshold)}
