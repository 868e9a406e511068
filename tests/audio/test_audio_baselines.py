"""The audio no-transfer baselines: log-mel statistics + logistic, and the log-mel CNN."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import transferkit as tk
from transferkit.backbones.audio import LogMel
from transferkit.backbones.logmel_cnn import augment_waves
from transferkit.strategies.baselines.logmel import logmel_statistics


def _tones(n_per: int, rate: int = 8000, seed: int = 0, freqs=(250.0, 700.0, 1900.0)):
    rng = np.random.default_rng(seed)
    waves, labels = [], []
    for _ in range(n_per):
        for lab, f in enumerate(freqs):
            sec = rng.uniform(0.25, 0.6)
            t = np.arange(int(sec * rate)) / rate
            amp = rng.uniform(0.1, 0.8)
            waves.append((amp * np.sin(2 * np.pi * f * (1 + 0.03 * rng.standard_normal()) * t)
                          + 0.01 * rng.standard_normal(len(t))).astype(np.float32))
            labels.append(f"tone{lab}")
    return tk.from_arrays(waves, labels=labels, sample_rate=rate, modality="audio")


def test_logmel_puts_a_tone_in_its_band():
    lm = LogMel(16000, n_mels=40)
    t = torch.arange(16000) / 16000
    low = lm(torch.sin(2 * np.pi * 300 * t)[None])[0].mean(1)
    high = lm(torch.sin(2 * np.pi * 3000 * t)[None])[0].mean(1)
    assert int(low.argmax()) < int(high.argmax())
    assert lm(torch.zeros(1, 16000)).shape == (1, 40, 101)  # 10 ms hop, centred frames


def test_statistics_do_not_depend_on_the_rate_given():
    x = _tones(1).inputs[0]
    a = logmel_statistics([x], 8000)
    from transferkit.data import resample

    b = logmel_statistics([resample(x, 8000, 16000)], 16000)
    assert a.shape == (1, 240)
    np.testing.assert_allclose(a, b, atol=0.05)


def test_augmentation_shifts_scales_and_adds_noise():
    x = torch.zeros(2, 16000)
    x[:, 8000:8100] = 0.5
    g = torch.Generator().manual_seed(0)
    y = augment_waves(x, 16000, generator=g)
    assert y.shape == x.shape and not torch.equal(y, x)
    peak = y.abs().argmax(dim=1)
    assert ((peak - 8050).abs() <= 1700).all()  # shifted by at most 0.1 s (+ the pulse)


@pytest.mark.slow
def test_logmel_baseline_learns_tones_and_round_trips(tmp_path):
    train, test = _tones(8), _tones(4, seed=1)
    model = tk.TransferClassifier(strategy="baseline", progress=False).fit(train)
    assert model.strategy_.kind_ == "logmel"  # the audio default
    assert model.backbone_.name == "none:audio"
    p = model.predict_proba(test)
    assert model.score(test) >= 0.9
    model.save(tmp_path / "run")
    np.testing.assert_allclose(tk.load(tmp_path / "run").predict_proba(test), p, atol=1e-6)


@pytest.mark.slow
def test_logmel_cnn_learns_tones_and_round_trips(tmp_path):
    train, test = _tones(10), _tones(4, seed=1)
    model = tk.TransferClassifier(strategy="baseline", baseline="logmel-cnn",
                                  progress=False).fit(train)
    assert model.score(test) >= 0.9
    p = model.predict_proba(test)
    model.save(tmp_path / "run")
    np.testing.assert_allclose(tk.load(tmp_path / "run").predict_proba(test), p, atol=1e-5)
