"""``transferkit monitor`` — watch a stream for drift away from a saved model's data."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..data import Dataset
from ..drift import DriftMonitor
from ..drift.monitor import ALARM_RULES
from ..drift.persist import model_identity
from ..drift.statistics import TESTS
from ..drift.stream import read_stream
from ..exceptions import ConfigError, DataError
from ..runs import load, read_record
from ..utils.docstrings import arg_docs
from .common import add_data_args, echo, load_source
from .out import add_out_flags, claim_out
from .report import add_report_flag, auto_report

__all__ = ["add_parser", "run"]

#: the monitor's settings flags and their defaults (with --resume: the saved monitor's)
SETTINGS = {"window": 200, "method": "mmd", "alpha": 0.05, "horizon": 100,
            "alarm_rule": "bonferroni", "seed": 0}


def add_parser(sub: argparse._SubParsersAction) -> None:
    docs = arg_docs(DriftMonitor)
    p = sub.add_parser(
        "monitor",
        help="watch a stream for drift from a saved model's data; estimate its accuracy",
        description=(
            "Cut STREAM (a table, ordered by --time-col or kept in file order) into windows "
            "and test each against a reference of in-domain data on the model's own features "
            "and outputs; estimate each window's accuracy without labels (ATC) and show the "
            "true accuracy where the stream has labels. Writes a run folder with a per-window "
            "table (windows.csv) and a timeline report."),
    )
    p.add_argument("run", metavar="RUN", help="the saved model's run folder")
    p.add_argument("stream", metavar="STREAM", help="the stream: a CSV/TSV/JSONL/Parquet file")
    p.add_argument("--reference", help="held-out in-domain data, labelled to calibrate the "
                   "accuracy estimate: a name, file or folder (of splits, the test split); "
                   "default: the stream's first window")
    p.add_argument("--time-col", help="column that orders the stream (dates or numbers); "
                   "default: file order")
    p.add_argument("--window", type=int, help=docs.get("window", "") + " (default 200)")
    p.add_argument("--method", help=f"{', '.join(TESTS)}, or several joined by commas. "
                   + docs.get("method", "") + " (default mmd)")
    p.add_argument("--alpha", type=float, help=docs.get("alpha", "") + " (default 0.05)")
    p.add_argument("--horizon", type=int, help=docs.get("horizon", "") + " (default 100)")
    p.add_argument("--alarm-rule", choices=ALARM_RULES,
                   help=docs.get("alarm_rule", "") + " (default bonferroni)")
    p.add_argument("--seed", type=int, help=docs.get("seed", "") + " (default 0)")
    p.add_argument("--resume", metavar="MONITOR", help="continue the monitor saved in this "
                   "folder (its reference, alarm rule, windows and waiting rows) on STREAM's "
                   "rows; the settings flags are the saved ones. RUN is the model it watched, "
                   "or a run `transferkit readapt` made from it: the re-adaptation is marked on "
                   "the timeline and the new model is watched from the next window, against "
                   "--reference (default: that window). Written back to MONITOR unless --out")
    p.add_argument("--out", help="write the run folder here (record.json, windows.csv, "
                   "monitor.safetensors, report.html); default with --resume: MONITOR")
    p.add_argument("--json", action="store_true", help="print the windows as JSON lines")
    add_out_flags(p, None)
    add_data_args(p)
    add_report_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = args.out or args.resume
    # Continuing a monitor in its own folder replaces it with the longer history.
    same = args.resume is not None and Path(out).absolute() == Path(args.resume).absolute()
    with claim_out(args, out, replacing=same):
        return _run(args, out, replace=same or args.overwrite)


def _reference(args: argparse.Namespace, modality: str) -> Dataset | None:
    if not args.reference:
        return None
    # --skip-bad is about the stream's rows; table loaders do not take it.
    plain = argparse.Namespace(**{**vars(args), "skip_bad": False})
    ref = load_source(args.reference, plain, expect=modality, who="the reference")
    if isinstance(ref, Dataset):
        return ref
    return ref.test if ref.test is not None else ref.train


def _settings(args: argparse.Namespace) -> dict:
    """The settings flags: the defaults for a new monitor; with --resume, none may differ
    from the saved monitor's."""
    given = {k: getattr(args, k) for k in SETTINGS if getattr(args, k) is not None}
    if args.resume is None:
        return SETTINGS | given
    saved = read_record(args.resume).get("config") or {}
    differ = [f"--{k.replace('_', '-')} {v} (saved: {saved.get(k)})" for k, v in given.items()
              if k in saved and str(v) != str(saved[k])]
    if differ:
        raise ConfigError(
            f"monitor --resume continues the monitor in {args.resume!r} with its own settings; "
            f"got {', '.join(differ)}. Fix: leave those flags out, or start a new monitor "
            "(without --resume) to change them.")
    return {k: saved.get(k, v) for k, v in SETTINGS.items()}


