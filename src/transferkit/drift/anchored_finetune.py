"""Re-adapting a fine-tuned model: fine-tune on from the deployed weights, L2-SP toward them.

A deployed ``strategy="finetune"`` model changed its backbone; refitting only its head (the
probe path of :func:`~transferkit.drift.readapt`) would leave half of it behind. Here the
same engine that trained it trains on, from the deployed backbone *and* head (Li, Grandvalet &
Davoine, *Explicit Inductive Bias for Transfer Learning with Convolutional Networks*, ICML
2018, https://arxiv.org/abs/1802.01483: penalise ``alpha/2 ||w - w_deployed||^2`` over every
trained weight, head included), on the newly labelled rows together with a rehearsal sample
of old ones (the new rows repeated so that the two sets weigh about the same). Validation
(early stopping, the best epoch kept) is on the held-out old rows when given: of the epochs
run, the one that forgets least.

``alpha`` is raised tenfold (at most twice) while the held-out old rows lose more than
``max_forgetting``.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from ..data import Dataset
from ..strategies import STRATEGIES
from ..strategies.base import FitContext

__all__ = ["finetune_toward", "ALPHAS"]

log = logging.getLogger(__name__)

#: the L2-SP strengths tried, weakest first (each a full fine-tuning run)
ALPHAS = (1.0, 10.0, 100.0)


def _join(parts: list[tuple[Dataset, np.ndarray]], name: str) -> tuple[Dataset, np.ndarray]:
    inputs = [x for d, _ in parts for x in d.inputs] if isinstance(parts[0][0].inputs, list) \
        else np.concatenate([d.inputs for d, _ in parts])
    y = np.concatenate([yy for _, yy in parts])
    first = parts[0][0]
    return replace(first, inputs=inputs, labels=y, name=name, meta={}, domains=None,
                   label_columns=None), y


def weight_distance(a: Any, b: Any) -> float:
    """``sqrt(sum ||w_a - w_b||^2)`` over the backbones' and heads' weights."""
    total = 0.0
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        total += float(((p.detach().float() - q.detach().float()) ** 2).sum())
    return total ** 0.5


def finetune_toward(model: Any, new: Dataset, y_new: np.ndarray, old: Dataset | None,
                    y_old: np.ndarray | None, check: Dataset | None,
                    y_check: np.ndarray | None, max_forgetting: float, seed: int,
                    alphas: tuple[float, ...] = ALPHAS) -> tuple[Any, dict[str, Any]]:
    """Fine-tune ``model`` (a fitted ``strategy="finetune"`` classifier) on the new rows and
    rehearsed old rows from its own weights; returns the new model and what was done.

    Args:
        new, y_new: the newly labelled rows and their class indices.
        old, y_old: rehearsed old rows (``None``: no rehearsal).
        check, y_check: held-out old rows: validation, and the forgetting measured.
        max_forgetting: the largest accuracy drop on ``check`` accepted before a stronger
            anchor is tried.
    """
    reps, parts = 1, [(new, y_new)]
    if old is not None and len(old):
        reps = max(1, int(round(len(old) / max(1, len(new)))))
        parts = [(new, y_new)] * reps + [(old, y_old)]
    train, y = _join(parts, "readapt-train")
    deployed = model.strategy_
    params = {**model.strategy_params(), "seed": seed, "progress": False}
    for k in ("checkpoint_dir", "resume"):
        if k in params:
            params[k] = None
    before = None if check is None else float(np.mean(
        model.predict_proba(check).argmax(1) == y_check))
    tried, chosen = {}, None
    for alpha in alphas:
        strategy = STRATEGIES.get("finetune")(**{**params, "l2sp": alpha})
        strategy.start_head = deployed.head_
        backbone = copy.deepcopy(model.backbone_)
        ctx = FitContext(backbone, -1, train, y, len(model.classes_), strategy.params,
                         val=check, y_val=y_check)
        strategy.fit(ctx)
        candidate = copy.copy(model)
        candidate.backbone_, candidate.strategy_ = backbone, strategy
        after = None if check is None else float(np.mean(
            candidate.predict_proba(check).argmax(1) == y_check))
        ok = before is None or after >= before - max_forgetting - 1e-9
        with torch.no_grad():
            dist = weight_distance(torch.nn.ModuleList([backbone, strategy.head_]),
                                   torch.nn.ModuleList([model.backbone_, deployed.head_]))
        tried[str(alpha)] = {"old_accuracy": after, "allowed": ok, "weight_distance": dist}
        chosen = (alpha, candidate, after, dist, ok)
        if ok:
            break
        log.info("readapt finetune: alpha=%s lost %.3f on the held-out old rows; trying a "
                 "stronger anchor", alpha, (before or 0.0) - (after or 0.0))
    alpha, new_model, after, dist, ok = chosen
    info = {"path": "finetune", "l2sp_alpha": alpha, "train_rows": len(train),
            "repeats_of_new_rows": reps,
            "weight_distance": dist, "old_accuracy_before": before,
            "old_accuracy_after": after, "forgetting_limit_met": ok, "by_alpha": tried}
    return new_model, info
