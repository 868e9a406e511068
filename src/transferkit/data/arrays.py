"""In-memory data into a :class:`Dataset`: lists of strings, image and feature arrays, waveforms."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError
from .dataset import MODALITIES, Dataset
from .images import verify_images
from .validate import check_finite_features, clean_label_columns, clean_labels, text_values

__all__ = ["from_arrays"]


def from_arrays(
    inputs: Any,
    labels: Any = None,
    domains: Any = None,
    name: str = "arrays",
    modality: str | None = None,
    sample_rate: int | None = None,
    *,
    allow_unlabelled: bool = False,
) -> Dataset:
    """Wrap in-memory data, inferring the modality from its form.

    Args:
        inputs: a list of strings (text; image file paths with ``modality="image"``), an
            ``(N, H, W)`` or ``(N, H, W, C)`` array (images: ``uint8``, or floats in
            ``[0, 1]``), an ``(N, D)`` array (tabular), or a list of 1-D waveforms (audio).
        labels: one label per input, or ``None``; or a dict of label columns, column name
            -> one label per input (several columns give ``labels=None`` and
            ``label_columns``). A label that is a list or tuple is a set of labels
            (multi-label); ``None`` is a missing label.
        domains: one domain name per input, or ``None``.
        name: the dataset name.
        modality: overrides the inferred modality.
        sample_rate: waveform sample rate in Hz; required for audio.
        allow_unlabelled: keep missing labels (as ``None``) instead of raising; with several
            columns, also keep rows with no label in any column.

    Returns:
        The dataset.

    Raises:
        DataError: the inputs have no recognisable form, or hold bad values.
    """
    if isinstance(inputs, pd.DataFrame):
        raise DataError("Expected arrays or lists; got a DataFrame. Use from_dataframe(df, ...).")
    if modality is not None and modality not in MODALITIES:
        raise DataError(f"Expected modality in {MODALITIES}; got {modality!r}.")
    if isinstance(inputs, (str, bytes)) or not hasattr(inputs, "__len__"):
        raise DataError(
            f"Expected a sequence or array of inputs; got {type(inputs).__name__}. "
            "Fix: pass a list of strings or a NumPy array."
        )
    if len(inputs) == 0:
        raise DataError("Expected at least one input; got an empty sequence.")
    arr = _as_array_if_numeric(inputs)
    modality = modality or _infer_modality(arr)
    meta: dict[str, Any] = {"source": "arrays"}
    if modality == "text":
        x: Any = text_values(list(arr) if isinstance(arr, np.ndarray) else inputs, "inputs", 0)
    elif modality == "image":
        x = _image_values(arr)
    elif modality == "tabular":
        x = _tabular_values(arr)
    else:
        x = _audio_values(arr if isinstance(arr, np.ndarray) and arr.ndim == 2 else inputs)
        if sample_rate is None:
            raise DataError("Expected sample_rate= (in Hz) for audio inputs; got none.")
        meta["sample_rate"] = int(sample_rate)
    label_columns = None
    if isinstance(labels, dict):
        labels, label_columns = _label_columns(labels, len(x), allow_unlabelled, meta)
    elif labels is not None:
        if len(labels) != len(x):
            raise DataError(
                f"Expected one label per input ({len(x)} inputs); got {len(labels)} labels."
            )
        labels = clean_labels(labels, what="labels", base=0, allow_missing=allow_unlabelled)
    if domains is not None:
        domains = np.asarray(domains).astype(str)
    meta["labelled"] = labels is not None or label_columns is not None
    return Dataset(x, labels, modality, name, domains, meta, label_columns)


def _label_columns(
    columns: dict, n: int, allow_unlabelled: bool, meta: dict[str, Any]
) -> tuple[np.ndarray | None, dict[str, np.ndarray] | None]:
    """``labels={"intent": [...], "sentiment": [...]}``: checked, cleaned, named in ``meta``."""
    if not columns:
        raise DataError(
            "Expected labels= as a sequence, or a dict of column name -> labels with at least "
            "one column; got an empty dict. Fix: pass labels=None for unlabelled data."
        )
    short = {str(k): len(v) for k, v in columns.items() if len(v) != n}
    if short:
        raise DataError(
            f"Expected one label per input ({n} inputs) in every label column; got {short} "
            "labels. Fix: give each column one label per input (None where it has none)."
        )
    names = [str(k) for k in columns]
    labels, label_columns = clean_label_columns(
        dict(zip(names, columns.values(), strict=True)),
        "the labels= dict",
        0,
        allow_unlabelled=allow_unlabelled,
    )
    if label_columns is None:
        meta["label_col"] = names[0]
    else:
        meta["label_cols"] = names
    return labels, label_columns


def _as_array_if_numeric(inputs: Any) -> Any:
    if isinstance(inputs, np.ndarray):
        return inputs
    first = inputs[0]
    if isinstance(first, str):
        return inputs
    if isinstance(first, np.ndarray) and first.ndim == 1:
        return inputs  # waveforms of different lengths stay a list
    try:
        return np.asarray(inputs)
    except ValueError:
        return inputs


def _infer_modality(x: Any) -> str:
    if isinstance(x, np.ndarray) and x.dtype.kind in "biuf":
        if x.ndim == 2:
            return "tabular"
        if x.ndim in (3, 4):
            return "image"
        raise DataError(
            f"Expected an (N, D) tabular or (N, H, W[, C]) image array; got shape {x.shape}."
        )
    items = list(x)
    if all(isinstance(v, str) for v in items):
        return "text"
    if all(isinstance(v, np.ndarray) and v.ndim == 1 for v in items):
        return "audio"
    kinds = sorted({type(v).__name__ for v in items})
    raise DataError(
        f"Expected a list of strings, a list of 1-D waveforms or a numeric array; got items of "
        f"type {kinds}. Fix: pass modality= or convert the inputs."
    )


def _image_values(x: Any) -> Any:
    if not isinstance(x, np.ndarray) or x.dtype.kind not in "biuf":
        paths = text_values(list(x), "image paths", 0)
        verify_images(paths, raise_on_bad=True)
        return paths
    if x.ndim not in (3, 4):
        raise DataError(f"Expected images of shape (N, H, W) or (N, H, W, C); got {x.shape}.")
    if x.ndim == 4 and x.shape[-1] not in (1, 3, 4):
        hint = (
            " It looks channels-first: use np.moveaxis(x, 1, -1)."
            if x.shape[1] in (1, 3, 4)
            else ""
        )
        raise DataError(
            f"Expected channels-last images (N, H, W, C) with C in 1, 3, 4; got {x.shape}.{hint}"
        )
    if x.dtype == np.uint8:
        return x
    if x.dtype.kind == "f":
        if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
            raise DataError(
                "Expected float images with values in [0, 1]; got values from "
                f"{np.nanmin(x):.3g} to {np.nanmax(x):.3g}. Fix: scale to [0, 1] or cast to uint8."
            )
        return x.astype(np.float32, copy=False)
    if x.min() < 0 or x.max() > 255:
        raise DataError(f"Expected integer images in 0..255; got {x.min()}..{x.max()}.")
    return x.astype(np.uint8)


def _tabular_values(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim > 2 and x.dtype.kind in "biuf":
        # Images asked for as tabular: one feature per pixel (a from-scratch baseline wants it).
        x = x.reshape(len(x), -1)
    if x.ndim != 2 or x.dtype.kind not in "biuf":
        raise DataError(
            f"Expected a numeric (N, D) array for tabular data; got {x.dtype} {x.shape}."
        )
    out = x.astype(np.float32)
    check_finite_features(out, None, "tabular inputs", base=0)
    return out


def _audio_values(waves: Any) -> list[np.ndarray]:
    out = []
    for i, w in enumerate(waves):
        a = np.asarray(w, dtype=np.float32)
        if a.ndim != 1 or a.size == 0:
            raise DataError(
                f"Expected 1-D non-empty waveforms; got shape {a.shape} at position {i}."
            )
        if not np.isfinite(a).all():
            raise DataError(f"Expected finite waveform samples; got NaN or inf at position {i}.")
        out.append(a)
    return out
