"""``transferkit lr-find`` — the learning-rate range test: a plot and a suggested ``--lr``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..data import Dataset
from ..models import TransferClassifier, lr_find
from .common import add_data_args, echo, load_source
from .params import add_param_flags, param_kwargs


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lr-find",
        help="sweep the learning rate and suggest one (writes a plot)",
        description=(
            "Train briefly on SOURCE's training split while the learning rate grows "
            "exponentially from --min-lr to --max-lr, plot the smoothed loss against it, and "
            "suggest the rate where the loss falls fastest (use it as --lr). The model is not "
            "kept. Default strategy: finetune."
        ),
    )
    p.add_argument("source", help="dataset name, file (file.csv:domain=NAME), or folder")
    p.add_argument("--out", help="folder for lr_find.png and lr_find.json "
                                 "(default: runs/<source>-lr-find)")
    p.add_argument("--min-lr", type=float, default=1e-7, help="first rate (default 1e-7)")
    p.add_argument("--max-lr", type=float, default=1.0, help="last rate (default 1)")
    p.add_argument("--num-steps", type=int, default=100, help="steps of the sweep (default 100)")
    p.add_argument("--config", help="YAML file of flag values (flags given here override it)")
    add_data_args(p)
    add_param_flags(p, TransferClassifier)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    obj = load_source(args.source, args)
    train = obj if isinstance(obj, Dataset) else obj.train
    kwargs = param_kwargs(args, TransferClassifier)
    kwargs.setdefault("strategy", "finetune")
    model = TransferClassifier(**kwargs)
    name = Path(args.source.split(":")[0]).stem or "data"
    out = args.out or f"runs/{name}-lr-find"
    echo(f"sweeping the learning rate of {model.strategy} with {model.backbone} on {train.name} "
         f"({len(train)} examples, {args.num_steps} steps)")
    result = lr_find(model, train, min_lr=args.min_lr, max_lr=args.max_lr,
                     num_steps=args.num_steps, out=out)
    if result["suggestion"] is None:
        echo("the sweep was too short to suggest a rate; raise --num-steps or --min-lr")
    else:
        echo(f"suggested lr {result['suggestion']:.3g}  (loss minimum at "
             f"{result['suggestions']['min_loss']:.3g})")
    echo(f"plot: {result['plot']}")
    return 0
