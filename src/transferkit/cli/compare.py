"""``transferkit compare`` — strategies x data fractions (or shots) x seeds, and the verdict."""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

from ..compare import compare
from ..exceptions import ConfigError, NegativeTransferWarning
from ..models import TransferClassifier
from ..utils.docstrings import arg_docs
from .common import add_data_args, add_group_arg, echo, load_source
from .out import add_out_flags, claim_out
from .params import add_param_flags, param_kwargs
from .report import add_report_flag, auto_report

__all__ = ["add_parser", "run"]

# compare sets the strategy, shots and seed itself: the other estimator flags pass through.
_OWN = ("strategy", "shots", "seed", "resume", "checkpoint_dir")


def add_parser(sub: argparse._SubParsersAction) -> None:
    docs = arg_docs(compare)
    p = sub.add_parser(
        "compare",
        help="transfer vs scratch and the no-transfer baseline over label fractions and seeds, "
             "with a negative-transfer verdict",
        description=(
            "Fit every strategy on the same samples of SOURCE's training split (each fraction "
            "or shot count, each seed), score them on the test split, and say whether transfer "
            "beat training from scratch beyond seed-to-seed noise (paired sign-flip test)."
        ),
    )
    p.add_argument("source", help="dataset name, file (file.csv:domain=NAME), or folder")
    p.add_argument("--backbones", default=None,
                   help="comma-separated backbones to compare on the same samples and seeds, "
                        "e.g. minilm-l6,run:runs/mini-kitchen (the first is the reference; "
                        "replaces --backbone)")
    p.add_argument("--strategies", default=None,
                   help="comma-separated strategies (default probe,finetune,scratch and the "
                        "data's baseline). " + docs.get("strategies", ""))
    p.add_argument("--fractions", help="comma-separated shares of the training labels, e.g. "
                                       "0.01,0.05,0.2,1 (default 0.05,0.2,1)")
    p.add_argument("--shots", help="comma-separated examples per class instead of fractions, "
                                   "e.g. 1,2,4,8")
    p.add_argument("--seeds", default="3",
                   help="number of seeds (3: seeds 0,1,2) or a comma-separated list of seeds")
    p.add_argument("--metric", default="accuracy", help=docs.get("metric", ""))
    add_out_flags(p, "run folder to write (default runs/compare-<data>)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--config", help="YAML file of flag values (flags given here override it)")
    add_param_flags(p, TransferClassifier, skip=_OWN)
    add_data_args(p)
    add_group_arg(p)
    add_report_flag(p)
    p.set_defaults(func=run)


def _numbers(text: str | None, kind: type, flag: str) -> list | None:
    if text is None:
        return None
    try:
        return [kind(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        example = "0.05,0.2,1" if kind is float else "1,2,4,8"
        raise ConfigError(f"{flag} expects comma-separated {kind.__name__} values, e.g. "
                          f"{example}; got {text!r}.") from None


def _out(args: argparse.Namespace) -> str:
    name = Path(args.source.split(":")[0]).stem or "data"
    return args.out or f"runs/compare-{name}"


def run(args: argparse.Namespace) -> int:
    with claim_out(args, _out(args)):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    data = load_source(args.source, args)
    seeds_arg = _numbers(args.seeds, int, "--seeds")
    seeds = seeds_arg[0] if seeds_arg and len(seeds_arg) == 1 else seeds_arg
    kwargs = {k: v for k, v in param_kwargs(args, TransferClassifier).items()
              if k not in ("strategy", "shots", "seed")}
    backbone = kwargs.pop("backbone", "minilm-l6")
    strategies = None if args.strategies is None else \
        [s.strip() for s in args.strategies.split(",") if s.strip()]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NegativeTransferWarning)
        result = compare(data, strategies=strategies, seeds=seeds, backbone=backbone,
                         fractions=_numbers(args.fractions, float, "--fractions"),
                         shots=_numbers(args.shots, int, "--shots"), metric=args.metric,
                         progress=not args.json, group_by=args.group_by,
                         backbones=args.backbones, **kwargs)
    out = _out(args)
    train = data.train if hasattr(data, "train") else data
    saved = result.save(out, dataset={"train": train.summary(), "source": args.source},
                        seconds=time.perf_counter() - t0, overwrite=args.overwrite)
    if args.json:
        echo(json.dumps(result.to_record(), indent=2, default=str))
        return 0
    echo(str(result))
    for w in caught:
        if issubclass(w.category, NegativeTransferWarning):
            echo(f"warning: negative transfer: {w.message}", err=True)
    echo(f"saved run to {saved}")
    auto_report(args, saved)
    return 0
