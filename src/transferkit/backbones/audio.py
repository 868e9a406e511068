"""The audio backbone contract: waveforms at the data's rate in, the model's rate inside.

An audio dataset holds 1-D waveforms and one ``meta["sample_rate"]``. Its backbone declares
the rate it was trained at (:attr:`AudioBackbone.sample_rate`) and the lowest input rate it
accepts; :meth:`AudioBackbone.bind_data` tells it the rate of the data it is about to encode
(the estimators, :func:`~transferkit.extract_features` and the engine's data path do so), and
:meth:`AudioBackbone.preprocess` resamples, crops and pads each clip:

* resampling: SciPy's polyphase ``resample_poly`` from the data's rate to the model's;
* cropping: a clip longer than ``max_seconds`` keeps its middle ``max_seconds``;
* padding: a clip shorter than the model's shortest input gets silence on both sides
  (``pad="center"``) or after it (``pad="end"``).

A batch is padded with silence to its longest clip and carries every clip's true length, so
a backbone can leave the padding out of its pooling. Waveforms passed to
:meth:`~transferkit.backbones.base.Backbone.features` directly (not as a Dataset) are taken
to be at the backbone's own rate unless :meth:`bind_rate` said otherwise.

Also here: :class:`LogMel`, a log-mel spectrogram on ``torch.stft`` (torchaudio has no build
for this torch), shared by the from-scratch audio baselines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.audio import resample
from ..exceptions import ConfigError, DataError
from .base import Backbone

__all__ = ["AudioBackbone", "LogMel", "mel_filterbank", "PADS"]

PADS = ("center", "end")


class AudioBackbone(Backbone):
    """Base class of audio backbones: rate handling, cropping and padding (module docstring).

    Subclasses set :attr:`sample_rate` and :attr:`min_samples` and implement
    :meth:`forward_features` on ``{"audio": (B, T) float32, "lengths": (B,) int64}``.
    """

    modality = "audio"
    #: the rate (Hz) the model was trained at; inputs are resampled to it
    sample_rate: int = 16_000
    #: the lowest input rate accepted: below it the model's frequency band is not there
    min_input_rate: int = 8_000
    #: the shortest clip (in samples at :attr:`sample_rate`) the model can encode
    min_samples: int = 1

    def __init__(self, name: str, num_features: int, preprocess_config: dict | None = None,
                 max_seconds: float = 10.0, pad: str = "center") -> None:
        if pad not in PADS:
            raise ConfigError(f"pad must be one of {list(PADS)}; got {pad!r}.")
        if not isinstance(max_seconds, int | float) or not max_seconds > 0:
            raise ConfigError(f"max_seconds must be a number of seconds > 0; got "
                              f"{max_seconds!r}.")
        cfg = {"sample_rate": self.sample_rate, "max_seconds": float(max_seconds), "pad": pad,
               **(preprocess_config or {})}
        super().__init__(name, num_features, cfg)
        self.max_seconds = float(max_seconds)
        self.pad = pad
        self.input_rate = self.sample_rate

    # --- rates -------------------------------------------------------------------------------
    def bind_rate(self, rate: Any, where: str = "the data") -> None:
        """Take waveforms at ``rate`` Hz from now on.

        Raises:
            DataError: ``rate`` is not a positive whole number of Hz, or is below
                :attr:`min_input_rate`.
        """
        if rate is None:
            raise DataError(
                f"Expected the sample rate of {where} (meta['sample_rate']); got none. Fix: "
                "load audio with from_audio_folder / load_dataset, or from_arrays(waves, "
                "sample_rate=...).")
        if isinstance(rate, float) and rate.is_integer():
            rate = int(rate)
        if not isinstance(rate, int | np.integer) or isinstance(rate, bool) or rate <= 0:
            raise DataError(f"Expected a sample rate in whole Hz > 0 for {where}; got "
                            f"{rate!r}.")
        if rate < self.min_input_rate:
            raise DataError(
                f"{self.name} takes audio sampled at {self.min_input_rate} Hz or more (it "
                f"resamples to {self.sample_rate} Hz); got {int(rate)} Hz in {where}. "
                "Resampling up cannot restore the frequencies above "
                f"{int(rate) // 2} Hz that it listens to. Fix: record or export the audio at "
                f"{self.min_input_rate} Hz or more.")
        self.input_rate = int(rate)

    def bind_data(self, data: Any) -> None:
        """Take the rate of ``data`` (an audio Dataset), :meth:`bind_rate`."""
        self.bind_rate(data.meta.get("sample_rate"), repr(getattr(data, "name", "the data")))

    # --- preprocessing -----------------------------------------------------------------------
    def conform(self, wave: Any) -> np.ndarray:
        """One clip at the model's rate, cropped to ``max_seconds`` and padded to the model's
        shortest input."""
        x = np.asarray(wave, dtype=np.float32)
        if x.ndim != 1:
            raise DataError(f"Expected 1-D waveforms for {self.name}; got shape {x.shape}. Fix: "
                            "mix channels down to mono (from_audio_folder does).")
        x = resample(x, self.input_rate, self.sample_rate)
        longest = int(round(self.max_seconds * self.sample_rate))
        if len(x) > longest:
            start = (len(x) - longest) // 2
            x = x[start:start + longest]
        short = self.min_samples - len(x)
        if short > 0:
            before = short // 2 if self.pad == "center" else 0
            x = np.pad(x, (before, short - before))
        return x

    def preprocess(self, inputs: Sequence[Any]) -> dict[str, torch.Tensor]:
        clips = [self.conform(w) for w in inputs]
        lengths = np.array([len(c) for c in clips], dtype=np.int64)
        out = np.zeros((len(clips), int(lengths.max()) if len(clips) else 0), dtype=np.float32)
        for i, c in enumerate(clips):
            out[i, : len(c)] = c
        return {"audio": torch.from_numpy(out), "lengths": torch.from_numpy(lengths)}

    def input_lengths(self, inputs: Sequence[Any]) -> np.ndarray:
        return np.array([len(w) for w in inputs], dtype=np.int64)


# ----------------------------------------------------------------------------- log-mel


def _hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 20.0,
                   fmax: float | None = None) -> np.ndarray:
    """Triangular mel filters (HTK mel scale), ``(n_mels, n_fft // 2 + 1)`` float32."""
    fmax = float(fmax or sample_rate / 2)
    bins = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (bins[None] - lo) / np.maximum(mid - lo, 1e-9)
    down = (hi - bins[None]) / np.maximum(hi - mid, 1e-9)
    return np.maximum(0.0, np.minimum(up, down)).astype(np.float32)


class LogMel(nn.Module):
    """Log-mel spectrogram of a batch of waveforms, on ``torch.stft``.

    Shape:
        input ``(B, T)`` waveforms; output ``(B, n_mels, 1 + T // hop)`` natural-log mel
        energies (a Hann window of ``n_fft`` samples, centred frames).

    Args:
        sample_rate: the waveforms' rate in Hz.
        n_mels: mel bands; ``win_ms`` / ``hop_ms``: window and hop in milliseconds.
    """

    def __init__(self, sample_rate: int = 16_000, n_mels: int = 40, win_ms: float = 25.0,
                 hop_ms: float = 10.0, fmin: float = 20.0) -> None:
        super().__init__()
        self.win = int(round(sample_rate * win_ms / 1000))
        self.hop = int(round(sample_rate * hop_ms / 1000))
        self.n_fft = 1 << math.ceil(math.log2(self.win))
        fb = mel_filterbank(sample_rate, self.n_fft, n_mels, fmin)
        self.register_buffer("fb", torch.from_numpy(fb), persistent=False)
        self.register_buffer("window", torch.hann_window(self.win), persistent=False)

    def frames(self, lengths: torch.Tensor) -> torch.Tensor:
        """How many frames a clip of each length has (centred frames)."""
        return 1 + lengths // self.hop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(x, self.n_fft, self.hop, self.win, self.window.to(x.dtype),
                          center=True, pad_mode="constant", return_complex=True)
        power = spec.real.square() + spec.imag.square()
        return torch.log(torch.matmul(self.fb.to(power.dtype), power) + 1e-6)
