"""From scratch: the same architecture with random weights, trained under the same budget.

The fair baseline for "did transfer help?": same backbone class, same head, same epochs,
batch size, schedule and validation as ``finetune``; only the starting weights differ (the
backbone's own initialisation, seeded by ``seed``). With nothing pre-trained to preserve,
``backbone_lr_mult`` defaults to 1.0 and L2-SP is refused.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import ConfigError
from .base import FitContext, register_strategy
from .finetune import FineTuneStrategy

__all__ = ["ScratchStrategy"]


@register_strategy("scratch", description="same architecture, random init, same training budget")
class ScratchStrategy(FineTuneStrategy):
    """Re-initialise the backbone (``reinitialize(seed)``), then train like ``finetune``."""

    name = "scratch"
    trains_backbone = True
    # Nothing pre-trained to preserve: the backbone trains at the head's rate; and random
    # features give a probe nothing to start from, so the head starts from nothing too.
    PARAMS = FineTuneStrategy.PARAMS.with_defaults(backbone_lr_mult=1.0, head_init="random")

    @classmethod
    def check_params(cls, owner: str, params: dict[str, Any]) -> None:
        super().check_params(owner, params)
        if params.get("l2sp"):
            raise ConfigError(
                f"l2sp={params['l2sp']} pulls weights toward their pre-trained values, but "
                "strategy='scratch' starts from random ones. Drop l2sp, or use strategy='finetune'."
            )
        if params.get("probe_weight"):
            raise ConfigError(
                f"probe_weight={params['probe_weight']} pools the network with a probe on "
                "pre-trained features, but strategy='scratch' has none: its comparison would "
                "no longer be from scratch. Drop probe_weight, or use strategy='finetune'."
            )

    def prepare_backbone(self, ctx: FitContext) -> Any:
        bb = ctx.backbone
        bb.reinitialize(seed=int(self.settings.seed))
        return bb
