"""``readapt``: bring a deployed model to the data it now sees, without losing the old data.

* **With labels** (a labelled pool of new data and a budget): choose which rows to label
  (:mod:`.active`), then refit the model's head from its deployed weights with L2-SP toward
  them (:mod:`.anchored`), on the chosen new rows plus a rehearsal sample of stored old
  examples (``old_data``) when given. The anchor strength ``C`` is chosen from a grid by
  cross-validated accuracy on the chosen new rows, among the values that keep the old
  domain's accuracy (on held-out old rows) within ``max_forgetting`` of the deployed model's.
  A deployed ``strategy="finetune"`` model is fine-tuned on instead, from its own backbone and
  head with L2-SP toward them and the same rehearsal (:mod:`.anchored_finetune`).
* **Without labels** (``unlabelled=`` new inputs, no labelled pool): an existing adaptation
  method (:class:`~transferkit.DomainAdapter`), with the old data as its source.

The deployed model is never changed; the result is a new model that records its parent
(``readapt_``), and ``out=`` saves it as a new run — never over the parent's folder.
"""

from __future__ import annotations

import copy
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..data import Dataset, as_dataset
from ..exceptions import ConfigError, DataError, RunError
from ..features import extract_features
from ..heads import HEADS
from ..runs import load as load_run
from ..utils.checks import check_number
from .active import SELECTIONS, select_to_label
from .anchored import fit_anchored
from .anchored_finetune import finetune_toward

__all__ = ["readapt", "LABELLED_METHODS", "C_GRID"]

log = logging.getLogger(__name__)

#: methods that use the labelled budget; any adaptation method name works without labels
LABELLED_METHODS = ("l2sp", "rehearsal")
#: the anchor strengths tried (the probe's C: larger moves further from the deployed head)
C_GRID = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
#: old rows kept for rehearsal at most; a third more are held out to measure forgetting
_REHEARSAL = 300
_FOLDS = 5


def _check_head(model: Any) -> None:
    strategy = getattr(model, "strategy", None)
    head = getattr(getattr(model, "strategy_", None), "head_", None)
    if strategy != "probe" or getattr(head, "name", None) != "logistic":
        raise ConfigError(
            "readapt with labels expects a probe model with a logistic head (it refits that "
            "head toward its weights) or a strategy='finetune' model (fine-tuned on toward its "
            f"weights); got strategy={strategy!r}, head={getattr(head, 'name', None)!r}. Fix: "
            "fit the deployed model with strategy='probe', head='logistic' or "
            "strategy='finetune', or re-adapt without labels (unlabelled=..., method='coral').")


def _features(model: Any, data: Dataset) -> np.ndarray:
    return np.asarray(extract_features(model.backbone_, data, layer=model.layer_, cache=True,
                                       progress=False), dtype=np.float32)


def _labelled(model: Any, data: Any, what: str) -> tuple[Dataset, np.ndarray]:
    ds = model._check_modality(as_dataset(data, what=what))
    if ds.labels is None:
        raise DataError(f"readapt expects {what} with labels; got {ds.name!r} without them. "
                        "Fix: give its label column (--label-col), or use unlabelled=... for "
                        "label-free adaptation.")
    return ds, model._encode_labels(ds, what)


def _fit(Xn: np.ndarray, yn: np.ndarray, Xo: np.ndarray, yo: np.ndarray, W0: np.ndarray,
         b0: np.ndarray, C: float, anchor: bool) -> tuple[np.ndarray, np.ndarray]:
    """The anchored head on new + rehearsed rows, the two sets weighing the same in all (50
    new rows among 200 old ones would otherwise barely move it)."""
    n, m = len(yn), len(yo)
    weight = None
    if m:
        weight = np.r_[np.full(n, (n + m) / (2.0 * n)), np.full(m, (n + m) / (2.0 * m))]
    return fit_anchored(np.vstack([Xn, Xo]), np.r_[yn, yo], W0, b0, C, anchor, weight=weight)


def _cv_accuracy(Xn: np.ndarray, yn: np.ndarray, Xo: np.ndarray, yo: np.ndarray,
                 W0: np.ndarray, b0: np.ndarray, C: float, anchor: bool, seed: int) -> float:
    """Accuracy on each fold of the new rows of a head fitted on the other folds + old rows."""
    if len(yn) < 2 * _FOLDS:
        return float("nan")
    fold = np.random.default_rng(seed).permutation(len(yn)) % _FOLDS
    hits = 0
    for f in range(_FOLDS):
        tr = fold != f
        W, b = _fit(Xn[tr], yn[tr], Xo, yo, W0, b0, C, anchor)
        hits += int(((Xn[~tr] @ W + b).argmax(1) == yn[~tr]).sum())
    return hits / len(yn)


