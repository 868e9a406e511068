"""``transferkit rank-sources`` — which source domains to adapt from, without target labels."""

from __future__ import annotations

import argparse
import json
import time

from ..compare import format_source_ranking, rank_sources
from ..runs import write_analysis_run
from .common import add_data_args, data_kwargs, echo, load_source, split_data_specs
from .out import add_out_flags, claim_out

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rank-sources",
        help="rank candidate source domains for a target by how much the target resembles "
             "each (no target labels needed)",
        description=(
            "Encode TARGET and every source with one frozen backbone and rank the sources by "
            "their mixture weight (the share of target rows that resemble each source), with "
            "each one's shift to the target (proxy A-distance, MMD, domain AUC). When TARGET "
            "has labels, a probe trained on each source alone is also scored on them, to check "
            "the ranking; those labels never enter it. Then adapt from the first source, or "
            "from all with 'adapt --source A,B,C --method ensemble'."),
    )
    p.add_argument("target", help="target data: dataset name, file (file.csv:domain=NAME) or "
                                  "folder")
    p.add_argument("--sources", required=True, action="append",
                   help="comma-separated labelled source datasets (or repeat the flag)")
    p.add_argument("--backbone", default="minilm-l6", help="encoder of the frozen features")
    p.add_argument("--layer", type=int, default=None, help="feature layer (default: the "
                   "backbone's)")
    p.add_argument("--seed", type=int, default=0, help="seeds subsamples and classifiers")
    p.add_argument("--batch-size", type=int, default=None, help="encoding batch size")
    p.add_argument("--no-cache", dest="cache", action="store_false",
                   help="do not read or write the feature cache")
    p.add_argument("--json", action="store_true", help="print the ranking as JSON")
    add_out_flags(p, "also write a run folder (record.json, source_ranking.csv) here")
    add_data_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with claim_out(args, args.out):
        return _run(args)


def _one(obj):
    return obj.train if hasattr(obj, "train") else obj


def _run(args: argparse.Namespace) -> int:
    from ..data import load_dataset

    t0 = time.perf_counter()
    target = _one(load_source(args.target, args))
    specs = split_data_specs(args.sources)
    sources = [_one(load_dataset(spec, **data_kwargs(args))) for spec in specs]
    if not args.json:
        echo(f"ranking {len(sources)} sources for {target.name} ({len(target)} rows) with "
             f"{args.backbone}")
    df = rank_sources(target, sources, backbone=args.backbone, layer=args.layer,
                      seed=args.seed, batch_size=args.batch_size, cache=args.cache)
    records = json.loads(df.to_json(orient="records"))
    if args.json:
        echo(json.dumps(records, indent=2))
    else:
        echo(format_source_ranking(df))
    if args.out:
        config = {"target": args.target, "sources": specs, "backbone": args.backbone,
                  "layer": args.layer, "seed": args.seed}
        out = write_analysis_run(
            args.out, "rank-sources", config, {"target": target.summary(), "sources": specs},
            {"ranking": records}, extra_files={"source_ranking.csv": df.to_csv(index=False)},
            seconds=time.perf_counter() - t0, overwrite=args.overwrite)
        if not args.json:
            echo(f"saved run to {out}")
    return 0
