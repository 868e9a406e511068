"""The audio no-transfer baselines: log-mel statistics + logistic regression, and a log-mel CNN.

* ``logmel``: each clip, resampled to 16 kHz, becomes its 40-band log-mel spectrogram
  (:class:`~transferkit.backbones.audio.LogMel`, ``torch.stft``); per band the mean, standard
  deviation, minimum and maximum over time, and the mean and standard deviation of the
  frame-to-frame change (240 values) feed the probe's logistic regression (``C`` chosen on
  held-out rows). No learned features at all.
* ``logmel-cnn``: the :mod:`~transferkit.backbones.logmel_cnn` network with random weights,
  trained through the engine (with time-shift / gain / noise augmentation) exactly like the
  image CNN baseline: epochs chosen on a held-out 20 %, then trained on everything.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...backbones.audio import LogMel
from ...data.audio import resample
from ...data.dataset import Dataset
from ...exceptions import DataError
from ...heads import HEADS
from ...heads.logistic import LogisticHead
from .cnn import SmallCNN

__all__ = ["LogMelLogistic", "LogMelCNN", "logmel_statistics"]

RATE = 16_000
N_MELS = 40


def _rate(data: Dataset) -> int:
    rate = data.meta.get("sample_rate")
    if not rate:
        raise DataError(f"Expected the sample rate of {data.name!r} (meta['sample_rate']); "
                        "got none. Fix: from_arrays(waves, sample_rate=...).")
    return int(rate)


@torch.inference_mode()
def logmel_statistics(waves: list[np.ndarray], rate: int) -> np.ndarray:
    """``(N, 240)`` log-mel statistics of ``waves`` at ``rate`` Hz (module docstring)."""
    frontend = LogMel(RATE, n_mels=N_MELS)
    out = np.empty((len(waves), 6 * N_MELS), dtype=np.float32)
    for i, w in enumerate(waves):
        x = torch.from_numpy(resample(np.asarray(w, np.float32), rate, RATE))
        m = frontend(x[None])[0]  # (n_mels, frames)
        d = m[:, 1:] - m[:, :-1] if m.shape[1] > 1 else torch.zeros_like(m)
        out[i] = torch.cat([m.mean(1), m.std(1, correction=0), m.min(1).values,
                            m.max(1).values, d.mean(1), d.std(1, correction=0)]).numpy()
    return out


class LogMelLogistic:
    name = "logmel"
    description = "log-mel statistics (40 bands, 16 kHz) + logistic regression"
    #: fitted on and predicting from a Dataset (it needs the sample rate), not bare inputs
    takes_dataset = True

    def __init__(self) -> None:
        self.head: LogisticHead | None = None
        self.chosen: dict[str, Any] = {}

    def fit(self, data: Dataset, y: np.ndarray, n_classes: int, seed: int = 0
            ) -> LogMelLogistic:
        X = logmel_statistics(data.inputs, _rate(data))
        self.head = LogisticHead().fit(X, y, n_classes, seed=seed)
        self.chosen = dict(self.head.chosen)
        return self

    def predict_proba(self, data: Dataset) -> np.ndarray:
        return self.head.predict_proba(logmel_statistics(data.inputs, _rate(data)))

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"head_config": self.head.config, "chosen": self.chosen}, dict(self.head.arrays)

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]
                   ) -> LogMelLogistic:
        self = cls()
        self.head = HEADS.get("logistic").from_state(config["head_config"], arrays)
        self.chosen = dict(config.get("chosen", {}))
        return self


class LogMelCNN(SmallCNN):
    name = "logmel-cnn"
    description = "log-mel CNN trained from scratch (16 kHz, 1 s, shift/gain/noise augmentation)"
    backbone_name = "logmel-cnn"
    takes_dataset = True
    #: 3e-3 (the image CNN's) made the held-out loss jump between epochs on FSDD; 1e-3
    #: falls steadily over the 15 epochs
    lr = 1e-3
