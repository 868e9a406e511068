"""Audio policies on preprocessed ``(B, T)`` waveforms: time shift, gain, noise, SpecAugment.

The waveform operations are the ones the log-mel CNN baseline has always trained with
(:class:`~transferkit.backbones.logmel_cnn.LogMelCNN` imports :func:`augment_waves` from
here); as policies they serve every audio backbone that trains.

``specaugment`` (Park et al. 2019, https://arxiv.org/abs/1904.08779) masks frequency bands
and time spans. Backbones compute their spectrograms inside the model, so the masks are
applied to the waveform: a band is cut out of the clip's spectrum (FFT, zero the bins, inverse
FFT: every frame of its spectrogram loses that band, on a linear rather than mel scale) and
a span of samples is zeroed. Widths are shares of the band and of the clip.
"""

from __future__ import annotations

from typing import Any

import torch

from .policy import AugmentPolicy, Knob, register_augmentation, tensor_key

__all__ = ["augment_waves", "time_shift", "random_gain", "add_noise", "spec_augment",
           "WavePolicy"]


def time_shift(x: torch.Tensor, most: int, generator: torch.Generator | None = None
               ) -> torch.Tensor:
    """Shift each row of ``(B, T)`` by up to ``most`` samples either way (zeros fill in)."""
    b, t = x.shape
    out = torch.zeros_like(x)
    offsets = torch.randint(-most, most + 1, (b,), generator=generator) if most else \
        torch.zeros(b, dtype=torch.long)
    for i, o in enumerate(offsets.tolist()):
        if o >= 0:
            out[i, o:] = x[i, : t - o]
        else:
            out[i, : t + o] = x[i, -o:]
    return out


def random_gain(x: torch.Tensor, gain_db: float, generator: torch.Generator | None = None
                ) -> torch.Tensor:
    """Scale each row by a gain drawn uniformly in ``[-gain_db, +gain_db]`` dB."""
    gain = 10 ** ((torch.rand(x.shape[0], 1, generator=generator) * 2 - 1) * gain_db / 20)
    return x * gain.to(x.dtype)


def add_noise(x: torch.Tensor, snr_db: tuple[float, float],
              generator: torch.Generator | None = None) -> torch.Tensor:
    """White background noise at a signal-to-noise ratio drawn in ``snr_db`` per row."""
    lo, hi = snr_db
    snr = lo + torch.rand(x.shape[0], 1, generator=generator) * (hi - lo)
    power = x.square().mean(dim=1, keepdim=True).clamp_min(1e-10)
    noise = torch.randn(x.shape, generator=generator).to(x.dtype)
    return x + noise * torch.sqrt(power / 10 ** (snr.to(x.dtype) / 10))


def augment_waves(x: torch.Tensor, sample_rate: int, shift: float = 0.1, gain_db: float = 6.0,
                  snr_db: float = 15.0, generator: torch.Generator | None = None
                  ) -> torch.Tensor:
    """Time shift (up to ``shift`` s), gain (±``gain_db``) and noise (SNR ``snr_db``..40 dB)
    for a ``(B, T)`` batch of waveforms."""
    out = time_shift(x, int(shift * sample_rate), generator)
    out = random_gain(out, gain_db, generator)
    return add_noise(out, (snr_db, 40.0), generator)


