"""Torch heads trained together with the backbone: linear and MLP.

Both start with a parameter-free LayerNorm over the features: backbones differ wildly in
feature scale (all-MiniLM-L6-v2 emits unit-length vectors, CNNs large activations), and
standardising each vector lets one learning rate suit every backbone — the same role that
feature standardisation plays for the probe heads.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..registry import Registry

__all__ = ["TORCH_HEADS", "LinearHead", "MLPHead", "make_torch_head"]

TORCH_HEADS: Registry[nn.Module] = Registry("torch head")


class LinearHead(nn.Module):
    """``LayerNorm (no parameters) -> Dropout -> Linear``.

    Shape:
        ``(B, in_features) -> (B, n_classes)``.
    """

    def __init__(self, in_features: int, n_classes: int, dropout: float = 0.1, **_: Any) -> None:
        super().__init__()
        self.config = {"kind": "linear", "in_features": int(in_features),
                       "n_classes": int(n_classes), "dropout": float(dropout)}
        self.norm = nn.LayerNorm(in_features, elementwise_affine=False)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_features, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.norm(x)))


class MLPHead(nn.Module):
    """``LayerNorm -> Linear -> GELU -> Dropout -> Linear`` with ``hidden`` units.

    Shape:
        ``(B, in_features) -> (B, n_classes)``.
    """

    def __init__(self, in_features: int, n_classes: int, hidden: int = 256, dropout: float = 0.1,
                 **_: Any) -> None:
        super().__init__()
        self.config = {"kind": "mlp", "in_features": int(in_features), "n_classes": int(n_classes),
                       "hidden": int(hidden), "dropout": float(dropout)}
        self.net = nn.Sequential(
            nn.LayerNorm(in_features, elementwise_affine=False),
            nn.Linear(in_features, hidden), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


TORCH_HEADS.register("linear", description="LayerNorm + linear layer (softmax regression)")(
    LinearHead)
# The probe's default name: a linear softmax layer is logistic regression trained jointly.
TORCH_HEADS.register("logistic", description="alias of 'linear'")(LinearHead)
TORCH_HEADS.register("mlp", description="one hidden layer (GELU)")(MLPHead)


def make_torch_head(kind: str, in_features: int, n_classes: int, seed: int | None = None,
                    **kw: Any) -> nn.Module:
    """Build head ``kind`` (``"linear"`` / ``"logistic"`` or ``"mlp"``), seeded by ``seed``."""
    cls = TORCH_HEADS.get(kind)
    if seed is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return cls(in_features, n_classes, **kw)
    return cls(in_features, n_classes, **kw)