def _resumed(args: argparse.Namespace, model, ref: Dataset | None) -> DriftMonitor:
    """The saved monitor, switched to RUN when RUN was re-adapted from its model."""
    mon = read_record(args.resume).get("monitor") or {}
    saved = mon.get("model") or {}
    if model_identity(model) == saved.get("identity"):
        if ref is not None:
            raise ConfigError(
                f"monitor --resume keeps the reference of the monitor in {args.resume!r} while "
                f"it watches the same model; got --reference {args.reference!r}. Fix: leave "
                "--reference out (it is for a re-adapted RUN), or start a new monitor.")
        return DriftMonitor.load(args.resume, model=model)
    info = read_record(args.run).get("readapt") or {}
    parent = info.get("parent")
    if not parent or not saved.get("run") or \
            Path(parent).absolute() != Path(saved["run"]).absolute():
        raise ConfigError(
            f"monitor --resume expects RUN to be the model the monitor in {args.resume!r} "
            f"watched ({saved.get('run')!r}) or a run re-adapted from it; got {args.run!r}, "
            f"{'re-adapted from ' + repr(parent) if parent else 'not made by readapt'}. Fix: "
            "give that run, or `transferkit readapt` it first.")
    monitor = DriftMonitor.load(args.resume)
    moment = monitor.readapted(model, run=args.run, reference=ref, info=info)
    echo(f"re-adapted model {args.run} watched from window {moment['after_window'] + 1} "
         f"(parent {parent}, {moment['labelled']} labels)")
    return monitor


def _run(args: argparse.Namespace, out: str | None, replace: bool) -> int:
    t0 = time.perf_counter()
    settings = _settings(args)
    feature_cols = [c.strip() for c in args.feature_cols.split(",")] if args.feature_cols \
        else None
    stream, info = read_stream(args.stream, text_col=args.text_col, label_col=args.label_col,
                               feature_cols=feature_cols, time_col=args.time_col,
                               skip_bad=args.skip_bad)
    model = load(args.run)  # after the stream: a bad stream fails before the weights load
    model._check_modality(stream)  # a stream of another kind fails here, saying what it is
    for bad in info["bad_rows"]:
        echo(f"skipped row {bad['row']}: {bad['reason']}", err=True)
    if info["skipped"] > len(info["bad_rows"]):
        echo(f"skipped {info['skipped']} corrupt rows in all", err=True)
    ref = _reference(args, model.modality_)
    window = int(settings["window"])
    if args.resume is not None:
        monitor = _resumed(args, model, ref)
        need = window - monitor.state()["pending_rows"] + \
            (window if monitor.reference_ is None else 0)
    else:
        need = window * (1 if ref is not None else 2)
    if len(stream) < need:
        raise DataError(
            f"monitor expects a stream of at least {need} rows for --window {window}"
            f"{'' if ref is not None or args.resume else ' (the first window is the reference)'}"
            f"; got {len(stream)} in {args.stream!r}. Fix: a smaller --window, or --reference "
            "DATA.")
    if args.resume is None:
        methods = [m.strip() for m in settings["method"].split(",") if m.strip()]
        monitor = DriftMonitor(model, window=window, reference=ref,
                               method=methods if len(methods) > 1 else methods[0],
                               alpha=settings["alpha"], horizon=settings["horizon"],
                               alarm_rule=settings["alarm_rule"], seed=settings["seed"])
        monitor.model_run = str(Path(args.run).absolute())
    # The stream is fed a window at a time, as a live source would deliver it.
    batches = (stream.subset(range(i, min(i + window, len(stream))))
               for i in range(0, len(stream), window))
    for report in monitor.monitor(batches):
        echo(json.dumps(report.to_dict()) if args.json else str(report))
    state = monitor.state()
    alarms = [r["window"] for r in state["windows"] if r["detected"]]
    if not args.json:
        echo(f"{len(alarms)} alarm(s) in {len(state['windows'])} windows"
             + (f", first at window {alarms[0]}" if alarms else "")
             + (f"; the last {state['pending_rows']} rows do not fill a window yet (kept for "
                "--resume)" if state["pending_rows"] else ""))
    if out:
        streams = _earlier_streams(args) + [{**info, "path": args.stream,
                                             "monitored_rows": len(stream)}]
        config = {"run": args.run, "stream": args.stream, "reference": args.reference,
                  "time_col": args.time_col, **settings, "skip_bad": args.skip_bad,
                  "resume": args.resume}
        dataset = {"stream": stream.summary(),
                   **({"reference": ref.summary()} if ref is not None else {})}
        saved = monitor.save(out, overwrite=replace,
                             config=config, dataset=dataset,
                             extra={"stream": streams[-1], "streams": streams},
                             seconds=time.perf_counter() - t0)
        if not args.json:
            echo(f"saved run to {saved}")
        auto_report(args, saved)
    return 0


def _earlier_streams(args: argparse.Namespace) -> list[dict]:
    """The streams a resumed monitor read before this one (from its record)."""
    if args.resume is None:
        return []
    mon = read_record(args.resume).get("monitor") or {}
    return list(mon.get("streams") or ([mon["stream"]] if mon.get("stream") else []))
