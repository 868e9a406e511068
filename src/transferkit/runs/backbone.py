"""``run:<run folder>``: the backbone of a model transferkit trained, as a new candidate.

Two kinds of run hold a backbone:

* a model run (``transferkit fit`` / ``adapt``): a fine-tuned or adapted backbone carries its
  trained weights; a probe's backbone is the pre-trained one it used. Either way the run's
  classifier comes along as the backbone's *source-task head* (``source_model``), so LEEP and
  NCE can score the transfer from that run's task to a new one, as they do for
  EfficientNet's ImageNet head;
* an encoder run (``transferkit pretrain``, :mod:`.encoder_folder`): the encoder after
  continued self-supervised pre-training; it has no source-task head.

The spec prefix is registered here, by the run-folder format, rather than among the backbones:
reading a run is this layer's business, and backbones never import upward.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..backbones.base import Backbone
from ..backbones.registry import register_prefix
from ..exceptions import BackboneError, RunError
from .encoder_folder import is_encoder_run, load_encoder
from .model_folder import load

__all__ = ["run_backbone"]


@register_prefix("run:")
def run_backbone(folder: str, **_: Any) -> Backbone:
    """Load the backbone of the run saved in ``folder`` (``transferkit fit`` / ``adapt`` /
    ``pretrain``).

    Raises:
        BackboneError: no run folder there, or a run without a backbone.
    """
    path = Path(folder)
    if is_encoder_run(path):
        try:
            bb = load_encoder(path)
        except RunError as e:
            raise BackboneError(f"'run:{folder}' names no loadable pre-trained encoder: {e}"
                                ) from None
        bb.name = f"run:{folder}"
        bb.source = f"pre-trained by transferkit in {path.resolve()} (from {bb.parent})"
        return bb
    if path.is_dir() and not (path / "model.json").exists() and (path / "record.json").exists():
        raise BackboneError(
            f"'run:{folder}' is a transferkit run without a backbone (an analysis run such as "
            "compare, rank or shift); expected a folder written by `transferkit pretrain`, "
            "`fit` or `adapt`. Fix: give one of those runs.")
    try:
        model = load(path)
    except RunError as e:
        raise BackboneError(f"'run:{folder}' names no loadable run: {e} A pre-training run "
                            "(`transferkit pretrain`) also works here.") from None
    bb = getattr(model, "backbone_", None)
    if not isinstance(bb, Backbone):
        raise BackboneError(f"The run in {folder!r} holds no backbone to reuse; give a run "
                            "written by `transferkit pretrain`, `fit` or `adapt`.")
    bb.name = f"run:{folder}"
    bb.source = f"trained by transferkit in {path.resolve()}"
    bb.source_model = model
    return bb
