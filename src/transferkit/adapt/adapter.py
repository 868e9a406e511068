"""``DomainAdapter``: train on a labelled source domain, adapt to an unlabelled target domain.

The estimator wraps every method of :mod:`transferkit.adapt` behind one scikit-learn-style
interface. Its promise about target labels: a target dataset may carry labels (so that the
adaptation can be *evaluated* afterwards), but ``fit`` removes them before any method, any
validator or any model selection sees the data, unless ``target_labels=`` explicitly asks
for some. :meth:`DomainAdapter.evaluate_target` then measures, after fitting, how each
fitted candidate did on the labelled target, next to its label-free validator scores.
"""

from __future__ import annotations

import copy
import logging
import time
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ..backbones.base import Backbone
from ..data.dataset import Dataset
from ..data.validate import check_labels
from ..engine.freezing import plan_freezing
from ..estimator import as_dataset
from ..exceptions import ConfigError, DataError, NegativeTransferWarning, NotFittedError
from ..heads.base import holdout_split
from ..utils.seed import seed_everything
from .auto import auto_candidates, baseline_for, parse_candidate
from .base import ADAPT_METHODS, AdaptContext, AdaptMethod
from .checks import check_domains, check_label_subset, pick_target_labels
from .deep import trains_backbone
from .params import check_adapter_params
from .reference import Reference
from .source_tune import tune_on_source
from .validators import DEFAULT_SELECTOR, VALIDATORS, choose_candidate, ensemble_agreement

__all__ = ["DomainAdapter", "SourceCollapseWarning"]

log = logging.getLogger(__name__)


class SourceCollapseWarning(NegativeTransferWarning):
    """Adaptation cost the model much of its accuracy on held-out source data."""


