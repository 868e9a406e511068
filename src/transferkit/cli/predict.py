"""``transferkit predict`` and ``transferkit evaluate`` — use a saved run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..data import Dataset
from ..exceptions import DataError
from ..runs import load
from .common import add_data_args, echo, load_source

_IMAGE_EXT = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="predict labels with a saved run",
                       description="Print the predicted label and its probability for each input.")
    p.add_argument("run", help="run folder written by `transferkit fit`")
    p.add_argument("inputs", nargs="+",
                   help="texts, or one file: .txt (one input per line), CSV/TSV/JSONL/Parquet, an "
                        "image or a folder of images")
    p.add_argument("--top-k", type=_top_k, default=1, metavar="K",
                   help="show the K most likely labels (K >= 1)")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    add_data_args(p)
    p.set_defaults(func=run_predict)

    e = sub.add_parser("evaluate", help="evaluate a saved run on labelled data",
                       description="Accuracy, macro-F1 and the most confused classes on DATA.")
    e.add_argument("run", help="run folder written by `transferkit fit`")
    e.add_argument("data", help="labelled data: dataset name, file or folder (test split used)")
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")
    add_data_args(e)
    e.set_defaults(func=run_evaluate)


def _top_k(text: str) -> int:
    """``--top-k``: a whole number of labels, at least 1."""
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of labels to show (1 or more), got {text!r}") from None
    if k < 1:
        raise argparse.ArgumentTypeError(
            f"expected 1 or more labels to show, got {k}; --top-k 1 shows the most likely one")
    return k


def _inputs_from_args(values: list[str], modality: str, args: argparse.Namespace
                      ) -> tuple[Dataset, object]:
    """Inputs to predict on, as what they are (the model checks they suit it), and a display
    form of each."""
    if len(values) == 1 and Path(values[0]).exists():
        path = Path(values[0])
        if path.is_dir() or path.suffix.lower() in _IMAGE_EXT:
            files = sorted(str(f) for f in (path.rglob("*") if path.is_dir() else [path])
                           if f.suffix.lower() in _IMAGE_EXT)
            if not files:
                raise DataError(
                    f"No image files ({', '.join(sorted(_IMAGE_EXT))}) in {str(path)!r}.")
            return Dataset(files, modality="image", name=str(path)), files
        if path.suffix.lower() == ".txt":
            lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
            if not lines:
                raise DataError(f"{str(path)!r} is empty: expected one input per line.")
            return Dataset(lines, modality="text", name=str(path)), lines
        ds = load_source(str(path), args)
        data = ds if isinstance(ds, Dataset) else ds.train
        shown = data.inputs if data.modality == "text" else [f"row {i}" for i in range(len(data))]
        return data, shown
    if modality == "tabular":
        rows = _numeric_rows(values)
        return Dataset(rows, modality="tabular", name="command line"), values
    if modality != "text":
        raise DataError(
            f"This run expects {modality} inputs; give a file or folder, not free text."
        )
    return Dataset(list(values), modality="text", name="command line"), list(values)


def _numeric_rows(values: list[str]) -> np.ndarray:
    try:
        return np.asarray([[float(v) for v in row.split(",")] for row in values],
                          dtype=np.float32)
    except ValueError:
        raise DataError(
            f"This run expects numeric rows; got {values[0]!r}. Give each row as "
            "comma-separated numbers (\"0.1,2,3\"), or a CSV file with --feature-cols.") from None


def run_predict(args: argparse.Namespace) -> int:
    model = load(args.run)
    data, shown = _inputs_from_args(args.inputs, model.modality_, args)
    proba = model.predict_proba(data)
    k = max(1, min(args.top_k, proba.shape[1]))
    top = np.argsort(-proba, axis=1)[:, :k]
    for i, row in enumerate(top):
        labels = [(str(model.classes_[j]), float(proba[i, j])) for j in row]
        if args.json:
            echo(json.dumps({"input": str(shown[i]), "predictions":
                             [{"label": lab, "probability": round(p, 6)} for lab, p in labels]}))
        else:
            preds = "  ".join(f"{lab} ({p:.3f})" for lab, p in labels)
            echo(f"{preds}\t{str(shown[i])[:80]}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    model = load(args.run)
    src = load_source(args.data, args, expect=model.modality_,
                      who=f"The run {args.run!r} (a {model.modality_} model)")
    data = src if isinstance(src, Dataset) else (src.test or src.train)
    metrics = model.evaluate(data)
    if args.json:
        echo(json.dumps({k: v for k, v in metrics.items() if k != "per_class"}))
        return 0
    echo(f"{data.name}: n={metrics['n']}  accuracy {metrics['accuracy']:.4f}  "
         f"macro-F1 {metrics['macro_f1']:.4f}")
    cm = np.asarray(metrics["confusion_matrix"])
    np.fill_diagonal(cm, 0)
    if cm.sum():
        echo("most confused (true -> predicted: count):")
        flat = np.argsort(-cm, axis=None)[:5]
        for f in flat:
            i, j = np.unravel_index(f, cm.shape)
            if cm[i, j]:
                echo(f"  {metrics['labels'][i]} -> {metrics['labels'][j]}: {cm[i, j]}")
    return 0
