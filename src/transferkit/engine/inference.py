"""Batched inference for trained modules: shortest-first batches, the fastest local device."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..utils.defaults import BATCH_SIZE
from .data import ExampleData

__all__ = ["predict_outputs", "inference_device"]


def inference_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@torch.inference_mode()
def predict_outputs(module: nn.Module, data: ExampleData, batch_size: int = BATCH_SIZE
                    ) -> np.ndarray:
    """``module(batch["inputs"])`` for every row of ``data``, as float32, in input order.

    The module runs in eval mode on the GPU when there is one and is returned to its
    device and mode afterwards.
    """
    n = len(data)
    was_training = module.training
    home = next(module.parameters()).device
    device = inference_device()
    module.eval()
    module.to(device)
    try:
        out: np.ndarray | None = None
        order = data.eval_order()
        for s in range(0, n, batch_size):
            idx = order[s: s + batch_size]
            inputs = {k: v.to(device) for k, v in data.preprocess(data.take(idx)).items()}
            y = module(inputs).float().cpu().numpy()
            if out is None:
                out = np.empty((n, *y.shape[1:]), dtype=np.float32)
            out[idx] = y
        return out if out is not None else np.empty((0,), dtype=np.float32)
    finally:
        module.to(home)
        module.train(was_training)
