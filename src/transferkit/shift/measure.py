"""Shift between two feature samples: :func:`shift_features` (MMD with a permutation test, the
domain classifier's proxy A-distance and AUC, the per-class picture) and its verdict."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..exceptions import DataError
from ..utils.checks import check_number
from .domain import _auc, _domain_classifier
from .kernels import _mmd_from_kernel, _sq_dists, median_bandwidth
from .result import ShiftResult

__all__ = ["shift_features", "pca_projection"]

_MIN_PER_SIDE = 10
_MIN_PER_CLASS = 5


def _check_features(x: Any, what: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 2 or arr.dtype.kind not in "biuf":
        raise DataError(f"shift expects {what} features of shape (N, D); got shape {arr.shape} "
                        f"of dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise DataError(f"shift expects finite {what} features; got NaN or inf values. Fix: check "
                        "the backbone's output, or drop those rows.")
    if len(arr) < _MIN_PER_SIDE:
        raise DataError(f"shift needs at least {_MIN_PER_SIDE} {what} examples for its "
                        f"cross-validated domain classifier; got {len(arr)}.")
    return arr


def _verdict(p_value: float, pad: float, auc: float, label_shift: float | None,
             per_class: list[dict[str, Any]] | None) -> str:
    nums = f"MMD p = {p_value:.3g}, proxy A-distance {pad:.2f}, domain AUC {auc:.2f}"
    if p_value >= 0.05 and auc < 0.6:
        text = (f"no detectable shift ({nums}): the target looks like the source; a model trained "
                "on the source should carry over as it is")
    elif pad < 0.5:
        text = (f"small shift ({nums}): the domains differ measurably but not much; expect "
                "little accuracy loss from source to target")
    elif pad < 1.5:
        text = (f"moderate shift ({nums}): expect some accuracy loss on the target; a few "
                "labelled target examples, or domain adaptation (CORAL, DANN), should help")
    else:
        text = (f"target is far from source ({nums}): a linear classifier tells the domains "
                "apart almost always; expect a source-trained model to lose accuracy here and "
                "the source to help less than on a near target; consider domain adaptation or "
                "labelling some target data")
    if label_shift is not None and label_shift > 0.2:
        text += f"; the class balance differs as well (total variation {label_shift:.2f})"
    if per_class and not text.startswith("no detectable"):
        ranked = [r for r in per_class if r.get("domain_auc") is not None]
        worst = max(ranked, key=lambda r: r["domain_auc"]) if len(ranked) >= 2 else None
        typical = float(np.median([r["domain_auc"] for r in ranked])) if ranked else 1.0
        # Worth saying only when one class stands out from the others.
        if worst is not None and worst["domain_auc"] >= max(0.6, typical + 0.1):
            text += (f"; the most shifted class is {worst['class']!r} "
                     f"(domain AUC {worst['domain_auc']:.2f})")
    return text + "."


def shift_features(
    source_features: Any,
    target_features: Any,
    source_labels: Any = None,
    target_labels: Any = None,
    n_permutations: int = 200,
    max_samples: int = 1000,
    seed: int = 0,
) -> ShiftResult:
    """Shift between two feature samples (see the module docstring for the measures).

    Args:
        source_features: ``(N_s, D)`` features of the source data.
        target_features: ``(N_t, D)`` features of the target data (same ``D``).
        source_labels, target_labels: optional ``(N,)`` labels for the per-class picture
            (used only when both are given).
        n_permutations: permutations of the MMD test (>= 1; the smallest p-value possible is
            ``1 / (1 + n_permutations)``).
        max_samples: at most this many points per side (O(n^2) kernel); both sides are
            subsampled to the same size.
        seed: seeds the subsample, the permutations and the folds.

    Returns:
        A :class:`ShiftResult`.

    Raises:
        DataError: not 2-D, NaN/inf, different feature sizes, fewer than 10 points on a side,
            labels of the wrong length.
        ConfigError: ``n_permutations`` or ``max_samples`` out of range.
    """
    t0 = time.perf_counter()
    check_number("shift", "n_permutations", n_permutations, low=1, integer=True)
    check_number("shift", "max_samples", max_samples, low=_MIN_PER_SIDE, integer=True)
    xs = _check_features(source_features, "source")
    xt = _check_features(target_features, "target")
    if xs.shape[1] != xt.shape[1]:
        raise DataError(
            f"shift expects source and target features of the same size; got {xs.shape[1]} "
            f"(source) and {xt.shape[1]} (target). Fix: encode both with the same backbone and "
            "layer."
        )
    labelled = source_labels is not None and target_labels is not None
    if labelled:
        ys, yt = np.asarray(source_labels), np.asarray(target_labels)
        for y, x, what in ((ys, xs, "source"), (yt, xt, "target")):
            if y.ndim != 1 or len(y) != len(x):
                raise DataError(f"shift expects one {what} label per {what} example ({len(x)}); "
                                f"got labels of shape {y.shape}.")
    rng = np.random.default_rng(seed)
    m = min(len(xs), len(xt), int(max_samples))
    i_s = np.sort(rng.choice(len(xs), m, replace=False))
    i_t = np.sort(rng.choice(len(xt), m, replace=False))
    z = np.concatenate([xs[i_s], xt[i_t]])
    dom = np.r_[np.zeros(m, dtype=np.int64), np.ones(m, dtype=np.int64)]
    notes: list[str] = []
    if m < min(len(xs), len(xt)) or len(xs) != len(xt):
        notes.append(f"subsampled to {m} points per side (of {len(xs)} source and {len(xt)} "
                     f"target) for the O(n^2) kernel and a balanced domain classifier")

    # MMD with a permutation test on the one kernel matrix.
    d2 = _sq_dists(z)
    h = median_bandwidth(d2)
    k = np.exp(-d2 / h)
    del d2
    a_obs = (dom == 0).astype(np.float64)[:, None]
    mmd = float(_mmd_from_kernel(k, a_obs)[0])
    exceed = 0
    for start in range(0, n_permutations, 64):
        p = min(64, n_permutations - start)
        a = np.zeros((2 * m, p))
        for j in range(p):
            a[rng.permutation(2 * m)[:m], j] = 1.0
        exceed += int((_mmd_from_kernel(k, a) >= mmd).sum())
    p_value = (1 + exceed) / (1 + n_permutations)

    prob = _domain_classifier(z, dom, seed)
    err = float(np.mean((prob >= 0.5) != dom))
    pad = float(min(2.0, max(0.0, 2.0 * (1.0 - 2.0 * err))))
    auc = _auc(prob, dom)

    per_class, label_shift = None, None
    if labelled:
        ls, lt = ys[i_s], yt[i_t]
        cs, ns_ = np.unique(ys, return_counts=True)
        ct, nt_ = np.unique(yt, return_counts=True)
        pmf_s = dict(zip(cs.tolist(), (ns_ / ns_.sum()).tolist(), strict=True))
        pmf_t = dict(zip(ct.tolist(), (nt_ / nt_.sum()).tolist(), strict=True))
        label_shift = 0.5 * sum(abs(pmf_s.get(c, 0.0) - pmf_t.get(c, 0.0))
                                for c in set(pmf_s) | set(pmf_t))
        per_class = []
        for c in sorted(set(pmf_s) | set(pmf_t), key=str):
            ws, wt = np.flatnonzero(ls == c), m + np.flatnonzero(lt == c)
            row: dict[str, Any] = {"class": c, "n_source": int(len(ws)), "n_target": int(len(wt)),
                                   "mmd": None, "domain_auc": None}
            if len(ws) >= _MIN_PER_CLASS and len(wt) >= _MIN_PER_CLASS:
                idx = np.r_[ws, wt]
                a = np.zeros((len(idx), 1))
                a[: len(ws)] = 1.0
                row["mmd"] = float(_mmd_from_kernel(k[np.ix_(idx, idx)], a)[0])
                row["domain_auc"] = _auc(prob[idx], dom[idx])
            per_class.append(row)
        if any(r["mmd"] is None for r in per_class):
            notes.append(f"per-class numbers need {_MIN_PER_CLASS}+ examples of a class on each "
                         "side of the subsample; classes with fewer show None")
    elif source_labels is not None or target_labels is not None:
        notes.append("labels on one side only: no per-class picture (it needs both)")

    return ShiftResult(
        mmd=mmd, p_value=float(p_value), proxy_a_distance=pad, c2st_auc=auc,
        verdict=_verdict(p_value, pad, auc, label_shift, per_class), domain_error=err,
        per_class=per_class, label_shift=label_shift, n_source=len(xs), n_target=len(xt),
        n_used=m, max_samples=int(max_samples), bandwidth=h, n_permutations=int(n_permutations),
        seed=int(seed), seconds=round(time.perf_counter() - t0, 3), notes=notes,
        projection=pca_projection(z[:m], z[m:], seed),
    )


def pca_projection(xs: np.ndarray, xt: np.ndarray, seed: int = 0,
                   max_points: int = 300) -> dict[str, Any]:
    """Both samples on the first two principal axes of their union (rounded, for a record)."""
    rng = np.random.default_rng(seed)
    xs = xs[np.sort(rng.choice(len(xs), min(len(xs), max_points), replace=False))]
    xt = xt[np.sort(rng.choice(len(xt), min(len(xt), max_points), replace=False))]
    z = np.concatenate([xs, xt]).astype(np.float64)
    z -= z.mean(0)
    _, _, vt = np.linalg.svd(z, full_matrices=False)
    p = np.round(z @ vt[:2].T, 4)
    if p.shape[1] < 2:  # one-dimensional features: a second axis of zeros
        p = np.c_[p, np.zeros(len(p))]
    return {"method": "pca", "source": p[: len(xs)].tolist(), "target": p[len(xs):].tolist()}
