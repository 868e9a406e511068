"""``logmel-cnn``: a small CNN on log-mel spectrograms, for training audio models from scratch.

Nothing pre-trained: the audio no-transfer baseline (``strategy="baseline"``,
``baseline="logmel-cnn"``) trains it through the engine. Clips are resampled to 16 kHz and
cropped or padded (centred) to ``seconds``; the 40-band log-mel spectrogram (25 ms Hann
window, 10 ms hop, :class:`~transferkit.backbones.audio.LogMel`) is floored 60 dB below the
clip's loudest value and normalised per clip (so loudness does not matter), then four 3x3
convolution blocks (16, 32, 64, 128 channels, batch norm, max-pooling) and a global average
give 128 features.

While training (``module.train()``) each batch is augmented on the waveform: a random time
shift of up to ``shift`` seconds either way, a random gain of up to ``gain_db`` dB, and
Gaussian noise at a random signal-to-noise ratio between ``snr_db`` dB and 40 dB.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..data.augment.audio import augment_waves
from .audio import AudioBackbone, LogMel
from .registry import register_backbone

__all__ = ["LogMelCNN", "augment_waves", "TOP_DB"]

TOP_DB = 60.0  #: log-mel values more than this many dB below a clip's loudest are floored


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class LogMelCNN(AudioBackbone):
    """Four conv blocks on a normalised 40-band log-mel spectrogram; 128 features.

    Args:
        seconds: every clip is cropped or padded (centred) to this length.
        augment: augment training batches (time shift, gain, noise).
        seed: the random initialisation.
    """

    sample_rate = 16_000
    min_input_rate = 4_000
    rebuildable = False  # random weights: a saved run stores them

    def __init__(self, seconds: float = 1.0, augment: bool = True, seed: int = 0) -> None:
        self.min_samples = int(round(seconds * self.sample_rate))
        super().__init__("logmel-cnn", 128, {"n_mels": 40, "seconds": float(seconds),
                                             "augment": bool(augment)},
                         max_seconds=seconds, pad="center")
        self.augment = bool(augment)
        torch.manual_seed(int(seed))
        self.logmel = LogMel(self.sample_rate, n_mels=40)
        self.blocks = nn.ModuleList([_block(1, 16), _block(16, 32), _block(32, 64),
                                     _block(64, 128)])
        self.source = f"random init (seed {seed})"

    def forward_features(self, batch: dict[str, torch.Tensor], layer: int = -1) -> torch.Tensor:
        x = batch["audio"].float()
        if self.training and self.augment:
            x = augment_waves(x, self.sample_rate)
        m = self.logmel(x)
        # A floor TOP_DB below the clip's loudest bin: the silence a short clip is padded with
        # (exact zeros, log 1e-6) and the training noise that fills it then look alike; without
        # it the network learnt on noisy padding met bare zeros at inference.
        m = torch.maximum(m, m.amax(dim=(1, 2), keepdim=True) - TOP_DB * math.log(10) / 10)
        m = (m - m.mean(dim=(1, 2), keepdim=True)) / (m.std(dim=(1, 2), keepdim=True) + 1e-5)
        h = m[:, None]
        for i, blk in enumerate(self.blocks):
            h = blk(h)
            if i < len(self.blocks) - 1:
                h = F.max_pool2d(h, 2)
        return h.mean(dim=(2, 3))

    def layer_groups(self) -> list[tuple[str, nn.Module]]:
        return [(f"block{i}", b) for i, b in enumerate(self.blocks)]


@register_backbone(
    "logmel-cnn",
    modality="audio",
    num_features=128,
    params="0.10M",
    license="none (random init; trained from scratch)",
    description="small CNN on 40-band log-mel spectrograms (16 kHz, 1 s), random init: the "
                "audio from-scratch baseline",
)
def logmel_cnn(seconds: float = 1.0, augment: bool = True, seed: int = 0,
               **_: Any) -> LogMelCNN:
    return LogMelCNN(seconds=seconds, augment=augment, seed=seed)
