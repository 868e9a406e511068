"""Reading, checking and resampling audio; audio folders and tables of paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import transferkit as tk
from transferkit.backbones.audio import AudioBackbone
from transferkit.data import read_audio, resample
from transferkit.exceptions import DataError


def _peak_hz(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spec))])


@pytest.mark.parametrize("rate,target", [(8000, 16000), (44100, 16000), (16000, 8000)])
def test_resampling_keeps_a_sines_frequency(make_tone, rate, target):
    x = make_tone(440.0, seconds=1.0, rate=rate)
    y = resample(x, rate, target)
    assert len(y) == target  # one second stays one second
    assert abs(_peak_hz(y, target) - 440.0) <= 1.0
    # and the level: a 0.5 sine keeps its amplitude (away from the filter's edges)
    assert abs(np.abs(y[target // 4: -target // 4]).max() - 0.5) < 0.01


def test_resample_same_rate_is_identity(make_tone):
    x = make_tone(300.0)
    assert resample(x, 8000, 8000) is x


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_pcm_widths_read_back(tmp_path, make_wav, make_tone, width):
    x = make_tone(500.0, seconds=0.1)
    y, rate = read_audio(make_wav(tmp_path / f"w{width}.wav", x, width=width))
    assert rate == 8000 and y.dtype == np.float32
    tol = 1 / 100 if width == 1 else 1e-4
    assert np.abs(y - x).max() < tol


def test_stereo_is_mixed_down_to_mono(tmp_path, make_wav, make_tone):
    left, right = make_tone(400.0, seconds=0.1), make_tone(900.0, seconds=0.1, amp=0.25)
    y, _ = read_audio(make_wav(tmp_path / "st.wav", np.stack([left, right], 1), channels=2))
    assert y.ndim == 1
    np.testing.assert_allclose(y, (left + right) / 2, atol=1e-4)


def test_truncated_file_is_named(tmp_path, make_wav, make_tone):
    p = make_wav(tmp_path / "cut.wav", make_tone(440.0, seconds=0.5))
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut\.wav.*truncated.*skip_bad"):
        read_audio(p)


def test_zero_length_clip(tmp_path, make_wav):
    p = make_wav(tmp_path / "empty.wav", np.zeros(0))
    with pytest.raises(DataError, match=r"empty\.wav.*zero-length"):
        read_audio(p)


def test_silent_clip(tmp_path, make_wav):
    p = make_wav(tmp_path / "quiet.wav", np.zeros(800))
    with pytest.raises(DataError, match=r"quiet\.wav.*silent clip"):
        read_audio(p)


def test_unsupported_sample_width(tmp_path, make_header):
    p = tmp_path / "wide.wav"
    p.write_bytes(make_header(40, 10) + bytes(50))
    with pytest.raises(DataError, match=r"Expected 8-, 16-, 24- or 32-bit.*got 40-bit.*Fix"):
        read_audio(p)


def test_unreadable_file(tmp_path):
    p = tmp_path / "junk.flac"
    p.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(DataError, match=r"junk\.flac"):
        read_audio(p)


class _Tiny(AudioBackbone):
    """An audio backbone with no weights: mean and peak of each clip."""

    min_input_rate = 8000
    min_samples = 160

    def __init__(self):
        super().__init__("tiny-audio", 2)

    def forward_features(self, batch, layer=-1):
        import torch

        a, n = batch["audio"], batch["lengths"]
        mask = torch.arange(a.shape[1])[None] < n[:, None]
        return torch.stack([(a.abs() * mask).sum(1) / n, (a.abs() * mask).amax(1)], 1)

    def layer_groups(self):
        return []


def test_a_rate_the_backbone_cannot_take(make_tone):
    ds = tk.from_arrays([make_tone(300.0, rate=4000)], labels=["a"], sample_rate=4000,
                        modality="audio", name="low")
    with pytest.raises(DataError, match=r"8000 Hz or more.*got 4000 Hz in 'low'.*Fix"):
        tk.extract_features(_Tiny(), ds, cache=False)


def test_backbone_resamples_from_the_datas_rate(make_tone):
    bb = _Tiny()
    at8 = tk.from_arrays([make_tone(300.0, rate=8000)], sample_rate=8000, modality="audio",
                         allow_unlabelled=True)
    at16 = tk.from_arrays([make_tone(300.0, rate=16000)], sample_rate=16000, modality="audio",
                          allow_unlabelled=True)
    f8 = tk.extract_features(bb, at8, cache=False)
    f16 = tk.extract_features(bb, at16, cache=False)
    np.testing.assert_allclose(f8, f16, rtol=0.02)  # the same sound at either rate
    assert at8.fingerprint() != tk.from_arrays(at8.inputs, sample_rate=16000, modality="audio",
                                               allow_unlabelled=True).fingerprint()


def _folder(root, make_wav, make_tone, speakers=("ann", "bob", "cy"), per=2):
    for digit, freq in (("low", 300.0), ("high", 1200.0)):
        for s_i, spk in enumerate(speakers):
            for k in range(per):
                make_wav(root / digit / f"{digit}_{spk}_{k}.wav",
                         make_tone(freq * (1 + 0.03 * s_i), seed=k))
    return root


def test_from_audio_folder_labels_groups_and_rate(tmp_path, make_wav, make_tone):
    root = _folder(tmp_path / "clips", make_wav, make_tone)
    ds = tk.from_audio_folder(root, group_pattern=r"_([a-z]+)_", group_name="speaker")
    assert ds.modality == "audio" and len(ds) == 12
    assert sorted(set(ds.labels)) == ["high", "low"]
    assert sorted(set(ds.domains)) == ["ann", "bob", "cy"]
    assert ds.meta["sample_rate"] == 8000 and ds.meta["domain_col"] == "speaker"
    assert tk.from_audio_folder(root, sample_rate=16000).inputs[0].shape == (8000,)
    # load_dataset recognises a folder of audio class folders
    assert tk.load_dataset(str(root)).train.modality == "audio"


def test_skip_bad_leaves_out_and_names_bad_clips(tmp_path, make_wav, make_tone):
    root = _folder(tmp_path / "clips", make_wav, make_tone)
    make_wav(root / "low" / "silent.wav", np.zeros(400))
    (root / "high" / "broken.wav").write_bytes(b"RIFF....garbage")
    with pytest.raises(DataError, match=r"silent\.wav|broken\.wav"):
        tk.from_audio_folder(root)
    ds = tk.from_audio_folder(root, skip_bad=True)
    assert len(ds) == 12 and ds.meta["skipped"] == 2
    assert sorted(ds.meta["skipped_files"]) == ["high/broken.wav", "low/silent.wav"]


def test_table_with_a_path_column_is_audio(tmp_path, make_wav, make_tone):
    root = _folder(tmp_path / "clips", make_wav, make_tone)
    rows = [{"path": str(p.relative_to(tmp_path)), "label": p.parent.name,
             "speaker": p.stem.split("_")[1]} for p in sorted(root.rglob("*.wav"))]
    pd.DataFrame(rows).to_csv(tmp_path / "clips.csv", index=False)
    ds = tk.from_table(tmp_path / "clips.csv", domain_col="speaker")
    assert ds.modality == "audio" and len(ds) == 12 and ds.meta["sample_rate"] == 8000
    assert set(ds.domains) == {"ann", "bob", "cy"}
    # JSON lines through the same loaders
    pd.DataFrame(rows).to_json(tmp_path / "clips.jsonl", orient="records", lines=True)
    assert tk.from_table(tmp_path / "clips.jsonl").modality == "audio"


def test_subsets_of_encoded_clips_are_not_encoded_again(make_tone):
    class Counting(_Tiny):
        calls = 0

        def forward_features(self, batch, layer=-1):
            type(self).calls += len(batch["audio"])
            return super().forward_features(batch, layer)

    waves = [make_tone(200.0 + 50 * i, seconds=0.2) for i in range(12)]
    ds = tk.from_arrays(waves, labels=[i % 2 for i in range(12)], sample_rate=8000,
                        modality="audio")
    bb = Counting()
    whole = tk.extract_features(bb, ds)
    n = Counting.calls
    part = tk.extract_features(bb, ds.subset([3, 1, 7]))
    assert Counting.calls == n  # taken from the whole set's rows
    np.testing.assert_array_equal(part, whole[[3, 1, 7]])
    # the same samples at another rate are other sounds: encoded
    other = tk.from_arrays(waves[:2], sample_rate=16000, modality="audio",
                           allow_unlabelled=True)
    tk.extract_features(bb, other)
    assert Counting.calls >= n + 2
