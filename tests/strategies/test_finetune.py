"""Fine-tune, scratch and auto strategies end to end: accuracy, L2-SP, save/load, errors."""

import json

import numpy as np
import pytest
import torch
from torch import nn

import transferkit as tk
from transferkit import ConfigError
from transferkit.engine import L2SPPenalty
from transferkit.strategies import FitContext, ScratchStrategy
from transferkit.strategies.auto import choose_strategy


def test_finetune_learns_and_round_trips(digits, tmp_path):
    X, y = digits
    model = tk.TransferClassifier(backbone="tabular-mlp", strategy="finetune", epochs=3, lr=3e-3,
                                  cache=False, progress=False)
    assert model.fit(X[:1000], y[:1000]) is model
    assert model.score(X[1000:], y[1000:]) >= 0.85
    model.save(tmp_path / "run", metrics={"accuracy": 1.0})
    files = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"backbone.safetensors", "head.safetensors", "model.json", "record.json"} <= files
    assert "checkpoints" not in files
    back = tk.load(tmp_path / "run")
    np.testing.assert_allclose(back.predict_proba(X[1000:]), model.predict_proba(X[1000:]),
                               rtol=0, atol=1e-6)
    rec = json.loads((tmp_path / "run" / "record.json").read_text())
    assert [h["epoch"] for h in rec["history"]] == [1, 2, 3]
    assert rec["strategy"]["lr_by_group"]["head"] == 3e-3
    assert rec["backbone"]["trainable_params"] == rec["strategy"]["trainable_params"] > 0


def test_l2sp_penalty_is_zero_at_start_and_grows():
    torch.manual_seed(0)
    body, head = nn.Linear(4, 4), nn.Linear(4, 2)
    pen = L2SPPenalty(list(body.parameters()), list(head.parameters()), alpha=0.1)
    with torch.no_grad():
        assert float(pen.distance()) == 0.0
        head_only = 0.5 * 0.01 * sum(float((p ** 2).sum()) for p in head.parameters())
        assert float(pen()) == pytest.approx(head_only)  # beta = alpha / 10 on the new weights
        body.weight.add_(0.1)
        assert float(pen.distance()) == pytest.approx(16 * 0.01)


def test_l2sp_keeps_weights_near_the_start(digits):
    X, y = digits
    dist = {}
    for alpha in (1e-4, 1.0):
        m = tk.TransferClassifier(backbone="tabular-mlp", strategy="finetune", l2sp=alpha,
                                  epochs=3, lr=1e-3, backbone_lr_mult=1.0, cache=False,
                                  progress=False).fit(X[:400], y[:400])
        dist[alpha] = [r["l2sp_distance"] for r in m.strategy_.history]
    weak, strong = dist[1e-4], dist[1.0]
    assert 0 < weak[0] < weak[1] < weak[2], weak  # grows from zero as the weights move
    assert strong[-1] < 0.6 * weak[-1], (strong, weak)  # measured 1.06 vs 2.46


def test_scratch_really_reinitialises(tiny_bert, intents5):
    train, _ = intents5
    pre = tk.create_backbone(tiny_bert).state_dict()

    def reinit(seed):
        ctx = FitContext(tk.create_backbone(tiny_bert), -1, train, np.zeros(len(train), int), 5, {})
        return ScratchStrategy(seed=seed).prepare_backbone(ctx).state_dict()

    a, b, c = reinit(0), reinit(0), reinit(1)
    matrices = [k for k, v in pre.items() if v.ndim == 2]
    assert len(matrices) > 10
    for k in matrices:
        assert not torch.equal(a[k], pre[k]), f"{k} kept its pre-trained value"
        assert torch.equal(a[k], b[k]) and not torch.equal(a[k], c[k])
    model = tk.TransferClassifier(backbone=tiny_bert, strategy="scratch", epochs=1, lr=1e-3,
                                  progress=False).fit(train)
    s = model.strategy_.summary
    assert model.backbone_.source.startswith("random init")
    assert len(set(s["lr_by_group"].values())) == 1  # nothing pre-trained to protect
    assert s["epochs"] == 1 and model.strategy_.history


def test_finetuned_text_backbone_trains_every_group(tiny_bert, intents5):
    train, _ = intents5
    model = tk.TransferClassifier(backbone=tiny_bert, strategy="finetune", epochs=1,
                                  progress=False).fit(train)
    fresh = tk.create_backbone(tiny_bert).state_dict()
    moved = {k.split(".")[1] for k, v in model.backbone_.state_dict().items()
             if k.startswith("model.") and not torch.equal(v, fresh[k])}
    assert {"embeddings", "encoder"} <= moved
    assert not any(k.startswith("model.pooler") and not torch.equal(v, fresh[k])
                   for k, v in model.backbone_.state_dict().items())  # outside every group


