"""Two tasks on the same real inputs: scikit-learn's 8x8 digits -> digit (10 classes) and
parity (even/odd), through the tabular-mlp encoder; one fit shared by the module's tests."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

import transferkit as tk
from transferkit.engine import Callback


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


def digit_tags(digit: int) -> tuple[str, ...]:
    """A digit's properties as a set of labels: parity, and prime / big (>= 5) / loop (a
    closed curve: 0, 6, 8, 9) where they hold; between one and three labels per digit."""
    tags = ["even" if digit % 2 == 0 else "odd"]
    tags += [name for name, holds in (("prime", digit in (2, 3, 5, 7)), ("big", digit >= 5),
                                      ("loop", digit in (0, 6, 8, 9))) if holds]
    return tuple(sorted(tags))


@pytest.fixture(scope="session")
def tag_tasks(digit_tasks):
    """``(train, test)``: the digit task beside a multi-label 'tags' task on the same images
    (5 labels: big, even, loop, odd, prime)."""
    from transferkit.data.labels import object_array

    out = []
    for split in digit_tasks:
        digits = split["digit"]
        tags = object_array(digit_tags(int(d)) for d in digits.labels)
        out.append({"digit": digits,
                    "tags": tk.from_arrays(digits.inputs, tags, name=f"tags-{digits.name}")})
    return tuple(out)


@pytest.fixture(scope="session")
def tag_model(tag_tasks, encoder):
    """Top block unfrozen; the tags task learns beside the digit task."""
    train, _ = tag_tasks
    return tk.MultiTaskClassifier(
        backbone=encoder, tasks=train, unfreeze=1, epochs=4, lr=3e-3, backbone_lr_mult=1.0,
        conflict_every=5, progress=False).fit()


class CrashAfterEpoch(Callback):
    """Raises once epoch ``epoch`` (1-based) has finished and been checkpointed: a run
    interrupted there (attach it with ``engine.attached.attached_callbacks``)."""

    order = 100  # after the checkpoint callback

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, loop, record):
        if record["epoch"] == self.epoch:
            raise RuntimeError("simulated crash")
