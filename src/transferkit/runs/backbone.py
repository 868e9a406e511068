"""``run:<run folder>``: the backbone of a model transferkit trained, as a new candidate.

A fine-tuned or adapted backbone carries its trained weights; a probe's backbone is the
pre-trained one it used. Either way the run's classifier comes along as the backbone's
*source-task head* (``source_model``), so LEEP and NCE can score the transfer from that run's
task to a new one, as they do for EfficientNet's ImageNet head.

The spec prefix is registered here, by the run-folder format, rather than among the backbones:
reading a run is this layer's business, and backbones never import upward.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..backbones.base import Backbone
from ..backbones.registry import register_prefix
from ..exceptions import BackboneError, RunError
from .model_folder import load

__all__ = ["run_backbone"]


@register_prefix("run:")
def run_backbone(folder: str, **_: Any) -> Backbone:
    """Load the backbone of the run saved in ``folder`` (``transferkit fit`` / ``adapt``).

    Raises:
        BackboneError: no run folder there, or a run without a backbone.
    """
    path = Path(folder)
    try:
        model = load(path)
    except RunError as e:
        raise BackboneError(f"'run:{folder}' names no loadable run: {e}") from None
    bb = getattr(model, "backbone_", None)
    if not isinstance(bb, Backbone):
        raise BackboneError(f"The run in {folder!r} holds no backbone to reuse; give a run "
                            "written by `transferkit fit` or `transferkit adapt`.")
    bb.name = f"run:{folder}"
    bb.source = f"trained by transferkit in {path.resolve()}"
    bb.source_model = model
    return bb
