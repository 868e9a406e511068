"""Contrastive few-shot tuning, SetFit-style: tune the encoder on sentence pairs, then a head.

Our own implementation of SetFit (Tunstall et al. 2022, "Efficient Few-Shot Learning Without
Prompts", https://arxiv.org/abs/2209.11055), no ``setfit`` import:

1. pairs from the few labelled examples (:func:`~transferkit.fewshot.pairs.make_pairs`:
   ``num_iterations`` positives and as many negatives per example, seeded);
2. the encoder is tuned so that the cosine similarity of a pair's embeddings matches its
   target (1 same class, 0 different) — sentence-transformers' ``CosineSimilarityLoss``, a
   mean squared error on cosines — through the shared training engine
   (:func:`transferkit.engine.train`: AdamW, warm-up then decay, gradient clipping, devices);
3. a probe head (logistic by default) is fitted on the tuned embeddings of all examples.

Early stopping on a held-out shot: with a validation set, or when every class has at least
4 examples (one per class is then held out of the pairs), the pairs are run in ``rounds``
equal parts (engine epochs); after each, the held-out pair loss (held-out example against
every pair example of its class, and as many of other classes) is measured, the best round's
weights are kept, and if no round beats the untuned encoder the pre-trained weights are put
back — tuning that hurts is undone. The held-out examples still join the head's data.

Settings, from the estimator's parameters (``None`` means the default in brackets; the
defaults are SetFit's): ``num_iterations`` [20], ``lr``
[2e-5], ``pair_batch_size`` [16 pairs per step; ``batch_size`` stays the encoding batch],
``warmup`` [0.1], ``weight_decay`` [0.01], ``lr_schedule`` [the estimator's, cosine; SetFit's
is linear], ``unfreeze`` / ``freeze_pattern`` [all layer groups], ``patience`` (rounds),
``precision``, ``devices``, ``seed``; ``head`` / ``C`` for the head as in the probe. One pass
is made over the pairs (SetFit's one epoch), so ``epochs`` is not used: ``num_iterations``
sets the amount of tuning.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import load_file, save_file
from torch import nn

from ..engine import ExampleData, Freezer, Task, TrainConfig, build_param_groups, plan_freezing
from ..engine import train as engine_train
from ..engine.params import ENGINE_PARAMS, FREEZING_PARAMS
from ..features import extract_features
from ..heads import HEADS, make_probe_head
from ..strategies.base import FitContext, Strategy, register_strategy
from ..strategies.params import COMMON, PROBE_HEAD
from ..utils.params import Param, Params
from .pairs import make_pairs

__all__ = [
    "ContrastiveStrategy",
    "ContrastiveTask",
    "PairData",
    "contrastive_tune",
    "cosine_similarity_loss",
    "heldout_pairs",
]

log = logging.getLogger(__name__)

_ROUNDS_WITH_VALIDATION = 4


def cosine_similarity_loss(u: torch.Tensor, v: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error between ``cos(u, v)`` and ``target`` (sentence-transformers'
    ``CosineSimilarityLoss``, used by SetFit).

    Shape:
        u, v: ``(B, F)`` embeddings; target: ``(B,)`` in ``[0, 1]`` (or ``[-1, 1]``).
    """
    cos = torch.nn.functional.cosine_similarity(u.float(), v.float(), dim=-1)
    return torch.nn.functional.mse_loss(cos, target.float())


class PairData(ExampleData):
    """Pairs of inputs as engine rows; a batch encodes each distinct input once.

    With ``rounds > 1`` the pairs are cut into that many equal consecutive parts and engine
    epoch ``e`` sees part ``e % rounds`` (:meth:`set_round`), so one pass over the pairs can be
    validated several times. A few trailing pairs (fewer than ``rounds``) are dropped.

    Args:
        inputs: the raw inputs the pair indices point into.
        a, b: ``(P,)`` indices of the two sides.
        target: ``(P,)`` target cosine similarities.
        preprocess: the backbone's ``preprocess``.
        rounds: parts the pairs are run in.
    """

    def __init__(self, inputs: Sequence[Any], a: np.ndarray, b: np.ndarray, target: np.ndarray,
                 preprocess: Any, rounds: int = 1) -> None:
        super().__init__(inputs, None, preprocess)
        self.a = np.asarray(a, dtype=np.int64)
        self.b = np.asarray(b, dtype=np.int64)
        self.target = np.asarray(target, dtype=np.float32)
        self.rounds = max(1, int(rounds))
        self.per_round = len(self.a) // self.rounds
        self.round = 0

    def __len__(self) -> int:
        return self.per_round

    def set_round(self, r: int) -> None:
        self.round = int(r) % self.rounds

    def eval_order(self) -> np.ndarray:
        return np.arange(len(self))

    def batch(self, idx: Sequence[int] | np.ndarray) -> dict[str, Any]:
        rows = self.round * self.per_round + np.asarray(idx, dtype=np.int64)
        uniq, inv = np.unique(np.concatenate([self.a[rows], self.b[rows]]), return_inverse=True)
        return {"inputs": self.preprocess(self.take(uniq)),
                "inv": torch.from_numpy(inv.astype(np.int64)),
                "target": torch.from_numpy(self.target[rows])}


