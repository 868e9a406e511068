"""How far is the target from the source? Three measures in a backbone's feature space.

* **MMD** (Gretton et al., *A Kernel Two-Sample Test*, JMLR 2012): the unbiased estimate of the
  squared maximum mean discrepancy with a Gaussian kernel ``exp(-|a - b|^2 / h)``, ``h`` the
  median squared distance between the pooled points (the median heuristic), and a
  permutation-test p-value (``(1 + #{permuted >= observed}) / (1 + n_permutations)``).
* **Proxy A-distance** (Ben-David et al., *Analysis of Representations for Domain
  Adaptation*, NeurIPS 2006): ``2 (1 - 2 err)`` with ``err`` the 5-fold cross-validated error of
  a linear (logistic) classifier telling source from target; 0 when it cannot, 2 when it
  always can (values below 0, i.e. worse than chance, are reported as 0).
* **Classifier two-sample test** (Lopez-Paz & Oquab, *Revisiting Classifier Two-Sample
  Tests*, ICLR 2017): the held-out ROC AUC of the same domain classifier; 0.5 is no shift.

With labels on both sides, the per-class picture adds each shared class's MMD and domain AUC
and the total-variation distance between the two class distributions (label shift).

Cost: the kernel is O(n^2), so each side is subsampled (seeded, without replacement) to at
most ``max_samples`` points (default 1,000), and both sides to the same size so that the
domain classifier's chance level is exactly 0.5. The sizes used are in the result.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .backbones import parse_backbone_spec
from .data.dataset import Dataset, DatasetSplits
from .exceptions import DataError
from .features import extract_features
from .select._linalg import one_blas_thread
from .select.knn import stratified_folds
from .select.rank import _precheck_backbone, build_backbone
from .utils.checks import check_number
from .utils.defaults import BATCH_SIZE

__all__ = ["ShiftResult", "shift", "shift_features", "mmd2_unbiased", "median_bandwidth"]

log = logging.getLogger(__name__)

_MIN_PER_SIDE = 10
_MIN_PER_CLASS = 5
_FOLDS = 5


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


# ----------------------------------------------------------------------------- kernels


def _sq_dists(z: np.ndarray) -> np.ndarray:
    sq = np.einsum("ij,ij->i", z, z)
    d = sq[:, None] + sq[None, :] - 2.0 * (z @ z.T)
    np.maximum(d, 0.0, out=d)
    np.fill_diagonal(d, 0.0)
    return d


def median_bandwidth(sq_dists: np.ndarray) -> float:
    """The median of the off-diagonal squared distances (the median heuristic)."""
    iu = np.triu_indices(sq_dists.shape[0], k=1)
    vals = sq_dists[iu]
    h = float(np.median(vals))
    if h <= 0:
        pos = vals[vals > 0]
        h = float(pos.mean()) if len(pos) else 1.0
    return h


def _mmd_from_kernel(k: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Unbiased MMD^2 for each column of the 0/1 membership matrix ``a`` (n, P): 1 = sample X."""
    n = k.shape[0]
    m = a.sum(axis=0)
    mb = n - m
    ka = k @ a
    k1 = k.sum(axis=1)
    total = k1.sum()
    diag = np.diag(k)
    s_aa = np.einsum("np,np->p", a, ka)
    s_a1 = a.T @ k1
    s_bb = total - 2.0 * s_a1 + s_aa
    s_ab = s_a1 - s_aa
    tr_a = a.T @ diag
    tr_b = diag.sum() - tr_a
    return ((s_aa - tr_a) / (m * (m - 1)) + (s_bb - tr_b) / (mb * (mb - 1))
            - 2.0 * s_ab / (m * mb))


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, bandwidth: float | None = None) -> float:
    """Unbiased squared MMD between samples ``x`` (n, D) and ``y`` (m, D), Gaussian kernel.

    ``bandwidth`` is ``h`` in ``exp(-|a - b|^2 / h)``; ``None`` uses the median heuristic.
    """
    z = np.concatenate([np.asarray(x, np.float64), np.asarray(y, np.float64)])
    d = _sq_dists(z)
    h = median_bandwidth(d) if bandwidth is None else float(bandwidth)
    k = np.exp(-d / h)
    a = np.zeros((len(z), 1))
    a[: len(x)] = 1.0
    return float(_mmd_from_kernel(k, a)[0])


# ----------------------------------------------------------------------------- the measures


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


def _domain_classifier(z: np.ndarray, d: np.ndarray, seed: int) -> np.ndarray:
    """Held-out probability of "target" for every pooled point (5-fold, logistic regression)."""

    fold = stratified_folds(d, _FOLDS, seed)
    p = np.empty(len(z))
    with one_blas_thread():  # small fits: one thread is as fast, and immune to a busy machine
        _fit_folds(z, d, fold, p)
    return p


def _fit_folds(z: np.ndarray, d: np.ndarray, fold: np.ndarray, p: np.ndarray) -> None:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    for f in range(_FOLDS):
        te, tr = fold == f, fold != f
        mu, sd = z[tr].mean(axis=0), z[tr].std(axis=0)
        sd[sd == 0] = 1.0
        clf = LogisticRegression(C=1.0, max_iter=500)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit((z[tr] - mu) / sd, d[tr])
        p[te] = clf.predict_proba((z[te] - mu) / sd)[:, 1]


