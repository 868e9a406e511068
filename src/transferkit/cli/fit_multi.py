"""``transferkit fit-multi`` — several datasets, one shared encoder, one head per task.

    transferkit fit-multi banking77:label=category sst2 amazon:domain=kitchen \\
        --backbone minilm-l6 --unfreeze 4 --sampling temperature --out runs/mt

Each positional argument is a task: ``[name=]source[:options]``. The name defaults to the
source's name (with ``-<domain>`` for ``domain=``). Options beyond the source's own:
``label=COL`` (the label column; a table's ``label_col``) and ``shots=K`` (train on K
examples per class). Every task is evaluated on its own test split (or a held-out part).
A label column of sets (``--label-sep '|'``) is a multi-label task. Every epoch is
checkpointed in ``<run>/checkpoints``; ``--resume RUN`` continues an interrupted run.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import Any

from ..data import DatasetSplits, sample_shots
from ..data.readers import table_format
from ..exceptions import DataError
from ..models import MultiTaskClassifier
from ..models.multitask_tasks import check_task_names
from .common import add_data_args, echo, load_source
from .fit import split_source, task_means
from .fit_columns import save_multitask_run
from .out import add_out_flags, claim_fit_out
from .params import add_param_flags, param_kwargs
from .report import add_report_flag, auto_report

__all__ = ["add_parser", "parse_task_spec"]

_NAMED = re.compile(r"^(?P<name>[A-Za-z_][\w.-]*)=(?P<spec>[^=:]+(?::.*)?)$")
_OWN_OPTIONS = ("label", "shots")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit-multi",
        help="fit several tasks on one shared encoder (one head each) and save one run",
        description=(
            "Fit several tasks on one shared encoder, one head each, and save one run. Each "
            "task is [NAME=]SOURCE[:options]; NAME defaults to the source's name (with "
            "-<domain> for domain=). Options beyond the source's own: label=COL (its label "
            "column) and shots=K (K training examples per class). Every task is evaluated on "
            "its own test split (or a held-out --test-size of it)."),
    )
    p.add_argument("task_specs", nargs="+", metavar="[NAME=]SOURCE",
                   help="a task: dataset name, file or folder, with :options "
                        "(banking77, amazon:domain=kitchen, intent=tickets.csv:label=queue, "
                        "banking77:shots=8)")
    add_out_flags(p, "run folder to write (default: runs/multitask-<task names>)")
    p.add_argument("--test-size", type=float, default=0.2,
                   help="held-out fraction for a task whose source has no test split")
    p.add_argument("--config", help="YAML file of flag values (flags given here override it)")
    add_data_args(p)
    add_param_flags(p, MultiTaskClassifier)
    add_report_flag(p)
    p.set_defaults(func=run)


def parse_task_spec(arg: str) -> tuple[str, str, dict[str, str]]:
    """``[name=]source[:options]`` -> ``(name, source spec for load_dataset, own options)``."""
    m = _NAMED.match(arg)
    name, spec = (m["name"], m["spec"]) if m and not Path(arg).exists() else (None, arg)
    src, _, opts = spec.partition(":") if not Path(spec).exists() else (spec, "", "")
    own: dict[str, str] = {}
    rest = []
    for pair in filter(None, opts.split(",")):
        key, sep, value = pair.partition("=")
        if key in _OWN_OPTIONS:
            own[key] = value
        elif rest and not sep:
            rest[-1] += "," + pair  # a comma inside a value (label_col=a,b)
        else:
            rest.append(pair)
    domain = next((p.partition("=")[2] for p in rest if p.startswith("domain=")), None)
    if name is None:
        name = Path(src).stem + (f"-{domain}" if domain else "")
    return name, src + (":" + ",".join(rest) if rest else ""), own


def _load_task(name: str, spec: str, own: dict[str, str], args: argparse.Namespace,
               seed: int) -> DatasetSplits:
    label = own.get("label")
    if label is not None and _is_file(spec):
        spec = f"{spec}{',' if ':' in spec else ':'}label_col={label}"
        label = None
    splits = split_source(load_source(spec, args), args.test_size, seed)
    if label is not None:
        splits = DatasetSplits(*(None if d is None else _label_column(d, label, name)
                                 for d in (splits.train, splits.test, splits.val)),
                               name=splits.name)
    if "shots" in own:
        try:
            shots = int(own["shots"])
        except ValueError:
            raise DataError(f"Task {name!r}: shots= expects a whole number of examples per "
                            f"class, got {own['shots']!r}. Use e.g. {name}=...:shots=8.") from None
        splits = DatasetSplits(sample_shots(splits.train, shots, seed), splits.test,
                               splits.val, name=splits.name)
    return splits


def _is_file(spec: str) -> bool:
    path = Path(spec.split(":")[0])
    try:
        return path.is_file() and bool(table_format(path))
    except DataError:
        return False


def _label_column(data: Any, label: str, task: str) -> Any:
    """``label=COL`` on a named dataset: that label column, which it must have."""
    if data.label_columns is not None and label in data.label_columns:
        return data.select_labels(label).labelled()
    have = data.meta.get("label_col")
    if have is not None and have != label:
        raise DataError(f"Task {task!r}: label={label!r} names no label column of "
                        f"{data.name!r}: expected {have!r}, got {label!r}. Use label={have}, or "
                        "drop label=.")
    return data


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    parsed = [parse_task_spec(a) for a in args.task_specs]
    check_task_names([n for n, _, _ in parsed])
    model = MultiTaskClassifier(**param_kwargs(args, MultiTaskClassifier))
    seed = model.settings().seed
    # --resume RUN continues that run (from its checkpoints) and writes it.
    out = args.out or model.resume or f"runs/multitask-{'-'.join(n for n, _, _ in parsed)}"
    with claim_fit_out(args, model, out) as overwrite:
        splits = {n: _load_task(n, spec, own, args, seed) for n, spec, own in parsed}
        for n, s in splits.items():
            kind = "labels, multi-label" if s.train.is_multilabel() else "classes"
            echo(f"task {n}: {len(s.train)} training examples, {len(s.train.classes)} {kind}")
        model.fit({n: s.train for n, s in splits.items()},
                  val={n: s.val for n, s in splits.items() if s.val is not None})
        metrics = save_multitask_run(model, out, {n: s.test for n, s in splits.items()},
                                     {n: a for (n, _, _), a in zip(parsed, args.task_specs,
                                                                   strict=True)},
                                     t0, overwrite)
    if metrics:
        echo(f"mean over {len(metrics['tasks'])} tasks: {task_means(metrics)}")
    echo(f"saved run to {out}")
    auto_report(args, out)
    return 0