class _Encoder(nn.Module):
    """The backbone as a module returning features of one layer (what the engine trains)."""

    def __init__(self, backbone: nn.Module, layer: int = -1) -> None:
        super().__init__()
        self.backbone = backbone
        self.layer = int(layer)

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.backbone.forward_features(inputs, self.layer)


class ContrastiveTask(Task):
    """The engine task: cosine-similarity loss on pair batches of :class:`PairData`."""

    validation_keys = ("loss", "correct", "count")

    def __init__(self, module: _Encoder, groups: list[dict[str, Any]], data: PairData) -> None:
        self.module = module
        self.groups = groups
        self.data = data

    def param_groups(self) -> list[dict[str, Any]]:
        return self.groups

    def on_epoch_start(self, epoch: int) -> None:
        self.data.set_round(epoch)

    @staticmethod
    def _sides(emb: torch.Tensor, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(batch["target"])
        inv = batch["inv"]
        return emb[inv[:n]], emb[inv[n:]]

    def training_step(self, model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        u, v = self._sides(model(batch["inputs"]), batch)
        return cosine_similarity_loss(u, v, batch["target"])

    def validation_step(self, module: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        u, v = self._sides(module(batch["inputs"]).float(), batch)
        cos = torch.nn.functional.cosine_similarity(u, v, dim=-1)
        t = batch["target"].float()
        return {"loss": ((cos - t) ** 2).sum(), "correct": ((cos > 0.5) == (t > 0.5)).sum(),
                "count": torch.tensor(float(len(t)), device=cos.device)}


@torch.no_grad()
def _pair_loss(module: _Encoder, data: PairData, batch_size: int) -> float:
    """Mean held-out pair loss of ``module`` as it is (the untuned reference)."""
    was = module.training
    module.eval()
    try:
        total, n = 0.0, 0
        for s in range(0, len(data), batch_size):
            batch = data.batch(np.arange(s, min(s + batch_size, len(data))))
            u, v = ContrastiveTask._sides(module(batch["inputs"]).float(), batch)
            cos = torch.nn.functional.cosine_similarity(u, v, dim=-1)
            total += float(((cos - batch["target"]) ** 2).sum())
            n += len(cos)
        return total / max(n, 1)
    finally:
        module.train(was)


def heldout_pairs(y_fit: np.ndarray, y_held: np.ndarray, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validation pairs: each held-out example against every fit example of its class and as
    many (seeded) of other classes. Indices of held-out rows are offset by ``len(y_fit)``."""
    rng = np.random.default_rng(seed + 104729)
    a, b, t = [], [], []
    for i, c in enumerate(np.asarray(y_held)):
        same = np.flatnonzero(y_fit == c)
        other = np.flatnonzero(y_fit != c)
        other = rng.choice(other, size=min(len(same) or 1, len(other)), replace=False)
        for j, target in ((same, 1.0), (other, 0.0)):
            a += [len(y_fit) + i] * len(j)
            b += j.tolist()
            t += [target] * len(j)
    return np.asarray(a), np.asarray(b), np.asarray(t, dtype=np.float32)


def contrastive_tune(
    backbone: Any,
    texts: Sequence[Any],
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    epochs: int = 1,
    lr: float = 2e-5,
    batch_size: int = 16,
    seed: int = 0,
    layer: int = -1,
    val: tuple[Sequence[Any], tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
    rounds: int | None = None,
    warmup: float = 0.1,
    weight_decay: float = 0.01,
    lr_schedule: str = "linear",
    unfreeze: Any = "all",
    freeze_pattern: str | None = None,
    patience: int | None = None,
    precision: str = "auto",
    devices: int = 1,
    progress: bool = False,
) -> dict[str, Any]:
    """Tune ``backbone`` in place, through the engine, so that pair cosines match their targets.

    Args:
        backbone: the encoder (its layer groups chosen by ``unfreeze``/``freeze_pattern`` train).
        texts: the inputs the pair indices point into.
        pairs: ``(a, b, target)`` from :func:`~transferkit.fewshot.pairs.make_pairs`.
        epochs: passes over the pairs.
        lr: peak learning rate (AdamW).
        batch_size: pairs per optimiser step.
        seed: seeds data order and dropout.
        layer: the feature layer whose embeddings are compared.
        val: ``(inputs, (a, b, target))`` held-out pairs: the engine keeps the weights of the
            round with the lowest held-out pair loss, and the pre-trained weights come back if
            no round beats them.
        rounds: parts each pass is cut into (validation after each); default 4 with ``val``,
            else 1.
        warmup: warm-up fraction of all steps.
        weight_decay: AdamW weight decay (not on biases and norms).
        lr_schedule: ``"linear"`` (SetFit's), ``"cosine"`` or ``"constant"``.
        unfreeze: layer groups that train (see the fine-tuning strategy).
        freeze_pattern: parameters that stay frozen.
        patience: rounds without improvement before stopping (``None``: never stop early).
        precision: engine precision.
        devices: engine processes.
        progress: progress bar (terminal only).

    Returns:
        ``{"history": engine epoch records, "result": FitResult summary, "kept":
        "best round" | "last round" | "pre-trained", "loss_before": held-out pair loss before
        tuning (or None)}``.
    """
    rounds = rounds or (_ROUNDS_WITH_VALIDATION if val is not None else 1)
    plan = plan_freezing(backbone, unfreeze, freeze_pattern)
    freezer = Freezer(backbone, plan)
    freezer.apply(0)
    groups = build_param_groups(freezer.candidates(), plan.all_groups, None, lr=float(lr),
                                backbone_lr_mult=1.0, layer_decay=1.0,
                                weight_decay=float(weight_decay))
    module = _Encoder(backbone, layer)
    data = PairData(texts, *pairs, preprocess=backbone.preprocess, rounds=rounds)
    val_data, before, start = None, None, None
    if val is not None:
        val_data = PairData(val[0], *val[1], preprocess=backbone.preprocess)
        before = _pair_loss(module, val_data, 2 * batch_size)
        start = {k: v.detach().clone() for k, v in module.state_dict().items()}
    config = TrainConfig(
        epochs=int(epochs) * rounds, batch_size=int(batch_size), seed=int(seed),
        monitor="val_loss", mode="min", patience=patience, lr_schedule=lr_schedule,
        warmup=float(warmup), precision=precision, devices=int(devices), progress=progress,
        clip_grad=1.0,
    )
    result = engine_train(ContrastiveTask(module, groups, data), data, val_data, config)
    kept = "last round"
    if val_data is not None:
        kept = "best round"
        best = min((r["val_loss"] for r in result.history if "val_loss" in r), default=None)
        if best is not None and before is not None and best >= before:
            module.load_state_dict(start)
            kept = "pre-trained"
    backbone.eval()
    return {"history": result.history, "result": result.summary(), "kept": kept,
            "loss_before": before, "pairs_used": data.per_round * rounds,
            "steps": math.ceil(data.per_round / batch_size) * rounds * int(epochs)}


def _heldout_split(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One example per class held out (seeded); the rest for pairs."""
    rng = np.random.default_rng(seed + 7919)
    hold = np.array([rng.choice(np.flatnonzero(y == c)) for c in np.unique(y)])
    keep = np.setdiff1d(np.arange(len(y)), hold)
    return keep, np.sort(hold)


@register_strategy(
    "contrastive",
    description="SetFit-style: tune the encoder on same/different-class pairs, then a head",
    trains_backbone=True,
)
class ContrastiveStrategy(Strategy):
    """Contrastive pair tuning of the encoder (through the engine), then a probe head."""

    name = "contrastive"
    trains_backbone = True

    PARAMS = Params(
        COMMON,
        PROBE_HEAD,
        Param("num_iterations", "contrastive: same-class and different-class pairs drawn per "
              "training example (SetFit's default, 20); more pairs, longer tuning", 20, "int",
              low=1),
        Param("lr", "contrastive: learning rate of the encoder's pair tuning", 2e-5, "float",
              low=0, low_open=True),
        Param("pair_batch_size", "contrastive: pairs per optimiser step (batch_size stays the "
              "encoding batch)", 16, "int", low=1),
        Param("max_pairs", "contrastive: at most this many pairs (None: all drawn)", None,
              "int", low=1),
        Param("early_stopping", "contrastive: hold out a shot per class and keep the best "
              "round (or the untuned encoder)", True, "bool"),
        ENGINE_PARAMS.without("epochs", "grad_accum", "checkpoint_dir", "resume"),
        FREEZING_PARAMS.without("schedule", "backbone_lr_mult", "layer_decay"),
    )

    def _validation(self, ctx: FitContext, y: np.ndarray, seed: int, o: dict[str, Any]):
        """Rows for pairs, the held-out pairs (or None), and a note for the record."""
        inputs = ctx.train.inputs
        counts = np.bincount(y, minlength=ctx.n_classes)
        if not o["early_stopping"]:
            return np.arange(len(y)), None, "off"
        if ctx.val is not None and ctx.y_val is not None and len(ctx.val):
            y_val = np.asarray(ctx.y_val, dtype=np.int64)
            va, vb, vt = heldout_pairs(y, y_val, seed)
            return (np.arange(len(y)), (list(inputs) + list(ctx.val.inputs), (va, vb, vt)),
                    f"validation set ({len(ctx.val)} rows, {len(va)} pairs)")
        if counts.min() >= 4:
            keep, hold = _heldout_split(y, seed)
            va, vb, vt = heldout_pairs(y[keep], y[hold], seed)
            texts = [inputs[i] for i in keep] + [inputs[i] for i in hold]
            return keep, (texts, (va, vb, vt)), (
                f"one shot per class held out ({len(hold)} rows, {len(va)} pairs)")
        return np.arange(len(y)), None, (
            f"none: {int(counts.min())} example(s) in the smallest class (needs 4 to hold one out)")

    def fit(self, ctx: FitContext) -> ContrastiveStrategy:
        t0 = time.perf_counter()
        o = self.settings
        seed, bs = o.seed, o.batch_size
        y = np.asarray(ctx.y, dtype=np.int64)
        pair_idx, val, note = self._validation(ctx, y, seed, o)
        a, b, target = make_pairs(y[pair_idx], o["num_iterations"], seed, o["max_pairs"])
        texts = [ctx.train.inputs[i] for i in pair_idx]
        out = contrastive_tune(
            ctx.backbone, texts, (a, b, target), lr=float(o["lr"]),
            batch_size=int(o["pair_batch_size"]), seed=seed, layer=ctx.layer, val=val,
            warmup=float(o["warmup"]), weight_decay=float(o["weight_decay"]),
            lr_schedule=str(o["lr_schedule"]), unfreeze=o["unfreeze"],
            freeze_pattern=o["freeze_pattern"], patience=o["patience"],
            precision=str(o["precision"]), devices=int(o["devices"]),
            progress=o.progress,
        )
        self.history = out["history"]
        t1 = time.perf_counter()
        # The tuned encoder's features are unique to this fit: never cache the training ones.
        X = np.asarray(extract_features(ctx.backbone, ctx.train, layer=ctx.layer, batch_size=bs,
                                        cache=False, progress=False))
        self.head_ = make_probe_head(o)
        self.head_.fit(X, y, ctx.n_classes, seed=seed)
        t2 = time.perf_counter()
        vl = [r["val_loss"] for r in self.history if "val_loss" in r]
        self.summary = {
            "head": self.head_.name,
            "head_choice": getattr(self.head_, "chosen", {}),
            "pairs": int(out["pairs_used"]),
            "positive_pairs": int(target.sum()),
            "steps": int(out["steps"]),
            **{k: o[k] for k in ("num_iterations", "lr", "pair_batch_size", "lr_schedule")},
            "early_stopping": note,
            "kept": out["kept"],
            "heldout_pair_loss_before": out["loss_before"],
            "heldout_pair_loss_best": min(vl) if vl else None,
            "engine": {k: out["result"][k] for k in ("best_epoch", "epochs_run", "stopped_early",
                                                     "device", "precision", "seconds")},
            "seconds_tune": round(t1 - t0, 3),
            "seconds_head": round(t2 - t1, 3),
            "trainable_params": int(sum(p.numel() for p in ctx.backbone.parameters()
                                        if p.requires_grad))
            + int(sum(v.size for v in self.head_.arrays.values())),
        }
        return self

    def predict_proba(self, backbone, layer, data) -> np.ndarray:
        s = self.settings
        X = extract_features(backbone, data, layer=layer, batch_size=s.batch_size, cache=s.cache,
                             progress=s.progress)
        return self.head_.predict_proba(np.asarray(X))

    def save(self, folder: Path) -> dict[str, Any]:
        save_file({k: np.ascontiguousarray(v) for k, v in self.head_.arrays.items()},
                  str(folder / "head.safetensors"))
        return {"head": self.head_.name, "head_config": self.head_.config,
                "summary": self.summary}

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any], backbone) -> ContrastiveStrategy:
        self = cls(**config.get("params", {}))
        arrays = load_file(str(folder / "head.safetensors"))
        self.head_ = HEADS.get(config["head"]).from_state(config["head_config"], arrays)
        self.summary = dict(config.get("summary", {}))
        return self
