"""Label-free scoring of fitted adaptation candidates against one fixed yardstick."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backbones.base import Backbone
from ..data.dataset import Dataset
from .base import AdaptContext, AdaptMethod
from .reweight import _clip_normalise, domain_probabilities
from .validators import validator_scores

__all__ = ["Reference", "MAX_EVAL_ROWS"]

#: target (and no-hold-out source) rows the validators score on; a seeded subset above this
MAX_EVAL_ROWS = 3000


class Reference:
    """Label-free scoring of fitted candidates, on fixed rows and pre-adaptation features.

    Target rows: a seeded subset of at most 3,000. Importance weights of the held-out source
    rows (for DEV) come from the frozen backbone *before* any candidate trained, so every
    candidate is scored against the same yardstick; reverse validation works in each
    candidate's own representation (its ``embed`` / ``embed_source``). Without
    a source hold-out, source accuracy is measured on (up to 3,000) training rows and the
    validators that need labelled source rows (``dev``, ``rv``) are left out. ``params`` are
    the adapter's resolved settings (``weight_clip`` caps the DEV weights).
    """

    def __init__(self, bb: Backbone, layer: int, params: dict[str, Any], src_fit: Dataset,
                 y_fit: np.ndarray, src_val: Dataset | None, y_val: np.ndarray | None,
                 target: Dataset, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.seed = seed
        n = len(target)
        self.target = target if n <= MAX_EVAL_ROWS else target.subset(
            np.sort(rng.choice(n, MAX_EVAL_ROWS, replace=False)), name=f"{target.name}:sub")
        if src_val is not None:
            self.val, self.y_val, self.holdout = src_val, y_val, True
            self.acc_on = f"held-out source rows ({len(src_val)})"
        else:
            m = len(src_fit)
            idx = np.sort(rng.choice(m, min(m, MAX_EVAL_ROWS), replace=False))
            self.val, self.y_val, self.holdout = src_fit.subset(idx), y_fit[idx], False
            self.acc_on = f"source training rows ({len(idx)}; no hold-out)"
        self.ref_t = self.ref_v = self.weights_v = None
        if self.holdout:
            ctx = AdaptContext(bb, layer, src_fit, y_fit, self.target, 1, params)
            self.ref_t = ctx.features(self.target)
            self.ref_v = ctx.features(self.val)
            if len(self.ref_v) >= 2 and len(self.ref_t) >= 2:
                p_v, _, _ = domain_probabilities(self.ref_v, self.ref_t, seed=seed)
                p_v = np.clip(p_v, 1e-6, 1 - 1e-6)
                w = p_v / (1 - p_v) * (len(self.ref_v) / len(self.ref_t))
                self.weights_v = _clip_normalise(w, float(params["weight_clip"]))

    def score(self, m: AdaptMethod, bb: Backbone, layer: int) -> dict[str, Any]:
        probs_t = m.predict_proba(bb, layer, self.target)
        probs_v = m.predict_proba_source(bb, layer, self.val)
        hit = probs_v.argmax(1) == self.y_val
        mask = m.solves_source_rows(self.val)
        # A method that leaves some sources out on purpose (source selection) is held to the
        # sources it kept; the validators still see every held-out row.
        acc = float(hit[mask].mean()) if mask is not None and mask.any() else float(hit.mean())
        acc_on = self.acc_on if mask is None else f"{self.acc_on}, of the sources it kept"
        if self.holdout:
            # Reverse validation in the model's own representation, where its classifier
            # works: target rows as it embeds them, source rows on the source side.
            emb_t = m.embed(bb, layer, self.target)
            emb_v = m.embed_source(bb, layer, self.val)
            scores = validator_scores(probs_t, probs_v, self.y_val, self.weights_v, emb_t,
                                      emb_v, seed=self.seed)
        else:
            scores = validator_scores(probs_t, seed=self.seed)
        return {"validators": scores, "source_accuracy": acc, "source_accuracy_on": acc_on,
                "target_probs": np.asarray(probs_t, dtype=np.float32)}