def test_finetuned_text_backbone_saves(tiny_bert, intents5, tmp_path):
    train, test = intents5
    model = tk.TransferClassifier(backbone=tiny_bert, strategy="finetune", epochs=1,
                                  progress=False).fit(train)
    model.save(tmp_path / "run")
    back = tk.load(tmp_path / "run")
    np.testing.assert_allclose(back.predict_proba(test), model.predict_proba(test), atol=1e-6)


def test_auto_rule():
    assert choose_strategy(5)[:2] == ("probe", {})
    assert choose_strategy(30)[:2] == ("finetune", {"unfreeze": 2})
    assert choose_strategy(130)[:2] == ("finetune", {"unfreeze": "all"})
    name, over, why = choose_strategy(5, shift_score=1.4)
    assert (name, over) == ("finetune", {"unfreeze": 2}) and "shift score 1.40" in why


def test_auto_picks_probe_for_tiny_data_and_says_why(digits, tmp_path):
    X, y = digits
    idx = np.concatenate([np.flatnonzero(y == c)[:5] for c in range(10)])
    model = tk.TransferClassifier(backbone="tabular-mlp", strategy="auto", cache=False,
                                  progress=False).fit(X[idx], y[idx])
    auto = model.strategy_.summary["auto"]
    assert auto["chosen"] == "probe" and auto["examples_per_class"] == 5
    assert "5 labelled examples per class" in auto["reason"]
    model.save(tmp_path / "run")
    rec = json.loads((tmp_path / "run" / "record.json").read_text())
    assert rec["strategy"]["name"] == "auto" and rec["strategy"]["auto"]["chosen"] == "probe"
    back = tk.load(tmp_path / "run")
    np.testing.assert_allclose(back.predict_proba(X[1000:]), model.predict_proba(X[1000:]),
                               atol=1e-6)


def test_auto_tunes_top_groups_with_some_data(digits):
    X, y = digits
    idx = np.concatenate([np.flatnonzero(y == c)[:30] for c in range(10)])
    model = tk.TransferClassifier(backbone="tabular-mlp", strategy="auto", epochs=1,
                                  cache=False, progress=False).fit(X[idx], y[idx])
    s = model.strategy_.summary
    assert s["auto"]["chosen"] == "finetune" and s["unfreeze"] == 2
    assert model.strategy_.trains_backbone


@pytest.mark.parametrize("kwargs, message", [
    ({"strategy": "scratch", "l2sp": 0.1}, "starts from random"),
    ({"strategy": "finetune", "head": "knn"}, "probe-only head"),
    ({"strategy": "finetune", "layer": 0}, "last feature layer"),
    ({"strategy": "lora", "lora_r": 0}, "'lora_r' parameter"),
    ({"strategy": "finetune", "warmup": 1.5}, "'warmup' parameter"),
    ({"strategy": "auto", "head": "forest"}, "probe head"),
])
def test_bad_strategy_parameters(kwargs, message):
    model = tk.TransferClassifier(backbone="tabular-mlp", **kwargs)
    with pytest.raises(ConfigError, match=message):
        model.fit(np.zeros((40, 4), np.float32), np.arange(40) % 2)


def test_layer_suffix_is_refused_for_finetune(digits):
    X, y = digits
    with pytest.raises(ConfigError, match="layer=0"):
        tk.TransferClassifier(backbone="tabular-mlp@0", strategy="finetune",
                              cache=False).fit(X[:100], y[:100])


def test_probe_head_temperature_matches_the_held_out_loss(digits):
    from transferkit.heads.logistic import LogisticHead
    from transferkit.strategies.head_init import held_out_temperature

    X, y = digits
    X, y = X[:200] / 16.0, y[:200]
    probe = LogisticHead(C=100.0, standardize=False).fit(X, y, 10)  # weakly regularised
    coef, b = probe.arrays["coef"], probe.arrays["intercept"]
    t = held_out_temperature(X, y, 10, 100.0, coef, b, seed=0)
    logits = torch.from_numpy(X @ coef + b).double()
    ce = nn.functional.cross_entropy
    train_loss = float(ce(logits, torch.from_numpy(y)))
    # 200 digits are fitted almost perfectly; scaled, the head is as unsure as held-out data
    # says it should be, and still predicts the same classes.
    assert train_loss < 0.1 and t > 1.5
    assert float(ce(logits / t, torch.from_numpy(y))) > 3 * train_loss
    assert np.array_equal((logits / t).argmax(1), logits.argmax(1))
