"""Restore a :class:`~transferkit.adapt.DomainAdapter` from its run folder.

The folder is the one :func:`transferkit.runs.save_model` writes for every model
(``model.json`` with ``"estimator": "DomainAdapter"``, the method's arrays, the backbone's
weights when it trained or has no pre-trained weights, ``record.json``).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from ..exceptions import RunError
from ..utils.io import read_json

if TYPE_CHECKING:
    from .adapter import DomainAdapter

__all__ = ["load_adapter"]


def load_adapter(path: str | os.PathLike) -> DomainAdapter:
    """Load a saved :class:`~transferkit.adapt.DomainAdapter`; predictions match the saved model.

    Raises:
        RunError: no run folder, a newer format, or a run of another estimator.
    """
    from ..backbones import create_backbone
    from ..runs import MODEL_FORMAT, _classes_from_json
    from .adapter import DomainAdapter
    from .base import ADAPT_METHODS

    folder = Path(path)
    meta_path = folder / "model.json"
    if not meta_path.exists():
        what = "does not exist" if not folder.exists() else "has no model.json (an incomplete run?)"
        raise RunError(f"Cannot load a model from {str(folder)!r}: the folder {what}. Expected a "
                       "run folder written by `transferkit adapt` or DomainAdapter.save(path).")
    meta = read_json(meta_path)
    if meta.get("estimator") != "DomainAdapter":
        raise RunError(f"{str(folder)!r} holds a {meta.get('estimator')!r}, not a DomainAdapter; "
                       "load it with transferkit.load(path).")
    if meta.get("format_version", 0) > MODEL_FORMAT:
        raise RunError(f"{str(folder)!r} was saved by a newer transferkit (model format "
                       f"{meta['format_version']}); upgrade transferkit.")
    params = meta["params"]
    model = DomainAdapter(**{k: v for k, v in params.items()
                             if k in DomainAdapter._get_param_names()})
    bb_meta = meta["backbone"]
    bb = create_backbone(bb_meta["spec"], **bb_meta.get("kwargs", {}))
    if (folder / "backbone.safetensors").exists():
        from safetensors.torch import load_file

        bb.load_state_dict(load_file(str(folder / "backbone.safetensors")), strict=True)
    elif bb_meta.get("fingerprint") and bb.fingerprint() != bb_meta["fingerprint"]:
        warnings.warn(f"The weights of backbone {bb_meta['spec']!r} differ from those the run was "
                      "fitted with; predictions may differ from the recorded metrics.",
                      stacklevel=2)
    cfg = meta["strategy"]
    model.strategy_ = ADAPT_METHODS.get(cfg["method"]).load(folder, cfg, bb)
    model.backbone_ = bb
    model.layer_ = meta["layer"]
    model.classes_ = _classes_from_json(meta["classes"])
    model.modality_ = meta["modality"]
    rec = folder / "record.json"
    if rec.exists():
        r = read_json(rec)
        model.train_summary_ = r.get("dataset", {}).get("train", {})
        model.target_summary_ = r.get("dataset", {}).get("target", {})
        model.fit_seconds_ = r.get("timings", {}).get("fit_seconds", 0.0)
        model.adapt_record_ = r.get("adapt", {})
        model.source_tune_ = model.adapt_record_.get("source_finetune")
    return model
