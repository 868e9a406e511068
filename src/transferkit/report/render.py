"""Run record -> one self-contained HTML page (inline CSS and images, no scripts, no network).

The page is rendered from the record alone, so any past run can be re-rendered. A run folder
without a record (a crashed run) is rendered from what it holds, and the page says what is
missing; a record of a newer schema raises :class:`~transferkit.exceptions.RunError`.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from .._version import __version__
from ..exceptions import RunError
from ..runs import RECORD_SCHEMA, read_record
from ..utils.io import atomic_write_text, read_json
from .sections import SECTIONS, SUMMARY, Section
from .templating import render

__all__ = ["load_run", "render_html", "render_report", "write_report", "REPORT_NAME"]

log = logging.getLogger(__name__)

REPORT_NAME = "report.html"
#: where the training engine keeps per-epoch checkpoints and history.jsonl inside a run folder
CHECKPOINTS = "checkpoints"

# What each kind of run is expected to hold, and what its absence means.
EXPECTED = {
    "fit": ["dataset", "backbone", "strategy", "metrics"],
    "fit-multi": ["dataset", "backbone", "strategy", "metrics", "multitask"],
    "compare": ["compare"],
    "rank": ["rank"],
    "shift": ["shift"],
    "adapt": ["adapt"],
    "monitor": ["monitor"],
    "tune": ["tune"],
    "pretrain": ["dataset", "pretrain"],
}
COMMON = ["config", "environment"]
MEANING = {
    "metrics": "final test metrics (the run may have stopped before evaluation)",
    "dataset": "the dataset summary",
    "backbone": "the backbone description",
    "strategy": "the strategy summary",
    "config": "the configuration",
    "environment": "the environment (versions, device)",
    "compare": "the comparison results",
    "rank": "the ranking results",
    "shift": "the shift measurements",
    "adapt": "the adaptation results",
    "monitor": "the drift monitor's windows",
    "tune": "the hyper-parameter search",
    "pretrain": "the pre-training results (loss curve, tokens seen, chain)",
    "multitask": "the per-task results",
}


def check_schema(record: dict[str, Any], where: str = "this record") -> None:
    """Raise :class:`RunError` for a record written by a newer transferkit."""
    version = record.get("schema_version", 0)
    if isinstance(version, (int, float)) and version > RECORD_SCHEMA:
        raise RunError(
            f"{where} has a record of schema {version}; this transferkit ({__version__}) renders "
            f"records up to schema {RECORD_SCHEMA}. Upgrade transferkit to render it."
        )


def _partial_record(folder: Path, why: str) -> tuple[dict[str, Any], list[str]]:
    """Gather what a folder without a usable record.json holds."""
    import yaml

    rec: dict[str, Any] = {}
    found, problems = [], []

    def load(name: str, reader):
        f = folder / name
        if not f.exists():
            return None
        try:
            value = reader(f)
        except (OSError, ValueError, yaml.YAMLError) as e:
            problems.append(f"{name} is unreadable ({type(e).__name__}: {e})")
            return None
        found.append(name)
        return value

    cfg = load("config.yaml", lambda f: yaml.safe_load(f.read_text("utf-8")))
    if isinstance(cfg, dict):
        rec["config"] = cfg
    metrics = load("metrics.json", read_json)
    if isinstance(metrics, dict) and metrics:
        rec["metrics"] = metrics
    model = load("model.json", read_json)
    if isinstance(model, dict):
        bb = model.get("backbone") or {}
        rec["backbone"] = {"name": bb.get("spec"), **(bb.get("info") or {})}
        params = model.get("params") or {}
        rec["strategy"] = {"name": params.get("strategy")}
        rec.setdefault("config", params)
    def jsonl(f: Path) -> list[Any]:
        return [json.loads(ln) for ln in f.read_text("utf-8").splitlines() if ln.strip()]

    history = load("history.jsonl", jsonl)
    if history is None:
        history = load("history.json", read_json)
    # A run the training engine checkpointed, stopped before it was saved: its history and
    # settings are in <run>/checkpoints/.
    if history is None:
        history = load(f"{CHECKPOINTS}/history.jsonl", jsonl)
    if isinstance(history, list):
        rec["history"] = [h for h in history if isinstance(h, dict)]
    ckpt = load(f"{CHECKPOINTS}/checkpoint.json", read_json)
    resume = ""
    if isinstance(ckpt, dict):
        ident = ckpt.get("identity") if isinstance(ckpt.get("identity"), dict) else {}
        bb = ident.get("backbone") if isinstance(ident.get("backbone"), dict) else {}
        settings = ident.get("settings") if isinstance(ident.get("settings"), dict) else {}
        rec.setdefault("config", {"backbone": bb.get("spec"), "strategy": ident.get("strategy"),
                                  **settings})
        rec.setdefault("backbone", {"name": bb.get("spec")})
        rec.setdefault("strategy", {"name": ident.get("strategy")})
        resume = (f" Its checkpoints hold {ckpt.get('epochs_done', '?')} finished epoch(s) "
                  f"(written {ckpt.get('written', '?')}): continue it with `transferkit fit "
                  f"SOURCE --resume {folder}`.")
    if not found:
        raise RunError(
            f"{str(folder)!r} is not a transferkit run folder: it has no record.json, "
            f"config.yaml, metrics.json, model.json or {CHECKPOINTS}/history.jsonl. Give a "
            "folder written by `transferkit fit` (or compare, rank, shift, adapt)."
        )
    rec["kind"] = (cfg or {}).get("kind") if isinstance(cfg, dict) else None
    missing = [f"{why} This page shows only what {', '.join(found)} hold.{resume}"] + problems
    return rec, missing


def load_run(path: str | os.PathLike) -> tuple[dict[str, Any], list[str]]:
    """The record of run folder ``path`` and a list of what is missing from it (plain text)."""
    folder = Path(path)
    if not folder.is_dir():
        raise RunError(f"No run folder at {str(folder)!r}. Give a folder under runs/ "
                       "(see `transferkit runs`).")
    if not (folder / "record.json").exists():
        return _partial_record(folder, "record.json is missing: the run did not finish (it may "
                                       "have crashed or been interrupted).")
    try:
        record = read_record(folder)
    except ValueError as e:  # JSON that does not parse: a half-written or hand-edited record
        return _partial_record(folder, f"record.json is unreadable ({e}).")
    if not isinstance(record, dict):
        return _partial_record(folder, "record.json does not hold a JSON object.")
    return record, missing_parts(record)


def missing_parts(record: dict[str, Any]) -> list[str]:
    kind = record.get("kind") or "fit"
    out = []
    for key in EXPECTED.get(kind, []) + COMMON:
        if not record.get(key):
            out.append(f"The record has no '{key}': {MEANING.get(key, key)} cannot be shown.")
    return out


def render_html(record: dict[str, Any], missing: list[str] | None = None,
                name: str | None = None) -> str:
    """Render ``record`` (a run record dict) as a self-contained HTML page."""
    if not isinstance(record, dict):
        raise RunError(f"A run record must be a JSON object; got {type(record).__name__}.")
    check_schema(record)
    missing = missing_parts(record) if missing is None else missing
    kind = record.get("kind") or ("incomplete run" if missing else "fit")
    title = f"transferkit {kind} report" + (f": {name}" if name else "")
    sections = [s for s in (_section(sec, record) for sec in [SUMMARY, *SECTIONS]) if s]
    return str(render("page.html.j2", title=title, sections=sections, missing=missing,
                      version=__version__, schema=record.get("schema_version", "?")))


def _section(sec: Section, record: dict[str, Any]) -> dict[str, Any] | None:
    """``{"anchor", "label", "html", "error"}`` of one section, or None when it has nothing.

    A section that fails becomes a note naming the error: one odd part of a record must not
    cost the whole page.
    """
    try:
        data = sec.prepare(record)
        if data is None:
            return None
        return {"anchor": sec.anchor, "label": sec.label, "error": None,
                "html": render(sec.template, **data)}
    except Exception as e:  # noqa: BLE001
        log.warning("report section %r failed: %s: %s", sec.anchor, type(e).__name__, e)
        return {"anchor": sec.anchor, "label": sec.label, "html": None,
                "error": f"{type(e).__name__}: {e}"}


def render_report(path: str | os.PathLike) -> str:
    """The HTML report of run folder ``path`` (rendered from its record alone)."""
    record, missing = load_run(path)
    return render_html(record, missing, name=Path(path).resolve().name)


def write_report(run_dir: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Render run folder ``run_dir`` and write ``run_dir/report.html`` (or ``out``) atomically.

    Returns the path of the written page. Commands that write a run call this at the end.
    """
    html = render_report(run_dir)
    target = Path(out) if out is not None else Path(run_dir) / REPORT_NAME
    atomic_write_text(target, html)
    log.info("wrote report %s", target)
    return target
