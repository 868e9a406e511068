"""LoRA through peft: only adapters and head train; a run holds only adapter + head; round trip."""

import numpy as np
import pytest
import torch

import transferkit as tk
from transferkit.engine import ClassifierModule, ExampleData, predict_outputs


@pytest.fixture(scope="module")
def lora_model(tiny_bert, intents5):
    train, _ = intents5
    return tk.TransferClassifier(backbone=tiny_bert, strategy="lora", lora_r=4, epochs=2, lr=5e-3,
                                 progress=False).fit(train)


def test_lora_trains_only_adapters_and_head(lora_model, tiny_bert):
    fresh = tk.create_backbone(tiny_bert).state_dict()
    # The estimator's backbone is still the pre-trained one, bit for bit.
    for k, v in lora_model.backbone_.state_dict().items():
        assert torch.equal(v, fresh[k]), k
    adapted = lora_model.strategy_.adapted_
    lora = {n: p for n, p in adapted.named_parameters() if "lora_" in n}
    # Query and value projections of both blocks, A and B matrices each.
    assert len(lora) == 2 * 2 * 2
    assert all(p.abs().sum() > 0 for n, p in lora.items() if "lora_B" in n)  # trained from 0
    for n, p in adapted.state_dict().items():
        if "lora_" not in n:
            assert torch.equal(p, fresh[n.replace(".base_layer", "")]), n
    head = sum(p.numel() for p in lora_model.strategy_.head_.parameters())
    s = lora_model.strategy_.summary
    assert s["trainable_params"] == sum(p.numel() for p in lora.values()) + head
    assert s["lora"] == {"r": 4, "alpha": 8, "dropout": 0.05, "layers": 4}


def test_lora_round_trip_saves_only_adapter_and_head(lora_model, intents5, tmp_path):
    _, test = intents5
    lora_model.save(tmp_path / "run")
    files = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"adapter.safetensors", "head.safetensors"} <= files
    assert "backbone.safetensors" not in files
    assert (tmp_path / "run" / "adapter.safetensors").stat().st_size < 50_000
    back = tk.load(tmp_path / "run")
    p1, p2 = lora_model.predict_proba(test), back.predict_proba(test)
    np.testing.assert_allclose(p2, p1, rtol=0, atol=1e-6)
    # The adapters matter: the same head on the plain backbone predicts differently.
    bb, head = back.backbone_, back.strategy_.head_
    rows = ExampleData(test.inputs, None, bb.preprocess)
    plain = predict_outputs(ClassifierModule(bb, head), rows)
    adapted = predict_outputs(ClassifierModule(back.strategy_.adapted_, head), rows)
    assert np.abs(plain - adapted).max() > 1e-3


def test_lora_on_linear_layers_of_a_non_transformer(digits):
    X, y = digits
    model = tk.TransferClassifier(backbone="tabular-mlp", strategy="lora", lora_r=2, unfreeze=1,
                                  epochs=1, cache=False, progress=False).fit(X[:300], y[:300])
    assert model.strategy_.lora_config_["targets"] == ["blocks.1.0"]
    assert set(model.strategy_.summary["lr_by_group"]) == {"head", "block.1"}
