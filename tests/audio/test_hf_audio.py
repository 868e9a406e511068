"""``hf:`` waveform speech encoders (wav2vec 2.0 layouts), offline on tiny random models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import transferkit as tk
from transferkit.backbones.hf_audio import HFAudioBackbone
from transferkit.backbones.hub import detect_modality
from transferkit.exceptions import BackboneError


def _tiny(folder, layer_norm: bool) -> str:
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    cfg = Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, conv_dim=(16, 16, 16), conv_stride=(5, 4, 4),
                         conv_kernel=(10, 4, 4), num_conv_pos_embeddings=16,
                         num_conv_pos_embedding_groups=4, vocab_size=10,
                         feat_extract_norm="layer" if layer_norm else "group",
                         do_stable_layer_norm=layer_norm)
    torch.manual_seed(0)
    Wav2Vec2Model(cfg).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True,
                             return_attention_mask=layer_norm).save_pretrained(folder)
    return f"hf:{folder}"


@pytest.fixture(scope="module", params=[False, True], ids=["base-layout", "large-layout"])
def tiny_spec(request, tmp_path_factory):
    return _tiny(tmp_path_factory.mktemp("w2v"), layer_norm=request.param)


def _tones(n_per: int, rate: int = 8000, seed: int = 0):
    rng = np.random.default_rng(seed)
    waves, labels = [], []
    for k in range(n_per):
        for lab, f in (("low", 220.0), ("high", 1800.0)):
            sec = rng.uniform(0.3, 0.8)
            t = np.arange(int(sec * rate)) / rate
            waves.append((0.4 * np.sin(2 * np.pi * f * (1 + 0.02 * k) * t)
                          + 0.02 * rng.standard_normal(len(t))).astype(np.float32))
            labels.append(lab)
    return tk.from_arrays(waves, labels=labels, sample_rate=rate, modality="audio")


def test_loads_as_an_audio_backbone_with_ordered_groups(tiny_spec):
    bb = tk.create_backbone(tiny_spec)
    assert isinstance(bb, HFAudioBackbone) and bb.modality == "audio"
    assert bb.sample_rate == 16000 and bb.num_features == 32 and bb.num_feature_layers == 3
    groups = bb.layer_groups()
    assert [g for g, _ in groups] == ["feature_encoder", "block0", "block1"]
    covered = sum(p.numel() for _, m in groups for p in m.parameters())
    assert covered == sum(p.numel() for p in bb.parameters())


def test_a_clips_features_do_not_depend_on_its_batch(tiny_spec):
    bb = tk.create_backbone(tiny_spec)
    data = _tones(2)
    bb.bind_data(data)
    together = bb.features(data.inputs, batch_size=4)
    alone = np.concatenate([bb.features([w]) for w in data.inputs])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert not np.allclose(bb.features(data.inputs, layer=0), together)


@pytest.mark.slow
def test_probe_and_finetune_learn_tones(tiny_spec):
    train, test = _tones(6), _tones(3, seed=1)
    probe = tk.TransferClassifier(backbone=tiny_spec, progress=False).fit(train)
    assert probe.score(test) >= 0.9  # two tones far apart, random encoder
    ft = tk.TransferClassifier(backbone=tiny_spec, strategy="finetune", unfreeze="all",
                               epochs=2, batch_size=4, progress=False).fit(train)
    before = tk.create_backbone(tiny_spec).state_dict()
    moved = [k for k, v in ft.backbone_.state_dict().items()
             if v.dtype.is_floating_point and not torch.equal(v, before[k])]
    assert moved  # the encoder itself was trained
    assert ft.predict_proba(test).shape == (len(test), 2)


def test_spectrogram_models_are_refused_with_the_reason():
    from transformers import WhisperConfig

    with pytest.raises(BackboneError, match=r"spectrograms.*wav2vec 2\.0, HuBERT"):
        detect_modality(WhisperConfig(d_model=8, encoder_layers=1, decoder_layers=1))
