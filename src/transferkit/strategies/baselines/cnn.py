"""A small CNN trained from scratch: the image baseline that learns its own features.

The network is transferkit's LeNet (two 5x5 convolutions with BatchNorm and max-pooling, a
500-unit layer; grey 28x28 inputs, colour images converted to grey) with random weights,
trained by the ``scratch`` strategy's loop (the one training loop: same optimiser, schedule
and early stopping as fine-tuning). Its regularisation is chosen on held-out data: the
epoch kept is the one with the lowest loss on a stratified 20% of the training rows (early
stopping), before the network is trained on everything for that many epochs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from safetensors.torch import load_file, save_file

from ...backbones import create_backbone
from ...backbones.registry import bind_to_data
from ...data.dataset import Dataset
from ...heads.base import holdout_split
from ..base import FitContext
from ..scratch import ScratchStrategy

__all__ = ["SmallCNN"]

EPOCHS = 15
PATIENCE = 3
#: where the CNN's own weights go in a run folder (the head goes where ``scratch`` puts it)
WEIGHTS = "baseline_cnn.safetensors"


class SmallCNN:
    name = "cnn"
    description = "LeNet-style CNN trained from scratch (grey 28x28)"
    #: the registered backbone trained from scratch (the audio CNN subclasses this class)
    backbone_name = "lenet"
    #: fitted on and predicting from a Dataset, not bare inputs
    takes_dataset = True
    #: the learning rate of its training
    lr = 3e-3

    def __init__(self, **settings: Any) -> None:
        self.settings = settings
        self.net: Any = None
        self.strategy: ScratchStrategy | None = None
        self.chosen: dict[str, Any] = {}

    def _params(self, epochs: int, patience: int | None) -> dict[str, Any]:
        return {"seed": self.settings.get("seed", 0), "progress": False,
                "batch_size": self.settings.get("batch_size"), "epochs": epochs,
                "lr": self.lr, "patience": patience}

    def fit(self, data: Dataset, y: np.ndarray, n_classes: int, seed: int = 0) -> SmallCNN:
        fit_idx, hold_idx = holdout_split(y, 0.2, seed)
        epochs = EPOCHS
        if len(hold_idx) >= n_classes:
            net = create_backbone(self.backbone_name, seed=seed)
            bind_to_data(net, data)  # audio: the data's sample rate
            probe = ScratchStrategy(**self._params(EPOCHS, PATIENCE))
            probe.fit(FitContext(net, -1, data.subset(fit_idx), y[fit_idx], n_classes, {},
                                 val=data.subset(hold_idx), y_val=y[hold_idx]))
            losses = [h.get("val_loss") for h in probe.history if h.get("val_loss") is not None]
            if losses:
                epochs = int(np.argmin(losses)) + 1
            self.chosen["val_loss_by_epoch"] = [float(v) for v in losses]
        self.net = create_backbone(self.backbone_name, seed=seed)
        bind_to_data(self.net, data)
        self.strategy = ScratchStrategy(**self._params(epochs, None))
        self.strategy.fit(FitContext(self.net, -1, data, y, n_classes, {}))
        self.chosen["epochs"] = epochs
        return self

    def predict_proba(self, data: Dataset) -> np.ndarray:
        return self.strategy.predict_proba(self.net, -1, data)

    def save(self, folder: Path) -> dict[str, Any]:
        save_file({k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()},
                  str(folder / WEIGHTS))
        return {"scratch": self.strategy.save(folder), "chosen": self.chosen,
                "settings": {k: v for k, v in self.settings.items() if k != "progress"}}

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any]) -> SmallCNN:
        self = cls(**config.get("settings", {}))
        self.chosen = dict(config.get("chosen", {}))
        self.net = create_backbone(cls.backbone_name, seed=int(self.settings.get("seed", 0)))
        self.net.load_state_dict(load_file(str(folder / WEIGHTS)), strict=True)
        self.net.eval()
        cfg = {**config["scratch"], "params": self._params(self.chosen.get("epochs", 1), None)}
        self.strategy = ScratchStrategy.load(folder, cfg, self.net)
        return self
