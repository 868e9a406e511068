"""``transferkit rank`` — rank candidate backbones for a dataset by transferability scores."""

from __future__ import annotations

import argparse
import json
import time

from ..runs import write_analysis_run
from ..select import format_ranking, list_scores, rank, ranking_record
from ..utils.docstrings import arg_docs
from .common import add_analysis_args, add_data_args, echo, load_source
from .out import add_out_flags, claim_out
from .report import add_report_flag, auto_report

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    docs = arg_docs(rank)
    p = sub.add_parser(
        "rank",
        help="rank candidate backbones for a dataset without fine-tuning (LogME, H-score, ...)",
        description=(
            "Encode SOURCE once with each candidate backbone (through the feature cache) and "
            "score how well its features suit the labels. Prints the ranked table, one line on "
            "how to read each score, and notes on anything not computed."
        ),
    )
    p.add_argument("source", help="dataset name, file (file.csv:domain=NAME), or folder")
    p.add_argument("--backbones", required=True,
                   help="comma-separated candidate specs, e.g. "
                        "minilm-l6,minilm-l6@3,random:minilm-l6. " + docs.get("backbones", ""))
    p.add_argument("--scores", default="logme,hscore,knn",
                   help=f"comma-separated scores from {list_scores()} (default "
                        "logme,hscore,knn); the first sorts the table")
    p.add_argument("--layer", type=int, default=None, help=docs.get("layer", ""))
    add_analysis_args(p, docs, out_help="also write a run folder (record.json, ranking.csv) here")
    add_out_flags(p, None)
    add_data_args(p)
    add_report_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with claim_out(args, args.out):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    obj = load_source(args.source, args)
    ds = obj.train if hasattr(obj, "train") else obj
    backbones = [b.strip() for b in args.backbones.split(",") if b.strip()]
    scores = [s.strip() for s in str(args.scores).split(",") if s.strip()]
    kw = {k: getattr(args, k) for k in ("layer", "max_samples", "seed", "batch_size", "cache")
          if getattr(args, k, None) is not None}
    if not args.json:
        sample = f" (scoring a stratified sample of ~{args.max_samples})" if (
            args.max_samples and args.max_samples < len(ds)) else ""
        echo(f"ranking {len(backbones)} candidate(s) on {ds.name}: {len(ds)} examples{sample}, "
             f"{len(ds.classes)} classes; scores {', '.join(scores)}")
    df = rank(ds, backbones=backbones, scores=scores, progress=not args.json, **kw)
    results = ranking_record(df)
    if args.json:
        echo(json.dumps(results, indent=2, default=str))
    else:
        echo(format_ranking(df))
    if args.out:
        config = {"source": args.source, "backbones": backbones, "scores": scores, **kw}
        out = write_analysis_run(
            args.out, "rank", config, {"train": ds.summary(), "source": args.source}, results,
            extra_files={"ranking.csv": df.to_csv(index=False)},
            seconds=time.perf_counter() - t0, overwrite=args.overwrite,
        )
        if not args.json:
            echo(f"saved run to {out}")
            auto_report(args, out)
    return 0
