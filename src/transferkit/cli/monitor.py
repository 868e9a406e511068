"""``transferkit monitor`` — watch a stream for drift away from a saved model's data."""

from __future__ import annotations

import argparse
import csv
import io
import json
import time
from typing import Any

from ..data import Dataset
from ..drift import DriftMonitor
from ..drift.monitor import ALARM_RULES
from ..drift.statistics import TESTS
from ..drift.stream import read_stream
from ..exceptions import DataError
from ..runs import load, write_analysis_run
from ..utils.docstrings import arg_docs
from .common import add_data_args, echo, load_source
from .out import add_out_flags, claim_out
from .report import add_report_flag, auto_report

__all__ = ["add_parser", "run"]

#: the per-window table's columns (windows.csv)
COLUMNS = ("window", "start", "stop", "statistic", "p_value", "threshold", "detected",
           "estimated_accuracy", "average_confidence", "true_accuracy", "label_shift_p")


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
    p.add_argument("--window", type=int, default=200, help=docs.get("window", ""))
    p.add_argument("--method", default="mmd", help=f"{', '.join(TESTS)}, or several joined "
                   "by commas. " + docs.get("method", ""))
    p.add_argument("--alpha", type=float, default=0.05, help=docs.get("alpha", ""))
    p.add_argument("--horizon", type=int, default=100, help=docs.get("horizon", ""))
    p.add_argument("--alarm-rule", default="bonferroni", choices=ALARM_RULES,
                   help=docs.get("alarm_rule", ""))
    p.add_argument("--seed", type=int, default=0, help=docs.get("seed", ""))
    p.add_argument("--out", help="write the run folder here (record.json, windows.csv, "
                   "report.html)")
    p.add_argument("--json", action="store_true", help="print the windows as JSON lines")
    add_out_flags(p, None)
    add_data_args(p)
    add_report_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with claim_out(args, args.out):
        return _run(args)


def _reference(args: argparse.Namespace, modality: str) -> Dataset | None:
    if not args.reference:
        return None
    # --skip-bad is about the stream's rows; table loaders do not take it.
    plain = argparse.Namespace(**{**vars(args), "skip_bad": False})
    ref = load_source(args.reference, plain, expect=modality, who="the reference")
    if isinstance(ref, Dataset):
        return ref
    return ref.test if ref.test is not None else ref.train


def _table(windows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for r in windows:
        ls = r.get("label_shift") or {}
        w.writerow([r.get(c) if c != "label_shift_p" else ls.get("p_value") for c in COLUMNS])
    return buf.getvalue()


def _run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
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
    need = args.window * (1 if ref is not None else 2)
    if len(stream) < need:
        raise DataError(
            f"monitor expects a stream of at least {need} rows for --window {args.window}"
            f"{'' if ref is not None else ' (the first window is the reference)'}; got "
            f"{len(stream)} in {args.stream!r}. Fix: a smaller --window, or --reference DATA.")
    methods = [m.strip() for m in args.method.split(",") if m.strip()]
    monitor = DriftMonitor(model, window=args.window, reference=ref,
                           method=methods if len(methods) > 1 else methods[0],
                           alpha=args.alpha, horizon=args.horizon, alarm_rule=args.alarm_rule,
                           seed=args.seed)
    # The stream is fed a window at a time, as a live source would deliver it.
    batches = (stream.subset(range(i, min(i + args.window, len(stream))))
               for i in range(0, len(stream), args.window))
    for report in monitor.monitor(batches):
        echo(json.dumps(report.to_dict()) if args.json else str(report))
    state = monitor.state()
    alarms = [r["window"] for r in state["windows"] if r["detected"]]
    if not args.json:
        echo(f"{len(alarms)} alarm(s) in {len(state['windows'])} windows"
             + (f", first at window {alarms[0]}" if alarms else "")
             + (f"; the last {state['pending_rows']} rows do not fill a window and were not "
                "tested" if state["pending_rows"] else ""))
    if args.out:
        state["stream"] = {**info, "path": args.stream, "monitored_rows": len(stream)}
        config = {"run": args.run, "stream": args.stream, "reference": args.reference,
                  "time_col": args.time_col, "window": args.window, "method": args.method,
                  "alpha": args.alpha, "horizon": args.horizon, "alarm_rule": args.alarm_rule,
                  "seed": args.seed, "skip_bad": args.skip_bad}
        dataset = {"stream": stream.summary(),
                   **({"reference": ref.summary()} if ref is not None else {})}
        out = write_analysis_run(args.out, "monitor", config, dataset, state,
                                 extra_files={"windows.csv": _table(state["windows"])},
                                 seconds=time.perf_counter() - t0, overwrite=args.overwrite)
        if not args.json:
            echo(f"saved run to {out}")
        auto_report(args, out)
    return 0
