"""``transferkit readapt`` — a new run of a saved model, re-adapted to new data."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..drift import readapt
from ..drift.active import SELECTIONS
from ..exceptions import RunError
from ..utils.docstrings import arg_docs
from .common import add_data_args, echo, load_source
from .out import add_out_flags, claim_out
from .report import add_report_flag, auto_report

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    docs = arg_docs(readapt)
    p = sub.add_parser(
        "readapt",
        help="re-adapt a saved model to new data with a small label budget, keeping the old",
        description=(
            "Choose --budget rows of NEW_LABELLED to label (uncertain and varied), refit the "
            "model's head toward its deployed weights (L2-SP) with rehearsal of --old "
            "examples, and save the result as a new run that records RUN as its parent. "
            "Without labels (--unlabelled), adapt with an existing adaptation method from "
            "--old (the source) instead."),
    )
    p.add_argument("run", metavar="RUN", help="the deployed model's run folder (never changed)")
    p.add_argument("new_labelled", metavar="NEW_LABELLED", nargs="?",
                   help="labelled new-domain data to choose from (name, file or folder)")
    p.add_argument("--unlabelled", help="new-domain data without labels (label-free "
                   "adaptation)")
    p.add_argument("--old", help="labelled old-domain examples: " + docs.get("old_data", ""))
    p.add_argument("--budget", type=int, default=50, help=docs.get("budget", ""))
    p.add_argument("--method", default="auto", help=docs.get("method", ""))
    p.add_argument("--select", default="diverse", choices=SELECTIONS,
                   help=docs.get("select", ""))
    p.add_argument("--max-forgetting", type=float, default=0.01,
                   help=docs.get("max_forgetting", ""))
    p.add_argument("--seed", type=int, default=0, help=docs.get("seed", ""))
    p.add_argument("--out", required=True, help="the new run folder (never RUN itself)")
    add_out_flags(p, None)
    add_data_args(p)
    add_report_flag(p)
    p.set_defaults(func=run)


def _one(source: str | None, args: argparse.Namespace):
    if source is None:
        return None
    data = load_source(source, args)
    return data if not hasattr(data, "train") else data.train


def run(args: argparse.Namespace) -> int:
    if Path(args.out).resolve() == Path(args.run).resolve():
        raise RunError(f"readapt never writes over the deployed run; got --out {args.out!r}, "
                       "RUN's own folder. Fix: give a new folder, e.g. "
                       f"{args.run.rstrip('/')}-v2.")
    with claim_out(args, args.out):
        new = readapt(args.run, _one(args.new_labelled, args),
                      unlabelled=_one(args.unlabelled, args), budget=args.budget,
                      method=args.method, old_data=_one(args.old, args), select=args.select,
                      max_forgetting=args.max_forgetting, seed=args.seed, out=args.out,
                      overwrite=args.overwrite)
    info = new.readapt_
    echo(f"readapt {info['method']}: parent {info['parent']}")
    if "C" in info:
        old = info.get("old_accuracy_before")
        echo(f"labelled {len(info['labelled_rows'])} of {info['pool_size']} new rows "
             f"({info['select']}); anchor C={info['C']:g}, distance "
             f"{info['anchor_distance']:.3f}" + ("" if old is None else
             f"; held-out old rows {old:.3f} -> {info['old_accuracy_after']:.3f}"))
    echo(f"saved run to {args.out}")
    auto_report(args, args.out)
    return 0
