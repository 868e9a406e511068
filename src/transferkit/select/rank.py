"""``rank``: score candidate backbones on a labelled dataset without fine-tuning any of them.

Each candidate (a backbone spec: ``minilm-l6``, ``minilm-l6@3`` for a layer,
``random:minilm-l6`` for a random-init control, ``hf:...``, ``run:...``) encodes the data once
through :func:`~transferkit.extract_features` (so the on-disk cache serves later runs), then
every requested score is computed on those features. Scores that need the source task's class
probabilities (LEEP, NCE) are computed only for backbones that keep their pre-training head;
for the others the cell is ``NaN`` and ``df.attrs["notes"]`` (and the ``notes`` column) say
why — a missing number always comes with its reason.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..backbones import BACKBONES, create_backbone, parse_backbone_spec
from ..backbones.base import Backbone
from ..backbones.registry import backbone_for_data
from ..data import check_labels
from ..data.dataset import Dataset, DatasetSplits
from ..exceptions import BackboneError, ConfigError, DataError
from ..features import extract_features
from ..utils.checks import check_number
from ..utils.defaults import BATCH_SIZE
from .knn import check_cv_labels
from .scores import SCORES, score_info

__all__ = ["rank", "rank_sample", "build_backbone", "source_probabilities", "ranking_record",
           "format_ranking", "DEFAULT_SCORES"]

log = logging.getLogger(__name__)

DEFAULT_SCORES = ("logme", "hscore", "knn")


def _as_labelled(data: Any, what: str = "rank") -> Dataset:
    if isinstance(data, DatasetSplits):
        data = data.train
    if not isinstance(data, Dataset):
        raise DataError(
            f"{what} expects a Dataset (or DatasetSplits, whose training split is used); got "
            f"{type(data).__name__}. Fix: load it with tk.load_dataset(...) or tk.from_arrays(...)."
        )

    check_labels(data)
    return data


def _as_list(value: Any, what: str) -> list:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, Backbone):
        value = [value]
    try:
        out = list(value)
    except TypeError:
        raise ConfigError(
            f"{what} must be a list (or a comma-separated string); got {value!r}."
        ) from None
    if not out:
        raise ConfigError(f"{what} must name at least one entry; got an empty list.")
    return out


def rank_sample(ds: Dataset, n: int, seed: int) -> Dataset:
    """The sample ``rank(..., max_samples=n, seed=seed)`` scores: about ``n`` rows in class
    proportion, keeping at least two of each class (when it has two) so that cross-validated
    scores can use every class."""
    rng = np.random.default_rng(seed)
    frac = n / len(ds)
    picks = []
    for c in np.unique(ds.labels):
        idx = rng.permutation(np.flatnonzero(ds.labels == c))
        picks.append(idx[: min(len(idx), max(2, int(round(frac * len(idx)))))])
    sub = ds.subset(np.sort(np.concatenate(picks)))
    sub.meta.update(max_samples=n, sample_seed=int(seed))
    return sub


def _label(candidate: str | Backbone) -> str:
    return candidate if isinstance(candidate, str) else candidate.name


def _precheck_backbone(spec: str, modality: str) -> None:
    """Fail before any encoding on unknown registered names or a modality mismatch."""
    base, _ = parse_backbone_spec(spec)
    name = base[len("random:"):] if base.startswith("random:") else base
    if ":" in name:  # hf:, run: and other prefixes are checked when created
        return
    if name not in BACKBONES:
        create_backbone(name)  # raises BackboneError with close matches
    want = BACKBONES.info(name).get("modality")
    if want and want != modality:
        raise BackboneError(
            f"Backbone {spec!r} takes {want} inputs, but the dataset is {modality}. Fix: rank "
            f"{modality} backbones on it (transferkit zoo lists each backbone's modality)."
        )


def build_backbone(candidate: str | Backbone, data: Dataset, seed: int = 0) -> Backbone:
    """Create ``candidate`` for ``data`` as the estimator does (tabular: sized and standardised).

    Raises:
        BackboneError: unknown spec.
        DataError: a backbone for another modality than ``data``.
    """
    return backbone_for_data(candidate, -1, seed, data)[0]


def source_probabilities(backbone: Backbone, data: Dataset | Sequence[Any],
                         batch_size: int = BATCH_SIZE) -> np.ndarray:
    """``(N, C_source)`` softmax of the backbone's source-task logits, in input order.

    Raises:
        BackboneError: the backbone has no source-task head (see ``backbone.has_source_head``).
    """
    import torch

    if not backbone.has_source_head:
        backbone.source_logits({})  # raises the backbone's own explanation
        raise BackboneError(f"Backbone {backbone.name!r} has no source-task head.")
    if backbone.source_model is not None:  # a run: backbone brings the run's classifier
        return np.asarray(backbone.source_model.predict_proba(data), dtype=np.float64)
    inputs = data.inputs if isinstance(data, Dataset) else data
    out = []
    was_training = backbone.training
    backbone.eval()
    try:
        with torch.inference_mode():
            for s in range(0, len(inputs), batch_size):
                chunk = inputs[s : s + batch_size]
                batch = backbone.preprocess(chunk if isinstance(chunk, np.ndarray) else list(chunk))
                batch = {k: v.to(backbone.device) for k, v in batch.items()}
                logits = backbone.source_logits(batch).double()
                out.append(torch.softmax(logits, dim=1).cpu().numpy())
    finally:
        backbone.train(was_training)
    return np.concatenate(out, axis=0)


def _no_head_reason(bb: Backbone) -> str:
    try:
        bb.source_logits({})
    except BackboneError as e:
        return str(e)
    except Exception:  # noqa: BLE001 - any failure means "no usable head"
        pass
    return f"Backbone {bb.name!r} has no source-task head."


def rank(
    data: Dataset | DatasetSplits,
    backbones: Sequence[str | Backbone],
    scores: Sequence[str] = DEFAULT_SCORES,
    layer: int | None = None,
    max_samples: int | None = None,
    batch_size: int = BATCH_SIZE,
    cache: bool = True,
    progress: bool = True,
    seed: int = 0,
) -> pd.DataFrame:
    """Rank candidate backbones for a labelled dataset by transferability scores.

    Args:
        data: the labelled target data (a ``DatasetSplits`` stands for its training split).
        backbones: candidate specs (``"minilm-l6"``, ``"minilm-l6@3"``, ``"random:minilm-l6"``,
            ``"hf:<id or folder>"``, ``"run:<folder>"``) or :class:`Backbone` instances; a
            comma-separated string works too.
        scores: score names, the first one sorts the table: ``"logme"``, ``"hscore"``,
            ``"knn"``, ``"probe"`` (cross-validated logistic probe, slower), ``"leep"`` and
            ``"nce"`` (only for backbones with a source-task head).
        layer: feature layer for candidates without an ``@k`` suffix (``None``: the last).
        max_samples: score a stratified sample of about this many examples (``None``: all);
            every class keeps at least two examples, so it may exceed this by up to the number
            of classes.
        batch_size: inputs per forward pass when encoding.
        cache: read and write the feature cache.
        progress: show encoding progress bars (in a terminal only).
        seed: seed of the sample and of the cross-validation folds.

    Returns:
        A DataFrame, best first by the first score (candidates where it is undefined last),
        with columns ``backbone``, one per score (higher is better), ``seconds`` (creating,
        encoding and scoring that candidate) and ``notes`` (why a cell is empty, or a warning
        such as "scores below its random-init control"). ``df.attrs`` holds ``readings`` (one
        line per score), ``notes`` (per backbone), ``sorted_by``, ``dataset`` and ``scores``.

    Raises:
        ConfigError: unknown score names, empty lists, duplicate candidates, bad numbers.
        BackboneError: an unknown backbone or one for another modality.
        DataError: unlabelled data, a single class, too few examples for the cross-validated
            scores.

    Example:
        >>> import transferkit as tk
        >>> ds = tk.load_dataset("banking77")
        >>> tk.rank(ds, ["minilm-l6", "random:minilm-l6"], max_samples=500)  # doctest: +SKIP
    """
    ds = _as_labelled(data)
    candidates = _as_list(backbones, "backbones")
    score_names = [str(s).strip().lower() for s in _as_list(scores, "scores")]
    for s in score_names:
        SCORES.get(s)  # ConfigError listing close matches
    if len(set(score_names)) != len(score_names):
        raise ConfigError(f"scores lists a name twice: {score_names}.")
    labels_ = [_label(c) for c in candidates]
    dupes = sorted({x for x in labels_ if labels_.count(x) > 1})
    if dupes:
        raise ConfigError(f"backbones lists {dupes} more than once; each candidate once, please.")
    if layer is not None:
        check_number("rank", "layer", layer, low=-1, integer=True)
    if max_samples is not None:
        check_number("rank", "max_samples", max_samples, low=2, integer=True)
        if len(ds) > max_samples:
            ds = rank_sample(ds, int(max_samples), seed)
    for c in candidates:
        if isinstance(c, str):
            _precheck_backbone(c, ds.modality)
    classes = np.unique(ds.labels)
    # Up to 5 folds, fewer when a fold could not hold every class (few-shot data).
    cv_folds = max(2, min(5, len(ds) // len(classes)))
    if any(score_info(s)["cross_validated"] for s in score_names):
        check_cv_labels(ds.labels, len(ds), cv_folds, "rank (cross-validated scores)")

    rows, notes = [], {}
    for cand in candidates:
        name = _label(cand)
        t0 = time.perf_counter()
        lay = -1 if layer is None else int(layer)
        if isinstance(cand, str):
            base, spec_layer = parse_backbone_spec(cand)
            if base != cand.strip():  # an explicit "@k" wins over ``layer``
                lay = spec_layer
        bb = build_backbone(cand, ds, seed=seed)
        feats = np.asarray(extract_features(bb, ds, layer=lay, batch_size=batch_size, cache=cache,
                                            progress=progress))
        row: dict[str, Any] = {"backbone": name}
        cand_notes: list[str] = []
        probs = None
        headless = [s for s in score_names if score_info(s)["needs"] == "source"]
        if headless and not bb.has_source_head:
            cand_notes.append(f"{', '.join(headless)}: not computed — {_no_head_reason(bb)}")
        for s in score_names:
            info = score_info(s)
            fn = SCORES.get(s)
            try:
                if info["needs"] == "source":
                    if not bb.has_source_head:
                        row[s] = math.nan
                        continue
                    if probs is None:
                        probs = source_probabilities(bb, ds, batch_size=batch_size)
                    row[s] = float(fn(probs, ds.labels))
                elif info["cross_validated"]:
                    row[s] = float(fn(feats, ds.labels, folds=cv_folds, seed=seed))
                else:
                    row[s] = float(fn(feats, ds.labels))
            except (DataError, BackboneError) as e:
                row[s] = math.nan
                cand_notes.append(f"{s}: not computed — {e}")
        row["seconds"] = round(time.perf_counter() - t0, 3)
        rows.append(row)
        notes[name] = cand_notes
        log.info("ranked %s in %.1f s", name, row["seconds"])
        del bb, feats, probs

    first = score_names[0]
    df = pd.DataFrame(rows, columns=["backbone", *score_names, "seconds"])
    _control_notes(df, first, notes)
    df["notes"] = [" | ".join(_short(n) for n in notes[b]) for b in df["backbone"]]
    df = df.sort_values(first, ascending=False, na_position="last", kind="stable")
    df = df.reset_index(drop=True)
    df.attrs.update(
        sorted_by=first,
        scores=score_names,
        readings=_readings(df, score_names, len(classes), cv_folds),
        notes={b: list(v) for b, v in notes.items() if v},
        dataset={"name": ds.name, "n": len(ds), "n_classes": int(len(classes)),
                 "modality": ds.modality, "max_samples": max_samples},
        layer=layer,
        seed=seed,
        cv_folds=cv_folds,
    )
    return df


def _short(note: str) -> str:
    """First sentence of a note, for the table's notes column."""
    head, sep, _ = note.partition(". ")
    return head + ("." if sep else "")


