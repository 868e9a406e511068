"""``tk.pretrain``: continued self-supervised pre-training of a backbone on unlabelled data.

The encoder trains on a pretext objective (:mod:`.objectives`) through the engine (Fabric,
devices, checkpoints and resume, progress, early stopping on the held-out pretext loss), with
the same layer-group freezing as fine-tuning. The result is an encoder run folder
(:mod:`transferkit.runs.encoder_folder`) that ``backbone="run:<folder>"`` loads everywhere a
backbone is accepted.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..backbones import Backbone, backbone_for_data
from ..engine import (
    ExampleData,
    Freezer,
    TrainConfig,
    build_param_groups,
    find_checkpoint,
    plan_freezing,
    train,
)
from ..exceptions import ConfigError
from ..runs.encoder_folder import save_encoder
from ..runs.out_folder import check_out, checkpoint_dir_for, resume_dir_for, run_lock
from ..utils.seed import seed_everything
from .callbacks import LossCurve, MaxSteps
from .inputs import as_unlabelled, held_out_split, take_rows, unlabelled_rows
from .objectives import OBJECTIVES, check_objective
from .task import PretextModule, PretextTask, held_out_loss

__all__ = ["pretrain"]

log = logging.getLogger(__name__)

#: points kept in the recorded pretext loss curve (windows of steps are averaged)
CURVE_POINTS = 200


def _positive(name: str, value: Any, kind: type = int, allow_none: bool = False) -> Any:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or (
            kind is int and int(value) != value):
        raise ConfigError(f"{name} must be a positive {kind.__name__}; got {value!r}.")
    return kind(value)


def _objective(name: str, backbone: Backbone, max_length: int | None,
               options: dict[str, Any]) -> Any:
    """Build objective ``name`` for ``backbone``; unknown options name the accepted ones."""
    cls = OBJECTIVES.get(name)
    accepted = [p for p in inspect.signature(cls).parameters if p != "backbone"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(f"Unknown option(s) {unknown} for objective {name!r}; expected some "
                          f"of {accepted}. Fix: drop or rename them.")
    kwargs = dict(options)
    if max_length is not None:
        if "max_length" not in accepted:
            raise ConfigError(
                f"max_length={max_length!r} is the longest text in tokens, but {name!r} "
                f"pre-trains {OBJECTIVES.info(name).get('modality')} backbones and reads no "
                "tokens; expected no max_length. Fix: drop --max-length (max_length=).")
        kwargs["max_length"] = _positive("max_length", max_length)
    return cls(backbone, **kwargs)


def _rows_seen(steps: int, n: int, batch_size: int) -> int:
    """Rows the optimiser saw in ``steps`` steps over epochs of ``n`` rows."""
    per_epoch = math.ceil(n / batch_size)
    full, rest = divmod(int(steps), per_epoch)
    return full * n + min(rest * batch_size, n)


def pretrain(data: Any, backbone: str | Backbone = "minilm-l6", objective: str = "tsdae",
             epochs: int = 1, out: str | Path | None = None, seed: int = 0, *,
             text_col: str | None = None, lr: float | None = None,
             head_lr_mult: float = 10.0, batch_size: int | None = None,
             max_steps: int | None = None,
             max_length: int | None = None, unfreeze: Any = "all",
             freeze_pattern: str | None = None, patience: int | None = 2,
             val_fraction: float = 0.1, devices: int = 1, precision: str = "auto",
             resume: str | Path | None = None, overwrite: bool = False,
             progress: bool = True, options: dict[str, Any] | None = None) -> Path:
    """Continue pre-training ``backbone`` on unlabelled ``data`` with a pretext ``objective``;
    write the encoder run folder ``out`` and return its path.

    Args:
        data: unlabelled data (labels, if any, are ignored): a Dataset (texts, images or a
            table), a list of texts, or a source (``"reviews.csv"``, ``"amazon:domain=kitchen"``,
            ``"photos/"``); of DatasetSplits only the train split is read.
        backbone: the spec to start from (``"minilm-l6"``, ``"hf:<folder>"``, ``"lenet"``,
            ``"efficientnet-lite0"``, ``"tabular-mlp"``, ``"run:<run>"``).
        objective: ``"mlm"``, ``"tsdae"`` or ``"simcse"`` for text, ``"simclr"`` for images,
            ``"scarf"`` for tables (``list_objectives()``).
        epochs: passes over the data (``max_steps`` may end the run sooner).
        out: the run folder (default ``runs/<data>-<objective>``).
        seed: seeds the held-out split, noise, dropout and data order.
        text_col: the text column when ``data`` is a table file.
        lr: the encoder's learning rate (AdamW, warm-up then linear decay; default: the
            objective's, 3e-5 for text, 3e-4 for simclr, 1e-3 for scarf).
        head_lr_mult: the new pretext head trains at ``lr * head_lr_mult``.
        batch_size: rows per optimiser step (default: the objective's, 16 for text, 32 for
            simclr, 64 for scarf; contrastive objectives need at least 2).
        max_steps: stop after this many optimiser steps (bounds CPU time).
        max_length: longest text in tokens while pre-training (objective default: 128; simcse 64).
        unfreeze: layer groups that train, as in fine-tuning: ``"all"``, the top ``K``, or names.
        freeze_pattern: a regular expression of parameter names kept frozen.
        patience: epochs without a better held-out pretext loss before stopping (``None``:
            never); the best epoch's weights are kept either way.
        val_fraction: share of the rows held out for the pretext loss (at least 8 rows).
        devices: processes on this machine (the engine's multi-process training).
        precision: the engine's precision (``"auto"``, ``"32-true"``, ``"bf16-mixed"``).
        resume: a run folder (or checkpoint folder) of an interrupted pre-training to continue.
        overwrite: replace a finished run at ``out``.
        progress: show a progress bar (terminal only).
        options: the objective's own settings (``{"deletion": 0.6}``, ``{"mask_rate": 0.15}``,
            ``{"temperature": 0.05}``, ``{"decoder_layers": 1}``; simclr: ``temperature``,
            ``crop_scale``, ``hflip``, ``jitter``, ``blur``, ``projection_dim``; scarf:
            ``corruption``, ``temperature``, ``projection_dim``).

    Returns:
        The run folder; ``backbone=f"run:{path}"`` loads the pre-trained encoder.

    Raises:
        ConfigError: an unknown objective or one for another modality, bad settings.
        DataError: no rows, too few rows for the held-out split, texts too short for the noise,
            a table of fewer than 2 columns (scarf).
        RunError: ``out`` holds a finished run (without ``overwrite``) or a folder of yours.
    """
    t0 = time.perf_counter()
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"seed must be an int >= 0; got {seed!r}.")
    seed = seed_everything(int(seed))
    ds = as_unlabelled(data, text_col)
    check_objective(objective, ds.modality, f"the data {ds.name!r}")
    cls = OBJECTIVES.get(objective)
    lr = cls.default_lr if lr is None else lr
    batch_size = cls.default_batch_size if batch_size is None else batch_size
    epochs, batch_size = _positive("epochs", epochs), _positive("batch_size", batch_size)
    if batch_size < cls.min_batch:
        raise ConfigError(
            f"{objective!r} contrasts each row with the other rows of its batch, so batch_size "
            f"must be at least {cls.min_batch}; got {batch_size}. Fix: e.g. batch_size="
            f"{cls.default_batch_size} (--batch-size {cls.default_batch_size}).")
    max_steps = _positive("max_steps", max_steps, allow_none=True)
    lr, head_lr_mult = _positive("lr", lr, float), _positive("head_lr_mult", head_lr_mult, float)
    if isinstance(backbone, Backbone) and not backbone.rebuildable:
        raise ConfigError(
            f"backbone {backbone.name!r} cannot be rebuilt from a spec, so its pre-trained "
            "weights could not be reloaded as 'run:<folder>'. Fix: pass a spec such as "
            "'minilm-l6', 'lenet', 'tabular-mlp' or 'hf:<folder>'.")
    rows = unlabelled_rows(ds, objective)
    train_rows, val_rows = held_out_split(len(rows), val_fraction, seed, objective)  # no loading
    bb, _ = backbone_for_data(backbone, -1, seed, ds, copy=True)
    check_objective(objective, bb.modality)
    parent_spec = bb.name if isinstance(backbone, Backbone) else str(backbone)
    if parent_spec.startswith("run:"):  # a chain must load from any working directory
        parent_spec = f"run:{Path(parent_spec[4:]).resolve()}"
    out = Path(out if out is not None else resume if resume is not None
               else f"runs/{Path(ds.name.split(':')[0]).stem or 'data'}-{objective}")
    resuming = resume is not None
    with run_lock(out):
        check_out(out, overwrite=overwrite, resume=resuming)
        head = _objective(objective, bb, max_length, dict(options or {}))
        plan = plan_freezing(bb, unfreeze, freeze_pattern)
        freezer = Freezer(bb, plan)
        freezer.apply(0)
        groups = build_param_groups(freezer.candidates(), plan.all_groups, head,
                                    lr=lr * head_lr_mult, backbone_lr_mult=1.0 / head_lr_mult,
                                    layer_decay=1.0, weight_decay=0.01)
        task = PretextTask(PretextModule(bb, head), groups, freezer)
        train_part, val_part = take_rows(rows, train_rows), take_rows(rows, val_rows)
        head.fit_data(train_part)
        # Texts are batched by length (less padding); images and table rows as they come.
        lengths = (np.array([len(t) for t in val_part]) if ds.modality == "text" else None)
        train_data = ExampleData(train_part, None, partial(head.collate, held_out=False))
        val_data = ExampleData(val_part, None, partial(head.collate, held_out=True), lengths)
        ckpt_dir = checkpoint_dir_for(out)
        resume_from = None
        if resuming:
            resume_from = resume_dir_for(resume)
            ckpt_dir = find_checkpoint(resume_from).parent
        settings = {"objective": objective, **head.settings(), "epochs": epochs,
                    "batch_size": batch_size, "lr": lr, "head_lr_mult": head_lr_mult,
                    "max_steps": max_steps, "unfreeze": unfreeze,
                    "freeze_pattern": freeze_pattern, "patience": patience,
                    "val_fraction": val_fraction, "seed": seed}
        config = TrainConfig(
            epochs=epochs, batch_size=batch_size, seed=seed, patience=patience,
            lr_schedule="linear", warmup=0.1, devices=int(devices), precision=str(precision),
            checkpoint_dir=str(ckpt_dir), resume=None if resume_from is None else str(resume_from),
            identity={"backbone": {"spec": parent_spec, "fingerprint": bb.fingerprint()},
                      "data": {"n": len(rows), "fingerprint": ds.fingerprint()},
                      "pretrain": settings},
            progress=bool(progress))
        steps_planned = math.ceil(len(train_part) / batch_size) * epochs
        if max_steps is not None:
            steps_planned = min(steps_planned, max_steps)
        stop, curve = MaxSteps(max_steps), LossCurve(max(1, steps_planned // CURVE_POINTS))
        log.info("pretraining %s with %s on %d rows (%d held out)", parent_spec, objective,
                 len(train_part), len(val_part))
        before = None if resuming else held_out_loss(task.module, val_data, 2 * batch_size)
        result = train(task, train_data, val_data, config, callbacks=[stop, curve])
        bb.eval()
        record = _record(ds, bb, parent_spec, objective, settings, plan, result, curve, stop,
                         len(train_part), len(val_part), batch_size, out)
        record["pretrain"]["held_out_loss"]["before"] = before
        record["timings"] = {"pretrain_seconds": result.seconds,
                             "total_seconds": round(time.perf_counter() - t0, 3)}
        lineage = record["pretrain"]["lineage"]
        bb.lineage, bb.parent = lineage, parent_spec
        # The encoder's own count: the engine's counts include the discarded pretext head.
        record["backbone"] = {**bb.info(), "trainable_params": sum(
            p.numel() for p in bb.parameters() if p.requires_grad)}
        save_encoder(bb, out, {"spec": parent_spec, "kwargs": getattr(bb, "init_kwargs", {})},
                     lineage, record, {"kind": "pretrain", "backbone": parent_spec,
                                       "data": ds.name, **settings},
                     overwrite=overwrite or resuming)
    return out


def _record(ds: Any, bb: Backbone, parent_spec: str, objective: str, settings: dict[str, Any],
            plan: Any, result: Any, curve: LossCurve, stop: MaxSteps, n_train: int,
            n_val: int, batch_size: int, out: Path) -> dict[str, Any]:
    """The record's sections of a pre-training run (see :mod:`transferkit.runs.records`)."""
    history = result.history
    points = curve.points
    steps = points[-1]["step"] if points else math.ceil(n_train / batch_size) * len(history)
    tokens = points[-1]["tokens"] if points else None
    seconds = points[-1]["seconds"] if points else result.seconds
    val = [h["val_loss"] for h in history if "val_loss" in h]
    parent_lineage = list(getattr(bb, "lineage", []) or [{"step": "base", "backbone":
                                                          parent_spec}])
    seen = _rows_seen(steps, n_train, batch_size)
    step = {"step": "pretrained", "objective": objective, "data": ds.name,
            "n": n_train + n_val, "data_fingerprint": ds.fingerprint(),
            "run": str(out.resolve())}
    return {
        "seed": settings["seed"],
        "dataset": {"train": {**ds.summary(), "fingerprint": ds.fingerprint()}},
        "history": history,
        "pretrain": {
            "objective": objective, "settings": settings, "parent": parent_spec,
            "lineage": [*parent_lineage, step], "freezing": plan.describe(),
            "rows": {"train": n_train, "held_out": n_val},
            "loss_curve": points,
            "held_out_loss": {"before": None, "first": val[0] if val else None,
                              "best": min(val) if val else None,
                              "last": val[-1] if val else None},
            "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
            "steps": steps, "stopped_by": ("max_steps" if stop.hit else "early stopping"
                                           if result.stopped_early else "epochs"),
            "modality": ds.modality, "rows_seen": seen, "train_seconds": seconds,
            "rows_per_second": round(seen / seconds, 3) if seconds else None,
            **({"texts_seen": seen, "texts_per_second": round(seen / seconds, 3)
                if seconds else None} if ds.modality == "text" else {}),
            "tokens_seen": tokens or None,
            "tokens_per_second": round(tokens / seconds, 1) if seconds and tokens else None,
            "device": result.device, "world_size": result.world_size,
            "trainable_params": result.trainable_params, "total_params": result.total_params,
        },
    }
