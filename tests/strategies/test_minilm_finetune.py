"""The real all-MiniLM-L6-v2, fine-tuned on a Banking77 subset, against the frozen probe."""

import numpy as np
import pytest

import transferkit as tk


@pytest.mark.real_weights
@pytest.mark.slow
def test_finetuned_minilm_matches_the_probe_on_banking(minilm, banking77):
    # 20 intents, 16 training and 15 test queries each.
    classes = np.unique(banking77.train.labels)[:20]
    rng = np.random.default_rng(0)
    tr = np.concatenate([rng.choice(np.flatnonzero(banking77.train.labels == c), 16, replace=False)
                         for c in classes])
    te = np.concatenate([rng.choice(np.flatnonzero(banking77.test.labels == c), 15, replace=False)
                         for c in classes])
    train, test = banking77.train.subset(tr, name="b20x16"), banking77.test.subset(te, name="b20")
    probe = tk.TransferClassifier(backbone=minilm, progress=False).fit(train).score(test)
    model = tk.TransferClassifier(backbone=minilm, strategy="finetune", unfreeze=2, epochs=3,
                                  lr=3e-3, batch_size=16, probe_weight=0.5,
                                  progress=False).fit(train)
    pooled_acc = model.score(test)
    model.strategy_.pooled_, pooled = None, model.strategy_.pooled_  # the network alone
    acc = model.score(test)
    # Measured on 2 shared CPU cores: probe 0.967, fine-tuned (top 2 blocks + head, 3 epochs)
    # 0.960 in ~45 s. With 16 examples per intent the frozen probe is hard to beat; the test
    # holds fine-tuning to a stated accuracy and to within 2 points of the probe.
    assert acc >= 0.93 and acc >= probe - 0.02, (acc, probe)
    # The network pooled with a probe on the pre-trained features (probe_weight=0.5): measured
    # 0.967 (network 0.970, probe 0.967). At 16 shots there is little left to gain; the 8-shot
    # gains are in benchmarks/bench_pooled_probe.py. Here: never more than 1 point below the
    # better half, and the probe half read the pre-trained weights, not the trained ones.
    assert pooled_acc >= max(acc, probe) - 0.01 and pooled_acc >= 0.95, (pooled_acc, acc, probe)
    assert pooled.backbone.fingerprint() == minilm.fingerprint() != model.backbone_.fingerprint()
    s = model.strategy_.summary
    assert s["freezing"]["trainable_groups"] == ["layer.4", "layer.5"]
    assert s["lr_by_group"]["layer.5"] == pytest.approx(3e-4)
    # The shared fixture was not touched: fit trained a copy of it.
    assert minilm.fingerprint() == tk.create_backbone("minilm-l6").fingerprint()


@pytest.mark.real_weights
@pytest.mark.slow
def test_head_starts_from_the_probe(minilm, intents5):
    train, test = intents5
    probe = tk.TransferClassifier(backbone=minilm, progress=False).fit(train).score(test)
    # A learning rate too small to move anything: the score is where training starts.
    still = dict(backbone=minilm, strategy="finetune", unfreeze=1, epochs=1, lr=1e-9,
                 progress=False)
    lp = tk.TransferClassifier(head_init="probe", **still).fit(train)
    cold = tk.TransferClassifier(head_init="random", **still).fit(train)
    assert lp.score(test) >= probe - 0.02 and lp.score(test) >= 0.9, (lp.score(test), probe)
    assert cold.score(test) <= 0.6, cold.score(test)  # a random head on 5 intents
    init = lp.strategy_.summary["head_init"]
    assert init["kind"] == "probe" and init["C"] > 0 and init["temperature"] >= 1
    # The backbone had not changed, so the probe read the feature cache the first fit wrote.
    assert init["features_cached"] and init["batchnorm_layers_recalibrated"] == 0
    assert cold.strategy_.summary["head_init"] == {"kind": "random"}
    assert tk.TransferClassifier(strategy="scratch").get_params()["head_init"] is None


@pytest.mark.real_weights
@pytest.mark.slow
def test_top_blocks_tune_on_cached_lower_states(minilm, intents5, monkeypatch):
    import torch

    from transferkit.backbones import split as split_mod
    from transferkit.backbones.text_split import TextSplit

    train, test = intents5
    hf_calls, encoded = [], []
    real_encode = TextSplit.encode
    monkeypatch.setattr(TextSplit, "encode", lambda self, inputs, batch_size=64: (
        encoded.append(len(inputs)) or real_encode(self, inputs, batch_size)))
    model = tk.TransferClassifier(backbone=minilm, strategy="finetune", unfreeze=1, epochs=2,
                                  lr=3e-3, batch_size=16, progress=False)
    model.fit(train)
    s = model.strategy_.summary
    assert s["cached_frozen_part"] and s["freezing"]["trainable_groups"] == ["layer.5"]
    # The lower blocks ran once for the training rows and once for the held-out 10 %.
    assert s["validation"].startswith("held out 10%") and sorted(encoded) == [20, 180]
    assert s["total_params"] == minilm.num_params + 5 * 384 + 5  # the whole encoder + head
    bb = model.backbone_
    # Only the top block moved; the shared fixture did not.
    ref = tk.create_backbone("minilm-l6")
    pairs = zip(bb.layer_groups(), ref.layer_groups(), strict=True)
    moved = {name: any(not torch.equal(p, q)
                       for p, q in zip(m.parameters(), r.parameters(), strict=True))
             for (name, m), (_, r) in pairs}
    assert moved == {**{n: False for n in moved}, "layer.5": True}
    assert minilm.fingerprint() == ref.fingerprint()
    acc = model.score(test)
    assert acc >= 0.9, acc
    # Predictions read the tuned weights: the fast inference path equals the HF forward.
    texts = list(test.inputs[:16])
    for blk in bb.model.encoder.layer[:5]:
        blk.register_forward_hook(lambda *a: hf_calls.append(1))
    fast = bb.features(texts)
    assert not hf_calls  # the fast path ran, not the Hugging Face modules
    bb.eval()
    with torch.enable_grad():  # recording gradients: the Hugging Face forward
        slow = bb.forward_features(bb.preprocess(texts)).detach().numpy()
    np.testing.assert_allclose(fast, slow, atol=1e-4)
    # Gradual unfreezing changes what trains every epoch: no cached split then.
    gradual = tk.TransferClassifier(backbone=minilm, strategy="finetune", unfreeze=1, epochs=1,
                                    schedule="gradual", progress=False).fit(train)
    assert not gradual.strategy_.summary["cached_frozen_part"]
    # States beyond the memory budget: the whole forward runs instead.
    monkeypatch.setattr(split_mod, "MAX_FROZEN_STATE_BYTES", 0)
    over = tk.TransferClassifier(backbone=minilm, strategy="finetune", unfreeze=1, epochs=1,
                                 progress=False).fit(train)
    assert not over.strategy_.summary["cached_frozen_part"] and over.score(test) >= 0.9
