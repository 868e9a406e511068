"""``minilm-l6`` (all-MiniLM-L6-v2, bundled): loads offline, 384-d, same embeddings as
sentence-transformers, intermediate layers, input order kept through length sorting, layer
groups, and the inference-only fast forward agreeing with the Hugging Face forward while the
training path (gradients, dropout) still goes through the Hugging Face forward."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import transferkit as tk
from transferkit.backbones.text import HFTextBackbone

pytestmark = pytest.mark.real_weights

SENTENCES = [
    "How do I top up my card?",
    "my card was declined at the shop",
    "Why is there an extra fee on my statement?",
    "I want to change my PIN",
    "hi",
    "The exchange rate you used for my transfer from GBP to EUR looks wrong, can you check it?",
    "Where is my new card? I ordered it two weeks ago and it still has not arrived.",
    "cash withdrawal not recognised",
    "Can I get a virtual card for online shopping only?",
    # over 256 tokens: truncated the same way by both
    "please help me with my account " * 60,
]
SHORT = SENTENCES[:-1]


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def _hf_features(backbone: HFTextBackbone, inputs, layer: int = -1) -> np.ndarray:
    """The same features through the plain Hugging Face forward (no fast path)."""
    backbone.fast_inference = False
    try:
        return backbone.features(inputs, layer=layer)
    finally:
        backbone.fast_inference = True


def test_loads_offline_384d(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    b = tk.create_backbone("minilm-l6")
    assert isinstance(b, HFTextBackbone)
    assert b.num_features == 384 and b.modality == "text"
    assert b.num_feature_layers == 7
    f = b.features(SENTENCES[:3])
    assert f.shape == (3, 384) and f.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-5)


def test_matches_sentence_transformers(minilm):
    st = pytest.importorskip("sentence_transformers")
    from transferkit.backbones.text import minilm_l6_path

    peer = st.SentenceTransformer(str(minilm_l6_path()), device="cpu")
    ref = peer.encode(SENTENCES, batch_size=4, show_progress_bar=False)
    ours = minilm.features(SENTENCES, batch_size=4)
    assert _cos(ours, ref).min() > 0.9999


@pytest.mark.parametrize("layer", [-1, 0, 3])
def test_fast_forward_matches_hf_forward(minilm, layer):
    fast = minilm.features(SENTENCES, layer=layer, batch_size=4)
    slow = _hf_features(minilm, SENTENCES, layer=layer)
    assert _cos(fast, slow).min() > 0.99999
    np.testing.assert_allclose(fast, slow, atol=1e-4)


def test_intermediate_layers_differ(minilm):
    feats = [minilm.features(SHORT, layer=k) for k in range(minilm.num_feature_layers)]
    assert all(f.shape == (len(SHORT), 384) for f in feats)
    for i in range(len(feats)):
        for j in range(i + 1, len(feats)):
            assert np.abs(feats[i] - feats[j]).max() > 1e-2, (i, j)
    np.testing.assert_allclose(feats[-1], minilm.features(SHORT, layer=-1), atol=1e-6)


def test_output_order_is_input_order(minilm):
    rng = np.random.default_rng(0)
    inputs = [SHORT[i] for i in rng.permutation(len(SHORT))] + ["hi", "hi there"]
    batched = minilm.features(inputs, batch_size=3)  # sorted by length inside
    one_by_one = np.stack([minilm.features([s])[0] for s in inputs])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    # numpy arrays of strings go the same way
    np.testing.assert_allclose(minilm.features(np.array(inputs), batch_size=5), batched, atol=1e-5)


def test_pretokenized_batches_equal_preprocess(minilm):
    enc = minilm.pretokenize(SENTENCES)
    idx = np.array([4, 0, 9, 2])
    got = enc.collate(idx)
    want = minilm.preprocess([SENTENCES[i] for i in idx])
    assert set(got) == set(want)
    for k in want:
        assert torch.equal(got[k], want[k]), k
    masks = minilm.preprocess(SENTENCES)["attention_mask"]
    assert enc.lengths.tolist() == masks.sum(1).tolist()
    assert minilm.features([]).shape == (0, 384)


def test_token_ids_are_held_as_int32(minilm):
    """A million texts' ids are held at once before encoding: int32 halves them."""
    enc = minilm.pretokenize(SENTENCES)
    assert enc.ids.dtype == np.int32 and enc.lengths.dtype == np.int32
    assert enc.ids.nbytes == 4 * int(enc.lengths.sum())
    # nn.Embedding looks int32 ids up as it does int64 ones (torch 2.13).
    ids = enc.collate(np.arange(3))["input_ids"]
    emb = minilm.model.embeddings.word_embeddings
    assert torch.equal(emb(ids.to(torch.int32)), emb(ids))


def test_features_in_blocks_equal_features_at_once(minilm, monkeypatch):
    """Large inputs are tokenised and encoded a block at a time; the result is the same."""
    import transferkit.backbones.base as base

    whole = minilm.features(SENTENCES, batch_size=4)
    monkeypatch.setattr(base, "ENCODE_BLOCK", 3)
    out = np.zeros_like(whole)
    blocked = minilm.features(SENTENCES, batch_size=4, out=out)
    assert blocked is out
    np.testing.assert_allclose(blocked, whole, atol=1e-5)


def test_layer_groups_cover_encoder(minilm):
    groups = minilm.layer_groups()
    assert [n for n, _ in groups] == ["embeddings"] + [f"layer.{i}" for i in range(6)]
    covered = {id(p) for _, m in groups for p in m.parameters()}
    missing = [n for n, p in minilm.model.named_parameters() if id(p) not in covered]
    assert all(n.startswith("pooler.") for n in missing), missing


