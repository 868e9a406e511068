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
from pathlib import Path
from typing import Any

import numpy as np

from ..adapt import ADAPT_METHODS, AdaptContext, AdaptMethod
from ..adapt.auto import auto_candidates, baseline_for, check_method_sources, parse_candidate
from ..adapt.checks import check_domains, check_label_subset, pick_target_labels
from ..adapt.deep import trains_backbone
from ..adapt.params import WEIGHT_CLIP
from ..adapt.reference import Reference
from ..adapt.source_tune import tune_on_source
from ..adapt.validators import SELECTORS, choose_candidate, ensemble_agreement
from ..backbones import backbone_for_data
from ..backbones.base import Backbone
from ..data import Dataset, as_dataset, check_labels
from ..engine.freezing import plan_freezing
from ..engine.params import ENGINE_PARAMS, parse_groups
from ..exceptions import ConfigError, DataError, SourceCollapseWarning
from ..heads.base import holdout_split
from ..runs import register_model_kind
from ..shift import pca_projection
from ..strategies.params import COMMON, LAYER
from ..utils.params import Param, Params
from ..utils.seed import seed_everything
from .adapter_params import (
    check_candidates,
    check_source_finetune,
    check_target_labels,
    parse_target_labels,
)
from .adapter_record import adaptation_record
from .adapter_sources import as_sources, frozen_features, source_contributions, sources_table
from .base import StrategyModel, check_backbone_param
from .docs import document_params

__all__ = ["DomainAdapter", "SourceCollapseWarning"]

log = logging.getLogger(__name__)


