"""Fine-tuning: train a head together with the top (or all) layer groups of the backbone.

Everything that trains by gradient goes through :mod:`transferkit.engine`; this strategy
only decides *what* trains and at *which rate*:

* freezing by the backbone's layer groups (``unfreeze``, ``freeze_pattern``), optionally
  gradual (``schedule="gradual"``: head first, then one more group per epoch);
* learning rates: ``lr`` for the head, ``lr * backbone_lr_mult * layer_decay**d`` for the
  group ``d`` steps below the top;
* L2-SP toward the pre-trained weights (``l2sp``);
* validation: the data given to ``fit(val=...)``, else a stratified 10% of the training data
  held out when there are at least 20 examples per class, for early stopping and for
  keeping the best epoch's weights.

Features never come from the feature cache: the backbone changes while it trains.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from ..backbones.registry import bind_to_data
from ..backbones.split import split_below, states_fit_budget
from ..data.augment import bind_augmentation
from ..engine import (
    ClassificationTask,
    ClassifierModule,
    ExampleData,
    Freezer,
    L2SPPenalty,
    TrainConfig,
    build_param_groups,
    find_checkpoint,
    plan_freezing,
    predict_outputs,
    train,
)
from ..exceptions import ConfigError
from ..heads.base import holdout_split
from ..heads.torch_heads import make_torch_head
from ..utils.fingerprint import hash_array
from ..utils.params import Param, Params
from .base import FitContext, Strategy, register_strategy
from .head_init import init_head_from_probe
from .params import COMMON, TRAINING
from .probe_ensemble import PooledProbe

__all__ = ["FineTuneStrategy", "Prepared"]

log = logging.getLogger(__name__)

# Settings a resumed run must share with the interrupted one.
_IDENTITY_KEYS = ("unfreeze", "freeze_pattern", "epochs", "lr", "backbone_lr_mult", "layer_decay",
                  "schedule", "lr_schedule", "warmup", "weight_decay", "l2sp", "lora_r",
                  "patience", "grad_accum", "batch_size", "seed", "head", "head_init",
                  "augment", "augment_prob")


@dataclass
class Prepared:
    """A ready-to-train job: the task, the data and the engine settings."""

    task: ClassificationTask
    train: ExampleData
    val: ExampleData | None
    config: TrainConfig
    info: dict[str, Any]


@register_strategy("finetune", description="train the head and the top (or all) backbone layer "
                   "groups; discriminative LRs, gradual unfreezing, L2-SP, early stopping")
class FineTuneStrategy(Strategy):
    """Fine-tune backbone layer groups and a torch head with the training engine."""

    name = "finetune"
    trains_backbone = True
    #: strategies trained by the engine (the CLI gives them a checkpoint folder)
    uses_engine: ClassVar[bool] = True
    PARAMS = Params(
        COMMON, TRAINING,
        Param("probe_weight", "weight in [0, 1] of a linear probe on the pre-trained features "
              "(fitted as strategy='probe' is) pooled with the trained network's probabilities "
              "(weighted geometric mean); predicting then also runs the pre-trained backbone. "
              "0: off", 0.0, "float", low=0.0, high=1.0),
    )
    #: the probe pooled with the network (``probe_weight`` > 0), else ``None``
    pooled_: PooledProbe | None = None
    #: a fitted head to continue from (readapt: the deployed model's), copied, not changed;
    #: L2-SP then anchors it too. ``None``: a new head (``head_init``).
    start_head: torch.nn.Module | None = None

    @classmethod
    def check_params(cls, owner: str, params: dict[str, Any]) -> None:
        """Rules across parameters, checked by the estimator before fitting."""
        if params.get("layer", -1) not in (-1, None):
            raise ConfigError(
                f"strategy={cls.name!r} trains the backbone end to end and uses its last feature "
                f"layer; got layer={params['layer']}. Drop the layer (or the '@k' suffix)."
            )

    # --- hooks for subclasses ---------------------------------------------------------------------
    def prepare_backbone(self, ctx: FitContext) -> Any:
        """The backbone that will train (LoRA: an adapted copy; scratch: re-initialised)."""
        return ctx.backbone

    def param_filter(self) -> Any:
        """Which backbone parameters may train (``None``: all in the chosen groups)."""
        return None

    def _starts_from_probe(self, head: torch.nn.Module) -> bool:
        # Only a linear head is a probe; an MLP head has no closed-form start.
        return self.settings.head_init == "probe" and head.config["kind"] == "linear"

    # --- building the job -----------------------------------------------------------------
    def _validation(self, ctx: FitContext
                    ) -> tuple[Any, np.ndarray, np.ndarray | None, Any, np.ndarray | None, str]:
        """``(train, y, rows of ctx.train that train (None: all), val, y_val, note)``."""
        if ctx.val is not None and ctx.y_val is not None:
            return ctx.train, ctx.y, None, ctx.val, ctx.y_val, f"given ({len(ctx.val)} rows)"
        n, k = len(ctx.y), ctx.n_classes
        if n >= 20 * k and n >= 100:
            fit_idx, hold_idx = holdout_split(ctx.y, 0.1, int(self.settings.seed))
            fit_idx, hold_idx = np.sort(fit_idx), np.sort(hold_idx)
            return (ctx.train.subset(fit_idx), ctx.y[fit_idx], fit_idx, ctx.train.subset(hold_idx),
                    ctx.y[hold_idx], f"held out 10% of train ({len(hold_idx)} rows, stratified)")
        return ctx.train, ctx.y, None, None, None, (
            f"none: {n} examples for {k} classes is below 20 per class, so all train and the "
            "last epoch is kept")

    def _identity(self, ctx: FitContext, backbone: Any, train_ds: Any, y: np.ndarray
                  ) -> dict[str, Any]:
        return {
            "backbone": {"spec": str(backbone.name), "fingerprint": backbone.fingerprint()},
            "data": {"n": len(train_ds), "fingerprint": ctx.train.fingerprint(),
                     "labels": hash_array(np.asarray(ctx.y, dtype=np.int64)),
                     "n_classes": int(ctx.n_classes)},
            "strategy": self.name,
            "settings": {k: self.settings.get(k) for k in _IDENTITY_KEYS},
        }

    def _groups(self, freezer: Freezer, plan: Any, head: torch.nn.Module) -> list[dict[str, Any]]:
        l2sp = self.settings.l2sp
        wd = 0.0 if l2sp else float(self.settings.weight_decay)
        return build_param_groups(
            freezer.candidates(), plan.all_groups, head, lr=float(self.settings.lr),
            backbone_lr_mult=float(self.settings.backbone_lr_mult),
            layer_decay=float(self.settings.layer_decay), weight_decay=wd,
        )

    def _split(self, backbone: Any, plan: Any, schedule: str, *datasets: Any) -> Any:
        """The backbone's :class:`~transferkit.backbones.split.FrozenSplit` below the trained
        groups when training may run on the frozen part's cached output: a fixed top run of
        groups (no gradual unfreezing, no ``freeze_pattern``, no parameter filter such as
        LoRA's), one process (each would hold its own copy of the states), states within the
        memory budget. Otherwise ``None``: the whole forward runs at every step.

        On the cached path the frozen blocks run in eval mode, so their dropout is off; the
        whole forward keeps it on in every block, frozen or not."""
        if schedule != "none" or self.param_filter() is not None or self.settings.augment:
            return None  # augmented inputs change every step: no frozen output to reuse
        split = split_below(backbone, plan, devices=int(self.settings.devices))
        if split is None:
            return None
        need = sum(split.estimate_nbytes(ds.inputs) for ds in datasets if ds is not None)
        return split if states_fit_budget(need) else None

    def prepare(self, ctx: FitContext, for_sweep: bool = False) -> Prepared:
        """Build the task, data and engine settings for ``ctx`` (also used by ``lr_find``)."""
        self.check_params(type(self).__name__, {**self.params, "layer": ctx.layer})
        seed = int(self.settings.seed)
        backbone = self.prepare_backbone(ctx)
        # Training batches only; an LR sweep measures the loss of the data as they are.
        augment = None if for_sweep else bind_augmentation(
            self.settings.augment, self.settings.augment_prob, backbone, type(self).__name__)
        plan = plan_freezing(backbone, self.settings.unfreeze, self.settings.freeze_pattern)
        train_ds, y, rows, val_ds, y_val, val_note = self._validation(ctx)
        head = copy.deepcopy(self.start_head) if self.start_head is not None else \
            make_torch_head(self.settings.head, backbone.num_features, ctx.n_classes, seed=seed)
        schedule = "none" if for_sweep else self.settings.schedule
        freezer = Freezer(backbone, plan, schedule, self.param_filter())
        freezer.apply(0)
        # An LR sweep never validates: no need to encode the validation rows for it.
        val_ds, y_val = (None, None) if for_sweep else (val_ds, y_val)
        split = self._split(backbone, plan, schedule, train_ds, val_ds)
        if split is not None:  # the frozen lower groups run once; steps run the top only
            module = ClassifierModule(split.top, head, -1)
            train_data, val_data = (
                None if ds is None else split.examples(
                    split.encode(ds.inputs, batch_size=max(self.settings.batch_size, 64)), labels)
                for ds, labels in ((train_ds, y), (val_ds, y_val)))
        else:
            module = ClassifierModule(backbone, head, -1)
            train_data, val_data = (
                None if ds is None else ExampleData(ds.inputs, labels, backbone.preprocess,
                                                    backbone.input_lengths(ds.inputs), aug)
                for ds, labels, aug in ((train_ds, y, augment), (val_ds, y_val, None)))
        head_init = {"kind": "random" if self.start_head is None else "continued"}
        if self.start_head is None and self._starts_from_probe(head) and not for_sweep \
                and not self.settings.resume:
            head_init = init_head_from_probe(
                module, head, train_data, ctx.train, rows, ctx.backbone, ctx.n_classes,
                self.settings.batch_size, seed, cache=self.settings.cache)
            log.info("%s: head initialised from a linear probe (C=%s)", self.name,
                     head_init.get("C"))
        groups = self._groups(freezer, plan, head)
        l2sp = None
        if self.settings.l2sp:
            anchored = [p for ps in freezer.candidates().values() for p in ps]
            free = list(head.parameters())
            if self.start_head is not None:  # a continued head is pulled back to its start
                anchored, free = anchored + free, []
            l2sp = L2SPPenalty(anchored, free, float(self.settings.l2sp))
        task = ClassificationTask(module, groups, freezer, l2sp)
        resume = self.settings.resume
        ckpt_dir = self.settings.checkpoint_dir
        if resume and not ckpt_dir:
            ckpt_dir = str(find_checkpoint(resume).parent)
        identity = (self._identity(ctx, backbone, train_ds, y)
                    if (ckpt_dir or resume) and not for_sweep else {})
        if identity and split is not None:  # its checkpoints hold the top alone
            identity["cached_frozen_part"] = True
        config = TrainConfig(
            epochs=int(self.settings.epochs),
            batch_size=self.settings.batch_size,
            accumulate=int(self.settings.grad_accum),
            precision=str(self.settings.precision),
            devices=int(self.settings.devices),
            seed=seed,
            patience=self.settings.patience,
            lr_schedule=str(self.settings.lr_schedule),
            warmup=float(self.settings.warmup),
            checkpoint_dir=None if ckpt_dir is None else str(ckpt_dir),
            resume=None if not resume else str(resume),
            identity=identity,
            progress=bool(self.settings.progress),
        )
        info = {"freezing": plan.describe(), "schedule": schedule, "validation": val_note,
                "head": dict(head.config), "l2sp": self.settings.l2sp,
                "head_init": head_init, "cached_frozen_part": split is not None,
                "augment": augment.record() if augment is not None else None,
                "total_params": sum(p.numel() for p in backbone.parameters())
                + sum(p.numel() for p in head.parameters())}
        return Prepared(task, train_data, val_data, config, info)

    # --- the strategy contract ------------------------------------------------------------
    def fit(self, ctx: FitContext) -> FineTuneStrategy:
        w = float(self.settings.probe_weight)
        # Before training: the backbone trains in place, and the probe reads it pre-trained.
        self.pooled_ = PooledProbe.fit(w, ctx, self.settings) if w > 0 else None
        prep = self.prepare(ctx)
        total = prep.info["total_params"]  # the whole backbone, even when only its top runs
        log.info("%s: training %s of %s parameters (groups %s)", self.name,
                 f"{sum(p.numel() for g in prep.task.groups for p in g['params']):,}",
                 f"{total:,}", prep.info["freezing"]["trainable_groups"])
        result = train(prep.task, prep.train, prep.val, prep.config)
        self.module_ = prep.task.module
        self.head_ = self.module_.head
        self.history = result.history
        self.summary = {
            **prep.info,
            "unfreeze": self.settings.unfreeze,
            "lr_by_group": result.lr_by_group,
            "trainable_params": sum(p.numel() for g in prep.task.groups for p in g["params"]),
            "epochs": int(self.settings.epochs),
            "batch_size": prep.config.batch_size,
            "pooled_probe": None if self.pooled_ is None else self.pooled_.summary(),
            **{k: v for k, v in result.summary().items()
               if k not in ("lr_by_group", "trainable_params", "total_params")},
        }
        return self

    def _predict_module(self, backbone: Any) -> torch.nn.Module:
        return ClassifierModule(backbone, self.head_, -1)

    def predict_proba(self, backbone: Any, layer: int, data: Any) -> np.ndarray:
        module = self._predict_module(backbone)
        bb = module.backbone
        bind_to_data(bb, data)  # audio: the rate of these data, not of the training data
        ex = ExampleData(data.inputs, None, bb.preprocess, bb.input_lengths(data.inputs))
        logits = predict_outputs(module, ex, self.settings.batch_size * 2)
        logits = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p = p / p.sum(axis=1, keepdims=True)
        return p if self.pooled_ is None else self.pooled_.pool(p, data)

    def save(self, folder: Path) -> dict[str, Any]:
        from safetensors.torch import save_file

        state = {k: v.detach().cpu().contiguous() for k, v in self.head_.state_dict().items()}
        save_file(state, str(folder / "head.safetensors"))
        out: dict[str, Any] = {"head": dict(self.head_.config)}
        if self.pooled_ is not None:
            out["pooled_probe"] = self.pooled_.save(folder)
        return out

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any], backbone: Any) -> FineTuneStrategy:
        from safetensors.torch import load_file

        self = cls(**config.get("params", {}))
        hc = dict(config["head"])
        kind = hc.pop("kind")
        self.head_ = make_torch_head(kind, **hc)
        self.head_.load_state_dict(load_file(str(folder / "head.safetensors")))
        self.head_.eval()
        pooled = config.get("pooled_probe")
        self.pooled_ = None if pooled is None else PooledProbe.load(folder, pooled)
        return self
