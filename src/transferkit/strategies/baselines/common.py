"""Small pieces the no-transfer baselines share: a stable softmax and images as pixel arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ...data.images import to_8bit
from ...exceptions import DataError

__all__ = ["softmax", "image_pixels", "pixel_layout"]


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``(N, K)`` scores, as float64."""
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _load(inputs: Any) -> list[np.ndarray]:
    """Each image as an ``(H, W)`` or ``(H, W, 3)`` uint8-range array (paths are opened)."""
    out = []
    for item in inputs:
        if isinstance(item, str):
            from PIL import Image

            with Image.open(item) as im:
                im = to_8bit(im, repr(item))
                out.append(np.asarray(im.convert("L" if im.mode in ("L", "1", "I", "F")
                                                 else "RGB"), dtype=np.float32))
            continue
        a = np.asarray(item)
        if a.dtype != np.uint8:
            a = a.astype(np.float32)
            a = a * 255.0 if a.size and a.max() <= 1.0 else a
        out.append(a.astype(np.float32))
    return out


def pixel_layout(inputs: Any, max_side: int = 32) -> dict[str, int]:
    """``{"size", "channels"}``: the side every image is resized to (the largest native side,
    at most ``max_side``) and 1 (all grayscale) or 3."""
    imgs = _load(inputs)
    if not imgs:
        raise DataError("The pixel baselines need at least one image.")
    side = max(max(a.shape[:2]) for a in imgs)
    color = any(a.ndim == 3 and a.shape[-1] >= 3 for a in imgs)
    return {"size": int(min(side, max_side)), "channels": 3 if color else 1}


def image_pixels(inputs: Any, size: int, channels: int) -> np.ndarray:
    """``(N, channels, size, size)`` float32 in ``[0, 1]``: images resized (bilinear,
    antialiased when shrinking), grayscale repeated or colour averaged to match ``channels``."""
    out = np.empty((len(inputs), channels, size, size), dtype=np.float32)
    for i, a in enumerate(_load(inputs)):
        if a.ndim == 2:
            a = a[..., None]
        if a.ndim != 3:
            raise DataError(f"Image {i} has shape {a.shape}; expected (H, W) or (H, W, C).")
        a = a[..., :3]
        if channels == 1 and a.shape[-1] != 1:
            a = a @ np.array([0.299, 0.587, 0.114], np.float32)[: a.shape[-1], None]
        elif channels == 3 and a.shape[-1] == 1:
            a = np.repeat(a, 3, axis=-1)
        t = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None] / 255.0
        if t.shape[-2:] != (size, size):
            t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False,
                              antialias=max(t.shape[-2:]) > size)
        out[i] = t[0].numpy()
    return out