@register_model_kind
class DomainAdapter(StrategyModel):
    """Adapt a classifier from a labelled source domain to a (mostly) unlabelled target domain.

    Each adaptation method registered with :func:`~transferkit.adapt.register_adapt_method`
    declares the parameters it reads; a keyword that none of the methods this adapter will
    fit reads (the method, its no-adaptation baseline, or ``auto``'s candidates) is refused,
    naming the methods that do.

    Args:
{params}

    Example:
        >>> import transferkit as tk
        >>> src = tk.load_dataset("amazon:domain=books").train
        >>> tgt = tk.load_dataset("amazon:domain=kitchen").train
        >>> model = tk.DomainAdapter(method="coral", backbone="minilm-l6").fit(src, tgt)
        >>> model.evaluate_target(tgt)["target_accuracy"]  # doctest: +SKIP
    """

    fit_call = "fit(source, target)"
    record_kind = "adapt"
    PARAMS = Params(
        Param("method", "'coral', 'reweight' (domain-classifier density ratio), 'kmm', "
              "'subspace', 'dann', 'cdan', 'mmd', 'selftrain', 'tradaboost' / 'union' (need a "
              "few target labels), 'ensemble' / 'select' / 'm3sda' (need several sources), "
              "'source' / 'source-net' (no adaptation), or 'auto': try the applicable methods "
              "and pick one with label-free validators", "auto",
              choices=lambda: ["auto", *ADAPT_METHODS.names()]),
        Param("backbone", "a backbone spec ('minilm-l6', 'lenet', 'tabular-mlp'...) or a "
              "Backbone instance", "minilm-l6", "any", check=check_backbone_param),
        LAYER,
        COMMON,
        Param("target_labels", "None / 'none': never read the target's labels; 'all': use every "
              "target label for training (TrAdaBoost, union); an int k: use k labelled target "
              "rows per class (seeded), the rest stay unlabelled", None, "any",
              check=check_target_labels, parse=parse_target_labels),
        Param("source_finetune", "before any method runs, fine-tune the pre-trained backbone's "
              "top K layer groups (an int, 'all' or group names) on the labelled source rows, "
              "from a linear-probe start (LP-FT); every method then adapts on the tuned "
              "encoder's features. None: adapt the pre-trained features as they are", None,
              "any", check=check_source_finetune, parse=parse_groups, metavar="K|all|GROUPS"),
        Param("source_epochs", "epochs of that source fine-tuning (default 3)", None, "int",
              low=1),
        Param("candidates", "the methods 'auto' tries (None: all applicable ones); a candidate "
              "may set hyper-parameters, 'dann:tradeoff=0.3', so that 'auto' also chooses those "
              "without target labels", None, "any", check=check_candidates,
              parse=lambda text: [c.strip() for c in text.split(";" if ";" in text else ",")
                                  if c.strip()]),
        Param("selector", "how 'auto' chooses: 'ensv' (the candidate that agrees most with the "
              "pool's mean prediction; 'rank' when fewer than three candidates), 'rank' (best "
              "mean rank over the validators anchored in held-out source labels, dev and rv, "
              "then no adaptation unless the winner beats it on both), 'rank-all' (over every "
              "validator), or one validator name (dev, im, entropy, snd, rv)", "ensv",
              choices=SELECTORS),
        Param("baseline", "also fit the no-adaptation baseline, to report source-only accuracy "
              "and detect a collapse of source accuracy", True, "bool"),
        Param("val_fraction", "fraction of source rows held out (stratified) for validators and "
              "the collapse check", 0.1, "float", low=0, high=0.5),
        Param("collapse_tolerance", "a drop of held-out source accuracy larger than this "
              "(absolute) relative to the baseline raises SourceCollapseWarning", 0.1, "float",
              low=0, high=1),
        WEIGHT_CLIP,
        ENGINE_PARAMS.without("epochs", "lr_schedule", "warmup", "weight_decay", "patience",
                              "grad_accum", "checkpoint_dir", "resume"),
    )

    def __init__(
        self,
        method: str = "auto",
        backbone: str | Backbone = "minilm-l6",
        head: str | None = None,
        C: float | None = None,
        layer: int | None = None,
        target_labels: str | int | None = None,
        train_backbone: bool | None = None,
        epochs: int | None = None,
        lr: float | None = None,
        backbone_lr_mult: float | None = None,
        unfreeze: int | str | list[str] | None = None,
        source_finetune: int | str | list[str] | None = None,
        source_epochs: int | None = None,
        head_init: str | None = None,
        batch_size: int | None = None,
        steps_per_epoch: int | None = None,
        tradeoff: float | None = None,
        im_weight: float | None = None,
        augment: str | None = None,
        augment_prob: float | None = None,
        threshold: float | None = None,
        bottleneck_dim: int | None = None,
        n_estimators: int | None = None,
        weight_clip: float | None = None,
        coral_eps: float | None = None,
        subspace_dim: int | None = None,
        candidates: list[str] | None = None,
        selector: str | None = None,
        baseline: bool | None = None,
        val_fraction: float | None = None,
        collapse_tolerance: float | None = None,
        devices: int | None = None,
        precision: str | None = None,
        cache: bool | None = None,
        seed: int | None = None,
        progress: bool | None = None,
        **params: Any,
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
        self.augment_prob = augment_prob
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
        self._set_method_params(params)

    # --- parameters -------------------------------------------------------------------------
    @classmethod
    def method_tables(cls) -> dict[str, Params]:
        return {name: ADAPT_METHODS.get(name).PARAMS for name in ADAPT_METHODS.names()}

    def chosen_methods(self) -> list[str]:
        """The methods this adapter may fit: ``auto``'s candidates (every method when none
        are listed), or the method and, with ``baseline``, its no-adaptation baseline."""
        if self.method == "auto":
            if self.candidates is None or isinstance(self.candidates, str):
                return ADAPT_METHODS.names()
            names = [str(c).partition(":")[0] for c in self.candidates]
        else:
            names = [self.method]
        if self.baseline is not False:
            names += [baseline_for(n) for n in names if n in ADAPT_METHODS]
        return [n for n in dict.fromkeys(names) if n in ADAPT_METHODS]

    def chosen_phrase(self) -> str:
        if self.method == "auto":
            return f"method='auto' and candidates={self.candidates!r}"
        return f"method={self.method!r}" + (" (and its baseline)" if self.baseline is not False
                                            else "")

    @property
    def strategy(self) -> str:
        """``"adapt:<method>"``: the name run records show as the strategy."""
        name = self.strategy_.name if hasattr(self, "strategy_") else self.method
        return f"adapt:{name}"

    def strategy_params(self) -> dict[str, Any]:
        """Parameters handed to the methods (every declared setting, resolved, but the
        backbone)."""
        return {k: v for k, v in self.settings().items() if k != "backbone"}

    def _make_backbone(self, source: Dataset, target: Dataset) -> tuple[Backbone, int]:
        s = self.settings()
        # Tabular standardisation sees both domains' inputs: no labels involved.
        both = (np.concatenate([np.asarray(source.inputs), np.asarray(target.inputs)])
                if source.modality == "tabular" else None)
        return backbone_for_data(self.backbone, s.layer, s.seed, source, "source", fit_on=both)

    def _trains_backbone(self, name: str, bb: Backbone) -> bool:
        name, _ = parse_candidate(name)
        if not ADAPT_METHODS.info(name).get("deep"):
            return False
        return trains_backbone(self.settings(), bb)

    # --- fitting ----------------------------------------------------------------------------
    def fit(self, source: Any, target: Any) -> DomainAdapter:
        """Fit on labelled ``source`` data and ``target`` data; returns ``self``.

        Args:
            source: a labelled :class:`~transferkit.data.Dataset` (or raw inputs with labels
                given as a Dataset), or a list of them: several source domains. Every method
                then fits on their union; the multi-source methods (``ensemble``, ``select``,
                ``m3sda``, which ``auto`` adds to its candidates) weigh them, and the record's
                ``sources`` part shows each source's shift to the target and what the chosen
                method did with it.
            target: a Dataset (or raw inputs) of the target domain. Its labels, if any, are
                removed before anything else sees it, unless ``target_labels`` says otherwise.

        Raises:
            DataError: unlabelled or single-class source, empty target, different modalities
                or feature sizes, target labels that the source lacks (when used).
            ConfigError: a bad parameter, or a method that needs target labels without them.
        """
        self._validate_params()
        s = self.settings()
        seed_everything(s.seed)
        t0 = time.perf_counter()
        source, self.source_names_ = as_sources(source)
        target = as_dataset(target, what="target")
        check_domains(source, target)
        classes = check_labels(source)
        # The only place target labels may be read, and only when target_labels= says so.
        labelled, yt, self.target_label_rows_ = pick_target_labels(
            target, self.target_labels, classes, s.seed)
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
        ref = Reference(bb, layer, params, src_fit, y_fit, src_val, y_val, target, s.seed)
        shared: dict[Any, Any] = {}  # frozen-part states, reused by every candidate
        self.candidates_: dict[str, dict[str, Any]] = {}
        try:
            for spec in names:
                tc = time.perf_counter()
                name, overrides = parse_candidate(spec)
                bb_n = copy.deepcopy(bb) if self._trains_backbone(name, bb) else bb
                own = {**params, **overrides}
                ctx = AdaptContext(bb_n, layer, src_fit, y_fit, target, len(classes), own,
                                   labelled, yt, shared=shared, source_names=self.source_names_)
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
            self.sources_ = None
            if self.source_names_ is not None:
                Xs, Xt = (frozen_features(bb, layer, d, s) for d in (src_fit, target))
                self.sources_ = sources_table(Xs, Xt, src_fit, self.source_names_, s.seed)
            self.projection_ = self._projection(
                src_val if src_val is not None else src_fit, target)
        finally:  # scored (or failed): kept inference results and states only hold memory
            for c in self.candidates_.values():
                c["model"].forget_outputs()
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _projection(self, source: Dataset, target: Dataset) -> dict[str, Any] | None:
        """PCA of the representation the chosen classifier reads, source vs target (report)."""

        # Whole datasets, not subsets: their frozen features are already in the cache.
        try:
            zs = self.strategy_.embed_source(self.backbone_, self.layer_, source)
            zt = self.strategy_.embed(self.backbone_, self.layer_, target)
        except NotImplementedError:  # a method without a shared representation
            return None
        return pca_projection(np.asarray(zs), np.asarray(zt), self.settings().seed)

    def _split_source(self, source: Dataset, ys: np.ndarray):
        s = self.settings()
        frac = float(s.val_fraction)
        counts = np.bincount(ys)
        if frac <= 0 or len(ys) < 20 or counts.min() < 2:
            return source, ys, None, None
        fit_idx, val_idx = holdout_split(ys, frac, s.seed)
        fit_idx, val_idx = np.sort(fit_idx), np.sort(val_idx)
        return (source.subset(fit_idx), ys[fit_idx], source.subset(val_idx, name=f"{source.name}"
                ":val"), ys[val_idx])

    def _candidate_names(self, bb: Backbone, has_labels: bool) -> list[str]:
        multi = self.source_names_ is not None
        if self.method == "auto":
            return auto_candidates(bb.rebuildable, has_labels, self.candidates, multi)
        check_method_sources(self.method, multi)
        names = [self.method]
        base = baseline_for(self.method)
        if self.settings().baseline and base != self.method:
            names.insert(0, base)
        return names

    def _choose(self, names: list[str]) -> None:
        scores = {n: self.candidates_[n]["validators"] for n in names}
        if self.method == "auto":
            selector = self.settings().selector
            self.chosen_, reason, self.selection_ = choose_candidate(scores, selector)
            self.reason_ = f"chose {self.chosen_!r} from {names}: {reason}"
        else:
            self.chosen_, self.selection_ = self.method, {}
            self.reason_ = f"method={self.method!r} was requested"
        base = baseline_for(self.chosen_)
        self.baseline_name_ = base if base in self.candidates_ else next(
            (n for n in ("source", "source-net") if n in self.candidates_), None)

    def _check_collapse(self) -> None:
        chosen = self.candidates_[self.chosen_]
        tolerance = self.settings().collapse_tolerance
        self.collapse_ = {"baseline": self.baseline_name_, "collapsed": False}
        if self.baseline_name_ is None or self.baseline_name_ == self.chosen_:
            return
        before = self.candidates_[self.baseline_name_]["source_accuracy"]
        after = chosen["source_accuracy"]
        drop = before - after
        self.collapse_.update({"source_accuracy_before": round(before, 4),
                               "source_accuracy_after": round(after, 4),
                               "drop": round(drop, 4), "tolerance": tolerance,
                               "measured_on": chosen["source_accuracy_on"]})
        if drop > tolerance:
            self.collapse_["collapsed"] = True
            warnings.warn(SourceCollapseWarning(
                f"Adaptation with {self.chosen_!r} dropped the accuracy on held-out source rows "
                f"from {before:.3f} ({self.baseline_name_}) to {after:.3f}: the adapted features "
                "no longer separate the classes well. Lower tradeoff, train fewer epochs, or "
                "use the baseline."), stacklevel=3)

    # --- evaluation -------------------------------------------------------------------------
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
        check_label_subset(self.classes_, data.labels, f"target data {data.name!r}")
        y = np.searchsorted(self.classes_, data.labels)
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
        self.target_eval_ = {"n": int(len(rows)), "accuracy": acc,
                             "sources": source_contributions(self, ds, y[rows])}
        return self.adaptation_record()

    def adaptation_record(self) -> dict[str, Any]:
        """The ``adapt`` section of the run record (target accuracies once evaluated)."""
        self._check_fitted()
        if not hasattr(self, "candidates_"):  # loaded from a run folder
            return dict(getattr(self, "adapt_record_", {}))
        return adaptation_record(self)

    # --- the run folder -----------------------------------------------------------------------
    def _saves_backbone_weights(self) -> bool:
        # A source-tuned encoder no longer matches its spec.
        return super()._saves_backbone_weights() or bool(getattr(self, "source_tune_", None))

    def _method_class(self, state: dict[str, Any]) -> type:
        return ADAPT_METHODS.get(state["method"])

    def _load_state(self, folder: Path, state: dict[str, Any], record: dict[str, Any]) -> None:
        super()._load_state(folder, state, record)
        self.target_summary_ = record.get("dataset", {}).get("target", {})
        self.adapt_record_ = record.get("adapt", {})
        self.source_tune_ = self.adapt_record_.get("source_finetune")

    def _record_fields(self) -> dict[str, Any]:
        rec = super()._record_fields()
        rec["dataset"]["target"] = self.target_summary_
        return {**rec, "adapt": self.adaptation_record()}


document_params(DomainAdapter)
