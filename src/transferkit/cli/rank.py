"""``transferkit rank`` — rank candidate backbones for a dataset by transferability scores."""

from __future__ import annotations

import argparse
import json
import time

from ..compare import baseline_score
from ..exceptions import ConfigError
from ..runs import write_analysis_run
from ..select import format_ranking, list_scores, rank, rank_sample, ranking_record
from ..strategies.baseline import baselines_for
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
    p.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                   help="also cross-validate the modality's no-transfer baseline (TF-IDF, "
                        "pixels, gradient boosting) on the same folds, as the reference the "
                        "knn and probe accuracies must beat (default: on)")
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
    reference = _baseline_reference(args, ds, df)
    if reference:
        results["baseline"] = reference
    if args.json:
        echo(json.dumps(results, indent=2, default=str))
    else:
        echo(format_ranking(df))
        if reference:
            echo(baseline_line(reference, df.attrs.get("scores", [])))
    if args.out:
        config = {"source": args.source, "backbones": backbones, "scores": scores,
                  "baseline": bool(args.baseline), **kw}
        out = write_analysis_run(
            args.out, "rank", config, {"train": ds.summary(), "source": args.source}, results,
            extra_files={"ranking.csv": df.to_csv(index=False)},
            seconds=time.perf_counter() - t0, overwrite=args.overwrite,
        )
        if not args.json:
            echo(f"saved run to {out}")
            auto_report(args, out)
    return 0


def _baseline_reference(args: argparse.Namespace, ds, df) -> dict | None:
    """The baseline's accuracy on the ranking's sample and folds, or None (off, or no
    baseline for the modality: said once)."""
    if not args.baseline:
        return None
    if not baselines_for(ds.modality):
        if not args.json:
            echo(f"(no no-transfer baseline exists for {ds.modality} data; none shown)")
        return None
    sample = ds
    if args.max_samples and len(ds) > args.max_samples:
        sample = rank_sample(ds, int(args.max_samples), int(args.seed or 0))
    try:
        return baseline_score(sample, folds=int(df.attrs["cv_folds"]), seed=int(args.seed or 0))
    except ConfigError as e:  # pragma: no cover - every modality with features has one
        echo(f"(baseline not computed: {e})")
        return None


def baseline_line(ref: dict, scores: list[str]) -> str:
    """One line: the baseline's cross-validated accuracy and which scores it compares with."""
    comparable = [s for s in scores if s in ("knn", "probe")]
    against = (f"; compare with the {' and '.join(comparable)} column(s), the same folds"
               if comparable else "; add --scores ...,knn or probe to compare on one scale")
    return (f"\nNo-transfer reference: {ref['baseline']} ({ref['description']}) reaches "
            f"{ref['accuracy']:.4g} {ref['folds']}-fold cross-validated accuracy "
            f"in {ref['seconds']:.1f} s{against}. A backbone below it is unlikely to beat a "
            "model that uses no pre-trained weights.")
