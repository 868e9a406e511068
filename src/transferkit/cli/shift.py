"""``transferkit shift`` — how far a target dataset is from a source, in a backbone's features."""

from __future__ import annotations

import argparse
import json
import time

from ..runs import write_analysis_run
from ..shift import shift
from ..utils.docstrings import arg_docs
from .common import add_analysis_args, add_data_args, echo, load_source
from .out import add_out_flags, claim_out
from .report import add_report_flag, auto_report

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    docs = arg_docs(shift)
    p = sub.add_parser(
        "shift",
        help="measure source -> target shift: MMD test, proxy A-distance, two-sample AUC",
        description=(
            "Encode a sample of SOURCE and TARGET with one backbone and measure how far apart "
            "they are: an MMD permutation test, the proxy A-distance and the AUC of a domain "
            "classifier, per class when both are labelled, with a verdict in plain words."
        ),
    )
    p.add_argument("--source", required=True,
                   help="source data: dataset name, file (amazon.csv:domain=books), or folder")
    p.add_argument("--target", required=True, help="target data, in the same forms")
    p.add_argument("--backbone", default="minilm-l6", help=docs.get("backbone", ""))
    p.add_argument("--layer", type=int, default=None, help=docs.get("layer", ""))
    p.add_argument("--permutations", dest="n_permutations", type=int, default=None,
                   help=docs.get("n_permutations", ""))
    add_analysis_args(p, docs, out_help="also write a run folder (record.json) here")
    add_out_flags(p, None)
    add_data_args(p)
    add_report_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with claim_out(args, args.out):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    src, tgt = load_source(args.source, args), load_source(args.target, args)
    src = src.train if hasattr(src, "train") else src
    tgt = tgt.train if hasattr(tgt, "train") else tgt
    names = ("layer", "n_permutations", "max_samples", "seed", "batch_size", "cache")
    kw = {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}
    if not args.json:
        echo(f"shift from {src.name} ({len(src)} examples) to {tgt.name} ({len(tgt)}) "
             f"in the features of {args.backbone}")
    result = shift(src, tgt, backbone=args.backbone, progress=not args.json, **kw)
    if args.json:
        echo(json.dumps({k: v for k, v in result.to_dict().items() if k != "projection"},
                        indent=2, default=str))
    else:
        echo(str(result))
        for note in result.notes:
            echo(f"note: {note}")
    if args.out:
        config = {"source": args.source, "target": args.target, "backbone": args.backbone, **kw}
        dataset = {"source": src.summary(), "target": tgt.summary()}
        out = write_analysis_run(args.out, "shift", config, dataset, result.to_dict(),
                                 seconds=time.perf_counter() - t0, overwrite=args.overwrite)
        if not args.json:
            echo(f"saved run to {out}")
            auto_report(args, out)
    return 0
