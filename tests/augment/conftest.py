"""Real data for the augmentation tests, read in place from ../shared/datasets (skipped when
absent)."""

from __future__ import annotations

import numpy as np
import pytest

from ..conftest import shared_dataset


@pytest.fixture(scope="session", autouse=True)
def _two_threads(two_torch_threads):
    """Every test in this folder runs torch on at most two threads."""


@pytest.fixture(scope="session")
def mnist():
    import transferkit as tk

    shared_dataset("mnist")
    return tk.load_dataset("mnist")


@pytest.fixture(scope="session")
def digit_images(mnist) -> np.ndarray:
    """64 real MNIST training images, uint8 (64, 28, 28)."""
    return np.asarray(mnist.train.inputs[:64])


@pytest.fixture(scope="session")
def sst2_sentences() -> list[str]:
    """Real SST-2 sentences of at least 20 words (``label text`` per line)."""
    path = shared_dataset("sst2") / "sentence"
    files = sorted(p for p in path.iterdir() if p.is_file() and "train" in p.name)
    lines = files[0].read_text(encoding="utf-8").splitlines()
    texts = [ln.split(" ", 1)[1] for ln in lines if " " in ln]
    return [t for t in texts if len(t.split()) >= 20][:200]