def _control_notes(df: pd.DataFrame, score: str, notes: dict[str, list[str]]) -> None:
    """Warn where a candidate scores at or below the random-init control of its architecture."""
    values = dict(zip(df["backbone"], df[score], strict=True))
    for name, v in values.items():
        if name.startswith("random:") or not np.isfinite(v):
            continue
        base = parse_backbone_spec(name)[0]
        for ctrl in (f"random:{name}", f"random:{base}"):
            c = values.get(ctrl)
            if c is not None and np.isfinite(c) and v <= c:
                notes[name].append(
                    f"{score}: scores at or below its random-init control {ctrl!r} "
                    f"({v:.4g} vs {c:.4g}): these features carry no more usable information than "
                    "an untrained network's."
                )
                break


def _fmt(v: float) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:.4g}"


def _readings(df: pd.DataFrame, score_names: list[str], k: int, folds: int = 5) -> dict[str, str]:
    out = {}
    fill = {"k_minus_1": k - 1, "neg_log_k": f"{-math.log(k):.3g}", "chance": f"{1.0 / k:.3g}",
            "folds": folds}
    for s in score_names:
        info = score_info(s)
        scale = info["scale"].format(**fill)
        col = df[["backbone", s]].dropna()
        if col.empty:
            why = ("no candidate has a source-task head" if info["needs"] == "source"
                   else "it could not be computed for any candidate")
            out[s] = f"{s}: {info['meaning']}; not available here: {why} (see notes)."
            continue
        col = col.sort_values(s, ascending=False, kind="stable")
        best = col.iloc[0]
        text = f"{s}: {info['meaning']} ({scale}); best {best['backbone']} ({_fmt(best[s])})"
        if len(col) > 1:
            worst = col.iloc[-1]
            text += f", worst {worst['backbone']} ({_fmt(worst[s])})"
        out[s] = text + "."
    return out


