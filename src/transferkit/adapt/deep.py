"""Deep adaptation on the training engine: DANN, CDAN(+E), MMD (DAN), union fine-tuning.

One network shape serves every deep method: ``backbone -> bottleneck -> linear classifier``.
What differs is the *objective* added to the source cross-entropy (a small module from
:mod:`~transferkit.adapt.losses` or :mod:`~transferkit.adapt.selftrain`) and how its weight
grows during training (DANN's ``2 / (1 + exp(-10 p)) - 1`` with ``p`` the fraction of steps
done). Training goes through :func:`transferkit.engine.train` like every other strategy
that back-propagates: the engine owns devices, processes, the optimiser and the schedule;
this module supplies a :class:`~transferkit.engine.Task` whose step sees a source batch and a
target batch together.

Two modes:

* ``train_backbone=True`` — the backbone trains end to end (the default for backbones with
  no pre-trained weights, such as ``lenet`` and ``tabular-mlp``);
* ``train_backbone=False`` — the backbone stays frozen, its features come from the cache, and
  only the bottleneck, classifier and discriminator train (seconds on a CPU; the default for
  pre-trained encoders).

Between the two, ``unfreeze=K`` trains only the backbone's top ``K`` layer groups (as
``TransferClassifier(unfreeze=K)`` does). When the backbone can hand over the output of the
frozen groups (:meth:`~transferkit.backbones.base.Backbone.split_top`: text encoders), every
row goes through them once per fit, shared by all candidates, and each training step runs
only the top groups.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..backbones.split import split_below
from ..data.augment import bind_augmentation, parse_policy
from ..engine import ExampleData, TrainConfig, build_param_groups, predict_outputs
from ..engine import train as engine_train
from ..engine.freezing import plan_freezing
from ..exceptions import ConfigError, RunError
from ..utils.params import Params
from .base import AdaptContext, AdaptMethod, register_adapt_method
from .feature_method import _jsonable
from .params import ADAPT_COMMON, DEEP
from .training import (
    OBJECTIVES,
    AdaptModule,
    AdaptNet,
    AdaptTask,
    FeatureInput,
    PairedData,
    TrackProgress,
    _Embedder,
)

__all__ = ["DeepMethod", "trains_backbone", "SourceNetMethod", "DANNMethod",
           "CDANMethod", "MMDMethod", "M3SDAMethod", "UnionMethod"]

log = logging.getLogger(__name__)

#: epochs when ``epochs`` is None: on frozen features, and when the backbone trains
FROZEN_EPOCHS, TRAINED_EPOCHS = 20, 10
#: the bottleneck's width when ``bottleneck_dim`` is None (none for a backbone from scratch)
BOTTLENECK_DIM = 256
#: AdamW weight decay of the deep methods (not a user setting)
WEIGHT_DECAY = 5e-4


def trains_backbone(params: dict[str, Any], bb) -> bool:
    """Whether a deep method with ``params`` trains backbone ``bb``: ``train_backbone`` when
    given, else when ``unfreeze`` names groups to train or the backbone is randomly
    initialised; never when ``unfreeze=0`` (no group may train: frozen features)."""
    unfreeze = params.get("unfreeze")
    if unfreeze == 0:
        return False
    train_bb = params.get("train_backbone")
    if train_bb is None:
        return unfreeze is not None or not bb.rebuildable
    return bool(train_bb)


#: inference results a deep method keeps (target, held-out source, and a spare)
_RECENT = 3


# ----------------------------------------------------------------------------- the method


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class DeepMethod(AdaptMethod):
    """Train ``backbone -> bottleneck -> classifier`` with :attr:`objective` on the engine."""

    objective: ClassVar[str] = "source"
    uses_engine: ClassVar[bool] = True

    PARAMS: ClassVar[Params] = Params(ADAPT_COMMON, DEEP)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.trains_backbone = False  # decided in fit; an instance attribute from then on

    def _objective_kwargs(self, ctx: AdaptContext) -> dict[str, Any]:
        return {"seed": ctx.seed}

    def _paired_targets(self, ctx: AdaptContext, target_x: Any) -> tuple[Any, np.ndarray | None]:
        """Target rows of the training pairs and, for methods that need them, their labels."""
        if OBJECTIVES[self.objective].needs_target_labels:
            if ctx.target_labelled is None or ctx.yt is None:
                raise ConfigError(
                    f"method={self.name!r} needs labelled target rows: pass "
                    "target_labels='all' (or a number per class) to DomainAdapter.")
            return target_x, ctx.yt
        return target_x, None

    def _source_weights(self, ctx: AdaptContext) -> np.ndarray | None:
        return None

    def _source_domains(self, ctx: AdaptContext) -> np.ndarray | None:
        """Each source row's source, for objectives that keep the sources apart."""
        if not OBJECTIVES[self.objective].needs_source_domains:
            return None
        if ctx.source_names is None or len(ctx.source_names) < 2:
            raise ConfigError(
                f"method={self.name!r} matches the feature moments of several sources; it got "
                "one source. Pass a list of sources (fit([source_1, source_2], target); on "
                "the command line --source A,B), or use 'mmd' for one source.")
        return ctx.source_ids

    def fit(self, ctx: AdaptContext) -> DeepMethod:  # type: ignore[override]
        t0 = time.perf_counter()
        self.forget_outputs()  # outputs of a previous fit are stale
        bb = ctx.backbone
        s = self.settings
        train_bb = trains_backbone(s, bb)
        plan = plan_freezing(bb, "all" if s.unfreeze is None else s.unfreeze) \
            if train_bb else None
        self.trains_backbone = bool(train_bb)
        if parse_policy(s.augment) is not None and not train_bb:
            raise ConfigError(
                f"augment={s.augment!r} transforms the inputs, but method={self.name!r} "
                f"would train on frozen cached features (train_backbone={s.train_backbone!r}, "
                f"unfreeze={s.unfreeze!r}). Pass train_backbone=True with unfreeze other than 0 "
                "(the backbone then trains on augmented inputs) or augment='none'.")
        augment = bind_augmentation(s.augment, s.augment_prob, bb, type(self).__name__)
        seed = ctx.seed
        lr = float(s.lr)
        epochs = int(s.epochs or (TRAINED_EPOCHS if train_bb else FROZEN_EPOCHS))
        bdim = s.bottleneck_dim
        if bdim is None:
            # A network trained from scratch learns its own last layer; a pre-trained encoder's
            # output (unit-norm for sentence encoders) needs the BatchNorm bottleneck to give
            # the classifier well-scaled inputs, tuned or not.
            bdim = 0 if train_bb and not bb.rebuildable else BOTTLENECK_DIM
        torch.manual_seed(seed)
        tgt_ds = ctx.target_labelled if OBJECTIVES[self.objective].needs_target_labels \
            else ctx.target
        split = self._split(bb, ctx.layer, plan, augment) if plan is not None else None
        if split is not None and not ctx.fits_frozen_states(split, ctx.source, tgt_ds):
            split = None
        if split is not None:  # frozen lower groups run once; steps run the top groups only
            backbone: nn.Module = split.top
            xs = ctx.frozen_states(split, ctx.source)
            xt_all = ctx.frozen_states(split, tgt_ds) if tgt_ds is not None else None
            preprocess, layer = split.collate, -1
            # Scoring right after the fit predicts these same rows: through the top only.
            self._encoded = split, {id(d): (d, st) for d, st in ((ctx.source, xs),
                                                                  (tgt_ds, xt_all))
                                    if d is not None}
        elif train_bb:
            backbone = bb
            xs, xt_all = ctx.source.inputs, (tgt_ds.inputs if tgt_ds is not None else None)
            preprocess, layer = bb.preprocess, ctx.layer
        else:  # frozen: cached features are the inputs
            xs = ctx.features(ctx.source)
            xt_all = ctx.features(tgt_ds) if tgt_ds is not None else None
            backbone = FeatureInput(xs.shape[1])
            preprocess, layer = FeatureInput.preprocess, -1
        xt, yt = self._paired_targets(ctx, xt_all)
        net = AdaptNet(backbone, ctx.n_classes, int(bdim), layer)
        probe = self._probe_start(ctx, net, bb, train_bb)
        objective = OBJECTIVES[self.objective](net.out_features, ctx.n_classes,
                                               **self._objective_kwargs(ctx))
        module = AdaptModule(net, objective, float(s.tradeoff), float(s.im_weight))
        wd = WEIGHT_DECAY
        top = nn.ModuleList([net.bottleneck, net.head, objective])
        if train_bb:
            mult = s.backbone_lr_mult
            if mult is None:
                mult = 1.0 if not bb.rebuildable else 0.1
            by_group = {name: list(m.parameters()) for name, m in bb.layer_groups()
                        if name in plan.groups}
            in_groups = {id(p) for ps in by_group.values() for p in ps}
            for p in bb.parameters():
                # Parameters outside every layer group (an unused pooler) never train: they
                # would get no gradient, which stalls multi-process training.
                p.requires_grad_(id(p) in in_groups)
            groups = build_param_groups(by_group, list(by_group), top, lr=lr,
                                        backbone_lr_mult=float(mult), weight_decay=wd)
        else:
            groups = build_param_groups({}, [], top, lr=lr, weight_decay=wd)
        bs = int(s.batch_size)
        spe = s.steps_per_epoch
        data = PairedData(xs, ctx.ys, xt, preprocess, seed=seed,
                          length=None if not spe else int(spe) * bs,
                          weights=self._source_weights(ctx), target_labels=yt,
                          augment=augment, source_domains=self._source_domains(ctx))
        task = AdaptTask(module, groups, data)
        config = TrainConfig(epochs=epochs, batch_size=bs, seed=seed, patience=None,
                             lr_schedule="cosine", warmup=0.05, devices=int(s.devices),
                             precision=str(s.precision), progress=bool(s.progress))
        result = engine_train(task, data, None, config, callbacks=[TrackProgress(task)])
        if split is not None:
            net.backbone = bb  # the whole encoder, tuned top included, for inference
        self.net_ = net
        self.net_.eval()
        self.history = result.history
        self.summary.update({
            "objective": self.objective,
            "train_backbone": bool(train_bb),
            "trainable_groups": list(plan.groups) if plan is not None else [],
            "head_init": probe,
            "cached_frozen_part": split is not None,
            "epochs": epochs,
            "batch_size": bs,
            "steps": len(result.history) * int(np.ceil(len(data) / bs)),
            "bottleneck_dim": int(bdim),
            "tradeoff": float(s.tradeoff),
            "im_weight": float(s.im_weight),
            "augment": augment.record() if augment is not None else None,
            "lr_by_group": result.lr_by_group,
            "trainable_params": int(sum(p.numel() for g in groups for p in g["params"])),
            "seconds_train": round(time.perf_counter() - t0, 3),
            "device": result.device,
            "final": {k: v for k, v in (result.history[-1] if result.history else {}).items()
                      if k in ("ce", "transfer", "domain_accuracy", "mmd", "moment_distance",
                               "pseudo_label_rate",
                               "pseudo_label_accuracy", "lambda", "target_im")},
        })
        return self

    def _probe_start(self, ctx: AdaptContext, net: AdaptNet, bb,
                     train_bb: bool) -> dict[str, Any] | None:
        """LP-FT for adaptation: before a pre-trained encoder tunes, fit this same method on
        its frozen (cached) features and start ``net``'s bottleneck and classifier from it.

        A randomly initialised classifier sends random gradients into the encoder for the
        first steps, and a tuning run on a CPU is often only a few dozen steps: on Amazon
        books -> kitchen, one epoch (63 steps) of CDAN + IM tuning MiniLM's top 2 blocks reached
        80.7 % from this start and 79.0 % from a random bottleneck (frozen features: 78.5 %).
        ``head_init="random"`` skips this; encoders trained from scratch always do. With
        ``augment``, the start is fitted on the features of the images as they are, and the
        tuning that follows sees them augmented.
        """
        mode = self.settings.head_init
        if not train_bb or not bb.rebuildable or mode == "random":
            return None
        t0 = time.perf_counter()
        params = {**self.params, "train_backbone": False, "unfreeze": None, "epochs": None,
                  "augment": None, "bottleneck_dim": net.config["bottleneck_dim"]}
        first = type(self)(**params).fit(ctx)
        net.bottleneck.load_state_dict(first.net_.bottleneck.state_dict())
        net.head.load_state_dict(first.net_.head.state_dict())
        return {"mode": "probe", "epochs": first.summary["epochs"],
                "seconds": round(time.perf_counter() - t0, 3)}

    def _split(self, bb, layer: int, plan, augment) -> Any:
        """The backbone's :class:`~transferkit.backbones.split.FrozenSplit` below the groups
        ``plan`` trains (:func:`~transferkit.backbones.split.split_below`), unless the inputs
        are augmented (they change every step: nothing frozen to reuse)."""
        if augment is not None:
            return None
        return split_below(bb, plan, layer, devices=int(self.settings.devices))

    # --- inference --------------------------------------------------------------------------
    def _outputs(self, backbone, layer, data) -> tuple[np.ndarray, np.ndarray]:
        """``(bottleneck features, logits)`` of ``data``, from one pass; the last few results
        are kept, so that the validators' ``embed`` and ``predict_proba`` of the same rows
        (target and held-out source, interleaved) do not run a tuned encoder twice."""
        key = (id(data), len(data), id(backbone), layer)
        recent = self.__dict__.setdefault("_recent", [])
        for k, d, out in recent:
            if k == key and d is data:
                return out
        bs = int(self.settings.batch_size) * 2
        split, encoded = self.__dict__.get("_encoded") or (None, {})
        held = encoded.get(id(data))
        runs_on = backbone
        if self.trains_backbone and held is not None and held[0] is data:
            # Rows the fit encoded through the frozen lower blocks: only the top runs again.
            ex, runs_on = split.examples(held[1]), split.top
        elif self.trains_backbone:
            ex = ExampleData(data.inputs, None, backbone.preprocess,
                             backbone.input_lengths(data.inputs))
        else:
            ex = ExampleData(self.features(backbone, layer, data), None, FeatureInput.preprocess)
        net = self._net(runs_on)
        try:
            both = predict_outputs(_Embedder(net), ex, bs)
        finally:
            self._net(backbone)  # between predictions the net holds the whole backbone
        out = both[:, :net.out_features], both[:, net.out_features:]
        # The data stay referenced, so their ids cannot be reused while the entry lives.
        recent[:] = [*recent[-(_RECENT - 1):], (key, data, out)]
        return out

    def _net(self, backbone) -> AdaptNet:
        if self.trains_backbone and self.net_.backbone is not backbone:
            self.net_.backbone = backbone
        return self.net_

    def predict_proba(self, backbone, layer, data) -> np.ndarray:
        return softmax(self._outputs(backbone, layer, data)[1])

    def embed(self, backbone, layer, data) -> np.ndarray:
        return self._outputs(backbone, layer, data)[0].copy()

    def forget_outputs(self) -> None:
        self._recent = []  # they hold data and arrays
        self._encoded = None  # the fit's cached lower-block states: memory only

    # --- persistence ------------------------------------------------------------------------
    def save(self, folder: Path) -> dict[str, Any]:
        from safetensors.torch import save_file

        save_file(self.net_.top_state(), str(folder / "adapt_net.safetensors"))

        return {"method": self.name, "net": dict(self.net_.config),
                "trains_backbone": bool(self.trains_backbone),
                "summary": _jsonable(self.summary)}

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any], backbone) -> DeepMethod:
        from safetensors.torch import load_file

        self = cls(**config.get("params", {}))
        self.trains_backbone = bool(config["trains_backbone"])
        nc = config["net"]
        bb = backbone if self.trains_backbone else FeatureInput(nc["in_features"])
        self.net_ = AdaptNet(bb, nc["n_classes"], nc["bottleneck_dim"], nc["layer"])
        missing, unexpected = self.net_.load_state_dict(
            load_file(str(folder / "adapt_net.safetensors")), strict=False)
        bad = [k for k in missing if not k.startswith("backbone.")] + list(unexpected)
        if bad:
            raise RunError(f"{str(folder)!r}: adapt_net.safetensors does not match the network "
                           f"({bad[:5]}).")
        self.net_.eval()
        self.summary = dict(config.get("summary", {}))
        return self


