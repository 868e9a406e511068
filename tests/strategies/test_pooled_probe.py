"""Fine-tuning pooled with a probe on the pre-trained features (``probe_weight``)."""

import numpy as np
import pytest

import transferkit as tk
from transferkit.exceptions import ConfigError
from transferkit.strategies.probe_ensemble import pool_log_linear


def test_log_linear_pool_is_a_weighted_geometric_mean():
    net = np.array([[0.7, 0.3, 0.0], [0.2, 0.5, 0.3]])
    probe = np.array([[0.1, 0.6, 0.3], [0.2, 0.2, 0.6]])
    np.testing.assert_allclose(pool_log_linear(net, probe, 0.0), net, atol=1e-12)
    np.testing.assert_allclose(pool_log_linear(net, probe, 1.0), probe, atol=1e-12)
    half = pool_log_linear(net, probe, 0.5)
    np.testing.assert_allclose(half.sum(axis=1), 1.0)
    want = np.sqrt(net[1] * probe[1])
    np.testing.assert_allclose(half[1], want / want.sum())
    # A class one model rules out stays ruled out (an average would give it 0.15).
    assert half[0, 2] < 1e-100 and half[0].argmax() == 1


def _parts(model, data):
    """The network's own probabilities and the probe's, for the same inputs."""
    strat = model.strategy_
    pooled, strat.pooled_ = strat.pooled_, None
    try:
        net = model.predict_proba(data)
    finally:
        strat.pooled_ = pooled
    return net, pooled.probe.predict_proba(pooled.backbone, -1, data)


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["finetune", "lora"])
def test_pooled_probe_reads_pretrained_weights_and_survives_save_load(tiny_bert, intents5,
                                                                      tmp_path, strategy):
    train, test = intents5
    model = tk.TransferClassifier(backbone=tiny_bert, strategy=strategy, epochs=2, lr=3e-3,
                                  probe_weight=0.3, progress=False, cache=False).fit(train)
    pooled = model.strategy_.pooled_
    pre = tk.create_backbone(tiny_bert)
    # The probe's backbone is the pre-trained one; the network's moved away from it.
    assert pooled.backbone.fingerprint() == pre.fingerprint()
    trained = model.strategy_.adapted_ if strategy == "lora" else model.backbone_
    assert trained.fingerprint() != pre.fingerprint()
    net, probe = _parts(model, test)
    P = model.predict_proba(test)
    np.testing.assert_allclose(P, pool_log_linear(net, probe, 0.3), rtol=1e-6)
    # Fitting the probe first draws nothing from the training's random stream: the network
    # half is the model a fit without pooling gives.
    plain = tk.TransferClassifier(backbone=tiny_bert, strategy=strategy, epochs=2, lr=3e-3,
                                  progress=False, cache=False).fit(train)
    np.testing.assert_allclose(plain.predict_proba(test), net, atol=1e-6)
    assert model.strategy_.summary["pooled_probe"]["weight"] == 0.3
    model.save(tmp_path / "run")
    assert (tmp_path / "run" / "probe" / "head.safetensors").exists()
    # The spec rebuilds the pre-trained weights, so they are not stored a second time.
    assert not (tmp_path / "run" / "probe" / "backbone.safetensors").exists()
    np.testing.assert_allclose(tk.load(tmp_path / "run").predict_proba(test), P, atol=1e-6)


def test_pooled_probe_of_a_backbone_no_spec_rebuilds_keeps_its_weights(tiny_bert, intents5,
                                                                       tmp_path):
    train, test = intents5
    bb = tk.create_backbone(tiny_bert)
    bb.reinitialize(seed=7)  # random weights: no spec rebuilds them
    model = tk.TransferClassifier(backbone=bb, strategy="finetune", epochs=1, lr=3e-3,
                                  probe_weight=0.5, progress=False, cache=False).fit(train)
    model.save(tmp_path / "run")
    assert (tmp_path / "run" / "probe" / "backbone.safetensors").exists()
    back = tk.load(tmp_path / "run")
    assert back.strategy_.pooled_.backbone.fingerprint() == bb.fingerprint()
    np.testing.assert_allclose(back.predict_proba(test), model.predict_proba(test), atol=1e-6)


def test_scratch_refuses_a_pooled_probe(intents5):
    train, _ = intents5
    with pytest.raises(ConfigError, match="probe_weight=0.5.*strategy='finetune'"):
        tk.TransferClassifier(strategy="scratch", probe_weight=0.5).fit(train)
    with pytest.raises(ConfigError, match="probe_weight"):
        tk.TransferClassifier(strategy="finetune", probe_weight=1.5).fit(train)
