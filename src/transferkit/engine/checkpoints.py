"""Checkpoint files: atomic writes, safe reads, and the identity check before a resume.

A checkpoint folder holds ``last.ckpt`` (everything needed to continue), ``best.ckpt`` (the
best epoch's weights), ``checkpoint.json`` (what run it belongs to, readable without torch)
and ``history.jsonl``. Checkpoints hold only tensors and plain Python values and are read
with ``torch.load(weights_only=True)``, which refuses arbitrary pickled objects.

Resuming compares the *identity* of the new run (backbone fingerprint, training data
fingerprint, classes, strategy and training settings) with the one recorded; any
difference refuses the resume with the reason, and nothing in the folder is touched.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from ..exceptions import RunError
from ..utils.io import atomic_open, atomic_write_json, read_json

__all__ = ["save_checkpoint", "load_checkpoint", "find_checkpoint", "check_identity",
           "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = 1


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any], identity: dict[str, Any],
                    meta: bool = True) -> None:
    """Write ``state`` to ``path`` atomically; with ``meta`` also ``checkpoint.json`` beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"format": "transferkit-checkpoint", "format_version": CHECKPOINT_FORMAT,
             "identity": identity, **state}
    with atomic_open(path, "wb") as f:
        torch.save(state, f)
    if meta:
        atomic_write_json(path.parent / "checkpoint.json", {
            "format": "transferkit-checkpoint",
            "format_version": CHECKPOINT_FORMAT,
            "epochs_done": state.get("epoch"),
            "global_step": state.get("global_step"),
            "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "identity": identity,
        })


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors on the CPU)."""
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated or foreign file
        raise RunError(f"Cannot read checkpoint {str(path)!r}: {e}. Expected a file written by "
                       "transferkit's training engine.") from None
    if not isinstance(state, dict) or state.get("format") != "transferkit-checkpoint":
        raise RunError(f"{str(path)!r} is not a transferkit checkpoint.")
    if state.get("format_version", 0) > CHECKPOINT_FORMAT:
        raise RunError(f"{str(path)!r} was written by a newer transferkit (checkpoint format "
                       f"{state['format_version']}); upgrade transferkit to resume it.")
    return state


def find_checkpoint(folder: str | os.PathLike) -> Path:
    """The ``last.ckpt`` to resume from: in ``folder`` or in ``folder/checkpoints``."""
    folder = Path(folder)
    for cand in (folder / "last.ckpt", folder / "checkpoints" / "last.ckpt"):
        if cand.is_file():
            return cand
    if folder.is_file() and folder.suffix == ".ckpt":
        return folder
    what = ("does not exist" if not folder.exists()
            else "holds no last.ckpt (nor checkpoints/last.ckpt)")
    raise RunError(
        f"Cannot resume from {str(folder)!r}: the folder {what}. Resume takes the run folder of "
        "an interrupted fine-tuning run (its checkpoints are removed once the run completes); "
        "start without --resume to train from the beginning."
    )


def _describe(key: str, old: Any, new: Any) -> str:
    if key == "backbone":
        return (f"the backbone differs: the checkpoint was trained from {old.get('spec')!r} "
                f"(weights {str(old.get('fingerprint'))[:12]}), this run uses {new.get('spec')!r} "
                f"(weights {str(new.get('fingerprint'))[:12]})")
    if key == "data":
        return (f"the training data differs: the checkpoint saw {old.get('n')} rows "
                f"(fingerprint {str(old.get('fingerprint'))[:12]}), this run has {new.get('n')} "
                f"rows (fingerprint {str(new.get('fingerprint'))[:12]})")
    if isinstance(old, dict) and isinstance(new, dict):
        diffs = [f"{k}: {old.get(k)!r} -> {new.get(k)!r}"
                 for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        return f"the {key} differ ({'; '.join(diffs)})"
    return f"{key} differs ({old!r} -> {new!r})"


def check_identity(path: str | os.PathLike, identity: dict[str, Any]) -> dict[str, Any]:
    """Refuse (``RunError``) unless the checkpoint at ``path`` belongs to a run like this one.

    Returns the recorded ``checkpoint.json`` (or the checkpoint's own identity).
    """
    path = Path(path)
    meta_path = path.parent / "checkpoint.json"
    if meta_path.exists():
        recorded = read_json(meta_path).get("identity", {})
    else:
        recorded = load_checkpoint(path).get("identity", {})
    reasons = [_describe(k, recorded.get(k), identity.get(k))
               for k in sorted(set(recorded) | set(identity)) if recorded.get(k) != identity.get(k)]
    if reasons:
        raise RunError(
            f"Refusing to resume from {str(path.parent)!r}: " + "; ".join(reasons)
            + ". Resume with "
            "the same backbone, data and settings as the interrupted run, or start a new run "
            "(another --out, or no --resume). Nothing was changed."
        )
    return recorded
