"""Shared pieces of the CLI: data arguments and output (estimator flags: params.py; --config:
config.py)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..data import Dataset, check_modality, load_dataset

__all__ = ["add_data_args", "add_group_arg", "data_kwargs", "echo", "load_source",
           "split_data_specs"]


def echo(msg: str = "", err: bool = False) -> None:
    print(msg, file=sys.stderr if err else sys.stdout, flush=True)


def _starts_spec(piece: str, dataset_names: set[str]) -> bool:
    """Whether a comma-separated piece begins a new data spec rather than continuing an
    option's value (``tickets.csv:label_col=queue,priority``): it names a path that exists, a
    registered dataset, or carries options of its own."""
    from pathlib import Path

    base = piece.partition(":")[0]
    return ":" in piece or base in dataset_names or Path(base).exists() or Path(piece).exists()


def split_data_specs(text: str | list[str]) -> list[str]:
    """``"amazon:domain=books,amazon:domain=dvd"`` -> the two specs; a comma inside an
    option's value (``a.csv:label_col=x,y``) stays with its spec. A list (a repeated flag)
    is split item by item."""
    from ..data.builtin import DATASETS

    names = set(DATASETS.names())
    items = text if isinstance(text, list) else [text]
    out: list[str] = []
    for item in items:
        start = len(out)
        for piece in filter(None, (p.strip() for p in str(item).split(","))):
            if len(out) > start and not _starts_spec(piece, names):
                out[-1] += "," + piece
            else:
                out.append(piece)
    return out


def add_data_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--text-col", help="column holding the text (CSV/TSV/JSONL/Parquet)")
    g.add_argument("--label-col", help="column holding the label; a comma-separated list "
                   "(intent,sentiment) loads several label columns")
    g.add_argument("--label-sep", metavar="SEP",
                   help="split label cells on SEP into sets of labels (multi-label), e.g. '|'")
    g.add_argument("--allow-unlabelled", action="store_true",
                   help="keep rows without a label instead of failing")
    g.add_argument("--feature-cols", help="comma-separated numeric columns (tabular data)")
    g.add_argument("--domain-col", help="column naming each row's domain")
    g.add_argument("--skip-bad", action="store_true",
                   help="skip unreadable images or audio clips (and report how many) instead "
                        "of failing")


def add_group_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--group-by", metavar="COLUMN",
                   help="evaluate leave-one-group-out over this group column (e.g. speaker): "
                        "every split is pooled, each group in turn is the test set, and no "
                        "group is on both sides; a table's column of this name is its group "
                        "column unless --domain-col says otherwise")


def data_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    for k in ("text_col", "domain_col", "label_sep"):
        if getattr(args, k, None):
            kw[k] = getattr(args, k)
    label_col = getattr(args, "label_col", None)
    if label_col:
        # "queue,priority" (or a list from --config) is several label columns.
        names = label_col.split(",") if isinstance(label_col, str) else list(label_col)
        names = [str(c).strip() for c in names if str(c).strip()]
        kw["label_col"] = names if len(names) > 1 else label_col
    if getattr(args, "allow_unlabelled", False):
        kw["allow_unlabelled"] = True
    if getattr(args, "feature_cols", None):
        kw["feature_cols"] = [c.strip() for c in args.feature_cols.split(",") if c.strip()]
    if getattr(args, "skip_bad", False):
        kw["skip_bad"] = True
    return kw


def load_source(source: str, args: argparse.Namespace, expect: str | None = None,
                who: str = "this run"):
    """A built-in name, a file (``file.csv:domain=books``) or a folder -> splits or a Dataset.

    Args:
        expect: the modality the data must have (a saved run's ``modality_``): data of another
            kind fail here, saying what they are, rather than later on labels or shapes.
        who: what needs that modality, for the message.
    """
    kw = data_kwargs(args)
    group_by = getattr(args, "group_by", None)
    if group_by and "domain_col" not in kw and _is_table_source(source):
        kw["domain_col"] = group_by  # --group-by speaker: the table's 'speaker' column
    out = load_dataset(source, **kw)
    if expect is not None:
        for _, part in ([("data", out)] if isinstance(out, Dataset) else out):
            check_modality(part, expect, who)
    return out


def _is_table_source(source: str) -> bool:
    from pathlib import Path

    from ..data.readers import table_format
    from ..exceptions import DataError

    path = Path(source.split(":")[0]) if not Path(source).exists() else Path(source)
    if path.is_dir():
        return any((path / f"train{ext}").is_file() for ext in (".csv", ".tsv", ".jsonl",
                                                                ".parquet"))
    try:
        table_format(path)
    except DataError:
        return False
    return path.is_file()


def add_analysis_args(p: argparse.ArgumentParser, docs: dict[str, str], out_help: str) -> None:
    """Flags shared by the commands that measure rather than train (rank, shift)."""
    p.add_argument("--max-samples", type=int, default=None, help=docs.get("max_samples", ""))
    p.add_argument("--seed", type=int, default=None, help=docs.get("seed", ""))
    p.add_argument("--batch-size", type=int, default=None, help=docs.get("batch_size", ""))
    p.add_argument("--no-cache", dest="cache", action="store_false", default=None,
                   help="do not read or write the feature cache")
    p.add_argument("--out", help=out_help)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--config", help="YAML file of flag values (flags given here override it)")
