"""The registry of pretext objectives, and what every objective offers the pre-training run.

An objective is an ``nn.Module`` holding the pretext head (the weights that are thrown away
afterwards) and computing the pretext loss of an encoder on a batch:

* ``collate(rows, held_out)`` turns raw inputs into a batch of CPU tensors (noise included);
* ``forward(backbone, batch)`` returns the mean loss over the batch;
* ``tokens(batch)`` counts the real tokens (or other input units) the batch holds;
* ``fit_data(rows)`` learns what the noise needs from the training rows (SCARF: each
  column's values), before training;
* ``encode_inputs(backbone, batch)`` runs the encoder on the batch's clean inputs (the
  BatchNorm statistics kept with the encoder are re-estimated through it).

Class attributes give the defaults that suit the objective (``default_lr``,
``default_batch_size``) and the fewest rows one batch needs (``min_batch``).

Each registers under a name with the modality it applies to, so a wrong pairing is caught
before any weight is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..exceptions import ConfigError
from ..registry import Registry

__all__ = ["OBJECTIVES", "PretextObjective", "register_objective", "list_objectives",
           "check_objective"]

OBJECTIVES: Registry[nn.Module] = Registry("pretext objective")

# How the wrong-modality message names the backbones an objective does apply to.
_BACKBONE_EXAMPLES = {"text": "a text backbone ('minilm-l6', 'hf:<text model>')",
                      "image": "an image backbone ('lenet', 'efficientnet-lite0')",
                      "tabular": "the 'tabular-mlp' backbone"}


def register_objective(name: str, modality: str, description: str = "") -> Callable:
    """Class decorator registering a pretext objective for backbones of ``modality``."""
    return OBJECTIVES.register(name, modality=modality, description=description)


def list_objectives(modality: str | None = None) -> list[str]:
    """Registered objective names, optionally only those for ``modality``."""
    return [n for n in OBJECTIVES.names()
            if modality is None or OBJECTIVES.info(n).get("modality") == modality]


def check_objective(name: Any, modality: str, holder: str = "the backbone") -> str:
    """``name`` when it is an objective for ``modality`` (that of ``holder``: the backbone,
    or the data); otherwise a one-line error.

    Raises:
        ConfigError: an unknown objective, or one for another modality; the message lists the
            objectives that fit ``modality``.
    """
    fitting = list_objectives(modality)
    listed = ", ".join(fitting) if fitting else "none yet"
    if not isinstance(name, str) or name not in OBJECTIVES:
        raise ConfigError(
            f"Unknown pretext objective {name!r}; expected one of the {modality} objectives: "
            f"{listed}. Fix: pass objective= (--objective) one of these.")
    declared = OBJECTIVES.info(name).get("modality")
    if declared != modality:
        fix = ("name the text column with --text-col (text_col=) if the data hold one, or "
               if declared == "text" and modality == "tabular" and holder != "the backbone"
               else "")
        fitting_backbones = _BACKBONE_EXAMPLES.get(declared, f"a {declared} backbone")
        raise ConfigError(
            f"objective={name!r} pre-trains {declared} backbones, but {holder} is {modality}; "
            f"expected one of the {modality} objectives: {listed}. Fix: {fix}pick one of "
            f"these, or {declared} data and {fitting_backbones}.")
    return name


class PretextObjective(nn.Module):
    """Base class of the pretext objectives (see the module docstring)."""

    #: the input modality this objective corrupts and reconstructs
    modality: str = "text"
    #: the encoder's learning rate and the rows per step when the caller gives none
    default_lr: float = 3e-5
    default_batch_size: int = 16
    #: the fewest rows a batch needs (contrastive objectives: a row and one other)
    min_batch: int = 1

    def collate(self, rows: Any, held_out: bool = False) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def forward(self, backbone: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def tokens(self, batch: dict[str, torch.Tensor]) -> int:
        """Real input tokens in ``batch`` (the throughput unit of text objectives)."""
        mask = batch.get("attention_mask")
        return 0 if mask is None else int(mask.sum())

    def fit_data(self, rows: Any) -> None:
        """Learn what the noise needs from the training rows (a no-op unless overridden)."""

    def encode_inputs(self, backbone: nn.Module, batch: dict[str, torch.Tensor]) -> Any:
        """Run the encoder on the batch without a loss (BatchNorm recalibration); the loss
        itself by default (text encoders have no BatchNorm)."""
        return self(backbone, batch)

    def settings(self) -> dict[str, Any]:
        """The objective's settings, for the run record."""
        return {}
