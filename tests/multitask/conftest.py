"""Two tasks on the same real inputs: scikit-learn's 8x8 digits -> digit (10 classes) and
parity (even/odd), through the tabular-mlp encoder; one fit shared by the module's tests."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

import transferkit as tk


@pytest.fixture(scope="session", autouse=True)
def _one_thread(one_torch_thread):
    """Every test in this folder runs torch on one thread."""


@pytest.fixture(scope="session")
def digit_tasks():
    """``(train, test)``: dicts task name -> Dataset over the same 1,400 / 397 digit images."""
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    order = np.random.default_rng(0).permutation(len(X))
    tr, te = order[:1400], order[1400:]
    parity = np.where(y % 2 == 0, "even", "odd")

    def tasks(rows, split):
        return {"digit": tk.from_arrays(X[rows], y[rows], name=f"digit-{split}"),
                "parity": tk.from_arrays(X[rows], parity[rows], name=f"parity-{split}")}

    return tasks(tr, "train"), tasks(te, "test")


@pytest.fixture(scope="session")
def encoder():
    """A fixed tabular-mlp encoder (two blocks); fits work on a copy of it."""
    return tk.create_backbone("tabular-mlp", in_features=64, seed=0)


@pytest.fixture(scope="session")
def fitted(digit_tasks, encoder):
    """Top block unfrozen, uncertainty weights, conflict measured every 5 steps."""
    train, _ = digit_tasks
    return tk.MultiTaskClassifier(
        backbone=encoder, tasks=train, unfreeze=1, epochs=4, lr=3e-3, backbone_lr_mult=1.0,
        loss_weights="uncertainty", conflict_every=5, sampling="temperature",
        progress=False).fit()