def spec_augment(x: torch.Tensor, freq_masks: int, freq_width: float, time_masks: int,
                 time_width: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero ``freq_masks`` bands (each up to ``freq_width`` of the spectrum) and
    ``time_masks`` spans (each up to ``time_width`` of the clip) of ``(B, T)`` waveforms."""
    b, t = x.shape
    out = x
    if freq_masks and freq_width > 0:
        spec = torch.fft.rfft(x.float(), dim=1)
        bins = spec.shape[1]
        idx = torch.arange(bins)
        keep = torch.ones(b, bins, dtype=torch.bool)
        for _ in range(int(freq_masks)):
            width = (torch.rand(b, generator=generator) * freq_width * bins).long()
            start = (torch.rand(b, generator=generator) * (bins - width)).long()
            keep &= ~((idx >= start[:, None]) & (idx < (start + width)[:, None]))
        out = torch.fft.irfft(spec * keep, n=t, dim=1).to(x.dtype)
    if time_masks and time_width > 0:
        idx = torch.arange(t)
        keep = torch.ones(b, t, dtype=torch.bool)
        for _ in range(int(time_masks)):
            width = (torch.rand(b, generator=generator) * time_width * t).long()
            start = (torch.rand(b, generator=generator) * (t - width)).long()
            keep &= ~((idx >= start[:, None]) & (idx < (start + width)[:, None]))
        out = out * keep
    return out


def _wave_key(inputs: dict[str, Any]) -> str:
    return tensor_key(inputs, 2, "An audio augmentation policy expected (B, T) waveforms",
                      "an audio")


class WavePolicy(AugmentPolicy):
    """Shared by the audio policies: find the waveforms, transform them."""

    stage = "tensors"

    @property
    def sample_rate(self) -> int:
        rate = self.context.sample_rate if self.context is not None else None
        return int(rate or 16_000)

    def transform(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def augment_tensors(self, inputs: dict[str, Any], generator: torch.Generator
                        ) -> dict[str, Any]:
        key = _wave_key(inputs)
        inputs[key] = self.transform(inputs[key], generator)
        return inputs


@register_augmentation("time-shift", "audio", "shift each clip in time (zeros fill in)")
class TimeShiftPolicy(WavePolicy):
    KNOBS = (Knob("shift", 0.1, "float", 0.0, 5.0, "largest shift in seconds"),)
    EXAMPLE = "time-shift,shift=0.1"

    def transform(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return time_shift(x, int(self.shift * self.sample_rate), g)


@register_augmentation("gain", "audio", "random loudness change")
class GainPolicy(WavePolicy):
    KNOBS = (Knob("db", 6.0, "float", 0.0, 40.0, "largest gain either way, in dB"),)
    EXAMPLE = "gain,db=6"

    def transform(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return random_gain(x, float(self.db), g)


@register_augmentation("noise", "audio", "white background noise at a random SNR")
class NoisePolicy(WavePolicy):
    KNOBS = (Knob("snr", (15.0, 40.0), "range", -20.0, 100.0, "signal-to-noise ratio, dB"),)
    EXAMPLE = "noise,snr=15-40"

    def transform(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return add_noise(x, tuple(self.snr), g)


@register_augmentation("shift-gain-noise", "audio", "time shift, gain and noise together (the "
                       "log-mel CNN's own training augmentation)")
class ShiftGainNoisePolicy(WavePolicy):
    KNOBS = (TimeShiftPolicy.KNOBS[0], GainPolicy.KNOBS[0],
             Knob("snr", 15.0, "float", -20.0, 40.0, "lowest SNR in dB (up to 40 dB)"))
    EXAMPLE = "shift-gain-noise,shift=0.1,db=6,snr=15"

    def transform(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return augment_waves(x, self.sample_rate, float(self.shift), float(self.db),
                             float(self.snr), g)


@register_augmentation("specaugment", "audio", "SpecAugment: mask frequency bands and time "
                       "spans")
class SpecAugmentPolicy(WavePolicy):
    KNOBS = (Knob("freq_masks", 2, "int", 0, 10, "frequency bands masked"),
             Knob("freq_width", 0.1, "float", 0.0, 0.5, "largest band, share of the spectrum"),
             Knob("time_masks", 2, "int", 0, 10, "time spans masked"),
             Knob("time_width", 0.05, "float", 0.0, 0.5, "largest span, share of the clip"))
    EXAMPLE = "specaugment,freq_masks=2,time_masks=2"

    def transform(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return spec_augment(x, int(self.freq_masks), float(self.freq_width),
                            int(self.time_masks), float(self.time_width), g)
