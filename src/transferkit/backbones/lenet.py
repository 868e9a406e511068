"""``lenet``: a LeNet-style CNN for small grayscale digits, trained from scratch.

The network of the MNIST <-> USPS domain-adaptation protocol (as in TLlib's digits
benchmark): two 5x5 convolutions (20 and 50 channels) with max-pooling, then a 500-unit
fully connected layer. Inputs of any size (MNIST 28x28, USPS 16x16, scikit-learn digits
8x8) are resized to 28x28 and scaled to ``[-1, 1]`` in :meth:`LeNet.preprocess`, so source
and target share one input space. RGB images are converted to grey.

LeCun, Bottou, Bengio & Haffner, "Gradient-Based Learning Applied to Document Recognition",
Proc. IEEE 1998.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.images import to_8bit
from ..exceptions import DataError
from .base import Backbone
from .registry import register_backbone

__all__ = ["LeNet"]


def _to_gray_array(inputs: Any) -> np.ndarray:
    """A batch of images (uint8 or [0, 1] floats, ``(N,H,W)``/``(N,H,W,C)``, or paths) as
    ``(N, H, W)`` float32 in ``[0, 1]``."""
    if not isinstance(inputs, np.ndarray):
        items = list(inputs)
        if items and isinstance(items[0], str):
            from PIL import Image

            arrs = []
            for p in items:
                with Image.open(p) as im:
                    arrs.append(np.asarray(to_8bit(im, repr(p)).convert("L"), dtype=np.uint8))
            shapes = {a.shape for a in arrs}
            if len(shapes) > 1:
                size = max(shapes)
                arrs = [np.asarray(Image.fromarray(a).resize(size[::-1])) for a in arrs]
            inputs = np.stack(arrs)
        else:
            inputs = np.stack([np.asarray(a) for a in items])
    x = np.asarray(inputs)
    if x.ndim == 4:
        if x.shape[-1] == 1:
            x = x[..., 0]
        elif x.shape[-1] in (3, 4):
            x = x[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        else:
            raise DataError(f"lenet expects (N, H, W) or (N, H, W, C) images; got {x.shape}.")
    if x.ndim != 3:
        raise DataError(f"lenet expects a batch of 2-D grayscale images; got shape {x.shape}.")
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    x = x.astype(np.float32)
    return x / 255.0 if x.max(initial=0.0) > 1.0 else x


class LeNet(Backbone):
    """LeNet for digits: ``conv(1->20, 5) -> pool -> conv(20->50, 5) -> pool -> fc(800->500)``.

    Args:
        size: side of the square input images after resizing.
        batch_norm: BatchNorm after each convolution and the fully connected layer.
        dropout: dropout on the conv-2 maps (``Dropout2d``) and on the features.
        seed: initialisation seed.
    """

    modality = "image"
    rebuildable = False

    def __init__(self, size: int = 28, batch_norm: bool = True, dropout: float = 0.5,
                 seed: int = 0) -> None:
        super().__init__("lenet", 500, {"kind": "lenet", "size": int(size),
                                        "mean": 0.5, "std": 0.5, "channels": 1})
        torch.manual_seed(int(seed))
        self.size = int(size)
        norm2d = (lambda c: nn.BatchNorm2d(c)) if batch_norm else (lambda c: nn.Identity())
        self.conv1 = nn.Sequential(nn.Conv2d(1, 20, 5), norm2d(20), nn.MaxPool2d(2), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(20, 50, 5), norm2d(50), nn.Dropout2d(dropout),
                                   nn.MaxPool2d(2), nn.ReLU())
        side = ((self.size - 4) // 2 - 4) // 2
        self.flat_features = 50 * side * side
        self.fc = nn.Sequential(nn.Linear(self.flat_features, 500),
                                nn.BatchNorm1d(500) if batch_norm else nn.Identity(),
                                nn.ReLU(), nn.Dropout(dropout))
        # Channels-last convolutions run about 1.3x faster on CPU (oneDNN's native layout);
        # only the 4-D conv weights change layout, the state dict is unchanged.
        self.to(memory_format=torch.channels_last)
        self.source = f"random init (seed {seed})"
        self.license = "n/a (random init)"

    @property
    def num_feature_layers(self) -> int:
        return 2

    def preprocess(self, inputs: Sequence[Any]) -> dict[str, torch.Tensor]:
        x = torch.from_numpy(_to_gray_array(inputs)).unsqueeze(1)
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear",
                              align_corners=False, antialias=x.shape[-1] > self.size)
        return {"x": (x - 0.5) / 0.5}

    def forward_features(self, batch: dict[str, torch.Tensor], layer: int = -1) -> torch.Tensor:
        x = batch["x"].contiguous(memory_format=torch.channels_last)
        h = self.conv2(self.conv1(x)).flatten(1)
        if layer == 0:
            return h
        return self.fc(h)

    def layer_groups(self) -> list[tuple[str, nn.Module]]:
        return [("conv1", self.conv1), ("conv2", self.conv2), ("fc", self.fc)]


@register_backbone("lenet", modality="image", num_features=500, params="0.43M",
                   license="n/a (random init)",
                   description="LeNet CNN for 28x28 / 16x16 digits, trained from scratch")
def lenet(seed: int = 0, size: int = 28, batch_norm: bool = True, dropout: float = 0.5,
          **_: Any) -> LeNet:
    return LeNet(size=size, batch_norm=batch_norm, dropout=dropout, seed=seed)
