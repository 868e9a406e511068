"""The model folder: one format for every model kind; each kind writes and reads its own state.

Layout of ``runs/<name>/``::

    model.json            the header: format and version, the model kind, its constructor
                          parameters, classes, modality, feature layer, the backbone's spec and
                          fingerprint, and the kind's own state (JSON)
    backbone.safetensors  only when the backbone's weights cannot be rebuilt from its spec
                          (it trained, or it has no pre-trained weights)
    <kind's arrays>       e.g. head.safetensors, adapt.safetensors, zeroshot.safetensors
    config.yaml           the resolved configuration, for humans and for ``--config``
    metrics.json          final metrics
    record.json           everything the report renders (:mod:`.records`)

The folder is built beside its final place and swapped in whole: a crash or a bad input
leaves any earlier run with the same name untouched. No pickle anywhere: arrays go to
safetensors, settings to JSON.

A model kind is a class registered with :func:`register_model_kind`; :func:`load` finds it by
the name in ``model.json``. What this module asks of a kind (the shared estimator base,
:class:`transferkit.models.TransferModel`, provides the common part):

* fitted ``backbone_``, ``layer_``, ``classes_``, ``modality_``;
* ``_run_params()`` (constructor parameters as JSON), ``_run_config()`` (for config.yaml);
* ``_saves_backbone_weights()``;
* ``_save_state(folder) -> dict`` and ``_load_state(folder, state, record)``;
* ``_record_fields()`` (the record fields of that kind, ``"kind"`` among them);
* the class method ``_from_run_params(params, format_version)``.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from safetensors import SafetensorError, safe_open

from .._version import __version__
from ..backbones.base import Backbone
from ..backbones.hub import no_downloads
from ..backbones.weights_file import restore_backbone, save_backbone_weights
from ..exceptions import RunError, TransferKitError
from ..registry import Registry
from ..utils.io import atomic_dir, atomic_write_json, read_json
from .out_folder import check_out, discard_staging, run_lock
from .records import record_frame

__all__ = ["MODEL_FORMAT", "MODEL_KINDS", "register_model_kind", "save_model", "load",
           "read_header", "classes_to_json", "classes_from_json", "loading_run"]

#: 2: the kind's state under "state" (1 kept it under "strategy", or "prompts"/"calibration")
MODEL_FORMAT = 2

MODEL_KINDS: Registry[type] = Registry("model kind")


def register_model_kind(cls: type) -> type:
    """Class decorator: make ``cls`` loadable by :func:`load` under its class name."""
    MODEL_KINDS.register(cls.__name__)(cls)
    return cls


def classes_to_json(classes: np.ndarray) -> dict[str, Any]:
    kind = "int" if np.issubdtype(classes.dtype, np.integer) else "str"
    return {"values": [c.item() if isinstance(c, np.generic) else c for c in classes], "kind": kind}


def classes_from_json(d: dict[str, Any]) -> np.ndarray:
    dtype = np.int64 if d["kind"] == "int" else str
    return np.array(d["values"], dtype=np.int64 if d["kind"] == "int" else object).astype(dtype)


def _merge(record: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` over ``record``; a section given as a dict updates that section."""
    out = dict(record)
    for k, v in extra.items():
        out[k] = {**out[k], **v} if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def save_model(model: Any, path: str | os.PathLike, metrics: dict[str, Any] | None = None,
               record: dict[str, Any] | None = None, config: dict[str, Any] | None = None,
               overwrite: bool = False) -> Path:
    """Save fitted ``model`` as run folder ``path`` (with optional metrics and record extras).

    ``record`` entries that are dicts update the record's section of that name; others
    replace it. ``config`` entries join the model's resolved configuration in config.yaml.
    A finished run already at ``path`` is replaced only with ``overwrite=True``; a folder
    holding anything transferkit did not write is never replaced (:func:`check_out`).
    """
    model._check_fitted()
    params = model._run_params()
    final = Path(path)
    with run_lock(final):
        # The fit's own checkpoints may sit in the folder: finishing them is the point.
        check_out(final, overwrite=overwrite, resume=True)
        _write_model_folder(model, final, params, metrics, record, config)
        discard_staging(final)
    return final


