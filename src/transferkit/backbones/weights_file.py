"""A backbone kept in a folder: rebuilt from its spec, its weights stored only when needed.

Run folders (``runs/model_folder.py``) and the probe a fine-tuned network is pooled with
(``strategies/probe_ensemble.py``) keep a backbone the same way: the spec and init kwargs
that rebuild it, a fingerprint to warn when the installed weights changed, and
``backbone.safetensors`` only where no spec rebuilds the weights (random or changed ones).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from .base import Backbone
from .registry import create_backbone, parse_backbone_spec

__all__ = ["WEIGHTS_FILE", "restore_backbone", "save_backbone_weights"]

WEIGHTS_FILE = "backbone.safetensors"


def save_backbone_weights(backbone: Backbone, folder: Path) -> None:
    """Write every weight and buffer of ``backbone`` to ``folder / WEIGHTS_FILE``."""
    from safetensors.torch import save_file

    weights = {k: v.detach().cpu().contiguous() for k, v in backbone.state_dict().items()}
    save_file(weights, str(folder / WEIGHTS_FILE))


def restore_backbone(folder: Path, meta: dict[str, Any]) -> Backbone:
    """The backbone ``meta`` (``{"spec", "kwargs", "fingerprint"}``) describes, with the weights
    in ``folder`` when they were stored; else a warning when the rebuilt weights differ from
    those recorded (an installed package changed)."""
    bb = create_backbone(parse_backbone_spec(meta["spec"])[0], **meta.get("kwargs", {}))
    weights = folder / WEIGHTS_FILE
    if weights.exists():
        from safetensors.torch import load_file

        bb.load_state_dict(load_file(str(weights)), strict=True)
    elif meta.get("fingerprint") and meta["fingerprint"] not in (
            bb.fingerprint(), bb.fingerprint(with_location=True)):
        warnings.warn(
            f"The weights of backbone {meta['spec']!r} differ from those the run was fitted "
            "with (installed package changed?); predictions may differ from the recorded metrics.",
            stacklevel=3,
        )
    return bb
