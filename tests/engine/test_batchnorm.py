"""BatchNorm statistics re-estimated on the training data (precise BN / AdaBN)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from transferkit.engine import (
    ClassificationTask,
    ClassifierModule,
    ExampleData,
    Freezer,
    TrainConfig,
    build_param_groups,
    plan_freezing,
    train,
)
from transferkit.engine.batchnorm import recalibrate_batchnorm, training_norms

from .conftest import digits_images


def _bn_inputs(module: nn.Module, norm: nn.BatchNorm2d, inputs: dict) -> torch.Tensor:
    seen = []
    hook = norm.register_forward_hook(lambda m, i, o: seen.append(i[0].detach()))
    module.eval()
    with torch.no_grad():
        module(inputs)
    hook.remove()
    return seen[0]


def test_recalibration_gives_the_training_data_statistics(bn_backbone, digits):
    X, y = digits
    head = nn.Linear(16, 10)
    module = ClassifierModule(bn_backbone, head)
    data = ExampleData(X[:320], y[:320], bn_backbone.preprocess)
    stem_bn = bn_backbone.module.stem[1]
    # Momentum 0.01 is what TensorFlow-ported CNNs carry: the running statistics hardly move.
    stem_bn.momentum = 0.01
    n = recalibrate_batchnorm(module, lambda b: module(b["inputs"]), data, batch_size=32)
    assert n == 2
    assert stem_bn.momentum == 0.01  # restored
    # The stem's BN input does not depend on any BN statistics: compare with its exact values.
    z = _bn_inputs(module, stem_bn, digits_images(X[:320]))
    torch.testing.assert_close(stem_bn.running_mean, z.mean(dim=(0, 2, 3)), rtol=1e-4, atol=1e-5)
    # Equal-weight average of per-batch unbiased variances (10 batches of 32).
    per_batch = torch.stack([z[i:i + 32].var(dim=(0, 2, 3), unbiased=False) * (32 * 64)
                             / (32 * 64 - 1) for i in range(0, 320, 32)])
    torch.testing.assert_close(stem_bn.running_var, per_batch.mean(0), rtol=1e-4, atol=1e-5)
    assert not module.training  # modes restored


def test_frozen_batchnorm_keeps_its_statistics(bn_backbone, digits):
    X, y = digits
    module = ClassifierModule(bn_backbone, nn.Linear(16, 10))
    Freezer(bn_backbone, plan_freezing(bn_backbone, ["block"])).apply(0)
    stem_bn, block_bn = bn_backbone.module.stem[1], bn_backbone.module.block[1]
    before = stem_bn.running_mean.clone()
    assert training_norms(module) == [block_bn]
    data = ExampleData(X[:200], y[:200], bn_backbone.preprocess)
    assert recalibrate_batchnorm(module, lambda b: module(b["inputs"]), data, 64) == 1
    assert torch.equal(stem_bn.running_mean, before)
    assert not torch.equal(block_bn.running_mean, torch.zeros(16))


def test_a_module_without_batchnorm_is_left_alone(digits):
    X, y = digits
    module = nn.Sequential(nn.Linear(64, 10))
    data = ExampleData(X[:10], y[:10], lambda xs: torch.as_tensor(np.asarray(xs)))
    calls = []
    assert recalibrate_batchnorm(module, calls.append, data, 4) == 0
    assert calls == []  # no forward pass was spent


def _train_small_cnn(bn_backbone, digits, recalibrate: bool) -> float:
    X, y = digits
    for m in bn_backbone.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.01
    torch.manual_seed(0)
    head = nn.Linear(16, 10)
    module = ClassifierModule(bn_backbone, head)
    plan = plan_freezing(bn_backbone, "all")
    freezer = Freezer(bn_backbone, plan)
    freezer.apply(0)
    groups = build_param_groups(freezer.candidates(), plan.all_groups, head, lr=1e-2,
                                backbone_lr_mult=1.0)
    task = ClassificationTask(module, groups, freezer)
    data = ExampleData(X[:1200], y[:1200], bn_backbone.preprocess)
    train(task, data, None, TrainConfig(epochs=6, batch_size=32, progress=False,
                                        recalibrate_bn=recalibrate))
    module.eval()
    with torch.no_grad():
        pred = module(digits_images(X[1200:]))
    return float((pred.argmax(1).numpy() == y[1200:]).mean())


def test_training_with_slow_batchnorm_momentum_needs_recalibration(bn_backbone, digits):
    import copy

    # 6 epochs at momentum 0.01 is ~225 steps: the running statistics are still mostly the
    # initial 0/1 and evaluation sees activations the weights never trained on.
    stale = _train_small_cnn(copy.deepcopy(bn_backbone), digits, recalibrate=False)
    fresh = _train_small_cnn(bn_backbone, digits, recalibrate=True)
    assert fresh >= 0.83, (fresh, stale)
    assert fresh >= stale + 0.2, (fresh, stale)


def test_only_stale_statistics_are_recalibrated(bn_backbone):
    from transferkit.engine.batchnorm import statistics_are_stale

    module = ClassifierModule(bn_backbone, nn.Linear(16, 10))
    # PyTorch's momentum 0.1: after 100 steps the start weighs 0.9**100 ~ 3e-5.
    assert statistics_are_stale(module, 10) and not statistics_are_stale(module, 100)
    for m in bn_backbone.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.01  # TensorFlow's: 0.99**100 ~ 0.37
    assert statistics_are_stale(module, 100) and not statistics_are_stale(module, 1000)
    Freezer(bn_backbone, plan_freezing(bn_backbone, 0)).apply(0)  # every BN frozen
    assert not statistics_are_stale(module, 0)