def _auc(p: np.ndarray, d: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(d, p)) if len(np.unique(d)) == 2 else math.nan


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


def _one(data: Any, role: str) -> Dataset:
    if isinstance(data, DatasetSplits):
        return data.train
    if isinstance(data, Dataset):
        return data
    if isinstance(data, np.ndarray):
        raise DataError(
            f"shift expects the {role} as a Dataset; got a NumPy array. For features you "
            "already have: `from transferkit.shift import shift_features`, then "
            "shift_features(source_features, target_features); for raw inputs, wrap them with "
            "tk.from_arrays(...)."
        )
    raise DataError(f"shift expects the {role} as a Dataset (or DatasetSplits, whose training "
                    f"split is used); got {type(data).__name__}. Fix: tk.load_dataset(...).")


def shift(
    source: Dataset | DatasetSplits,
    target: Dataset | DatasetSplits,
    backbone: Any = "minilm-l6",
    layer: int = -1,
    n_permutations: int = 200,
    max_samples: int = 1000,
    seed: int = 0,
    batch_size: int = BATCH_SIZE,
    cache: bool = True,
    progress: bool = True,
) -> ShiftResult:
    """Measure the shift from ``source`` to ``target`` in the feature space of ``backbone``.

    Args:
        source: the source data (a ``DatasetSplits`` stands for its training split).
        target: the target data, of the same modality.
        backbone: a backbone spec or instance (a ``@k`` suffix picks the layer and wins over
            ``layer``).
        layer: feature layer (``-1``: the last).
        n_permutations: permutations of the MMD test.
        max_samples: at most this many points per side (the kernel is O(n^2)); only the
            subsample is encoded.
        seed: seeds the subsample, the permutations and the folds.
        batch_size: inputs per forward pass.
        cache: read and write the feature cache.
        progress: show encoding progress bars (in a terminal only).

    Returns:
        A :class:`ShiftResult` with ``mmd``, ``p_value``, ``proxy_a_distance``, ``c2st_auc``,
        ``per_class`` (when both sides have labels) and a plain-words ``verdict``.

    Raises:
        DataError: different modalities, too few examples, bad features.
        BackboneError: a backbone for another modality, or an unknown one.

    Example:
        >>> import transferkit as tk
        >>> books = tk.load_dataset("amazon:domain=books")
        >>> kitchen = tk.load_dataset("amazon:domain=kitchen")
        >>> print(tk.shift(books, kitchen, backbone="minilm-l6").verdict)  # doctest: +SKIP
    """

    t0 = time.perf_counter()
    src, tgt = _one(source, "source"), _one(target, "target")
    if src.modality != tgt.modality:
        raise DataError(
            f"shift compares data of one modality; got {src.modality} source {src.name!r} and "
            f"{tgt.modality} target {tgt.name!r}. Fix: pass two datasets of the same kind."
        )
    check_number("shift", "max_samples", max_samples, low=_MIN_PER_SIDE, integer=True)
    for ds, role in ((src, "source"), (tgt, "target")):
        if len(ds) < _MIN_PER_SIDE:
            raise DataError(f"shift needs at least {_MIN_PER_SIDE} {role} examples; got "
                            f"{len(ds)} in {ds.name!r}.")
    if isinstance(backbone, str):
        base, spec_layer = parse_backbone_spec(backbone)
        if base != backbone.strip():
            layer = spec_layer
    if isinstance(backbone, str):
        _precheck_backbone(backbone, src.modality)  # before loading any weights
    bb = build_backbone(backbone, src, seed=seed)  # tabular: standardised on the source
    layer = bb.check_layer(layer)
    # Encode only what the kernel will use: the same seeded subsample shift_features draws.
    rng = np.random.default_rng(seed)
    m = min(len(src), len(tgt), int(max_samples))
    i_s = np.sort(rng.choice(len(src), m, replace=False))
    i_t = np.sort(rng.choice(len(tgt), m, replace=False))
    subs = src.subset(i_s) if m < len(src) else src
    subt = tgt.subset(i_t) if m < len(tgt) else tgt
    fs = np.asarray(extract_features(bb, subs, layer=layer, batch_size=batch_size, cache=cache,
                                     progress=progress))
    ft = np.asarray(extract_features(bb, subt, layer=layer, batch_size=batch_size, cache=cache,
                                     progress=progress))
    result = shift_features(fs, ft, subs.labels, subt.labels, n_permutations=n_permutations,
                            max_samples=m, seed=seed)
    result.n_source, result.n_target = len(src), len(tgt)
    result.max_samples = int(max_samples)
    if m < max(len(src), len(tgt)):
        result.notes = [n for n in result.notes if not n.startswith("subsampled")]
        result.notes.insert(0, f"subsampled to {m} points per side (of {len(src)} source and "
                               f"{len(tgt)} target) for the O(n^2) kernel and a balanced "
                               "domain classifier")
    if src.has_labels != tgt.has_labels:
        result.notes.append("labels on one side only: no per-class picture (it needs both)")
    result.backbone = bb.name if not isinstance(backbone, str) else backbone
    result.layer = int(layer)
    result.source, result.target = src.name, tgt.name
    result.seconds = round(time.perf_counter() - t0, 3)
    return result