def _write_model_folder(model: Any, final: Path, params: dict[str, Any],
                        metrics: dict[str, Any] | None, record: dict[str, Any] | None,
                        config: dict[str, Any] | None) -> None:
    bb: Backbone = model.backbone_
    with atomic_dir(final) as tmp:
        state = model._save_state(tmp)
        save_weights = model._saves_backbone_weights()
        if save_weights:
            save_backbone_weights(bb, tmp)
        header = {
            "format": "transferkit-model",
            "format_version": MODEL_FORMAT,
            "transferkit_version": __version__,
            "estimator": type(model).__name__,
            "params": params,
            "classes": classes_to_json(model.classes_),
            "modality": model.modality_,
            "layer": int(model.layer_),
            "backbone": {
                # a placeholder (a baseline's none:<modality>) is what gets restored; the
                # backbone the user named stays in params, unused
                "spec": bb.name if getattr(bb, "placeholder", False) else params["backbone"],
                "kwargs": getattr(bb, "init_kwargs", {}),
                "fingerprint": None if save_weights else bb.fingerprint(),
                "info": bb.info(),
            },
            "state": state,
        }
        atomic_write_json(tmp / "model.json", header)
        cfg = {**model._run_config(), **(config or {})}
        (tmp / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
        atomic_write_json(tmp / "metrics.json", metrics or {})
        rec = {**record_frame("fit", cfg), "metrics": metrics or {}}
        rec = _merge(_merge(rec, model._record_fields()), record or {})
        atomic_write_json(tmp / "record.json", rec)


def read_header(folder: str | os.PathLike) -> dict[str, Any]:
    """``model.json`` of run ``folder``, in the current format (older formats are upgraded).

    Raises:
        RunError: no folder, no ``model.json`` (an incomplete run?), or a newer format.
    """
    folder = Path(folder)
    meta_path = folder / "model.json"
    if not meta_path.exists():
        what = "does not exist" if not folder.exists() else "has no model.json (an incomplete run?)"
        raise RunError(
            f"Cannot load a model from {str(folder)!r}: the folder {what}. Expected a run folder "
            "written by `transferkit fit`, `adapt`, `zeroshot --out` or model.save(path)."
        )
    meta = read_json(meta_path)
    version = meta.get("format_version", 0)
    if version > MODEL_FORMAT:
        raise RunError(
            f"{str(folder)!r} was saved by a newer transferkit (model format {version}; this "
            f"version reads up to {MODEL_FORMAT}). Upgrade transferkit."
        )
    if version < 2:  # format 1 kept the kind's state beside the header
        meta["state"] = {k: meta[k] for k in ("strategy", "prompts", "calibration") if k in meta}
    return meta


# The run folders being loaded, innermost last: a run whose backbone is ``run:<folder>``
# loads that folder first, and a chain that comes back to a folder would recurse forever.
_LOADING: ContextVar[tuple[Path, ...]] = ContextVar("transferkit_loading_runs", default=())


def load(path: str | os.PathLike, expect: type | None = None) -> Any:
    """Restore the model saved in run folder ``path``, whatever its kind.

    Nothing a run folder holds can run code or reach the network: arrays are safetensors,
    settings JSON, and ``hf:`` backbones load from local folders or the local hub cache only.

    Args:
        path: a run folder written by ``save`` or by ``transferkit fit / adapt / zeroshot``.
        expect: a model class the folder must hold (``DomainAdapter.load`` passes its own).

    Raises:
        RunError: no run there, a newer format, a kind this installation does not know,
            another kind than ``expect``, a damaged file (named), or a ``run:`` chain that
            comes back to a folder it started from.
    """
    folder = Path(path)
    try:
        with loading_run(folder):
            return _load(folder, expect)
    except TransferKitError:
        raise
    except (ValueError, KeyError, TypeError, OSError, RuntimeError, SafetensorError,
            pickle.UnpicklingError) as e:
        raise RunError(
            f"Cannot load the run in {str(folder)!r}: {_damaged(folder)} is damaged or not as "
            f"transferkit writes it ({type(e).__name__}: {str(e)[:200]}). Re-run the command "
            "that wrote it, or restore the folder from a copy."
        ) from None


@contextmanager
def loading_run(folder: Path) -> Iterator[None]:
    """The block loads run ``folder``: no downloads, and a ``run:`` chain that comes back to
    a folder it started from raises instead of recursing forever.

    Raises:
        RunError: ``folder`` is already being loaded further up the chain.
    """
    chain = _LOADING.get()
    here = folder.resolve()
    if here in chain:
        loop = " -> ".join(f"run:{p}" for p in (*chain[chain.index(here):], here))
        raise RunError(f"The run backbones loop: {loop}. A run's backbone must come from "
                       "another run (or a pre-trained spec), never from itself; re-fit one of "
                       "them with a backbone outside the loop.")
    token = _LOADING.set((*chain, here))
    try:
        with no_downloads(f"the run in {str(folder)!r}"):
            yield
    finally:
        _LOADING.reset(token)


def _damaged(folder: Path) -> str:
    """The first file of run ``folder`` that does not read as what it claims to be."""
    for name in ("model.json", "record.json"):
        try:
            if (folder / name).exists():
                read_json(folder / name)
        except (OSError, ValueError):
            return name
    for arrays in sorted(folder.glob("*.safetensors")):
        try:
            with safe_open(str(arrays), framework="numpy") as f:
                for key in f.keys():
                    f.get_tensor(key)
        except Exception:  # safetensors raises its own error types for any damage
            return arrays.name
    return "a file in it (or in its backbone's folder)"


def _load(folder: Path, expect: type | None) -> Any:
    meta = read_header(folder)
    kind = meta.get("estimator", "TransferClassifier")
    if kind not in MODEL_KINDS:
        raise RunError(
            f"{str(folder)!r} holds a model of kind {kind!r}, which this transferkit does not "
            f"know (it knows {', '.join(MODEL_KINDS.names())}). Upgrade transferkit, or import "
            "the package that registers that kind first.")
    cls = MODEL_KINDS.get(kind)
    if expect is not None and not issubclass(cls, expect):
        raise RunError(f"{str(folder)!r} holds a {kind}, not a {expect.__name__}; load it with "
                       "transferkit.load(path).")
    model = cls._from_run_params(meta["params"], meta.get("format_version", 0))
    model.backbone_ = restore_backbone(folder, meta["backbone"])
    model.layer_ = int(meta["layer"])
    model.classes_ = classes_from_json(meta["classes"])
    model.modality_ = meta["modality"]
    rec_path = folder / "record.json"
    record = read_json(rec_path) if rec_path.exists() else {}
    model._load_state(folder, meta["state"], record)
    return model
