"""``transferkit adapt`` — adapt a model from a labelled source domain to a target domain.

The target's labels, when the data have them, are used for nothing but the evaluation that
follows fitting, unless ``--target-labels`` says otherwise.

``--target-pretrain OBJECTIVE`` first continues pre-training the backbone on the target's
unlabelled inputs (``transferkit pretrain``), then adapts from that encoder as
``run:<folder>``. It is done here, in the command-line layer, because the estimators may not
import the pre-training package (they are siblings); the library way is the same two calls,
``tk.pretrain`` then ``DomainAdapter(backbone="run:<folder>")``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from ..data import Dataset, DatasetSplits, load_dataset
from ..exceptions import ConfigError
from ..models import DomainAdapter
from ..models.adapter_sources import describe_source_use
from ..pretrain import list_objectives, pretrain
from ..runs import read_record
from .common import add_data_args, data_kwargs, echo, split_data_specs
from .out import add_out_flags, claim_out
from .params import add_param_flags, param_kwargs
from .pretrain import PRETRAIN_SETTINGS, split_pretrain_options
from .report import add_report_flag, auto_report

__all__ = ["add_parser", "run", "parse_target_labels"]

# Offered with flags of their own below (the target's label column; a pair of switches).
_OWN = ("target_labels", "candidates", "train_backbone", "baseline")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "adapt",
        help="adapt a model from a labelled source domain to an unlabelled target domain",
        description=(
            "Fit a model on labelled SOURCE data that works on TARGET data from a shifted "
            "distribution (domain adaptation: CORAL, importance weighting, KMM, subspace "
            "alignment, DANN, CDAN, MMD, self-training; TrAdaBoost and union training with a "
            "few target labels; 'auto' picks one without target labels). When the target has "
            "labels they are used only to evaluate, after fitting, unless --target-labels "
            "says otherwise. Prints source-only vs adapted target accuracy and the label-free "
            "validator scores, and saves the run folder."),
    )
    p.add_argument("--source", required=True, action="append",
                   help="labelled source: dataset name ('mnist', 'amazon:domain=books'), file "
                        "(amazon.csv:domain=books) or folder; several sources comma-separated "
                        "(amazon:domain=books,amazon:domain=dvd) or as repeated --source flags")
    p.add_argument("--target", required=True, help="target data, in the same forms")
    p.add_argument("--target-labels", default="none",
                   help="which target labels training may use: 'none' (default: labels only "
                        "evaluate), 'all', an int K (K rows per class), a label column COL "
                        "(all its labels), or COL:K")
    add_out_flags(p, "run folder to write (default: runs/<source>-<target>-<method>)")
    p.add_argument("--candidates",
                   help="comma-separated methods that --method auto tries (default: all "
                        "applicable)")
    p.add_argument("--train-backbone", dest="train_backbone", action="store_true", default=None,
                   help="deep methods train the backbone end to end")
    p.add_argument("--freeze-backbone", dest="train_backbone", action="store_false",
                   help="deep methods train only a bottleneck and classifier on frozen features")
    p.add_argument("--no-baseline", dest="baseline", action="store_false", default=None,
                   help="skip the source-only baseline (no source-only accuracy, no collapse "
                        "check)")
    p.add_argument("--target-pretrain", metavar="OBJECTIVE", default=None,
                   help="first continue pre-training the backbone on the target's unlabelled "
                        "inputs with this objective (" + "; ".join(
                            f"{m}: {', '.join(list_objectives(m))}"
                            for m in ("text", "image", "tabular"))
                        + "), then adapt from it; the encoder is saved in OUT-target-OBJECTIVE")
    p.add_argument("--target-pretrain-epochs", type=int, default=1,
                   help="passes over the target's inputs when pre-training (default 1)")
    p.add_argument("--target-pretrain-max-steps", type=int, default=None,
                   help="stop the target pre-training after this many steps (CPU bound)")
    p.add_argument("--target-pretrain-option", action="append", default=[],
                   metavar="KEY=VALUE",
                   help="a setting of the target pre-training, as `transferkit pretrain` takes "
                        f"it: {', '.join(PRETRAIN_SETTINGS)} (its flags), or an objective "
                        "setting (deletion=0.6, mask_rate=0.15, temperature=0.05, "
                        "corruption=0.6); repeatable")
    p.add_argument("--config", help="YAML file of flag values (flags given here override it)")
    add_data_args(p)
    add_param_flags(p, DomainAdapter, skip=_OWN)
    add_report_flag(p)
    p.set_defaults(func=run)


def parse_target_labels(value: str | None) -> tuple[Any, str | None]:
    """``--target-labels`` -> ``(target_labels parameter, label column or None)``."""
    v = (value or "none").strip()
    if v.lower() == "none":
        return None, None
    if v.lower() == "all":
        return "all", None
    if v.isdigit():
        return int(v), None
    col, _, k = v.rpartition(":")
    if col and k.isdigit():
        return int(k), col
    return "all", v


def _split(obj: Dataset | DatasetSplits) -> tuple[Dataset, Dataset | None]:
    if isinstance(obj, Dataset):
        return obj, None
    return obj.train, obj.test


def _name(spec: str) -> str:
    base, _, opts = spec.partition(":")
    stem = Path(base).stem or "data"
    return f"{stem}-{opts.split('=')[-1]}" if opts else stem


#: validators shown per candidate, the label-anchored ones first
_SHOWN = ("dev", "rv", "ensv", "im", "snd")


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _sources_stem(args: argparse.Namespace) -> str:
    return "+".join(_name(x) for x in split_data_specs(args.source))


def _echo_sources(table: dict[str, Any] | None) -> None:
    """One line per source: its shift to the target and what the chosen method made of it."""
    if not table:
        return
    echo("sources (shift to the target on frozen features; mixture weight = share of target "
         "rows that resemble it):")
    for name, t in table.items():
        did = describe_source_use(t.get("in_chosen_method"))
        pad = t.get("proxy_a_distance")
        echo(f"  {name:<14} rows {t['rows']:>6}  mixture {t['mixture_weight']:.3f}  "
             + (f"proxy A-distance {pad:.3f}  " if pad is not None else "") + did)


def run(args: argparse.Namespace) -> int:
    with claim_out(args, args.out):
        return _run(args)


def _pretrain_on_target(args: argparse.Namespace, model: DomainAdapter, target: Dataset
                        ) -> str:
    """Continue pre-training ``model``'s backbone on the target's inputs (labels unused, the
    test split unseen); returns the ``run:`` spec of the encoder."""
    objective = args.target_pretrain
    stem = args.out or f"runs/{_sources_stem(args)}-{_name(args.target)}"
    folder = f"{str(stem).rstrip('/')}-target-{objective}"
    settings, options = split_pretrain_options(args.target_pretrain_option,
                                               "--target-pretrain-option")
    path = pretrain(target, backbone=model.backbone, objective=objective,
                    epochs=args.target_pretrain_epochs,
                    max_steps=args.target_pretrain_max_steps, out=folder,
                    seed=0 if model.seed is None else int(model.seed),
                    overwrite=args.overwrite, options=options, **settings)
    pre = read_record(path)["pretrain"]
    held = pre["held_out_loss"]
    echo(f"pre-trained {pre['parent']} on {pre['rows']['train']} unlabelled target rows with "
         f"{objective} ({pre['steps']} steps): held-out pretext loss {held['before']:.4f} -> "
         f"{held['best']:.4f}; saved to {path}")
    return f"run:{path}"


def _run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    target_labels, label_col = parse_target_labels(args.target_labels)
    specs = split_data_specs(args.source)
    sources = [_split(load_dataset(spec, **data_kwargs(args)))[0] for spec in specs]
    source: Dataset | list[Dataset] = sources[0] if len(sources) == 1 else sources
    tkw = data_kwargs(args)
    if label_col is not None:
        tkw["label_col"] = label_col  # a missing column is a clear DataError from the loader
    target, target_test = _split(load_dataset(args.target, **tkw))
    kwargs = param_kwargs(args, DomainAdapter)
    kwargs["target_labels"] = target_labels
    if args.candidates:
        kwargs["candidates"] = [c.strip() for c in args.candidates.split(",") if c.strip()]
    if kwargs.get("method") is None:
        kwargs["method"] = "auto"
    if args.target_pretrain:
        kwargs["backbone"] = _pretrain_on_target(args, DomainAdapter(**kwargs), target)
    model = DomainAdapter(**kwargs)
    if target_labels is not None and target.labels is None:
        raise ConfigError(
            f"--target-labels {args.target_labels} asks for target labels but {target.name!r} "
            "has none; name the label column (--target-labels COLUMN).")
    used = "labels unused" if target_labels is None else f"target_labels={target_labels!r}"
    names = " + ".join(s.name for s in sources)
    echo(f"adapting {names} -> {target.name} with {model.method} ({model.backbone}): "
         f"{sum(len(s) for s in sources)} labelled source rows, {len(target)} target rows "
         f"({used})")
    model.fit(source, target)
    rec = model.adaptation_record()
    _echo_sources(rec.get("sources"))
    tuned = rec.get("source_finetune")
    if tuned:
        val = "" if tuned["val_accuracy"] is None else \
            f", source validation accuracy {tuned['val_accuracy']:.4f}"
        echo(f"tuned {', '.join(tuned['trainable_groups'])} on the source first "
             f"({tuned['trainable_params']:,} parameters, {tuned['epochs_run']} epochs{val}, "
             f"{tuned['seconds']:.0f} s)")
    if model.method == "auto":
        echo(f"auto: {rec['reason']}")
    echo("validators (label-free, higher = better): "
         + "  ".join(f"{k} {_fmt(v)}" for k, v in rec["validators"].items()))
    evaluation = target_test if target_test is not None and target_test.labels is not None \
        else target if target.labels is not None else None
    metrics: dict[str, Any] = {}
    if evaluation is not None:
        rec = model.evaluate_target(evaluation)
        metrics = model.evaluate(evaluation) if target_labels is None else {}
        where = "target test split" if evaluation is target_test else "the target rows"
        if "source_only_accuracy" in rec:
            echo(f"target accuracy on {where} (n={rec['n_target_evaluated']}; labels used only "
                 f"to evaluate): source-only {rec['source_only_accuracy']:.4f} -> "
                 f"{rec['method']} {rec['target_accuracy']:.4f} ({rec['gain']:+.4f})")
        else:
            echo(f"target accuracy on {where}: {rec['target_accuracy']:.4f}")
        if len(rec["candidates"]) > 2:
            for n, c in rec["candidates"].items():
                echo(f"  {n:<11} target {c.get('target_accuracy', float('nan')):.4f}  "
                     + "  ".join(f"{k} {_fmt(c[k])}" for k in _SHOWN if k in c))
            echo(f"best in hindsight: {rec['best_in_hindsight']}; the label-free choice "
                 f"{'matches' if rec['choice_matches_best'] else 'does not match'} it")
    col = rec["source_collapse"]
    if col.get("collapsed"):
        echo(f"warning: held-out source accuracy fell from {col['source_accuracy_before']:.3f} "
             f"to {col['source_accuracy_after']:.3f}: adaptation collapsed the source task",
             err=True)
    out = args.out or f"runs/{_sources_stem(args)}-{_name(args.target)}-{rec['method']}"
    model.save(out, overwrite=args.overwrite, metrics=metrics, record={
        "dataset": {"source": specs[0] if len(specs) == 1 else specs,
                    "target_spec": args.target,
                    "evaluation": None if evaluation is None else evaluation.summary()},
        "timings": {"fit_seconds": round(model.fit_seconds_, 3),
                    "total_seconds": round(time.perf_counter() - t0, 3)}})
    echo(f"saved run to {out}")
    auto_report(args, out)
    return 0
