"""Freezing by layer groups, the BatchNorm policy, per-group learning rates, gradual unfreezing."""

import numpy as np
import pytest
import torch
from torch import nn

import transferkit as tk
from transferkit import ConfigError
from transferkit.data import Dataset
from transferkit.engine import Freezer, build_param_groups, lrs_by_group, plan_freezing


def _images(digits, n=600):
    X, y = digits
    return Dataset(X[:n].reshape(-1, 8, 8), y[:n], modality="image", name="digits-8x8")


def test_frozen_group_bit_identical_and_batchnorm_stats_do_not_move(digits, bn_backbone):
    before = {k: v.clone() for k, v in bn_backbone.state_dict().items()}
    model = tk.TransferClassifier(backbone=bn_backbone, strategy="finetune", unfreeze=1,
                                  epochs=2, lr=1e-2, backbone_lr_mult=1.0, batch_size=32,
                                  progress=False)
    model.fit(_images(digits))
    after = model.backbone_.state_dict()
    # The instance passed as a parameter is not modified: fit trained a copy.
    for k, v in bn_backbone.state_dict().items():
        assert torch.equal(v, before[k]), k
    # Frozen group "stem": weights, BatchNorm affine parameters AND running statistics.
    stem = [k for k in before if k.startswith("module.stem.")]
    assert {"module.stem.1.running_mean", "module.stem.1.running_var",
            "module.stem.1.num_batches_tracked"} <= set(stem)
    for k in stem:
        assert torch.equal(after[k], before[k]), f"frozen {k} moved"
    # Trainable group "block": conv weights, BatchNorm weights and statistics all moved.
    for k in ("module.block.0.weight", "module.block.1.weight", "module.block.1.running_mean"):
        assert not torch.equal(after[k], before[k]), f"trainable {k} did not change"
    summary = model.strategy_.summary
    assert summary["freezing"]["frozen_groups"] == ["stem"]
    assert summary["freezing"]["trainable_groups"] == ["block"]
    assert 0 < summary["trainable_params"] < summary["total_params"]


def test_unfreeze_zero_trains_the_head_only(digits):
    X, y = digits
    model = tk.TransferClassifier(backbone="tabular-mlp", strategy="finetune", unfreeze=0,
                                  epochs=1, cache=False, progress=False)
    ref = tk.create_backbone("tabular-mlp", in_features=64, seed=0)
    model.fit(X[:300], y[:300])
    for (k, a), b in zip(model.backbone_.named_parameters(), ref.parameters(), strict=True):
        assert torch.equal(a, b), k
    assert list(model.strategy_.summary["lr_by_group"]) == ["head"]


def test_freeze_pattern_freezes_matching_parameters(digits):
    X, y = digits
    ref = tk.create_backbone("tabular-mlp", in_features=64, seed=0).state_dict()
    model = tk.TransferClassifier(backbone="tabular-mlp", strategy="finetune",
                                  freeze_pattern=r"^blocks\.0\.", epochs=1, lr=1e-2,
                                  backbone_lr_mult=1.0, cache=False, progress=False)
    model.fit(X[:300], y[:300])
    sd = model.backbone_.state_dict()
    assert torch.equal(sd["blocks.0.0.weight"], ref["blocks.0.0.weight"])
    assert not torch.equal(sd["blocks.1.0.weight"], ref["blocks.1.0.weight"])
    assert model.strategy_.summary["freezing"]["pattern_frozen_params"] == 4


def test_per_group_learning_rates_as_configured(digits):
    X, y = digits
    model = tk.TransferClassifier(backbone="tabular-mlp", strategy="finetune", lr=1e-2,
                                  backbone_lr_mult=0.1, layer_decay=0.5, epochs=1,
                                  lr_schedule="constant", warmup=0.0, cache=False, progress=False)
    model.fit(X[:300], y[:300])
    # head at lr; the top group at lr * mult; each group below at layer_decay times that.
    expected = {"head": 1e-2, "block.1": 1e-3, "block.0": 5e-4}
    assert model.strategy_.summary["lr_by_group"] == pytest.approx(expected)
    assert model.strategy_.history[0]["lr"] == pytest.approx(expected)


