"""Fixtures for the strategy tests: a tiny random BERT registered as a backbone, small data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

TINY = "tiny-bert-test"


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """Name of a registered 2-layer, 32-wide random BERT (with MiniLM's tokenizer)."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    import transferkit as tk
    from transferkit.backbones import BACKBONES
    from transferkit.backbones.text import HFTextBackbone, minilm_l6_path

    folder = tmp_path_factory.mktemp("tiny-bert")
    with torch.random.fork_rng():
        torch.manual_seed(1234)
        cfg = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2,
                         num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
        BertModel(cfg).save_pretrained(folder)
    AutoTokenizer.from_pretrained(str(minilm_l6_path())).save_pretrained(folder)

    @tk.register_backbone(TINY, modality="text", num_features=32, params="1M", license="test")
    def _tiny(**_):
        return HFTextBackbone(folder, name=TINY, max_length=32)

    yield TINY
    BACKBONES.unregister(TINY)


@pytest.fixture(scope="session")
def intents5(banking_subset):
    """5 Banking77 intents, 40 training and all test queries of each."""
    return banking_subset(5, 40, "intents5")


@pytest.fixture(scope="session")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32), y.astype(np.int64)
