"""Run records: the plain JSON every run folder holds and the report renders (schema-versioned).

A fitted model's record is built by :func:`transferkit.runs.save_model` from a frame that is
the same for every run (this module) and the fields its model kind adds; an analysis run
(rank, shift, compare) writes only a record, with :func:`write_analysis_run`.
"""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..exceptions import RunError
from ..utils.io import atomic_dir, atomic_write_json, read_json
from .out_folder import check_out, run_lock

__all__ = ["RECORD_SCHEMA", "environment", "record_frame", "read_record", "write_record",
           "list_runs", "write_analysis_run"]

RECORD_SCHEMA = 1


def environment() -> dict[str, Any]:
    """Versions and machine facts that decide whether a number can be reproduced."""
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


def record_frame(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """The fields every record starts with: schema, kind, time, config and environment."""
    return {
        "schema_version": RECORD_SCHEMA,
        "kind": kind,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config,
        "environment": environment(),
    }


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
                       results: dict[str, Any],
                       extra_files: dict[str, str | bytes] | None = None,
                       seconds: float | None = None, overwrite: bool = False) -> Path:
    """Write run folder ``out`` atomically: ``record.json`` plus ``extra_files`` (name ->
    text, or bytes for a binary file such as a ``.safetensors`` of arrays).

    A finished run already at ``out`` is replaced only with ``overwrite=True``; a folder of
    the user's own is never replaced (:func:`~transferkit.runs.out_folder.check_out`).

    For runs that hold an analysis rather than a model (rank, shift, compare): the results go
    under ``record[kind]``, where the report looks for them.
    """
    record = {
        **record_frame(kind, config),
        "dataset": dataset,
        kind: results,
        "timings": {"total_seconds": None if seconds is None else round(seconds, 3)},
    }
    final = Path(out)
    with run_lock(final):
        check_out(final, overwrite=overwrite)
        with atomic_dir(final) as tmp:
            for name, content in (extra_files or {}).items():
                if isinstance(content, bytes):
                    (tmp / name).write_bytes(content)
                else:
                    (tmp / name).write_text(content, encoding="utf-8")
            atomic_write_json(tmp / "record.json", record)
    return final
