"""Fixtures for the engine tests: digits (as a table and as 8x8 images) and tiny modules."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn


@pytest.fixture(scope="session")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32), y.astype(np.int64)


class SmallCNN(nn.Module):
    """Two conv + BatchNorm blocks on 8x8 single-channel images -> 16 features."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.block = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1, stride=2), nn.BatchNorm2d(16),
                                   nn.ReLU())
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.block(self.stem(x)))


def digits_images(xs) -> dict[str, torch.Tensor]:
    x = torch.as_tensor(np.asarray(xs, dtype=np.float32)).reshape(-1, 1, 8, 8) / 16.0
    return {"x": x}


@pytest.fixture
def bn_backbone():
    """A TorchBackbone with BatchNorm layers in two layer groups ("stem", "block")."""
    import transferkit as tk

    return tk.TorchBackbone(SmallCNN(), "image", 16, preprocess=digits_images,
                            groups=["stem", "block"], name="small-cnn")
