"""Shared data for the adaptation tests: rotated two-moons and a tiny registered MLP."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import transferkit as tk


def rotated_moons(n: int, degrees: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half-moons, centred, rotated by ``degrees`` (the DANN toy shift)."""
    from sklearn.datasets import make_moons

    X, y = make_moons(n, noise=0.1, random_state=seed)
    t = np.deg2rad(degrees)
    R = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return ((X - [0.5, 0.25]) @ R.T).astype(np.float32), y.astype(np.int64)


class TinyMLP(nn.Module):
    def __init__(self, width: int = 64) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, width), nn.ReLU(), nn.Linear(width, width),
                                  nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


if "test-mlp2" not in tk.list_backbones():
    tk.register_module("test-mlp2", lambda **kw: TinyMLP(), modality="tabular", num_features=64)
if "test-identity2" not in tk.list_backbones():
    tk.register_module("test-identity2", lambda **kw: nn.Identity(), modality="tabular",
                       num_features=2)


@pytest.fixture(scope="session", autouse=True)
def _one_thread(one_torch_thread):
    """Every test in this folder runs torch on one thread."""


@pytest.fixture(scope="session")
def moons():
    """Source: moons; target: the same moons rotated 35 degrees (labelled, for evaluation)."""
    Xs, ys = rotated_moons(300, 0, 0)
    Xt, yt = rotated_moons(300, 35, 1)
    return tk.from_arrays(Xs, ys, name="moons"), tk.from_arrays(Xt, yt, name="moons-rot35")
