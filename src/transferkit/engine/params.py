"""Declarations of the settings the training engine and layer freezing read.

Strategies and adaptation methods that train by gradient compose their parameter tables from
these (:mod:`transferkit.utils.params`), changing a default or the help where they differ.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..exceptions import ConfigError
from ..utils.params import Param, Params
from .distributed import PRECISIONS
from .freezing import SCHEDULES, parse_unfreeze
from .schedules import LR_SCHEDULES

__all__ = ["ENGINE_PARAMS", "FREEZING_PARAMS", "check_groups", "check_folder", "check_regex",
           "parse_groups"]


def check_groups(owner: str, value: Any) -> None:
    """Layer-group choices: an int ``K``, ``"all"`` or group names (see ``parse_unfreeze``)."""
    parse_unfreeze(value)


def check_regex(owner: str, value: Any) -> None:
    try:
        re.compile(value)
    except (re.error, TypeError) as e:
        raise ConfigError(f"The 'freeze_pattern' parameter of {owner} must be a regular "
                          f"expression; {value!r} is not ({e}).") from None


def check_folder(owner: str, value: Any) -> None:
    if not isinstance(value, str | Path):
        raise ConfigError(f"A folder path parameter of {owner} must be a string path; got "
                          f"{type(value).__name__} {value!r}.")


def parse_groups(text: str) -> int | str:
    """A layer-group flag's text: ``"2"`` -> 2; ``"all"`` and ``"a,b"`` stay text."""
    return int(text) if text.strip().isdigit() else text


ENGINE_PARAMS = Params(
    Param("epochs", "passes over the training data", 3, "int", low=1),
    Param("lr_schedule", "learning-rate schedule after a linear warm-up", "cosine",
          choices=LR_SCHEDULES),
    Param("warmup", "warm-up length as a fraction of all optimiser steps", 0.1, "float",
          low=0, high=0.9),
    Param("weight_decay", "AdamW weight decay (not on biases and norms; off under L2-SP)", 0.01,
          "float", low=0),
    Param("patience", "early stopping: epochs without validation-loss improvement before "
          "stopping; the best epoch's weights are kept whenever there is validation data", 3,
          "int", low=1),
    Param("devices", "processes for data-parallel training on this machine (DDP: NCCL on GPUs, "
          "gloo on CPU); under torchrun the launcher decides", 1, "int", low=1),
    Param("precision", "'auto' (bf16 autocast on GPUs that support it, else fp32), '32-true', "
          "'bf16-mixed' or '16-mixed'", "auto", choices=PRECISIONS),
    Param("grad_accum", "micro-batches per optimiser step (gradient accumulation)", 1, "int",
          low=1),
    Param("checkpoint_dir", "folder for per-epoch checkpoints (last.ckpt, best.ckpt) and "
          "history.jsonl; `transferkit fit` uses <run>/checkpoints", None, "any",
          check=check_folder, cli=False),
    Param("resume", "a run (or checkpoint) folder of an interrupted run to continue from; "
          "refused when its backbone, data or settings differ", None, "any", check=check_folder,
          metavar="RUN_DIR"),
)

FREEZING_PARAMS = Params(
    Param("unfreeze", "layer groups to train: an int K (the top K groups + head; 0: head only), "
          "'all', or group names ('layer.4,layer.5')", "all", "any", check=check_groups,
          metavar="K|all|GROUPS", parse=parse_groups),
    Param("freeze_pattern", "regular expression; backbone parameters whose names match stay "
          "frozen", None, "any", check=check_regex, metavar="REGEX"),
    Param("schedule", "unfreezing schedule: 'none' (all chosen groups from the start) or "
          "'gradual' (ULMFiT: head first, then one more group from the top per epoch)", "none",
          choices=SCHEDULES),
    Param("backbone_lr_mult", "backbone learning rate as a fraction of lr (0.1: ten times "
          "smaller)", 0.1, "float", low=0, low_open=True),
    Param("layer_decay", "layer-wise decay: each group below the top trains at this factor "
          "times the rate of the group above (1.0: no decay)", 1.0, "float", low=0, high=1,
          low_open=True),
)
