"""A tiny registered table backbone and tiny data for the common check suite (the tiny text
backbone comes from tests/conftest.py): every registered strategy, adaptation method, backbone
and model kind is checked on them in seconds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import transferkit as tk
from transferkit.backbones.registry import BACKBONES

#: the letter-count text backbone that tests/conftest.py registers
TEXT_BACKBONE = "tiny-chars"
TABLE_BACKBONE = "checks-mlp2"


def _mlp_module() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU())


if TABLE_BACKBONE not in BACKBONES:
    tk.register_module(TABLE_BACKBONE, lambda **kw: _mlp_module(), modality="tabular",
                       num_features=16)


def text_data(seed: int = 0, per_class: int = 12) -> tk.Dataset:
    """Three classes of made-up words, told apart by their letters (named like labels, so
    label-name priors and zero-shot prompts have something to embed)."""
    rng = np.random.default_rng(seed)
    letters = {"apple": "aple", "kiwi": "kiw", "mango": "mngo"}
    texts, labels = [], []
    for label, pool in letters.items():
        for _ in range(per_class):
            texts.append("".join(rng.choice(list(pool), size=int(rng.integers(4, 9)))))
            labels.append(label)
    return tk.from_arrays(texts, np.array(labels), name="letters")


def moons(n: int = 160, degrees: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons

    X, y = make_moons(n, noise=0.1, random_state=seed)
    t = np.deg2rad(degrees)
    R = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return ((X - [0.5, 0.25]) @ R.T).astype(np.float32), y.astype(np.int64)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # Tiny models: one thread is faster than two contended ones, and results stay exact.
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def bad_value(p) -> object | None:
    """A value the declaration ``p`` must refuse, or None when it has no simple bound."""
    if p.kind in ("int", "float") and p.low is not None:
        return p.low - 1 if p.kind == "int" else (p.low if p.low_open else p.low - 0.5)
    if p.kind in ("int", "float") and p.high is not None:
        return p.high + 1
    if p.choices is not None:
        return "no-such-choice"
    if p.kind == "bool":
        return "yes"
    return None
