"""A monitor's state as a run folder, so that a stream can be watched across process restarts.

The folder is a run of kind ``monitor`` (rendered by the report like any other run):

* ``record.json`` — ``record["monitor"]``: the settings, every window's report, the
  re-adaptation moments, the model watched (its run folder and an identity hash), the stream
  position and the rows still waiting for their window to fill;
* ``monitor.safetensors`` — the reference's arrays (features, softmax outputs, the ATC and
  BBSE calibration) exactly as computed, and the waiting rows' inputs when they are arrays;
* ``windows.csv`` — the per-window table.

Everything needed to resume is stored exactly (float64 arrays, JSON floats round-trip), so a
loaded monitor gives the same statistics, p-values and estimates on the next window as one
that never stopped (the permutation seed follows the number of windows already tested).
"""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np

from ..data import Dataset
from ..exceptions import DataError
from ..utils.fingerprint import hash_array, hash_json, hash_state_dict

__all__ = ["ARRAYS", "FORMAT", "model_identity", "pending_to_json", "pending_from_json",
           "reference_arrays", "reference_from", "windows_table"]

#: the safetensors file beside record.json
ARRAYS = "monitor.safetensors"
#: the version of what record["monitor"]["resume"] holds
FORMAT = 1
#: the reference entries kept as arrays (the rest are JSON)
_REF_ARRAYS = ("features", "proba", "confusion", "priors")
#: the per-window table's columns (windows.csv)
COLUMNS = ("window", "start", "stop", "statistic", "p_value", "threshold", "detected",
           "estimated_accuracy", "average_confidence", "true_accuracy", "label_shift_p")


def model_identity(model: Any) -> str:
    """A hash of what decides a model's features and outputs: its backbone's weights and
    layer, its classes, and its head's weights (arrays of a probe, tensors of a torch head)."""
    parts: list[Any] = [type(model).__name__, model.backbone_.fingerprint(), int(model.layer_),
                        [str(c) for c in model.classes_]]
    head = getattr(getattr(model, "strategy_", None), "head_", None)
    arrays = getattr(head, "arrays", None)
    if isinstance(arrays, dict):
        parts.append({k: hash_array(np.asarray(v)) for k, v in sorted(arrays.items())})
    elif hasattr(head, "state_dict"):
        parts.append(hash_state_dict(head.state_dict()))
    return hash_json(parts)


def reference_arrays(ref: dict[str, Any]) -> dict[str, np.ndarray]:
    return {f"reference.{k}": np.ascontiguousarray(ref[k]) for k in _REF_ARRAYS if k in ref}


def reference_from(summary: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    ref = {k: summary.get(k) for k in ("source", "name", "n", "n_kernel", "threshold",
                                       "accuracy")}
    for k in _REF_ARRAYS:
        if f"reference.{k}" in arrays:
            ref[k] = arrays[f"reference.{k}"]
    return ref


def pending_to_json(pending: list[Dataset], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The rows waiting for their window: text inputs in the JSON, array inputs into
    ``arrays``; labels in the JSON."""
    if not pending:
        return {"rows": 0}
    last = pending[-1]
    inputs = [d.inputs for d in pending]
    out: dict[str, Any] = {"rows": sum(len(d) for d in pending), "modality": last.modality,
                           "name": last.name}
    if all(isinstance(x, np.ndarray) for x in inputs):
        arrays["pending.inputs"] = np.ascontiguousarray(np.concatenate(inputs))
        out["inputs"] = "array"
    elif all(isinstance(x, list) and all(isinstance(v, str) for v in x) for x in inputs):
        out["inputs"] = [v for x in inputs for v in x]
    else:
        kinds = sorted({type(x).__name__ for x in inputs})
        raise DataError(
            f"DriftMonitor.save keeps the {out['rows']} rows still waiting for their window as "
            f"text or arrays; got {last.modality} inputs held as {kinds}. Fix: save right after "
            "a window completes (feed the stream in batches of the window's size).")
    labelled = all(d.labels is not None for d in pending)
    out["labels"] = [v.item() if isinstance(v, np.generic) else v
                     for d in pending for v in d.labels] if labelled else None
    return out


def pending_from_json(state: dict[str, Any], arrays: dict[str, np.ndarray]) -> list[Dataset]:
    if not state.get("rows"):
        return []
    inputs = arrays["pending.inputs"] if state["inputs"] == "array" else list(state["inputs"])
    labels = None if state.get("labels") is None else np.asarray(state["labels"])
    return [Dataset(inputs=inputs, labels=labels, modality=state["modality"],
                    name=state.get("name", "pending"))]


def windows_table(windows: list[dict[str, Any]]) -> str:
    """``windows.csv``: one row per window (the label-shift test's p-value flattened)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for r in windows:
        ls = r.get("label_shift") or {}
        w.writerow([r.get(c) if c != "label_shift_p" else ls.get("p_value") for c in COLUMNS])
    return buf.getvalue()
