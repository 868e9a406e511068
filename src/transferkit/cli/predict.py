"""``transferkit predict`` and ``transferkit evaluate`` — use a saved run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..data import AUDIO_EXTENSIONS, Dataset
from ..data.audio import read_audio_files
from ..data.readers import table_format
from ..data.table_chunks import CHUNK_ROWS, iter_table_chunks
from ..exceptions import DataError
from ..runs import load
from .common import add_data_args, data_kwargs, echo, load_source
from .output import line_sink
from .predict_multi import is_multitask, predict_lines_per_task

_IMAGE_EXT = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="predict labels with a saved run",
                       description="Print the predicted label and its probability for each input.")
    p.add_argument("run", help="run folder written by `transferkit fit`")
    p.add_argument("inputs", nargs="+",
                   help="texts, or one file: .txt (one input per line), CSV/TSV/JSONL/Parquet, an "
                        "image or a folder of images; audio clips (.wav/.flac/.ogg) or a folder "
                        "of them")
    p.add_argument("--top-k", type=_top_k, default=1, metavar="K",
                   help="show the K most likely labels (K >= 1)")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    p.add_argument("--out", metavar="FILE",
                   help="write the predictions to FILE instead of printing them (replaced only "
                        "once complete)")
    p.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, metavar="N",
                   help="read a CSV/TSV file N rows at a time, predicting and writing each "
                        "chunk before the next (bounded memory on large files)")
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
    clips = _audio_files(values, modality)
    if clips:
        waves, rate, kept, _ = read_audio_files(clips, skip_bad=getattr(args, "skip_bad", False))
        name = values[0] if len(values) == 1 else "command line"
        return (Dataset(waves, modality="audio", name=name, meta={"sample_rate": rate}),
                [clips[i] for i in kept])
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


def _audio_files(values: list[str], modality: str) -> list[str]:
    """The audio files named (every value an audio file), or in the one folder given to an
    audio model; empty when the inputs are not audio."""
    if all(Path(v).suffix.lower() in AUDIO_EXTENSIONS for v in values):
        return list(values)
    if len(values) == 1 and Path(values[0]).is_dir() and modality == "audio":
        files = sorted(str(f) for f in Path(values[0]).rglob("*")
                       if f.suffix.lower() in AUDIO_EXTENSIONS)
        if not files:
            raise DataError(f"Expected audio files ({', '.join(AUDIO_EXTENSIONS)}) in "
                            f"{values[0]!r}; got none.")
        return files
    return []


def _numeric_rows(values: list[str]) -> np.ndarray:
    try:
        return np.asarray([[float(v) for v in row.split(",")] for row in values],
                          dtype=np.float32)
    except ValueError:
        raise DataError(
            f"This run expects numeric rows; got {values[0]!r}. Give each row as "
            "comma-separated numbers (\"0.1,2,3\"), or a CSV file with --feature-cols.") from None


def _table_chunks(values: list[str], args: argparse.Namespace):
    """``(data, shown)`` chunk by chunk when the input is one CSV/TSV file, else ``None``."""
    kw = data_kwargs(args)
    # --skip-bad is for images: the whole-file path reports that a table does not take it.
    if len(values) != 1 or not Path(values[0]).is_file() or "skip_bad" in kw:
        return None
    try:
        if table_format(Path(values[0])) not in ("csv", "tsv"):
            return None
    except DataError:
        return None
    if args.chunk_rows < 1:
        raise DataError(f"--chunk-rows must be a positive number of rows; got {args.chunk_rows}. "
                        "Fix: pass --chunk-rows 50000, or leave it out.")
    return (
        (ds, ds.inputs if ds.modality == "text" else
         [f"row {start + i}" for i in range(len(ds))])
        for start, ds in _numbered(iter_table_chunks(values[0], args.chunk_rows, **kw))
    )


def _numbered(chunks):
    """``(index of the chunk's first row, chunk)``: rows are numbered across the whole file."""
    start = 0
    for ds in chunks:
        yield start, ds
        start += len(ds)


def run_predict(args: argparse.Namespace) -> int:
    model = load(args.run)
    chunks = _table_chunks(args.inputs, args)
    if chunks is None:
        chunks = [_inputs_from_args(args.inputs, model.modality_, args)]
    with line_sink(args.out) as write:
        for data, shown in chunks:
            _predict_lines(model, data, shown, args, write)
    return 0


def _predict_lines(model, data: Dataset, shown, args: argparse.Namespace, write) -> None:
    if is_multitask(model):  # one column per task (per label column it was fitted on)
        return predict_lines_per_task(model, data, shown, args, write)
    proba = model.predict_proba(data)  # checks the data's kind against the run first
    k = max(1, min(args.top_k, proba.shape[1]))
    top = np.argsort(-proba, axis=1)[:, :k]
    for i, row in enumerate(top):
        labels = [(str(model.classes_[j]), float(proba[i, j])) for j in row]
        if args.json:
            write(json.dumps({"input": str(shown[i]), "predictions":
                              [{"label": lab, "probability": round(p, 6)} for lab, p in labels]}))
        else:
            preds = "  ".join(f"{lab} ({p:.3f})" for lab, p in labels)
            write(f"{preds}\t{str(shown[i])[:80]}")


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
