"""``transferkit tune`` — search a strategy's hyper-parameters with Optuna, refit the best.

The out folder holds the study (``study.db``, or ``study.journal`` for several workers, unless
``--storage`` puts it elsewhere), the search's record and report, and the best model as a run
folder in ``best/``. Running the same command on the same ``--out`` continues the study.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from ..exceptions import ConfigError, RunError
from ..models import TransferClassifier
from ..runs import read_record, record_frame, write_record
from ..runs.out_folder import run_lock
from ..tuning import PRUNERS, SAMPLERS, study_record, tune
from ..tuning.storage import describe_storage
from .common import add_data_args, echo, load_source
from .fit import split_source
from .params import add_param_flags, param_kwargs
from .report import add_report_flag, auto_report

__all__ = ["add_parser", "default_storage", "TUNE_ENTRIES"]

#: what a tune folder holds; anything else in --out is the user's and is never written over
TUNE_ENTRIES = frozenset({"study.db", "study.journal", "study.journal.lock", "record.json",
                          "report.html", "best"})


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tune", help="search hyper-parameters with Optuna and refit the best model",
        description=(
            "Search the hyper-parameters of --strategy on SOURCE's training split: each trial "
            "fits on part of it and is scored on a held-out, stratified part (never the test "
            "split); trials that trail are pruned after an epoch. The best parameters are "
            "refitted on the whole training split, evaluated on the test split, and saved in "
            "OUT/best. The same --out continues the study."))
    p.add_argument("source", help="dataset name, file or folder (as for `transferkit fit`)")
    p.add_argument("--out", help="search folder (default: runs/<source>-<strategy>-tune)")
    p.add_argument("--trials", type=int, default=20,
                   help="trials the study should hold when done; finished trials of an "
                   "earlier run on the same --out count (default 20)")
    p.add_argument("--timeout", type=float, default=None,
                   help="stop starting new trials after this many seconds")
    p.add_argument("--space", metavar="SPACE.yaml",
                   help="YAML search space replacing the strategy's default one (with "
                   "'include_defaults: true' it narrows or extends it)")
    p.add_argument("--storage", help="where the study lives: journal:PATH (several local "
                   "processes), sqlite:///PATH.db, or a database URL such as "
                   "postgresql://user@host/db (default: OUT/study.db; OUT/study.journal with "
                   "--workers > 1)")
    p.add_argument("--workers", type=int, default=1,
                   help="local processes running trials of the one study (default 1)")
    p.add_argument("--pruner", choices=PRUNERS, default="median",
                   help="stop trailing trials after an epoch (default median)")
    p.add_argument("--sampler", choices=SAMPLERS, default="tpe",
                   help="how trials choose parameters: tpe (default) or random")
    p.add_argument("--val-size", type=float, default=0.25,
                   help="fraction of the training rows held out to score trials (default 0.25)")
    p.add_argument("--study-name", help="the study's name in its storage (default: the "
                   "--out folder's name)")
    p.add_argument("--test-size", type=float, default=0.2,
                   help="held-out test fraction when the source has no test split")
    p.add_argument("--config", help="YAML file of flag values (flags given here override it)")
    add_data_args(p)
    add_param_flags(p, TransferClassifier)
    add_report_flag(p)
    p.set_defaults(func=run)


def default_storage(out: Path, workers: int) -> str:
    """The study in the out folder: the one already there, else SQLite for one process and a
    journal file for several (SQLite locks under parallel writers)."""
    db, journal = out / "study.db", out / "study.journal"
    if journal.exists() or (workers > 1 and not db.exists()):
        return f"journal:{journal}"
    return f"sqlite:///{db.absolute()}"


def _check_args(args: argparse.Namespace) -> None:
    if args.trials < 1:
        raise ConfigError(f"--trials must be at least 1; got {args.trials}. Fix: --trials 20.")
    if args.workers < 1:
        raise ConfigError(f"--workers must be at least 1; got {args.workers}. Fix: --workers 2.")
    if args.timeout is not None and args.timeout <= 0:
        raise ConfigError(f"--timeout must be a positive number of seconds; got {args.timeout}. "
                          "Fix: drop it, or --timeout 600.")


def _check_folder(out: Path) -> None:
    """Refuse an --out that holds files a search did not write (they would sit beside ours)."""
    if out.is_file():
        raise RunError(f"--out {str(out)!r} is a file. Expected a new folder or an earlier "
                       "search's folder; fix: give another --out.")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in TUNE_ENTRIES
                         and not p.name.startswith("."))
        if foreign:
            raise RunError(f"--out {str(out)!r} holds files a search did not write "
                           f"({', '.join(foreign[:5])}). Expected a new folder or an earlier "
                           "search's folder; fix: give another --out.")


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    _check_args(args)
    model = TransferClassifier(**param_kwargs(args, TransferClassifier))
    name = Path(args.source.split(":")[0]).stem or "data"
    out = Path(args.out or f"runs/{name}-{model.strategy}-tune")
    _check_folder(out)
    storage = args.storage or default_storage(out, args.workers)
    if not args.verbose:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial otherwise
    with run_lock(out, wait=True):
        out.mkdir(parents=True, exist_ok=True)  # the default study file lives in it
        splits = split_source(load_source(args.source, args), args.test_size, args.seed or 0)
        echo(f"tuning {model.strategy} on {splits.train.name}: {len(splits.train)} training "
             f"rows{f' ({model.shots} per class used)' if model.shots else ''}, up to "
             f"{args.trials} trials, study in {describe_storage(storage)}")
        best, study = tune(model, splits.train, space=args.space, n_trials=args.trials,
                           timeout=args.timeout, storage=storage, pruner=args.pruner,
                           seed=args.seed or 0, sampler=args.sampler, val_size=args.val_size,
                           study_name=args.study_name or out.absolute().name,
                           workers=args.workers)
        metrics = best.evaluate(splits.test) if splits.test is not None else {}
        search = {**study_record(study), "storage": describe_storage(storage)}
        best.save(out / "best", metrics=metrics, overwrite=True,
                  record={"tune": {"study": search["study_name"], "best": search["best"]}})
        write_record(out, _record(args, model, out / "best", search, time.perf_counter() - t0))
    _summary(search, metrics, out)
    auto_report(args, out)
    return 0


def _record(args: argparse.Namespace, model: Any, best_run: Path, search: dict[str, Any],
            seconds: float) -> dict[str, Any]:
    """The search's record: the best model's run record (its training curves, setup and test
    metrics: the best trial's full run) with the search added, so the report shows both."""
    config = {**{k: v for k, v in vars(args).items() if k != "func" and v is not None},
              "model": model.get_params(deep=False)}
    best = read_record(best_run)
    frame = record_frame("tune", _plain(config))
    timings = {**best.get("timings", {}), "total_seconds": round(seconds, 3)}
    return {**best, **frame, "timings": timings, "tune": search, "best_run": best_run.name}


def _plain(obj: Any) -> Any:
    import json

    return json.loads(json.dumps(obj, default=str))


def _summary(search: dict[str, Any], metrics: dict[str, Any], out: Path) -> None:
    best, pr = search["best"], search["pruning"]
    states = ", ".join(f"{k} {v}" for k, v in search["states"].items())
    echo(f"{search['n_trials']} trials ({states}); best #{best['number']}: validation "
         f"accuracy {best['value']:.4f} with {best['params']}")
    if pr["epochs_planned"]:
        echo(f"pruning saved {pr['epochs_saved']} of {pr['epochs_planned']} trial epochs "
             f"({100 * (pr['saved_fraction'] or 0):.0f} %)")
    if metrics:
        echo(f"best model: test accuracy {metrics['accuracy']:.4f}  macro-F1 "
             f"{metrics['macro_f1']:.4f}  (n={metrics['n']})")
    echo(f"saved the search to {out} (best model in {out / 'best'})")