def test_training_path_has_gradients():
    b = tk.create_backbone("minilm-l6")
    b.train()
    batch = b.preprocess(SENTENCES[:4])
    out = b.forward_features(batch)
    assert out.shape == (4, 384) and out.requires_grad
    (out * torch.randn_like(out)).sum().backward()
    for name, group in b.layer_groups():
        grads = [p.grad for p in group.parameters() if p.requires_grad]
        assert grads and all(g is not None for g in grads), name
        assert any(g.abs().sum() > 0 for g in grads), name
    # dropout is active in training mode even without gradients: the fast path stays off
    with torch.no_grad():
        assert not torch.allclose(b.forward_features(batch), b.forward_features(batch))
    # eval mode with gradients: the Hugging Face forward, same numbers as the fast one
    b.eval()
    with_grad = b.forward_features(batch, layer=2)
    assert with_grad.requires_grad
    with torch.inference_mode():
        fast = b.forward_features(batch, layer=2)
    torch.testing.assert_close(with_grad.detach(), fast, atol=1e-4, rtol=1e-4)


def test_fast_path_follows_weight_updates(minilm):
    b = copy.deepcopy(minilm)
    before = b.features(SENTENCES[:5])
    with torch.no_grad():
        b.model.encoder.layer[3].output.dense.weight.mul_(0.5)
        b.model.embeddings.word_embeddings.weight.add_(0.01)
    after = b.features(SENTENCES[:5])
    assert np.abs(after - before).max() > 1e-3
    np.testing.assert_allclose(after, _hf_features(b, SENTENCES[:5]), atol=1e-4)
    # and after an optimiser step taken in training mode
    b.train()
    opt = torch.optim.SGD(b.parameters(), lr=0.5)
    b.forward_features(b.preprocess(SENTENCES[:3])).sum().backward()
    opt.step()
    stepped = b.features(SENTENCES[:5])
    assert np.abs(stepped - after).max() > 1e-4
    np.testing.assert_allclose(stepped, _hf_features(b, SENTENCES[:5]), atol=1e-4)


@pytest.mark.slow
def test_fast_path_follows_the_engines_fused_optimizer_steps(minilm):
    # torch's fused AdamW writes weights without bumping their version counters; the engine
    # bumps them, or predictions after training would use the weights from before it.
    from transferkit.engine import (
        ClassificationTask,
        ClassifierModule,
        ExampleData,
        TrainConfig,
        build_param_groups,
        train,
    )
    from transferkit.heads.torch_heads import make_torch_head

    b = copy.deepcopy(minilm)
    before = b.features(SENTENCES)  # builds the packed weights before training
    head = make_torch_head("linear", b.num_features, 2, seed=0)
    groups = build_param_groups({"all": list(b.parameters())}, ["all"], head, lr=1e-2)
    task = ClassificationTask(ClassifierModule(b, head), groups)
    data = ExampleData(SENTENCES, np.arange(len(SENTENCES)) % 2, b.preprocess)
    train(task, data, None, TrainConfig(epochs=1, batch_size=4, progress=False))
    after = b.features(SENTENCES)
    assert np.abs(after - before).max() > 1e-3
    np.testing.assert_allclose(after, _hf_features(b, SENTENCES), atol=1e-4)


def test_torch_matmul_fallback_matches(minilm):
    b = copy.deepcopy(minilm)
    b.linear_backend = "torch"
    np.testing.assert_allclose(b.features(SHORT), minilm.features(SHORT), atol=1e-4)


@pytest.mark.parametrize("k", [1, 2, 6])
def test_split_top_reproduces_the_encoder_from_cached_lower_states(minilm, k):
    split = minilm.split_top(k)
    states = split.encode(SENTENCES, batch_size=4)
    # One float16 array per input, in input order, unpadded: the 10th is truncated to 256.
    assert [s.dtype for s in states] == [np.float16] * len(SENTENCES)
    assert states[4].shape == (3, 384) and states[-1].shape == (256, 384)
    was_training = minilm.training
    minilm.eval()
    with torch.no_grad():
        top = split.top.forward_features(split.collate(states)).numpy()
        full = minilm.forward_features(minilm.preprocess(SENTENCES)).numpy()
    minilm.train(was_training)
    # Equal up to the float16 rounding of the stored states.
    np.testing.assert_allclose(top, full, atol=5e-4)
    # The top holds the encoder's own blocks, not copies: training it trains the encoder.
    top_ids = {id(p) for p in split.top.parameters()}
    groups = dict(minilm.layer_groups())
    assert {id(p) for i in range(6 - k, 6) for p in groups[f"layer.{i}"].parameters()} == top_ids
    assert not top_ids & {id(p) for p in groups["embeddings"].parameters()}


def test_split_tokenises_once_for_the_memory_estimate_and_the_encoding(minilm, monkeypatch):
    split = minilm.split_top(1)
    expected = split.encode(SENTENCES, batch_size=4)
    calls = []
    original = minilm.pretokenize
    monkeypatch.setattr(minilm, "pretokenize", lambda x: calls.append(len(x)) or original(x))
    nbytes = split.estimate_nbytes(SENTENCES)
    states = split.encode(SENTENCES, batch_size=4)
    assert calls == [len(SENTENCES)]  # the estimate's tokens were reused
    assert nbytes == split.nbytes(states) == split.nbytes(expected)
    assert all(np.array_equal(a, b) for a, b in zip(states, expected, strict=True))
    split.encode(SENTENCES, batch_size=4)  # no estimate first: it tokenises for itself
    assert calls == [len(SENTENCES)] * 2


def test_split_top_is_refused_when_nothing_or_everything_would_be_frozen(minilm):
    assert minilm.split_top(0) is None and minilm.split_top(7) is None
    lenet = tk.create_backbone("lenet")
    assert lenet.split_top(2) is None  # the default: no split
