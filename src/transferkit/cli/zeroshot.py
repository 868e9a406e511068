"""``transferkit zeroshot`` — classify text by label names or descriptions, with no training."""

from __future__ import annotations

import argparse
import json

import numpy as np

from ..data import Dataset, check_modality
from ..exceptions import ConfigError
from ..fewshot.labels_file import match_dataset_labels
from ..models import ZeroShotClassifier
from .common import add_data_args, echo, load_source
from .out import add_out_flags, claim_out
from .params import add_param_flags, param_kwargs
from .report import add_report_flag, auto_report


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "zeroshot",
        help="classify text by label names or descriptions, with no training examples",
        description=(
            "Embed each label's name (or descriptions) and give every text of SOURCE the most "
            "similar label. When SOURCE has labels (its test split, if it has one), print "
            "accuracy; otherwise print one prediction per line. Without --labels or "
            "--label-descriptions, a labelled SOURCE's own label names are used."
        ),
    )
    p.add_argument("source", help="dataset name, file (CSV/TSV/JSONL/Parquet) or folder")
    g = p.add_argument_group("labels")
    g.add_argument("--labels", help='comma-separated label names, e.g. "positive,negative"')
    g.add_argument("--label-descriptions", metavar="FILE",
                   help="YAML/JSON file mapping each label to a description (or a list of them)")
    # --calibrate calibrates on SOURCE's own text, its labels left unread.
    add_param_flags(p, ZeroShotClassifier)
    add_out_flags(p, "also save the model (and metrics) as this run folder")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--config", help="YAML file of flag values (flags given here override it)")
    add_data_args(p)
    add_report_flag(p)
    p.set_defaults(func=run)


def _label_args(args: argparse.Namespace, data: Dataset) -> dict:
    if args.labels is not None and args.label_descriptions:
        raise ConfigError("Give --labels or --label-descriptions, not both.")
    if args.label_descriptions:
        return {"descriptions": args.label_descriptions}
    if args.labels is not None:
        return {"labels": args.labels.split(",")}
    if data.labels is None:
        raise ConfigError(
            f"{data.name!r} has no labels to take names from: give --labels \"a,b,...\" or "
            "--label-descriptions labels.yaml."
        )
    names = data.meta.get("label_names") or {}
    classes = [_plain(c) for c in np.unique(data.labels)]
    return {"labels": [str(names.get(c, names.get(str(c), c))) for c in classes]}


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def run(args: argparse.Namespace) -> int:
    with claim_out(args, args.out):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    src = load_source(args.source, args)
    data = src if isinstance(src, Dataset) else (src.test or src.train)
    # The data type first: tabular data would otherwise fail as "labels do not match".
    check_modality(data, "text", "zeroshot (it compares texts with label names)")
    kw = _label_args(args, data)
    model = ZeroShotClassifier(**{**param_kwargs(args, ZeroShotClassifier), **kw})
    model._validate_params()
    spec, _ = model._resolve_labels()
    labelled = data.labels is not None and not args.multi_label
    if labelled:
        # Before any encoding: the labels must be exactly the data's.
        match_dataset_labels(list(spec), data.labels, data.meta.get("label_names"),
                             where=repr(data.name))
    model.fit(data.without_labels() if args.calibrate else None)
    metrics = {}
    if labelled:
        metrics = model.evaluate(data)
        if args.json:
            echo(json.dumps({k: v for k, v in metrics.items() if k != "per_class"}))
        else:
            echo(f"{data.name}: n={metrics['n']}  zero-shot accuracy {metrics['accuracy']:.4f}  "
                 f"macro-F1 {metrics['macro_f1']:.4f}  ({len(model.classes_)} labels, "
                 f"backbone {model.settings().backbone})")
    else:
        _print_predictions(model, data, args.json)
    if args.out:
        record = {"dataset": {"eval": data.summary(), "source": args.source,
                              "calibration": model.calibration_}}
        model.save(args.out, metrics=metrics, record=record, overwrite=args.overwrite)
        echo(f"saved run to {args.out}", err=True)
        auto_report(args, args.out)
    return 0


def _print_predictions(model: ZeroShotClassifier, data: Dataset, as_json: bool) -> None:
    proba = model.predict_proba(data)
    for text, row in zip(data.inputs, proba, strict=True):
        if model.settings().multi_label:
            chosen = [(str(model.classes_[j]), float(row[j])) for j in np.flatnonzero(row >= 0.5)]
        else:
            j = int(row.argmax())
            chosen = [(str(model.classes_[j]), float(row[j]))]
        if as_json:
            echo(json.dumps({"input": text, "predictions": [
                {"label": lab, "probability": round(p, 6)} for lab, p in chosen]}))
        else:
            shown = "  ".join(f"{lab} ({p:.3f})" for lab, p in chosen) or "(none)"
            echo(f"{shown}\t{text[:80]}")
