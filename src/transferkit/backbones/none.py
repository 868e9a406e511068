"""``none:<modality>``: the placeholder backbone of a model that uses no pre-trained encoder.

The no-transfer baselines (``strategy="baseline"``) learn from the raw inputs only; their
run folders still name a backbone, and this is it: no weights, no features, nothing loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..exceptions import BackboneError
from .base import Backbone
from .registry import register_prefix

__all__ = ["NoBackbone", "MODALITIES"]

MODALITIES = ("text", "image", "tabular", "audio")


class NoBackbone(Backbone):
    """Stands in for a backbone where none is used; encoding with it is an error."""

    #: marks a backbone that holds nothing pre-trained (a run records its own spec)
    placeholder = True

    def __init__(self, modality: str) -> None:
        if modality not in MODALITIES:
            raise BackboneError(f"'none:{modality}' is not a backbone spec: the modality must be "
                                f"one of {', '.join(MODALITIES)}.")
        super().__init__(f"none:{modality}", 0, {})
        self.modality = modality
        self.source = "none (no pre-trained weights are used)"
        self.init_kwargs = {}

    def preprocess(self, inputs: Sequence[Any]) -> dict[str, torch.Tensor]:
        raise BackboneError(f"{self.name} encodes nothing: it stands for 'no backbone' in a "
                            "model trained on the raw inputs (strategy='baseline').")

    def forward_features(self, batch: dict[str, torch.Tensor], layer: int = -1) -> torch.Tensor:
        return self.preprocess([])  # type: ignore[return-value]

    def layer_groups(self) -> list[tuple[str, nn.Module]]:
        return []


@register_prefix("none:")
def no_backbone(modality: str, **_: Any) -> NoBackbone:
    return NoBackbone(modality.strip())
