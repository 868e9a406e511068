"""The speech-embedding backbone against onnxruntime run directly, and what it refuses."""

from __future__ import annotations

import numpy as np
import pytest

import transferkit as tk
from transferkit.backbones import backbone_catalogue
from transferkit.data import resample
from transferkit.exceptions import BackboneError

pytestmark = pytest.mark.real_weights


def _direct(folder, wave: np.ndarray, rate: int) -> np.ndarray:
    """openWakeWord's recipe by hand: 16 kHz, int16 scale, mel / 10 + 2, 76-frame windows
    every 8 frames; pooled mean, max, std."""
    import onnxruntime as ort

    mel = ort.InferenceSession(str(folder / "melspectrogram.onnx"),
                               providers=["CPUExecutionProvider"])
    emb = ort.InferenceSession(str(folder / "embedding_model.onnx"),
                               providers=["CPUExecutionProvider"])
    x = resample(wave, rate, 16000)
    if len(x) < 24000:  # min_seconds=1.5: the backbone pads short clips with centred silence
        short = 24000 - len(x)
        x = np.pad(x, (short // 2, short - short // 2))
    spec = np.squeeze(mel.run(None, {"input": (x * 32768).astype(np.float32)[None]})[0])
    spec = spec / 10 + 2
    wins = [spec[i:i + 76] for i in range(0, len(spec), 8) if len(spec[i:i + 76]) == 76]
    e = emb.run(None, {"input_1": np.array(wins, np.float32)[..., None]})[0].reshape(-1, 96)
    return np.concatenate([e.mean(0), e.max(0), e.std(0)])


@pytest.mark.real_data
def test_embeddings_match_onnxruntime_run_directly(fsdd, speech_embedding):
    # short and long clips together: batching pads them, which must not change any clip
    lengths = np.array([len(w) for w in fsdd.test.inputs])
    pick = [int(np.argmin(lengths)), int(np.argmax(lengths)), 0, 7, 123]
    clips = fsdd.test.subset(pick)
    feats = tk.extract_features(speech_embedding, clips, cache=False, batch_size=8)
    assert feats.shape == (5, 288)
    for i, w in enumerate(clips.inputs):
        ref = _direct(speech_embedding.folder, w, 8000)
        np.testing.assert_allclose(feats[i], ref, rtol=1e-4, atol=1e-4)


@pytest.mark.real_data
def test_sequence_features_and_layers(fsdd, speech_embedding):
    clips = fsdd.test.subset([0, 1])
    speech_embedding.bind_data(clips)
    seqs = speech_embedding.sequence_features(clips.inputs)
    n = [len(resample(w, 8000, 16000)) for w in clips.inputs]
    # windows every 80 ms; clips under min_seconds (1.5 s) are padded to it
    assert speech_embedding.min_samples == 24000
    for s, length in zip(seqs, n, strict=True):
        frames = (max(length, 24000) - 640) // 160 + 1
        assert s.shape == ((frames - 76) // 8 + 1, 96)
    mel = speech_embedding.features(clips.inputs, layer=0)
    assert mel.shape == (2, 96)  # pooled 32-band log-mel: mean, max, std


def test_fine_tuning_is_refused_with_the_reason(speech_embedding):
    x = [np.sin(np.arange(8000) / 5).astype(np.float32) * 0.3] * 4
    ds = tk.from_arrays(x, labels=["a", "b", "a", "b"], sample_rate=16000, modality="audio")
    with pytest.raises(BackboneError, match=r"ONNX.*cannot train.*strategy='probe'"):
        tk.TransferClassifier(backbone="speech-embedding", strategy="finetune",
                              epochs=1).fit(ds)


def test_zoo_shows_both_licences_without_loading():
    row = next(r for r in backbone_catalogue() if r["name"] == "speech-embedding")
    assert row["modality"] == "audio"
    assert "CC BY-NC-SA 4.0" in row["license"] and "non-commercial" in row["license"]
    assert "Apache-2.0" in row["license"]
    assert row.get("trainable") is False


def test_missing_extra_says_how_to_install(monkeypatch):
    import importlib.util

    from transferkit.backbones import speech_embedding as se

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "openwakeword" else real(name, *a))
    with pytest.raises(BackboneError, match=r"transferkit\[audio\].*CC BY-NC-SA"):
        se.openwakeword_models()


@pytest.mark.real_data
@pytest.mark.slow
def test_probe_on_five_clips_per_digit_recognises_new_speakers(fsdd, speech_embedding):
    """5 clips per digit from five speakers; tested on the sixth speaker's clips."""
    train_all, test_all = fsdd.train, fsdd.test
    held = "jackson"
    train = train_all.subset(np.flatnonzero(train_all.domains != held))
    test = test_all.subset(np.flatnonzero(test_all.domains == held))
    model = tk.TransferClassifier(backbone=speech_embedding, strategy="probe", shots=5,
                                  progress=False).fit(train)
    assert model.score(test) >= 0.8  # measured 0.94 (chance: 0.1)
