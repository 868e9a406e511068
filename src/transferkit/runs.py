"""The run folder: a fitted model, its config, metrics and record, written atomically.

Layout of ``runs/<name>/``::

    model.json          what to rebuild: estimator params, classes, backbone spec + fingerprint
    head.safetensors    the strategy's fitted arrays (no pickle anywhere)
    backbone.safetensors  only when the strategy changed the backbone's weights
    config.yaml         the resolved configuration, for humans and for ``--config``
    metrics.json        final metrics
    record.json         everything the report renders (schema-versioned)

The folder is built beside its final place and swapped in whole: a crash or a bad input
leaves any earlier run with the same name untouched.
"""

from __future__ import annotations

import logging
import os
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from . import __version__
from .exceptions import RunError
from .utils.io import atomic_dir, atomic_write_json, read_json

if TYPE_CHECKING:
    from .estimator import TransferClassifier

__all__ = ["save_model", "load", "read_record", "write_record", "write_analysis_run", "list_runs",
           "RECORD_SCHEMA",
           "MODEL_FORMAT"]

log = logging.getLogger(__name__)

MODEL_FORMAT = 1
RECORD_SCHEMA = 1


def environment() -> dict[str, Any]:
    import platform

    import torch

    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "transferkit": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "cpu_count": os.cpu_count(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
    }
    try:
        import transformers

        info["transformers"] = transformers.__version__
    except ImportError:  # pragma: no cover - transformers is a core dependency
        pass
    return info


def _classes_json(classes: np.ndarray) -> dict[str, Any]:
    kind = "int" if np.issubdtype(classes.dtype, np.integer) else "str"
    return {"values": [c.item() if isinstance(c, np.generic) else c for c in classes], "kind": kind}


def _classes_from_json(d: dict[str, Any]) -> np.ndarray:
    return np.array(d["values"], dtype=np.int64 if d["kind"] == "int" else object).astype(
        np.int64 if d["kind"] == "int" else str
    )


def _backbone_spec(model: TransferClassifier) -> str:
    if isinstance(model.backbone, str):
        return model.backbone
    return model.backbone_.name


