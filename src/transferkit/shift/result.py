"""The result of a shift measurement: the numbers, a plain-words verdict, and how they were
measured (a record for the run folder and the report)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["ShiftResult"]


@dataclass
class ShiftResult:
    """Shift between a source and a target sample, and what it means in plain words.

    Attributes:
        mmd: unbiased squared MMD (Gaussian kernel, median-heuristic bandwidth); about 0 with
            no shift, can be slightly negative by chance.
        p_value: permutation-test p-value of MMD = 0 (small: the two samples differ).
        proxy_a_distance: ``2 (1 - 2 err)`` of a cross-validated linear domain classifier, in
            ``[0, 2]``.
        c2st_auc: held-out ROC AUC of that domain classifier, in ``[0, 1]`` (0.5: no shift).
        verdict: a plain-words reading of the numbers.
        domain_error: the domain classifier's cross-validated error (chance 0.5).
        per_class: with labels on both sides, one dict per class: ``class``, ``n_source``,
            ``n_target`` (in the subsample), ``mmd`` and ``domain_auc`` (``None`` where a
            class has fewer than 5 examples on a side).
        label_shift: total-variation distance between the class distributions (0..1), or
            ``None`` without labels.
        n_source, n_target: sizes of the two inputs; ``n_used``: points per side after
            subsampling; ``max_samples``: the cap.
        bandwidth: the kernel's ``h`` (median squared distance).
        n_permutations, seed, backbone, layer, source, target, seconds: how it was measured.
    """

    mmd: float
    p_value: float
    proxy_a_distance: float
    c2st_auc: float
    verdict: str
    domain_error: float
    per_class: list[dict[str, Any]] | None = None
    label_shift: float | None = None
    n_source: int = 0
    n_target: int = 0
    n_used: int = 0
    max_samples: int = 0
    bandwidth: float = 0.0
    n_permutations: int = 0
    seed: int = 0
    backbone: str | None = None
    layer: int | None = None
    source: str | None = None
    target: str | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    #: 2-D PCA of (at most 300 per side of) the subsampled features, for the report's plot
    projection: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for the run record)."""
        def clean(v: Any) -> Any:
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, list):
                return [clean(x) for x in v]
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float) and not math.isfinite(v):
                return None
            return v

        return clean(asdict(self))

    def __str__(self) -> str:
        lines = [
            f"MMD^2 {self.mmd:.4g} (permutation p = {self.p_value:.3g}, "
            f"{self.n_permutations} permutations)",
            f"proxy A-distance {self.proxy_a_distance:.3f} (domain classifier error "
            f"{self.domain_error:.3f}; 0 = no shift, 2 = fully separable)",
            f"classifier two-sample AUC {self.c2st_auc:.3f} (0.5 = no shift)",
        ]
        if self.label_shift is not None:
            lines.append(f"label shift (total variation) {self.label_shift:.3f}")
        rated = [r for r in self.per_class or [] if r.get("domain_auc") is not None]
        if rated:
            top = sorted(rated, key=lambda r: -r["domain_auc"])[:3]
            lines.append("most shifted classes (domain AUC): " + ", ".join(
                f"{r['class']!r} {r['domain_auc']:.2f}" for r in top)
                + f" (of {len(rated)} classes with 5+ examples a side)")
        lines.append(f"on {self.n_used} points per side (of {self.n_source} source, "
                     f"{self.n_target} target; capped at {self.max_samples})")
        lines.append(f"verdict: {self.verdict}")
        return "\n".join(lines)