def ranking_record(df: pd.DataFrame) -> dict[str, Any]:
    """The plain, JSON-ready content of a ranking for a run record (``"kind": "rank"``)."""

    def clean(v: Any) -> Any:
        if isinstance(v, float | np.floating):
            return None if not np.isfinite(v) else float(v)
        return v.item() if isinstance(v, np.generic) else v

    table = [{k: clean(v) for k, v in row.items()} for row in df.to_dict(orient="records")]
    return {
        "table": table,
        "columns": list(df.columns),
        "scores": list(df.attrs.get("scores", [])),
        "sorted_by": df.attrs.get("sorted_by"),
        "higher_is_better": True,
        "readings": dict(df.attrs.get("readings", {})),
        "notes": dict(df.attrs.get("notes", {})),
        "dataset": dict(df.attrs.get("dataset", {})),
        "layer": df.attrs.get("layer"),
        "seed": df.attrs.get("seed"),
        "cv_folds": df.attrs.get("cv_folds"),
        "best": table[0]["backbone"] if table else None,
    }


def format_ranking(df: pd.DataFrame) -> str:
    """The ranked table, the one-line readings and the notes, as plain text."""
    scores = list(df.attrs.get("scores", []))
    shown = df[["backbone", *scores, "seconds"]].copy()
    for s in scores:
        shown[s] = [_fmt(v) for v in shown[s]]
    shown.insert(0, "#", range(1, len(shown) + 1))
    lines = [shown.to_string(index=False)]
    readings = df.attrs.get("readings", {})
    if readings:
        lines += ["", "How to read the scores (higher is better for every one):"]
        lines += [f"  {r}" for r in readings.values()]
    notes = df.attrs.get("notes", {})
    if notes:
        # The same message for several candidates (e.g. no source head) is printed once.
        grouped: dict[str, list[str]] = {}
        for b, ns in notes.items():
            for n in ns:
                grouped.setdefault(re.sub(r"Backbone '[^']*'", "The backbone", n), []).append(b)
        lines += ["", "Notes:"]
        lines += [f"  {', '.join(bs)}: {n}" for n, bs in grouped.items()]
    return "\n".join(lines)
