"""``transferkit pretrain`` — continue pre-training a backbone on unlabelled data (issue 21).

A thin shell over :func:`transferkit.pretrain.pretrain`: every flag is one of its arguments.
The run folder it writes is a backbone: ``--backbone run:<folder>`` in fit, rank, compare,
adapt or zeroshot.
"""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from ..exceptions import ConfigError
from ..pretrain import list_objectives, pretrain
from ..runs import read_record
from .common import add_data_args, echo, load_source
from .out import add_out_flags, claim_out
from .report import add_report_flag, auto_report

__all__ = ["add_parser", "run"]

# What the summary line calls the rows of each modality.
_ROWS = {"text": "texts", "image": "images", "tabular": "table rows"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pretrain",
        help="continue pre-training a backbone on unlabelled data (mlm, tsdae, simcse, "
             "simclr, scarf)",
        description=(
            "Adapt a backbone to unlabelled SOURCE data with a self-supervised objective, then "
            "use the result anywhere a backbone is accepted as --backbone run:OUT. Labels in "
            "SOURCE are ignored; of a source with splits only the train split is read."),
    )
    p.add_argument("source", help="a file (reviews.csv), a built-in dataset "
                   "(amazon:domain=kitchen) or a folder")
    add_out_flags(p, "run folder to write (default: runs/<source>-<objective>)")
    p.add_argument("--backbone", default="minilm-l6",
                   help="the backbone to start from (default minilm-l6; hf:..., run:...)")
    p.add_argument("--objective", default="tsdae",
                   help="pretext objective; " + "; ".join(
                       f"{m}: {', '.join(list_objectives(m))}" for m in ("text", "image",
                                                                         "tabular")))
    p.add_argument("--epochs", type=int, default=1, help="passes over the data (default 1)")
    p.add_argument("--max-steps", type=int, default=None,
                   help="stop after this many optimiser steps (bounds CPU time)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="rows per step (default: the objective's; text 16, simclr 32, scarf 64)")
    p.add_argument("--lr", type=float, default=None,
                   help="encoder learning rate (default: the objective's; text 3e-5, simclr "
                        "3e-4, scarf 1e-3)")
    p.add_argument("--max-length", type=int, default=None,
                   help="longest text in tokens while pre-training (text objectives only; "
                        "default 128, simcse 64)")
    p.add_argument("--unfreeze", default="all",
                   help="layer groups that train: 'all', the top K, or names (as in fit)")
    p.add_argument("--freeze-pattern", default=None,
                   help="regular expression of parameter names kept frozen")
    p.add_argument("--patience", type=int, default=2,
                   help="epochs without a better held-out pretext loss before stopping")
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of rows held out for the pretext loss (default 0.1)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--devices", type=int, default=1, help="processes on this machine")
    p.add_argument("--resume", default=None, help="continue the interrupted run in this folder")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="an objective setting, e.g. deletion=0.6, mask_rate=0.15, "
                        "temperature=0.05, hflip=0 (simclr), corruption=0.6 (scarf); "
                        "repeatable")
    p.add_argument("--config", help="YAML file of flag values (flags given here override it)")
    add_data_args(p)
    add_report_flag(p)
    p.set_defaults(func=run)


#: settings of :func:`~transferkit.pretrain.pretrain` that a KEY=VALUE list may carry beside
#: the objective's own (``adapt --target-pretrain-option``); each is a flag of this command
PRETRAIN_SETTINGS = ("lr", "head_lr_mult", "batch_size", "max_length", "unfreeze",
                     "freeze_pattern", "patience", "val_fraction")


def parse_options(items: list[str], flag: str = "--option") -> dict[str, Any]:
    """``["deletion=0.5"]`` -> ``{"deletion": 0.5}`` (values read as YAML scalars)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} expects KEY=VALUE (e.g. deletion=0.6); got {item!r}.")
        out[key.strip()] = yaml.safe_load(value)
    return out


def split_pretrain_options(items: list[str], flag: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """KEY=VALUE items -> (settings of :func:`pretrain` such as ``lr``, the objective's
    options); ``batch-size`` reads as ``batch_size``. Unknown objective options are refused
    by the objective, which names the ones it takes."""
    opts = {k.replace("-", "_"): v for k, v in parse_options(items, flag).items()}
    settings = {k: opts.pop(k) for k in list(opts) if k in PRETRAIN_SETTINGS}
    return settings, opts


def run(args: argparse.Namespace) -> int:
    data = load_source(args.source, args)
    out = args.out or args.resume
    with claim_out(args, out, resuming=args.resume is not None):
        path = pretrain(
            data, backbone=args.backbone, objective=args.objective, epochs=args.epochs,
            out=out, seed=args.seed, lr=args.lr, batch_size=args.batch_size,
            max_steps=args.max_steps, max_length=args.max_length, unfreeze=args.unfreeze,
            freeze_pattern=args.freeze_pattern, patience=args.patience,
            val_fraction=args.val_fraction, devices=args.devices, resume=args.resume,
            overwrite=args.overwrite, options=parse_options(args.option))
    info = read_record(path)["pretrain"]
    held = info["held_out_loss"]
    start = held["before"] if held.get("before") is not None else held["first"]
    echo(f"pretrained {info['parent']} with {info['objective']}: {info['steps']} steps, "
         f"{info['rows_seen']} {_ROWS.get(info.get('modality'), 'rows')}, held-out pretext "
         f"loss {start:.4f} -> {held['best']:.4f}")
    echo(f"saved run to {path}; use it as --backbone run:{path}")
    auto_report(args, path)
    return 0
