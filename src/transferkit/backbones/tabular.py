"""A tabular encoder: a standardising MLP with random initialisation.

It has no pre-trained weights (none exist offline for arbitrary tables); it serves the
fine-tuning, from-scratch and domain-adaptation strategies, and as a random-feature control.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..exceptions import DataError
from .base import Backbone
from .registry import register_backbone

__all__ = ["TabularMLP"]


class TabularMLP(Backbone):
    """``in_features -> hidden[0] -> ... -> hidden[-1]`` with LayerNorm + GELU blocks.

    Args:
        in_features: number of input columns.
        hidden: widths of the hidden blocks; the last is ``num_features``.
        dropout: dropout after each block (active only in training).
        seed: initialisation seed.
    """

    modality = "tabular"
    rebuildable = False

    def __init__(self, in_features: int, hidden: Sequence[int] = (256, 256), dropout: float = 0.1,
                 seed: int = 0) -> None:
        hidden = tuple(int(h) for h in hidden)
        super().__init__("tabular-mlp", hidden[-1],
                         {"kind": "tabular-mlp", "in_features": int(in_features), "hidden": hidden})
        torch.manual_seed(seed)
        self.in_features = int(in_features)
        dims = (self.in_features, *hidden)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Linear(a, b), nn.LayerNorm(b), nn.GELU(), nn.Dropout(dropout))
            for a, b in zip(dims[:-1], dims[1:], strict=True)
        )
        self.register_buffer("input_mean", torch.zeros(self.in_features))
        self.register_buffer("input_scale", torch.ones(self.in_features))
        self.source = f"random init (seed {seed})"

    def fit_preprocessing(self, inputs: np.ndarray) -> None:
        """Learn the per-column standardisation from training inputs.

        A backbone reused from a run (``run:``) keeps the scaling it was trained with.
        """
        if self.source_model is not None:
            return
        x = np.asarray(inputs, dtype=np.float32)
        self.input_mean.copy_(torch.from_numpy(x.mean(0)))
        self.input_scale.copy_(torch.from_numpy(x.std(0) + 1e-6))

    @property
    def num_feature_layers(self) -> int:
        return len(self.blocks)

    def preprocess(self, inputs) -> dict[str, torch.Tensor]:
        x = np.asarray(inputs, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise DataError(
                f"tabular-mlp expects rows of {self.in_features} numeric features; got an array "
                f"of shape {x.shape}. Use the same columns as in training."
            )
        return {"x": torch.from_numpy(x)}

    def forward_features(self, batch: dict[str, torch.Tensor], layer: int = -1) -> torch.Tensor:
        h = (batch["x"] - self.input_mean) / self.input_scale
        last = len(self.blocks) - 1 if layer == -1 else layer
        for i, blk in enumerate(self.blocks):
            h = blk(h)
            if i == last:
                break
        return h

    def layer_groups(self) -> list[tuple[str, nn.Module]]:
        return [(f"block.{i}", b) for i, b in enumerate(self.blocks)]


@register_backbone("tabular-mlp", modality="tabular", num_features=256, params="~0.1M",
                   license="n/a (random init)", description="standardising MLP for tables")
def tabular_mlp(in_features: int | None = None, seed: int = 0, **kw) -> TabularMLP:
    if in_features is None:
        raise DataError(
            "tabular-mlp needs the number of input columns: create it with in_features=D, or let "
            "TransferClassifier.fit build it from the data."
        )
    return TabularMLP(in_features, seed=seed, **kw)
