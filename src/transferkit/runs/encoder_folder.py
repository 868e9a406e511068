"""The encoder folder: a backbone transferkit pre-trained (``transferkit pretrain``).

Layout of ``runs/<name>/``::

    encoder.json          the header: format and version, the parent backbone's spec and
                          kwargs, the fingerprint of the weights saved here, the lineage
                          (base -> pretrained on X -> ...), the backbone's info
    backbone.safetensors  the pre-trained encoder's weights (the pretext head is not kept)
    config.yaml           the resolved configuration
    record.json           what the report renders: pretext loss curve, tokens seen, timings,
                          the data's fingerprint (:mod:`.records`, kind ``"pretrain"``)

``run:<folder>`` loads it as a backbone (:mod:`.backbone`): the parent is rebuilt from its
spec and the saved weights are put in, so the architecture, tokenizer and preprocessing are
the parent's and only the weights differ. The folder is written like a model folder: built
beside its place and swapped in whole.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from .._version import __version__
from ..backbones import create_backbone, parse_backbone_spec
from ..backbones.base import Backbone
from ..backbones.weights_file import save_backbone_weights
from ..exceptions import RunError
from ..utils.io import atomic_dir, atomic_write_json, read_json
from .model_folder import loading_run
from .out_folder import check_out, discard_staging, run_lock
from .records import record_frame

__all__ = ["ENCODER_FORMAT", "ENCODER_HEADER", "is_encoder_run", "save_encoder", "load_encoder"]

ENCODER_FORMAT = 1
ENCODER_HEADER = "encoder.json"


def is_encoder_run(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a pre-trained encoder (its ``encoder.json``)."""
    return (Path(folder) / ENCODER_HEADER).is_file()


def save_encoder(backbone: Backbone, path: str | os.PathLike, parent: dict[str, Any],
                 lineage: list[dict[str, Any]], record: dict[str, Any],
                 config: dict[str, Any], overwrite: bool = False) -> Path:
    """Write ``backbone`` (pre-trained from ``parent``: ``{"spec", "kwargs"}``) as run folder
    ``path``; ``record`` entries join the record's frame. Returns the folder.

    Raises:
        RunError: ``path`` holds a finished run (without ``overwrite``) or files of the user's.
    """
    final = Path(path)
    with run_lock(final):
        check_out(final, overwrite=overwrite, resume=True)  # its own checkpoints may be there
        with atomic_dir(final) as tmp:
            save_backbone_weights(backbone, tmp)
            atomic_write_json(tmp / ENCODER_HEADER, {
                "format": "transferkit-encoder",
                "format_version": ENCODER_FORMAT,
                "transferkit_version": __version__,
                "parent": {"spec": str(parent["spec"]), "kwargs": dict(parent.get("kwargs", {}))},
                "fingerprint": backbone.fingerprint(),
                "lineage": lineage,
                "info": backbone.info(),
            })
            (tmp / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
            atomic_write_json(tmp / "record.json", {**record_frame("pretrain", config),
                                                    **record})
        discard_staging(final)
    return final


def load_encoder(folder: str | os.PathLike) -> Backbone:
    """The pre-trained backbone saved in ``folder``, named ``run:<folder>``.

    Raises:
        RunError: a newer format, a damaged header or weights file, or a ``run:`` chain that
            loops back to this folder.
    """
    folder = Path(folder)
    with loading_run(folder):
        try:
            header = read_json(folder / ENCODER_HEADER)
            version = int(header.get("format_version", 0))
            spec = header["parent"]["spec"]
            kwargs = dict(header["parent"].get("kwargs", {}))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise RunError(
                f"Cannot read {str(folder / ENCODER_HEADER)!r} ({type(e).__name__}: {e}); "
                "expected the header `transferkit pretrain` writes. Fix: re-run the "
                "pre-training that wrote it.") from None
        if version > ENCODER_FORMAT:
            raise RunError(
                f"{str(folder)!r} was written by a newer transferkit (encoder format {version}; "
                f"this version reads up to {ENCODER_FORMAT}). Fix: upgrade transferkit.")
        bb = create_backbone(parse_backbone_spec(spec)[0], **kwargs)
        try:
            from safetensors.torch import load_file

            bb.load_state_dict(load_file(str(folder / "backbone.safetensors")), strict=True)
        except (OSError, RuntimeError, ValueError) as e:
            raise RunError(
                f"The weights in {str(folder / 'backbone.safetensors')!r} do not load into "
                f"{spec!r} ({type(e).__name__}: {str(e)[:200]}). Expected the encoder "
                "`transferkit pretrain` saved; fix: re-run that pre-training.") from None
    lineage = [dict(step) for step in header.get("lineage", [])]
    if lineage:
        lineage[-1]["run"] = str(folder.resolve())
    bb.lineage = lineage
    bb.parent = spec
    bb.rebuildable = True  # ``run:<folder>`` rebuilds exactly these weights
    return bb