class DomainAdapter(ClassifierMixin, BaseEstimator):
    """Adapt a classifier from a labelled source domain to a (mostly) unlabelled target domain.

    Args:
        method: ``"coral"``, ``"reweight"`` (domain-classifier density ratio), ``"kmm"``,
            ``"subspace"``, ``"dann"``, ``"cdan"``, ``"mmd"``, ``"selftrain"``,
            ``"tradaboost"`` / ``"union"`` (need a few target labels), ``"source"`` /
            ``"source-net"`` (no adaptation), or ``"auto"``: try the applicable methods and
            pick one with label-free validators.
        backbone: a backbone spec (``"minilm-l6"``, ``"lenet"``, ``"tabular-mlp"``...) or a
            :class:`~transferkit.backbones.Backbone` instance.
        head: probe head of the feature-level methods (``logistic``, ``ridge``, ``svm``,
            ``knn``).
        C: inverse regularisation of the logistic / SVM head (``None``: chosen on held-out
            source rows).
        layer: backbone feature layer of the feature-level methods.
        target_labels: ``None`` / ``"none"``: never read the target's labels; ``"all"``: use
            every target label for training (TrAdaBoost, union); an int ``k``: use ``k``
            labelled target rows per class (seeded), the rest stay unlabelled.
        train_backbone: deep methods train the backbone end to end (``True``) or only a
            bottleneck and classifier on frozen features (``False``); ``None`` trains
            randomly initialised backbones (``lenet``, ``tabular-mlp``) and freezes
            pre-trained ones.
        epochs: training epochs of the deep methods (``None``: 20 frozen, 10 end to end).
        lr: learning rate of the deep methods' head (``None``: 1e-3).
        backbone_lr_mult: the backbone's learning rate as a fraction of ``lr`` when it trains
            (``None``: 1 for randomly initialised backbones, 0.1 for pre-trained ones).
        unfreeze: the backbone layer groups the deep methods train: an int ``K`` (the top
            ``K``), ``"all"`` or a list of group names (any of these also turns
            ``train_backbone=None`` into training), ``0`` (none: frozen features), or ``None``
            (every group when the backbone trains). BERT-layout text encoders run the frozen
            lower groups once per fit and train on their cached output.
        source_finetune: before any method runs, fine-tune the pre-trained backbone's top
            ``K`` layer groups (an int, ``"all"`` or group names) on the labelled source rows,
            from a linear-probe start (LP-FT); every method then adapts on the tuned encoder's
            features (frozen unless ``train_backbone`` / ``unfreeze`` say otherwise). ``None``
            (default): adapt the pre-trained features as they are.
        source_epochs: epochs of that source fine-tuning (``None``: 3).
        head_init: how the classifier starts when a pre-trained encoder tunes: ``"probe"``
            (``None``, the default: the same method first fits on the frozen features, and
            tuning starts from its bottleneck and classifier; LP-FT) or ``"random"``.
        batch_size: source rows per step (as many target rows join them), and inputs per
            forward pass when encoding.
        steps_per_epoch: deep methods' steps per epoch (``None``: one pass over the larger
            domain).
        tradeoff: weight of the adaptation loss (DANN, CDAN, MMD, self-training) or of the
            target loss (union).
        im_weight: weight of information maximisation on the deep methods' target
            predictions (confident rows, classes kept balanced; ramped up like the
            adversarial weight). ``0`` (default) leaves it out.
        augment: random zoom / shift / rotation of the training images of deep methods that
            train the backbone, both domains alike: ``"none"`` (default), ``"affine"`` or
            ``"affine:scale=0.9-1.5,translate=0.05,degrees=10"``
            (:mod:`transferkit.data.augment`).
        threshold: confidence a target prediction needs to become a pseudo-label
            (self-training).
        bottleneck_dim: width of the deep methods' bottleneck (``None``: 256, but none for
            a randomly initialised backbone that trains, such as ``lenet``).
        n_estimators: TrAdaBoost rounds.
        weight_clip: largest importance weight relative to the mean (reweight; KMM's bound).
        coral_eps: CORAL's covariance ridge, relative to the mean feature variance.
        subspace_dim: PCA dimensions of subspace alignment (``None``: up to 100).
        candidates: the methods ``auto`` tries (``None``: all applicable ones); a candidate
            may set hyper-parameters, ``"dann:tradeoff=0.3"``, so that ``auto`` also chooses
            those without target labels.
        selector: how ``auto`` chooses: ``"ensv"`` (default: the candidate that agrees most
            with the pool's mean prediction; ``"rank"`` when fewer than three candidates),
            ``"rank"`` (best mean rank over the validators anchored in held-out source labels,
            ``dev`` and ``rv``, then no adaptation unless the winner beats it on both),
            ``"rank-all"`` (over every validator), or one validator name (``dev``, ``im``,
            ``entropy``, ``snd``, ``rv``).
        baseline: also fit the no-adaptation baseline, to report source-only accuracy and
            detect a collapse of source accuracy.
        val_fraction: fraction of source rows held out (stratified) for validators and the
            collapse check.
        collapse_tolerance: a drop of held-out source accuracy larger than this (absolute)
            relative to the baseline raises :class:`SourceCollapseWarning`.
        devices: training processes of the deep methods (through the engine).
        precision: training precision of the deep methods (``"auto"``, ``"32-true"``...).
        cache: keep frozen features in the on-disk cache.
        seed: seeds every random choice; the same seed gives the same model.
        progress: show progress bars (only ever in a terminal).

    Example:
        >>> import transferkit as tk
        >>> src = tk.load_dataset("amazon:domain=books").train
        >>> tgt = tk.load_dataset("amazon:domain=kitchen").train
        >>> model = tk.DomainAdapter(method="coral", backbone="minilm-l6").fit(src, tgt)
        >>> model.evaluate_target(tgt)["target_accuracy"]  # doctest: +SKIP
    """

    def __init__(
        self,
        method: str = "auto",
        backbone: str | Backbone = "minilm-l6",
        head: str = "logistic",
        C: float | None = None,
        layer: int = -1,
        target_labels: str | int | None = None,
        train_backbone: bool | None = None,
        epochs: int | None = None,
        lr: float | None = None,
        backbone_lr_mult: float | None = None,
        unfreeze: int | str | list[str] | None = None,
        source_finetune: int | str | list[str] | None = None,
        source_epochs: int | None = None,
        head_init: str | None = None,
        batch_size: int = 64,
        steps_per_epoch: int | None = None,
        tradeoff: float = 1.0,
        im_weight: float = 0.0,
        augment: str | None = None,
        threshold: float = 0.9,
        bottleneck_dim: int | None = None,
        n_estimators: int = 10,
        weight_clip: float = 10.0,
        coral_eps: float = 1.0,
        subspace_dim: int | None = None,
        candidates: list[str] | None = None,
        selector: str = DEFAULT_SELECTOR,
        baseline: bool = True,
        val_fraction: float = 0.1,
        collapse_tolerance: float = 0.1,
        devices: int = 1,
        precision: str = "auto",
        cache: bool = True,
        seed: int = 0,
        progress: bool = True,
    ) -> None:
        self.method = method
        self.backbone = backbone
        self.head = head
        self.C = C
        self.layer = layer
        self.target_labels = target_labels
        self.train_backbone = train_backbone
        self.epochs = epochs
        self.lr = lr
        self.backbone_lr_mult = backbone_lr_mult
        self.unfreeze = unfreeze
        self.source_finetune = source_finetune
        self.source_epochs = source_epochs
        self.head_init = head_init
        self.batch_size = batch_size
        self.steps_per_epoch = steps_per_epoch
        self.tradeoff = tradeoff
        self.im_weight = im_weight
        self.augment = augment
        self.threshold = threshold
        self.bottleneck_dim = bottleneck_dim
        self.n_estimators = n_estimators
        self.weight_clip = weight_clip
        self.coral_eps = coral_eps
        self.subspace_dim = subspace_dim
        self.candidates = candidates
        self.selector = selector
        self.baseline = baseline
        self.val_fraction = val_fraction
        self.collapse_tolerance = collapse_tolerance
        self.devices = devices
        self.precision = precision
        self.cache = cache
        self.seed = seed
        self.progress = progress

    # --- parameters -------------------------------------------------------------------------
    @property
    def strategy(self) -> str:
        """``"adapt:<method>"``: the name run records show as the strategy."""
        name = self.strategy_.name if hasattr(self, "strategy_") else self.method
        return f"adapt:{name}"

    def strategy_params(self) -> dict[str, Any]:
        """Parameters handed to the methods (all estimator parameters but the backbone)."""
        return {k: v for k, v in self.get_params(deep=False).items() if k != "backbone"}

    def _validate_params(self) -> None:
        check_adapter_params(self)

    def _make_backbone(self, source: Dataset, target: Dataset) -> tuple[Backbone, int]:
        from ..backbones.registry import backbone_for_data

        bb, layer = backbone_for_data(self.backbone, self.layer, self.seed, source, "source")
        fit_pre = getattr(bb, "fit_preprocessing", None)
        if fit_pre is not None:
            # Standardise with both domains' inputs: no labels involved.
            fit_pre(np.concatenate([np.asarray(source.inputs), np.asarray(target.inputs)]))
        return bb, layer

    def _trains_backbone(self, name: str, bb: Backbone) -> bool:
        name, _ = parse_candidate(name)
        if not ADAPT_METHODS.info(name).get("deep"):
            return False
        return trains_backbone(self.strategy_params(), bb)

    # --- fitting ----------------------------------------------------------------------------
    def fit(self, source: Any, target: Any) -> DomainAdapter:
        """Fit on labelled ``source`` data and ``target`` data; returns ``self``.

        Args:
            source: a labelled :class:`~transferkit.data.Dataset` (or raw inputs with labels
                given as a Dataset).
            target: a Dataset (or raw inputs) of the target domain. Its labels, if any, are
                removed before anything else sees it, unless ``target_labels`` says otherwise.

        Raises:
            DataError: unlabelled or single-class source, empty target, different modalities
                or feature sizes, target labels that the source lacks (when used).
            ConfigError: a bad parameter, or a method that needs target labels without them.
        """
        self._validate_params()
        seed_everything(self.seed)
        t0 = time.perf_counter()
        source = as_dataset(source, what="source")
        target = as_dataset(target, what="target")
        check_domains(source, target)
        classes = check_labels(source)
        # The only place target labels may be read, and only when target_labels= says so.
        labelled, yt, self.target_label_rows_ = pick_target_labels(
            target, self.target_labels, classes, self.seed)
        target = target.without_labels()
        self.target_fingerprint_ = target.fingerprint()
        self.classes_ = classes
        ys = np.searchsorted(classes, source.labels)
        src_fit, y_fit, src_val, y_val = self._split_source(source, ys)
        bb, layer = self._make_backbone(source, target)
        for groups in (self.unfreeze, self.source_finetune):
            if groups is not None:  # too many groups, unknown names: before any fit
                plan_freezing(bb, groups)
        names = self._candidate_names(bb, labelled is not None)
        needs = [n for n in names
                 if ADAPT_METHODS.info(parse_candidate(n)[0]).get("needs_target_labels")]
        if needs and labelled is None:
            raise ConfigError(
                f"method={needs[0]!r} needs a few labelled target rows; got target_labels="
                f"{self.target_labels!r}. Pass target_labels='all' (use every target label) or "
                "an int k (k labelled rows per class), or --target-labels on the command line.")
        params = self.strategy_params()
        self.source_tune_: dict[str, Any] | None = None
        if self.source_finetune is not None:
            bb, self.source_tune_ = tune_on_source(bb, src_fit, params)
        ref = Reference(bb, layer, params, src_fit, y_fit, src_val, y_val, target, self.seed)
        shared: dict[Any, Any] = {}  # frozen-part states, reused by every candidate
        self.candidates_: dict[str, dict[str, Any]] = {}
        try:
            for spec in names:
                tc = time.perf_counter()
                name, overrides = parse_candidate(spec)
                bb_n = copy.deepcopy(bb) if self._trains_backbone(name, bb) else bb
                own = {**params, **overrides}
                ctx = AdaptContext(bb_n, layer, src_fit, y_fit, target, len(classes), own,
                                   labelled, yt, shared=shared)
                log.info("adapt: fitting %s", spec)
                m: AdaptMethod = ADAPT_METHODS.get(name)(**own).fit(ctx)
                self.candidates_[spec] = {"model": m, "backbone": bb_n,
                                          **ref.score(m, bb_n, layer),
                                          "seconds": round(time.perf_counter() - tc, 3)}
            # EnsV needs the whole pool: score each candidate against the pool's consensus.
            # With two candidates the "consensus" is whichever is more confident row by row:
            # no score.
            probs = {n: c.pop("target_probs") for n, c in self.candidates_.items()}
            if len(probs) >= 3:
                for n, v in ensemble_agreement(probs).items():
                    self.candidates_[n]["validators"]["ensv"] = v
            self._choose(names)
            chosen = self.candidates_[self.chosen_]
            self.strategy_ = chosen["model"]
            self.backbone_ = chosen["backbone"]
            self.layer_ = layer
            self.modality_ = source.modality
            self.train_summary_ = src_fit.summary()
            self.target_summary_ = target.summary()
            self._check_collapse()
            self.projection_ = self._projection(
                src_val if src_val is not None else src_fit, target)
        finally:  # scored (or failed): kept inference results and states only hold memory
            for c in self.candidates_.values():
                c["model"].forget_outputs()
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _projection(self, source: Dataset, target: Dataset) -> dict[str, Any] | None:
        """PCA of the representation the chosen classifier reads, source vs target (report)."""
        from ..shift import pca_projection

        # Whole datasets, not subsets: their frozen features are already in the cache.
        try:
            zs = self.strategy_.embed_source(self.backbone_, self.layer_, source)
            zt = self.strategy_.embed(self.backbone_, self.layer_, target)
        except NotImplementedError:  # a method without a shared representation
            return None
        return pca_projection(np.asarray(zs), np.asarray(zt), self.seed)

    def _split_source(self, source: Dataset, ys: np.ndarray):
        frac = float(self.val_fraction)
        counts = np.bincount(ys)
        if frac <= 0 or len(ys) < 20 or counts.min() < 2:
            return source, ys, None, None
        fit_idx, val_idx = holdout_split(ys, frac, self.seed)
        fit_idx, val_idx = np.sort(fit_idx), np.sort(val_idx)
        return (source.subset(fit_idx), ys[fit_idx], source.subset(val_idx, name=f"{source.name}"
                ":val"), ys[val_idx])

    def _candidate_names(self, bb: Backbone, has_labels: bool) -> list[str]:
        if self.method == "auto":
            return auto_candidates(bb.rebuildable, has_labels, self.candidates)
        names = [self.method]
        base = baseline_for(self.method)
        if self.baseline and base != self.method:
            names.insert(0, base)
        return names

    def _choose(self, names: list[str]) -> None:
        scores = {n: self.candidates_[n]["validators"] for n in names}
        if self.method == "auto":
            self.chosen_, reason, self.selection_ = choose_candidate(scores, self.selector)
            self.reason_ = f"chose {self.chosen_!r} from {names}: {reason}"
        else:
            self.chosen_, self.selection_ = self.method, {}
            self.reason_ = f"method={self.method!r} was requested"
        base = baseline_for(self.chosen_)
        self.baseline_name_ = base if base in self.candidates_ else next(
            (n for n in ("source", "source-net") if n in self.candidates_), None)

    def _check_collapse(self) -> None:
        chosen = self.candidates_[self.chosen_]
        self.collapse_ = {"baseline": self.baseline_name_, "collapsed": False}
        if self.baseline_name_ is None or self.baseline_name_ == self.chosen_:
            return
        before = self.candidates_[self.baseline_name_]["source_accuracy"]
        after = chosen["source_accuracy"]
        drop = before - after
        self.collapse_.update({"source_accuracy_before": round(before, 4),
                               "source_accuracy_after": round(after, 4),
                               "drop": round(drop, 4), "tolerance": self.collapse_tolerance,
                               "measured_on": chosen["source_accuracy_on"]})
        if drop > self.collapse_tolerance:
            self.collapse_["collapsed"] = True
            warnings.warn(SourceCollapseWarning(
                f"Adaptation with {self.chosen_!r} dropped the accuracy on held-out source rows "
                f"from {before:.3f} ({self.baseline_name_}) to {after:.3f}: the adapted features "
                "no longer separate the classes well. Lower tradeoff, train fewer epochs, or "
                "use the baseline."), stacklevel=3)

    # --- inference ----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "strategy_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet. Call fit(source, target) first, "
                "or load a saved run with transferkit.adapt.load_adapter(path).")

    def _data(self, X: Any) -> Dataset:
        data = as_dataset(X)
        if data.modality != self.modality_:
            raise DataError(
                f"This model was trained on {self.modality_} inputs; got {data.modality} inputs.")
        return data

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(N, n_classes)``, columns ordered as ``classes_``."""
        self._check_fitted()
        return self.strategy_.predict_proba(self.backbone_, self.layer_, self._data(X))

    def predict(self, X: Any) -> np.ndarray:
        self._check_fitted()
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def _encode_labels(self, labels: np.ndarray, what: str = "data") -> np.ndarray:
        check_label_subset(self.classes_, labels, what)
        return np.searchsorted(self.classes_, labels)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Accuracy on a labelled Dataset (or inputs ``X`` with labels ``y``)."""
        data = as_dataset(X, y)
        if data.labels is None:
            raise DataError("score() needs labels: pass a labelled Dataset or y=.")
        self._encode_labels(data.labels)
        return float(np.average(self.predict(data) == data.labels, weights=sample_weight))

    def evaluate(self, X: Any, y: Any = None) -> dict[str, Any]:
        """Accuracy, macro-F1, per-class scores and the confusion matrix on labelled data."""
        from ..evaluation import evaluate_classifier

        return evaluate_classifier(self, X, y)

    def evaluate_target(self, target: Any) -> dict[str, Any]:
        """After fitting: how every fitted candidate does on the *labelled* target.

        Target rows that were used as labelled training rows (``target_labels``) are left
        out when ``target`` is the dataset given to ``fit``. Fills, and returns, the record's
        ``adapt`` section: ``target_accuracy`` (the chosen model), ``source_only_accuracy``
        (the baseline), per-candidate accuracies next to their validator scores, the best
        candidate in hindsight and whether the label-free choice matched it.
        """
        self._check_fitted()
        data = as_dataset(target, what="target")
        if data.labels is None:
            raise DataError(
                f"evaluate_target() needs target labels; {data.name!r} has none. The adapted "
                "model still predicts: use predict().")
        y = self._encode_labels(data.labels, f"target data {data.name!r}")
        rows = np.arange(len(data))
        used = getattr(self, "target_label_rows_", None)
        if used is not None and len(used) and data.fingerprint() == self.target_fingerprint_:
            rows = np.setdiff1d(rows, used)
        ds = data.subset(rows)
        if not hasattr(self, "candidates_"):  # loaded from a run folder: the chosen model only
            p = self.strategy_.predict_proba(self.backbone_, self.layer_, ds)
            rec = dict(getattr(self, "adapt_record_", {}))
            rec.update(target_accuracy=round(float((p.argmax(1) == y[rows]).mean()), 4),
                       n_target_evaluated=int(len(rows)))
            self.adapt_record_ = rec
            return rec
        acc: dict[str, float] = {}
        for name, c in self.candidates_.items():
            p = c["model"].predict_proba(c["backbone"], self.layer_, ds)
            acc[name] = float((p.argmax(1) == y[rows]).mean())
            c["target_accuracy"] = round(acc[name], 4)
        self.target_eval_ = {"n": int(len(rows)), "accuracy": acc}
        return self.adaptation_record()

    def adaptation_record(self) -> dict[str, Any]:
        """The ``adapt`` section of the run record (target accuracies once evaluated)."""
        self._check_fitted()
        if not hasattr(self, "candidates_"):  # loaded from a run folder
            return dict(getattr(self, "adapt_record_", {}))
        chosen = self.candidates_[self.chosen_]
        rec: dict[str, Any] = {
            "method": self.chosen_,
            "requested": self.method,
            "reason": self.reason_,
            "validators": dict(chosen["validators"]),
            "candidates": {
                n: {**c["validators"], "source_accuracy": round(c["source_accuracy"], 4),
                    **({"target_accuracy": c["target_accuracy"]} if "target_accuracy" in c
                       else {}),
                    "seconds": c["seconds"]}
                for n, c in self.candidates_.items()},
            "baseline": self.baseline_name_,
            "source_collapse": dict(self.collapse_),
            "target_labels": self.target_labels,
            "n_target_labelled": 0 if self.target_label_rows_ is None
            else int(len(self.target_label_rows_)),
        }
        if getattr(self, "projection_", None):
            rec["projection"] = self.projection_
        if getattr(self, "source_tune_", None):
            rec["source_finetune"] = dict(self.source_tune_)
        if self.method == "auto":
            rec["chosen"] = self.chosen_
            rec["selection"] = self.selection_
        ev = getattr(self, "target_eval_", None)
        if ev:
            acc = ev["accuracy"]
            rec["target_accuracy"] = round(acc[self.chosen_], 4)
            rec["n_target_evaluated"] = ev["n"]
            if self.baseline_name_ is not None:
                rec["source_only_accuracy"] = round(acc[self.baseline_name_], 4)
                rec["gain"] = round(acc[self.chosen_] - acc[self.baseline_name_], 4)
            if len(acc) > 1:
                best = max(acc, key=lambda n: acc[n])
                rec["best_in_hindsight"] = best
                rec["choice_matches_best"] = bool(acc[self.chosen_] >= acc[best] - 1e-12)
                picks = {}
                for v in VALIDATORS:
                    have = {n: c["validators"][v] for n, c in self.candidates_.items()
                            if v in c["validators"]}
                    if have:
                        top = max(have, key=lambda n: have[n])
                        picks[v] = {"picks": top, "picks_best": bool(acc[top] >= acc[best] - 1e-12)}
                rec["validator_picks"] = picks
        return rec

    # --- persistence ----------------------------------------------------------------------------
    def save(self, path: str, metrics: dict[str, Any] | None = None,
             record: dict[str, Any] | None = None, config: dict[str, Any] | None = None) -> str:
        """Write the chosen model into run folder ``path`` (record kind ``"adapt"``)."""
        from ..runs import save_model

        self._check_fitted()
        rec = {"kind": "adapt", "adapt": self.adaptation_record(),
               "dataset": {"train": self.train_summary_, "target": self.target_summary_}}
        for k, v in (record or {}).items():
            if isinstance(v, dict) and isinstance(rec.get(k), dict):
                rec[k] = {**rec[k], **v}
            else:
                rec[k] = v
        return str(save_model(self, path, metrics=metrics, record=rec, config=config))

    @classmethod
    def load(cls, path: str) -> DomainAdapter:
        """Restore a model saved by :meth:`save` (or ``transferkit adapt``)."""
        from .persist import load_adapter

        return load_adapter(path)
