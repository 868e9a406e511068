"""``transferkit zoo`` — the registered backbones, without loading any weights."""

from __future__ import annotations

import argparse
import json

from ..backbones import backbone_catalogue
from .common import echo


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("zoo", help="list the backbones (modality, params, feature size, license)")
    p.add_argument("pattern", nargs="?", help="shell-style filter, e.g. 'efficientnet*'")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rows = backbone_catalogue(args.pattern)
    if args.json:
        echo(json.dumps(rows, indent=2, default=str))
        return 0
    cols = ("name", "modality", "params", "num_features", "license", "description")
    table = [[str(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in table)) if table else len(c)
              for i, c in enumerate(cols)]
    echo("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    for t in table:
        echo("  ".join(v.ljust(w) for v, w in zip(t, widths, strict=True)))
    echo("\nAlso: hf:<model id or folder>, run:<run folder>, random:<name>, <name>@<layer>.")
    return 0
