"""``transferkit report RUN`` (render a run's HTML page) and ``transferkit runs`` (list runs).

Commands that write a run folder call :func:`add_report_flag` on their parser and
:func:`auto_report` after saving, so every run gets its page unless ``--no-report``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from ..exceptions import TransferKitError
from ..report import write_report
from ..report.sections.summary import headline
from ..runs import list_runs, read_record
from .common import echo

__all__ = ["add_parsers", "add_report_flag", "auto_report", "runs_table"]

log = logging.getLogger(__name__)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="render a run folder as a self-contained HTML page",
        description="Render RUN (a run folder) as RUN/report.html from its record alone, and "
                    "print the page's path. Works for past runs and for incomplete ones.")
    p.add_argument("run", help="run folder, e.g. runs/banking77-probe")
    p.add_argument("--out", help="write the page here instead of RUN/report.html")
    p.set_defaults(func=run_report)

    q = sub.add_parser(
        "runs", help="list past runs: name, date, data, backbone, strategy, metric",
        description="List the run folders under --root, newest first.")
    q.add_argument("--root", default="runs", help="folder holding the runs (default: runs)")
    q.add_argument("--filter", action="append", default=[], metavar="TEXT|FIELD=TEXT",
                   help="keep runs whose fields contain TEXT (any field, or FIELD: name, kind, "
                        "data, backbone, strategy, date); repeat to combine")
    q.add_argument("--json", action="store_true", help="print JSON rows")
    q.set_defaults(func=run_runs)


def add_report_flag(p: argparse.ArgumentParser) -> None:
    """Add ``--no-report`` to a command that writes a run folder."""
    p.add_argument("--no-report", dest="report", action="store_false", default=True,
                   help="do not write report.html into the run folder")


def auto_report(args: argparse.Namespace, run_dir: str | Path) -> Path | None:
    """Write ``run_dir/report.html`` unless ``--no-report``; print its path.

    The run itself is already saved, so a failure here is a warning, never a lost run.
    """
    if not getattr(args, "report", True):
        return None

    try:
        path = write_report(run_dir)
    except Exception as e:  # noqa: BLE001 - the run is saved; the page can be re-rendered
        log.warning("the run is saved, but its report failed (%s: %s); retry with "
                    "`transferkit report %s`", type(e).__name__, e, run_dir)
        echo(f"warning: could not write the report ({e}); the run is saved", err=True)
        return None
    echo(f"report: {path}")
    return path


def run_report(args: argparse.Namespace) -> int:
    echo(str(write_report(args.run, args.out)))
    return 0


FIELDS = ("name", "date", "kind", "data", "backbone", "strategy", "metric")


def _incomplete_rows(root: Path, seen: set[str]) -> list[dict[str, Any]]:
    """Folders with run files but no record.json: crashed or interrupted runs."""
    rows = []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if d.name in seen or not any((d / f).exists() for f in
                                     ("config.yaml", "metrics.json", "model.json",
                                      "checkpoints/history.jsonl")):
            continue
        rows.append({"name": d.name, "path": str(d), "created": "", "kind": "incomplete",
                     "data": None, "backbone": None, "strategy": None, "accuracy": None})
    return rows


def _metric(row: dict[str, Any]) -> str:
    if row.get("accuracy") is not None:
        return f"accuracy {row['accuracy']:.4f}"
    if row.get("kind") in ("incomplete", None, ""):
        return "no record.json"

    try:
        hl = headline(read_record(row["path"]))
    except (TransferKitError, OSError, ValueError):
        return ""
    return f"{hl[0]} {hl[1]}" if hl else ""


def runs_table(root: str | Path = "runs", filters: list[str] | None = None
               ) -> list[dict[str, str]]:
    """Rows of ``transferkit runs``: one per run folder under ``root``, filtered, newest first."""

    root = Path(root)
    if not root.is_dir():
        return []
    rows = list_runs(root)
    rows += _incomplete_rows(root, {r["name"] for r in rows})
    out = []
    for r in rows:
        out.append({
            "name": r["name"], "date": str(r.get("created") or "").replace("T", " ")[:16],
            "kind": r.get("kind") or "", "data": str(r.get("data") or ""),
            "backbone": str(r.get("backbone") or ""), "strategy": str(r.get("strategy") or ""),
            "metric": _metric(r), "path": r["path"],
        })
    for f in filters or []:
        field, sep, text = f.partition("=")
        if sep and field in FIELDS:
            out = [r for r in out if text.lower() in r[field].lower()]
        else:
            out = [r for r in out if any(f.lower() in r[k].lower() for k in FIELDS)]
    return out


def run_runs(args: argparse.Namespace) -> int:
    rows = runs_table(args.root, args.filter)
    if args.json:
        echo(json.dumps(rows, indent=2))
        return 0
    if not rows:
        where = f"under {args.root!r}" + (f" matching {args.filter}" if args.filter else "")
        echo(f"no runs {where}")
        return 0
    table = [[r[c] for c in FIELDS] for r in rows]
    widths = [min(max(len(c), *(len(t[i]) for t in table)), 40) for i, c in enumerate(FIELDS)]
    echo("  ".join(c.ljust(w) for c, w in zip(FIELDS, widths, strict=False)).rstrip())
    for t in table:
        cells = [v if len(v) <= w else v[: w - 1] + "\u2026"
                 for v, w in zip(t, widths, strict=False)]
        echo("  ".join(v.ljust(w) for v, w in zip(cells, widths, strict=False)).rstrip())
    return 0