def test_param_groups_no_decay_for_biases_and_norms():
    head = nn.Linear(4, 2)
    body = {"b": [nn.Parameter(torch.zeros(3, 3)), nn.Parameter(torch.zeros(3))]}
    groups = build_param_groups(body, ["a", "b"], head, lr=1.0, backbone_lr_mult=0.5,
                                layer_decay=0.1, weight_decay=0.3)
    by = [(g["name"], g["lr"], g["weight_decay"], len(g["params"])) for g in groups]
    assert by == [("head", 1.0, 0.3, 1), ("head", 1.0, 0.0, 1), ("b", 0.5, 0.3, 1),
                  ("b", 0.5, 0.0, 1)]
    assert lrs_by_group(groups) == {"head": 1.0, "b": 0.5}


def test_gradual_unfreezing_adds_one_group_per_epoch(digits):
    X, y = digits
    model = tk.TransferClassifier(backbone="tabular-mlp", strategy="finetune", schedule="gradual",
                                  epochs=3, cache=False, progress=False)
    model.fit(X[:300], y[:300])
    trainable = [r["trainable_params"] for r in model.strategy_.history]
    head = 256 * 10 + 10
    block = 256 * 256 + 256 + 2 * 256  # Linear + LayerNorm
    assert trainable == [head, head + block, head + block + (64 * 256 + 256 + 2 * 256)]
    bb = tk.create_backbone("tabular-mlp", in_features=64, seed=0)
    fr = Freezer(bb, plan_freezing(bb, "all"), "gradual")
    assert [fr.groups_at(e) for e in range(4)] == [[], ["block.1"], ["block.0", "block.1"],
                                                   ["block.0", "block.1"]]


def test_gradual_with_discriminative_rates(digits):
    X, y = digits
    model = tk.TransferClassifier(backbone="tabular-mlp", strategy="finetune", schedule="gradual",
                                  layer_decay=0.5, epochs=2, cache=False, progress=False)
    model.fit(X[:300], y[:300])
    lrs = model.strategy_.summary["lr_by_group"]
    assert lrs["block.0"] == pytest.approx(lrs["block.1"] * 0.5)
    assert model.strategy_.summary["schedule"] == "gradual"


@pytest.mark.parametrize("kwargs, message", [
    ({"unfreeze": 5}, "has 2 layer groups"),
    ({"unfreeze": "block.7"}, "Unknown layer group"),
    ({"unfreeze": "blok.1"}, "Did you mean 'block.1'"),
    ({"freeze_pattern": "no_such_param"}, "matches no parameter"),
])
def test_bad_freezing_lists_the_groups(digits, kwargs, message):
    X, y = digits
    model = tk.TransferClassifier(backbone="tabular-mlp", strategy="finetune", cache=False,
                                  progress=False, **kwargs)
    with pytest.raises(ConfigError, match=message) as e:
        model.fit(X[:200], y[:200])
    assert "['block.0', 'block.1']" in str(e.value)


@pytest.mark.parametrize("kwargs, message", [
    ({"lr": 0.0}, "'lr' parameter .* range \\(0, inf\\]. Got 0.0"),
    ({"lr": -1e-3}, "'lr' parameter"),
    ({"epochs": 0}, "'epochs' parameter .* Got 0"),
    ({"backbone_lr_mult": 0}, "backbone_lr_mult"),
    ({"unfreeze": -1}, "unfreeze must be >= 0"),
    ({"schedule": "gradul"}, "Did you mean 'gradual'"),
    ({"freeze_pattern": "("}, "not a valid regular expression|must be a regular expression"),
    ({"devices": 0}, "'devices' parameter"),
    ({"precision": "fp8"}, "'precision' parameter"),
])
def test_bad_training_parameters(kwargs, message):
    model = tk.TransferClassifier(backbone="tabular-mlp", strategy="finetune", **kwargs)
    with pytest.raises(ConfigError, match=message):
        model.fit(np.zeros((40, 4), np.float32), np.arange(40) % 2)


def test_plan_freezing_counts_groups():
    bb = tk.create_backbone("tabular-mlp", in_features=8, seed=0)
    assert plan_freezing(bb, 1).groups == ["block.1"]
    assert plan_freezing(bb, "2").groups == ["block.0", "block.1"]
    assert plan_freezing(bb, ["block.0"]).groups == ["block.0"]
    with pytest.raises(ConfigError, match="unfreeze=3 asks for more layer groups"):
        plan_freezing(bb, 3)