@register_adapt_method("source-net", needs_target_labels=False, deep=True,
                       description="the deep methods' network trained on the source alone")
class SourceNetMethod(DeepMethod):
    """Baseline: the same network as the deep methods, source cross-entropy only."""

    name = "source-net"
    objective = "source"


@register_adapt_method("dann", needs_target_labels=False, deep=True,
                       description="domain-adversarial training (gradient reversal)")
class DANNMethod(DeepMethod):
    """DANN (Ganin et al. 2016): ``tradeoff`` weights the adversarial loss."""

    name = "dann"
    objective = "dann"


@register_adapt_method("cdan", needs_target_labels=False, deep=True,
                       description="conditional adversarial adaptation with entropy conditioning")
class CDANMethod(DeepMethod):
    """CDAN+E (Long et al. 2018); randomized multilinear map when features x classes > 4096."""

    name = "cdan"
    objective = "cdan"


@register_adapt_method("mmd", needs_target_labels=False, deep=True,
                       description="multi-kernel MMD between source and target features (DAN)")
class MMDMethod(DeepMethod):
    """DAN (Long et al. 2015): multi-kernel MMD on the bottleneck features."""

    name = "mmd"
    objective = "mmd"


@register_adapt_method("m3sda", needs_target_labels=False, deep=True, multi_source=True,
                       description="moment matching across several sources and the target "
                                   "(M3SDA)")
class M3SDAMethod(DeepMethod):
    """M3SDA (Peng et al. 2019): the first two feature moments of every source and the target
    pulled together pairwise, one shared classifier; ``tradeoff`` weights the moment loss."""

    name = "m3sda"
    objective = "m3sda"


@register_adapt_method("union", needs_target_labels=True, deep=True,
                       description="train on source + few labelled target rows, target-weighted")
class UnionMethod(DeepMethod):
    """Fine-tune on the union of source and labelled target rows; ``tradeoff`` weights the
    target cross-entropy (each step pairs a source batch with a labelled target batch)."""

    name = "union"
    objective = "union"
    needs_target_labels = True