def readapt(model: Any, new_data: Any = None, unlabelled: Any = None, budget: int = 50,
            method: str = "auto", old_data: Any = None, select: str = "diverse",
            max_forgetting: float = 0.01, seed: int = 0, parent: str | None = None,
            out: str | os.PathLike | None = None, overwrite: bool = False) -> Any:
    """Re-adapt a deployed classifier to new data; returns a new model (the old one is kept).

    Args:
        model: the deployed model, or the path of its run folder (then recorded as parent).
        new_data: a labelled pool of new-domain data; ``budget`` of its rows are chosen to be
            labelled (their labels are the only ones read).
        unlabelled: new-domain inputs without labels (label-free adaptation).
        budget: how many new rows to label (at most the pool's size).
        method: ``"auto"`` (``"l2sp"`` with labels, ``"coral"`` without), ``"l2sp"`` (refit
            the head toward the deployed weights, rehearsing ``old_data`` when given),
            ``"rehearsal"`` (refit toward zero on old + new rows), or an adaptation method
            name (``"coral"``, ``"reweight"``, ``"dann"``...; needs ``old_data`` as source).
        old_data: labelled examples of the old domain: rehearsed (and a held-out part
            measures forgetting); the source of label-free adaptation.
        select: which rows to label: ``"diverse"`` (uncertain and varied), ``"uncertainty"``
            or ``"random"``.
        max_forgetting: the largest drop of old-domain accuracy (0.01: one point) a chosen
            anchor strength may cost, measured on held-out old rows (at least one of those
            rows: a finer limit cannot be measured).
        seed: seeds the selection, the rehearsal sample and the folds.
        parent: the deployed model's run folder, recorded in the new run.
        out: save the new model there (a new run; never the parent's folder).
        overwrite: replace a finished run at ``out`` (never the parent).

    Returns:
        The re-adapted model, with ``readapt_`` describing what was done.
    """
    check_number("readapt", "budget", budget, low=1, integer=True)
    check_number("readapt", "max_forgetting", max_forgetting, low=0, high=1)
    if select not in SELECTIONS:
        raise ConfigError(f"The 'select' parameter of readapt must be one of {SELECTIONS}. "
                          f"Got {select!r} instead.")
    if isinstance(model, str | os.PathLike):
        parent = parent or str(model)
        model = load_run(model)
    if out is not None and parent is not None and \
            Path(out).resolve() == Path(parent).resolve():
        raise RunError(f"readapt never writes over the deployed run; got out={str(out)!r}, the "
                       "parent's own folder. Fix: give a new folder, e.g. "
                       f"{str(Path(parent).with_name(Path(parent).name + '-v2'))!r}.")
    if new_data is None and unlabelled is None:
        raise DataError("readapt expects new data: a labelled pool (new_data=) or inputs "
                        "without labels (unlabelled=); got neither.")
    if new_data is not None:
        method = "l2sp" if method == "auto" else method
        if method not in LABELLED_METHODS:
            raise ConfigError(f"readapt with labelled new data expects method in "
                              f"{('auto', *LABELLED_METHODS)}; got {method!r}. Fix: pass the "
                              "new inputs as unlabelled=... for an adaptation method.")
        new = _with_labels(model, new_data, budget, method, old_data, select, max_forgetting,
                           seed)
    else:
        new = _without_labels(model, unlabelled, "coral" if method == "auto" else method,
                              old_data, seed)
    new.readapt_["parent"] = parent
    if out is not None:
        new.save(out, record={"readapt": new.readapt_}, overwrite=overwrite)
    return new


def _with_labels(model: Any, new_data: Any, budget: int, method: str, old_data: Any,
                 select: str, max_forgetting: float, seed: int) -> Any:
    finetuned = getattr(model, "strategy", None) == "finetune"
    if not finetuned:
        _check_head(model)
    pool, y_pool = _labelled(model, new_data, "the new labelled data")
    if budget > len(pool):
        raise DataError(f"readapt expects a budget of at most the pool's size; got budget="
                        f"{budget} for {len(pool)} rows in {pool.name!r}. Fix: budget <= "
                        f"{len(pool)}, or a larger pool.")
    if finetuned:
        return _finetuned(model, pool, y_pool, budget, method, old_data, select,
                          max_forgetting, seed)
    head = model.strategy_.head_
    F = _features(model, pool)
    P = head.predict_proba(F)
    chosen = select_to_label(F, P, budget, select, seed)
    Xn, yn = head._scale(F[chosen]), y_pool[chosen]
    Xo, yo, Xc, yc = (np.zeros((0, F.shape[1]), np.float32), np.zeros(0, np.int64), None, None)
    if old_data is not None:
        old, y_old, keep, check = _old_split(model, old_data, seed)
        Fo = head._scale(_features(model, old))
        Xc, yc = Fo[check], y_old[check]
        Xo, yo = Fo[keep], y_old[keep]
    W0, b0 = head.arrays["coef"], head.arrays["intercept"]
    anchor = method == "l2sp"
    old_before = None if Xc is None else float(((Xc @ W0 + b0).argmax(1) == yc).mean())
    scores, best = {}, None
    # A limit finer than one held-out row cannot be measured: one row is always allowed.
    tolerance = max_forgetting if yc is None else max(max_forgetting, 1.0 / max(1, len(yc)))
    for C in C_GRID:
        cv = _cv_accuracy(Xn, yn, Xo, yo, W0, b0, C, anchor, seed)
        W, b = _fit(Xn, yn, Xo, yo, W0, b0, C, anchor)
        old_after = None if Xc is None else float(((Xc @ W + b).argmax(1) == yc).mean())
        ok = old_before is None or old_after >= old_before - tolerance - 1e-9
        scores[str(C)] = {"cv_new_accuracy": cv, "old_accuracy": old_after, "allowed": ok}
        score = -1.0 if np.isnan(cv) else cv
        if ok and (best is None or score > best[0] + 1e-9):
            best = (score, C, W, b, old_after)
    limit_met = best is not None
    if best is None:  # no strength kept the old domain: the weakest move is the safest
        C = C_GRID[0]
        W, b = _fit(Xn, yn, Xo, yo, W0, b0, C, anchor)
        best = (float("nan"), C, W, b, scores[str(C)]["old_accuracy"])
        log.warning("readapt: no anchor strength kept the old rows within max_forgetting=%s; "
                    "kept the weakest (C=%s)", max_forgetting, C)
    _, C, W, b, old_after = best
    new = copy.copy(model)
    new.strategy_ = copy.copy(model.strategy_)
    new.strategy_.head_ = HEADS.get("logistic").from_state(
        {**head.config, "C": float(C)}, {**head.arrays, "coef": W, "intercept": b})
    new.readapt_ = {
        "method": method, "select": select, "budget": int(budget), "pool_size": len(pool),
        "labelled_rows": chosen.tolist(), "rehearsal_rows": int(len(yo)),
        "old_check_rows": 0 if yc is None else int(len(yc)), "C": float(C),
        "anchor_distance": float(np.linalg.norm(W - W0)),
        "old_accuracy_before": old_before, "old_accuracy_after": old_after,
        "max_forgetting": max_forgetting, "forgetting_limit_met": limit_met, "by_C": scores,
    }
    return new


