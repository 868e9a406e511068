"""Starting a fine-tuned head from a linear probe (LP-FT, Kumar et al. 2022).

A freshly initialised head sends random gradients into the pre-trained backbone for its
first steps, and with few labels those steps are most of the run: with 100 MNIST digits
fine-tuning is only 30 optimiser steps. Fitting the head first as a probe on the frozen
features (seconds, from the feature cache when the backbone is unchanged) and fine-tuning
from there keeps the features from being distorted early and never starts below the probe.

BatchNorm layers that will train are first re-estimated on the training data (AdaBN), so
the probe sees the features the network will produce in its first training steps.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import nn

from ..engine.batchnorm import recalibrate_batchnorm
from ..engine.data import ExampleData
from ..features import extract_features
from ..heads.base import holdout_split
from ..heads.logistic import LogisticHead
from ..utils.defaults import BATCH_SIZE

__all__ = ["HEAD_INITS", "held_out_temperature", "init_head_from_probe"]

#: the values of ``head_init``
HEAD_INITS = ("probe", "random")


def held_out_temperature(X: np.ndarray, y: np.ndarray, n_classes: int, C: float,
                         coef: np.ndarray, intercept: np.ndarray, seed: int) -> float:
    """Temperature (>= 1) for the probe's logits: training loss = held-out loss.

    A probe fitted to near-zero training loss gives the backbone almost no gradient, so
    fine-tuning barely moves (Ren et al. 2023, "How to prepare your task head for
    finetuning"): on 100 MNIST digits the fine-tuned network ended exactly where the probe
    was. Dividing the logits by a temperature keeps every prediction (the argmax does not
    change) but makes the head as unsure on its training examples as a probe fitted without
    them is on unseen ones (measured on a stratified 20% held out, at its best temperature):
    the gradient is then the part of the task the frozen features do not yet explain.
    """
    fit_idx, hold_idx = holdout_split(y, 0.2, seed)
    if len(hold_idx) < 2 or len(np.unique(y[fit_idx])) < 2:
        return 1.0
    ce = torch.nn.functional.cross_entropy
    part = LogisticHead(C=C, standardize=False).fit(X[fit_idx], y[fit_idx], n_classes, seed=seed)
    held = torch.from_numpy(part.decision_function(X[hold_idx]).astype(np.float64))
    held_y = torch.from_numpy(y[hold_idx].astype(np.int64))
    grid = np.exp(np.linspace(0.0, np.log(100.0), 93))
    target = min(float(ce(held / t, held_y)) for t in grid)
    logits = torch.from_numpy((X @ coef + intercept).astype(np.float64))
    train_y = torch.from_numpy(y.astype(np.int64))
    # The training loss grows with the temperature: the first one that reaches the target.
    for t in grid:
        if float(ce(logits / t, train_y)) >= target:
            return float(t)
    return float(grid[-1])


def init_head_from_probe(
    module: nn.Module,
    head: nn.Module,
    train: ExampleData,
    train_dataset: Any,
    rows: np.ndarray | None,
    source_backbone: Any,
    n_classes: int,
    batch_size: int,
    seed: int,
    cache: bool = True,
) -> dict[str, Any]:
    """Fit ``head`` (a :class:`~transferkit.heads.torch_heads.LinearHead`) as a probe, in place.

    Args:
        module: backbone + head (its trainable BatchNorm statistics are re-estimated first).
        head: the linear head to initialise.
        train: the examples the head will train on (labels included).
        train_dataset: the full training Dataset (its features may be cached).
        rows: which rows of ``train_dataset`` are in ``train`` (``None``: all).
        source_backbone: the backbone whose cached features equal the module's (an unchanged
            pre-trained backbone); used only when no BatchNorm statistics changed.
        n_classes: number of classes.
        batch_size: examples per batch when re-estimating BatchNorm statistics.
        seed: seeds the probe's held-out split.
        cache: read and write the feature cache.

    Returns:
        What happened, for the run record (``kind``, ``C``, ``seconds``, ...).
    """
    t0 = time.perf_counter()
    recalibrated = recalibrate_batchnorm(module, lambda b: module(b["inputs"]), train,
                                         batch_size, seed=seed)
    if recalibrated == 0:
        feats = extract_features(source_backbone, train_dataset, batch_size=BATCH_SIZE, cache=cache,
                                 progress=False)
        X = np.asarray(feats if rows is None else feats[rows], dtype=np.float32)
    else:
        backbone = module.backbone  # type: ignore[union-attr]
        X = backbone.features(train.inputs, batch_size=BATCH_SIZE)
    t1 = time.perf_counter()
    with torch.no_grad():
        # Cached features arrive read-only (memory-mapped); torch wants a writable array.
        Xn = head.norm(torch.from_numpy(np.require(X, requirements=["C", "W"]))).numpy()  # type: ignore[union-attr]
    y = np.asarray(train.labels)
    probe = LogisticHead(standardize=False).fit(Xn, y, n_classes, seed=seed)
    C = float(probe.chosen["C"])
    temperature = held_out_temperature(Xn, y, n_classes, C, probe.arrays["coef"],
                                       probe.arrays["intercept"], seed)
    with torch.no_grad():
        coef = torch.from_numpy(probe.arrays["coef"].T / temperature)
        head.fc.weight.copy_(coef)  # type: ignore[union-attr]
        head.fc.bias.copy_(torch.from_numpy(probe.arrays["intercept"] / temperature))  # type: ignore[union-attr]
    return {
        "kind": "probe",
        "C": C,
        "temperature": round(temperature, 4),
        "batchnorm_layers_recalibrated": int(recalibrated),
        "features_cached": recalibrated == 0 and bool(cache),
        "seconds_features": round(t1 - t0, 3),
        "seconds_head": round(time.perf_counter() - t1, 3),
    }
