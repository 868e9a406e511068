"""Fixtures for the few-shot tests: a tiny trainable text backbone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

ALPHABET = "abcdefghijklmnopqrstuvwxyz "


def char_counts(texts) -> dict[str, torch.Tensor]:
    """Letter counts per text: a bag-of-characters input for the tiny backbone."""
    x = np.zeros((len(texts), len(ALPHABET)), dtype=np.float32)
    for i, t in enumerate(texts):
        for ch in str(t).lower():
            j = ALPHABET.find(ch)
            if j >= 0:
                x[i, j] += 1
    return {"x": torch.from_numpy(x)}


def _tiny_module() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(len(ALPHABET), 16), nn.Tanh(), nn.Linear(16, 8))


@pytest.fixture(scope="session")
def tiny_text_backbone_name() -> str:
    """A registered 8-d text backbone on letter counts (trainable, instant)."""
    import transferkit as tk
    from transferkit.backbones.registry import BACKBONES

    name = "tiny-chars-fewshot-test"
    if name not in BACKBONES:
        tk.register_module(name, lambda **kw: _tiny_module(), modality="text", num_features=8,
                           preprocess=char_counts)
    return name