def save_model(
    model: TransferClassifier,
    path: str | os.PathLike,
    metrics: dict[str, Any] | None = None,
    record: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
) -> Path:
    """Save a fitted model (and optional metrics / record extras) as run folder ``path``."""
    from safetensors.torch import save_file

    model._check_fitted()
    params = model.get_params(deep=False)
    params["backbone"] = _backbone_spec(model)
    bb = model.backbone_
    final = Path(path)
    with atomic_dir(final) as tmp:
        strategy_cfg = model.strategy_.save(tmp)
        strategy_cfg["params"] = model.strategy_params()
        # A source-tuned encoder (DomainAdapter(source_finetune=K)) no longer matches its spec.
        save_weights = (model.strategy_.trains_backbone or not bb.rebuildable
                        or bool(getattr(model, "source_tune_", None)))
        if save_weights:
            state = {k: v.detach().cpu().contiguous() for k, v in bb.state_dict().items()}
            save_file(state, str(tmp / "backbone.safetensors"))
        meta = {
            "format": "transferkit-model",
            "format_version": MODEL_FORMAT,
            "transferkit_version": __version__,
            "estimator": type(model).__name__,
            "params": params,
            "classes": _classes_json(model.classes_),
            "modality": model.modality_,
            "layer": int(model.layer_),
            "backbone": {
                "spec": params["backbone"],
                "kwargs": getattr(bb, "init_kwargs", {}),
                "fingerprint": None if save_weights else bb.fingerprint(),
                "info": bb.info(),
            },
            "strategy": strategy_cfg,
        }
        atomic_write_json(tmp / "model.json", meta)
        cfg = {**params, **(config or {})}
        (tmp / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
        atomic_write_json(tmp / "metrics.json", metrics or {})
        rec = build_record(model, metrics or {}, cfg)
        rec.update(record or {})
        atomic_write_json(tmp / "record.json", rec)
    return final


def build_record(model: TransferClassifier, metrics: dict[str, Any], config: dict[str, Any]
                 ) -> dict[str, Any]:
    bb = model.backbone_
    info = bb.info()
    trainable = model.strategy_.summary.get("trainable_params")
    return {
        "schema_version": RECORD_SCHEMA,
        "kind": "fit",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config,
        "seed": model.seed,
        "environment": environment(),
        "dataset": {"train": model.train_summary_},
        "backbone": {**info, "trainable_params": trainable},
        "strategy": {"name": model.strategy, **model.strategy_.summary},
        "history": list(model.strategy_.history),
        "metrics": metrics,
        "timings": {"fit_seconds": round(model.fit_seconds_, 3)},
    }


def load(path: str | os.PathLike):
    """Restore a model saved by :meth:`TransferClassifier.save` or ``transferkit fit``."""
    from .backbones import create_backbone
    from .estimator import TransferClassifier
    from .strategies import STRATEGIES

    folder = Path(path)
    meta_path = folder / "model.json"
    if not meta_path.exists():
        what = "does not exist" if not folder.exists() else "has no model.json (an incomplete run?)"
        raise RunError(
            f"Cannot load a model from {str(folder)!r}: the folder {what}. Expected a run folder "
            "written by `transferkit fit` or model.save(path)."
        )
    meta = read_json(meta_path)
    if meta.get("format_version", 0) > MODEL_FORMAT:
        raise RunError(
            f"{str(folder)!r} was saved by a newer transferkit (model format "
            f"{meta['format_version']}; this version reads up to {MODEL_FORMAT}). "
            "Upgrade transferkit."
        )
    # Other estimators keep their own loader; model.json names which one wrote the folder.
    estimator = meta.get("estimator", "TransferClassifier")
    if estimator == "DomainAdapter":
        from .adapt.persist import load_adapter

        return load_adapter(folder)
    if estimator == "ZeroShotClassifier":
        from .fewshot.zeroshot import load_zeroshot

        return load_zeroshot(folder, meta)
    params = meta["params"]
    model = TransferClassifier(**{k: v for k, v in params.items()
                                  if k in TransferClassifier._get_param_names()})
    bb_meta = meta["backbone"]
    bb = create_backbone(bb_meta["spec"], **bb_meta.get("kwargs", {}))
    strategy_cls = STRATEGIES.get(params["strategy"])
    if (folder / "backbone.safetensors").exists():
        from safetensors.torch import load_file

        bb.load_state_dict(load_file(str(folder / "backbone.safetensors")), strict=True)
    elif bb_meta.get("fingerprint") and bb.fingerprint() != bb_meta["fingerprint"]:
        warnings.warn(
            f"The weights of backbone {bb_meta['spec']!r} differ from those the run was fitted "
            "with (installed package changed?); predictions may differ from the recorded metrics.",
            stacklevel=2,
        )
    model.backbone_ = bb
    model.layer_ = meta["layer"]
    model.classes_ = _classes_from_json(meta["classes"])
    model.modality_ = meta["modality"]
    model.strategy_ = strategy_cls.load(folder, meta["strategy"], bb)
    rec = folder / "record.json"
    if rec.exists():
        r = read_json(rec)
        model.train_summary_ = r.get("dataset", {}).get("train", {})
        model.fit_seconds_ = r.get("timings", {}).get("fit_seconds", 0.0)
    return model


def read_record(path: str | os.PathLike) -> dict[str, Any]:
    f = Path(path) / "record.json"
    if not f.exists():
        raise RunError(f"No record.json in {str(path)!r}: not a transferkit run folder.")
    rec = read_json(f)
    if rec.get("schema_version", 0) > RECORD_SCHEMA:
        raise RunError(
            f"{str(path)!r} has a record of schema {rec['schema_version']}; this transferkit reads "
            f"up to {RECORD_SCHEMA}. Upgrade transferkit to read it."
        )
    return rec


def write_record(path: str | os.PathLike, record: dict[str, Any]) -> None:
    atomic_write_json(Path(path) / "record.json", record)


def list_runs(root: str | os.PathLike = "runs") -> list[dict[str, Any]]:
    """One summary row per run folder under ``root`` (newest first)."""
    rows = []
    for d in sorted(Path(root).glob("*/record.json")):
        try:
            rec = read_json(d)
        except (OSError, ValueError):
            continue
        rows.append({
            "name": d.parent.name, "path": str(d.parent), "created": rec.get("created", ""),
            "kind": rec.get("kind", ""),
            "data": rec.get("dataset", {}).get("train", {}).get("name"),
            "backbone": rec.get("backbone", {}).get("name"),
            "strategy": rec.get("strategy", {}).get("name"),
            "accuracy": rec.get("metrics", {}).get("accuracy"),
        })
    return sorted(rows, key=lambda r: r["created"], reverse=True)


def write_analysis_run(out: str | Path, kind: str, config: dict[str, Any], dataset: dict[str, Any],
                       results: dict[str, Any], extra_files: dict[str, str] | None = None,
                       seconds: float | None = None) -> Path:
    """Write run folder ``out`` atomically: ``record.json`` plus ``extra_files``.

    For runs that hold an analysis rather than a model (rank, shift, compare): the results go
    under ``record[kind]``, where the report looks for them.
    """
    record = {
        "schema_version": RECORD_SCHEMA,
        "kind": kind,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config,
        "environment": environment(),
        "dataset": dataset,
        kind: results,
        "timings": {"total_seconds": None if seconds is None else round(seconds, 3)},
    }
    final = Path(out)
    with atomic_dir(final) as tmp:
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        atomic_write_json(tmp / "record.json", record)
    return final
