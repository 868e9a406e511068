"""The text objectives on the real MiniLM: the MLM head is tied to the input embeddings, the
noise is what the papers describe, SimCSE's views differ by dropout alone."""

from __future__ import annotations

import pytest
import torch

import transferkit as tk
from transferkit.pretrain.mlm import MaskedLanguageModel
from transferkit.pretrain.simcse import ContrastiveDropout
from transferkit.pretrain.task import PretextModule
from transferkit.pretrain.text_batches import delete_words
from transferkit.pretrain.tsdae import DenoisingAutoEncoder
from transferkit.runs import read_record

pytestmark = pytest.mark.real_weights


def test_mlm_head_is_tied_to_the_input_embeddings(minilm, short_reviews):
    head = MaskedLanguageModel(minilm, max_length=24, mask_rate=0.3)
    emb = minilm.model.get_input_embeddings().weight
    # No output matrix of its own: only the transform and a bias per token.
    assert not any(p.shape == emb.shape for p in head.parameters())
    batch = head.collate(short_reviews[:2], held_out=True)
    module = PretextModule(minilm, head).train()
    loss = module(batch)
    loss.backward()
    try:
        # The loss reaches the embedding matrix through the output projection as well as the
        # input: rows of tokens never fed in (only predicted) get gradient too.
        fed = torch.unique(batch["input_ids"])
        predicted = torch.unique(batch["labels"][batch["labels"] != -100])
        only_predicted = predicted[~torch.isin(predicted, fed)]
        assert len(only_predicted) > 0
        assert emb.grad[only_predicted].abs().sum(1).min() > 0
        # Scores are hidden @ E^T + bias with the embedding matrix itself.
        h = torch.randn(3, emb.shape[1])
        ref = head.transform(h) @ emb.T + head.bias
        torch.testing.assert_close(head.logits(minilm, h), ref)
    finally:
        minilm.zero_grad(set_to_none=True)
        minilm.eval()


def test_mlm_masks_15_percent_of_real_tokens_and_never_special_ones(minilm, short_reviews):
    head = MaskedLanguageModel(minilm, max_length=64)
    batch = head.collate(short_reviews[:16], held_out=True)
    chosen = batch["labels"] != -100
    real = batch["attention_mask"].bool() & ~torch.isin(
        batch["labels"].where(chosen, batch["input_ids"]), head.special_ids)
    assert not (chosen & ~real).any()
    assert 0.10 < chosen.sum() / real.sum() < 0.20
    # Held-out noise depends on the texts alone: the same batch, the same masks.
    again = head.collate(short_reviews[:16], held_out=True)
    assert torch.equal(again["input_ids"], batch["input_ids"])


def test_tsdae_deletes_about_60_percent_of_words_and_rebuilds_the_clean_text(minilm,
                                                                             short_reviews):
    g = torch.Generator().manual_seed(0)
    words = sum(len(t.split()) for t in short_reviews)
    kept = sum(len(delete_words(t, 0.6, g).split()) for t in short_reviews)
    assert 0.33 < kept / words < 0.47
    assert delete_words("single", 0.6, g) == "single"
    head = DenoisingAutoEncoder(minilm, max_length=32)
    batch = head.collate(short_reviews[:4], held_out=True)
    assert (batch["attention_mask"].sum(1) < batch["target_mask"].sum(1)).all()
    emb = minilm.model.get_input_embeddings().weight
    assert not any(p.shape == emb.shape for p in head.parameters())
    with torch.no_grad():
        loss = PretextModule(minilm, head).eval()(batch)
    assert torch.isfinite(loss) and loss > 5.0  # an untrained decoder: near-uniform guesses


def test_simcse_views_differ_by_dropout_and_held_out_loss_is_repeatable(minilm, short_reviews):
    head = ContrastiveDropout(minilm, max_length=32)
    batch = head.collate(short_reviews[:6])
    module = PretextModule(minilm, head)
    with torch.no_grad():
        module.train()
        train_loss = module(batch)
        module.eval()
        held = [float(module(batch)) for _ in range(2)]
    assert torch.isfinite(train_loss)
    assert held[0] == held[1] and held[0] > 0  # fixed dropout seed: repeatable, not zero
    assert not minilm.training  # eval mode is back after the held-out views


@pytest.mark.slow
def test_mlm_pretext_loss_falls_on_real_reviews(short_reviews, tmp_path):
    out = tk.pretrain(short_reviews, "minilm-l6", "mlm", epochs=2, out=tmp_path / "mlm",
                      max_steps=8, batch_size=8, max_length=32, lr=1e-4, unfreeze=1,
                      progress=False)
    held = read_record(out)["pretrain"]["held_out_loss"]
    assert held["best"] < held["before"] - 0.3, held