def _old_split(model: Any, old_data: Any, seed: int
               ) -> tuple[Dataset, np.ndarray, np.ndarray, np.ndarray]:
    """The old rows, their class indices, and which rows are rehearsed / held out to
    measure forgetting."""
    old, y_old = _labelled(model, old_data, "the old data")
    order = np.random.default_rng(seed).permutation(len(old))
    keep, check = order[:_REHEARSAL], order[_REHEARSAL:_REHEARSAL + _REHEARSAL // 3]
    if len(check) < 10:  # a small old set: rehearse half, check on the other half
        keep, check = order[: len(order) // 2], order[len(order) // 2:]
    return old, y_old, keep, check


def _finetuned(model: Any, pool: Dataset, y_pool: np.ndarray, budget: int, method: str,
               old_data: Any, select: str, max_forgetting: float, seed: int) -> Any:
    """The fine-tune path: choose the rows, then fine-tune on toward the deployed weights."""
    if method != "l2sp":
        raise ConfigError(f"readapt of a fine-tuned model expects method 'l2sp' (or 'auto'); "
                          f"got {method!r}. Fix: method='l2sp'.")
    chosen = select_to_label(_features(model, pool), model.predict_proba(pool), budget,
                             select, seed)
    new_rows = pool.subset(chosen)
    old = y_old = check = y_check = None
    if old_data is not None:
        old_all, y_all, keep, held = _old_split(model, old_data, seed)
        old, y_old = old_all.subset(np.sort(keep)), y_all[np.sort(keep)]
        check, y_check = old_all.subset(np.sort(held)), y_all[np.sort(held)]
    tolerance = max_forgetting if y_check is None else max(max_forgetting,
                                                           1.0 / max(1, len(y_check)))
    new, info = finetune_toward(model, new_rows, y_pool[chosen], old, y_old, check, y_check,
                                tolerance, seed)
    new.readapt_ = {"method": method, "select": select, "budget": int(budget),
                    "pool_size": len(pool), "labelled_rows": chosen.tolist(),
                    "rehearsal_rows": 0 if old is None else len(old),
                    "old_check_rows": 0 if check is None else len(check),
                    "max_forgetting": max_forgetting, **info}
    return new


def _without_labels(model: Any, unlabelled: Any, method: str, old_data: Any, seed: int) -> Any:
    from ..adapt import ADAPT_METHODS
    from ..models import DomainAdapter

    if method not in ADAPT_METHODS:
        raise ConfigError(f"readapt without labels expects an adaptation method, one of "
                          f"{ADAPT_METHODS.names()}; got {method!r}.")
    if old_data is None:
        raise DataError("readapt without labels adapts from the old data to the new: it "
                        "expects old_data= (labelled examples of the old domain); got none. "
                        "Fix: pass the deployed model's training data or a sample of it.")
    target = model._check_modality(as_dataset(unlabelled, what="unlabelled"))
    new = DomainAdapter(method=method, backbone=model.backbone_, layer=model.layer_,
                        seed=seed, progress=False).fit(old_data, target.without_labels())
    new.readapt_ = {"method": method, "budget": 0, "unlabelled_rows": len(target),
                    "source_rows": len(as_dataset(old_data, what="old_data"))}
    return new
