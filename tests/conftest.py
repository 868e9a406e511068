"""Shared fixtures. The feature cache goes to a fresh temporary folder for the whole session,
so tests never read a user's cache and always exercise the first-encode path once."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import transferkit as tk
from transferkit.backbones.registry import BACKBONES

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("tk-cache")
    old = os.environ.get("TRANSFERKIT_CACHE")
    os.environ["TRANSFERKIT_CACHE"] = str(cache)
    yield cache
    if old is None:
        os.environ.pop("TRANSFERKIT_CACHE", None)
    else:
        os.environ["TRANSFERKIT_CACHE"] = old


@pytest.fixture(scope="session", autouse=True)
def _one_blas_thread():
    """NumPy's and SciPy's BLAS on one thread for the whole run. The tests' matrices are small,
    and on the shared 2-core machine a second BLAS thread spins against the other processes:
    the fast loop spent seconds of CPU in tiny ``eigh`` and ridge solves (see
    ``transferkit.select._linalg``, which does the same for the library's own small
    decompositions). Both BLAS libraries are loaded by ``import transferkit`` above."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="session")
def one_torch_thread():
    """torch on one thread for the folders that ask for it (their conftest): tiny models train
    faster on one thread than on two contended ones, and their results stay exact."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def two_torch_threads():
    """torch on at most two threads for the folders that ask for it (augment, pretrain): they
    train real-sized models (LeNet on MNIST, MiniLM) that gain from a second thread, and the
    machine is shared, so one test process takes no more than two."""
    old = torch.get_num_threads()
    torch.set_num_threads(min(old, 2))
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def minilm():
    import transferkit as tk

    return tk.create_backbone("minilm-l6")


@pytest.fixture(scope="session")
def banking77():
    import transferkit as tk

    return tk.load_dataset("banking77")


@pytest.fixture(scope="session")
def banking_subset(banking77):
    """``make(n_intents, per_class, name)``: the first intents, a seeded sample of training
    queries of each and all their test queries, as ``(train, test)``."""

    def make(n_intents: int, per_class: int, name: str):
        classes = np.unique(banking77.train.labels)[:n_intents]
        rng = np.random.default_rng(0)
        tr = np.concatenate([
            rng.choice(np.flatnonzero(banking77.train.labels == c), per_class, replace=False)
            for c in classes])
        te = np.flatnonzero(np.isin(banking77.test.labels, classes))
        return banking77.train.subset(tr, name=name), banking77.test.subset(te, name=name)

    return make


@pytest.fixture(scope="session")
def banking20(banking_subset):
    """20 Banking77 intents: 30 training queries per intent, all test queries of those intents."""
    return banking_subset(20, 30, "banking20")


def shared_dataset(name: str) -> Path:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"../shared/datasets/{name} is not present in this checkout")
    return path


# --- a tiny trainable text backbone: letter counts -> 16 -> 8 (instant, deterministic) ----------
ALPHABET = "abcdefghijklmnopqrstuvwxyz "
TINY_TEXT_BACKBONE = "tiny-chars"


def char_counts(texts) -> dict[str, torch.Tensor]:
    """Letter counts per text: a bag-of-characters input."""
    x = np.zeros((len(texts), len(ALPHABET)), dtype=np.float32)
    for i, t in enumerate(texts):
        for ch in str(t).lower():
            j = ALPHABET.find(ch)
            if j >= 0:
                x[i, j] += 1
    return {"x": torch.from_numpy(x)}


def _tiny_text_module() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(len(ALPHABET), 16), nn.Tanh(), nn.Linear(16, 8))


if TINY_TEXT_BACKBONE not in BACKBONES:
    tk.register_module(TINY_TEXT_BACKBONE, lambda **kw: _tiny_text_module(), modality="text",
                       num_features=8, preprocess=char_counts)


@pytest.fixture(scope="session")
def tiny_text_backbone_name() -> str:
    """A registered 8-d text backbone on letter counts (trainable, instant)."""
    return TINY_TEXT_BACKBONE


@pytest.fixture()
def small_vocab(monkeypatch):
    """Every 40th whole word of MiniLM's vocabulary (about 530) for vocabulary neighbours, so
    that a test embeds it in seconds instead of minutes; the benchmark uses all of it."""
    from transferkit.strategies import label_names as ln

    real = ln.vocabulary_words

    def words(backbone):
        got = real(backbone)
        return None if got is None else got[::40]

    monkeypatch.setattr(ln, "vocabulary_words", words)
    monkeypatch.setattr(ln, "_VOCAB_MEMO", {})


def pytest_sessionfinish(session, exitstatus):
    """Stop any worker process a failed or timed-out multi-process test left behind.

    Spawned workers are not daemons: Python joins them at exit, so one stuck worker would
    keep the whole test run (and CI) waiting long after the last test reported.
    """
    import multiprocessing

    for child in multiprocessing.active_children():
        child.kill()
        child.join(timeout=5)
