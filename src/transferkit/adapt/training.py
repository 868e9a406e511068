"""The pieces deep adaptation trains on the engine: network, objectives, paired data, task.

One network shape serves every deep method: ``backbone -> bottleneck -> linear classifier``
(:class:`AdaptNet`). What differs is the *objective* added to the source cross-entropy (a
small module built on :mod:`~transferkit.adapt.losses`) and how its weight grows during
training. :class:`PairedData` puts a source batch and a target batch into every step, and
:class:`AdaptTask` is the :class:`~transferkit.engine.Task` the engine runs.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.augment import Augmenter, RandomAffine, bind_augmentation
from ..engine import Callback, ExampleData, Task
from .losses import (
    ConditionalDomainAdversarialLoss,
    DomainAdversarialLoss,
    DomainDiscriminator,
    MultipleKernelMMD,
    dann_lambda,
    information_maximization_loss,
    moment_distance,
)

__all__ = ["AdaptNet", "FeatureInput", "PairedData", "AdaptModule", "AdaptTask", "OBJECTIVES",
           "TrackProgress"]


# ----------------------------------------------------------------------------- the network


class FeatureInput(nn.Module):
    """Stands in for a frozen backbone: its "inputs" are the cached feature rows.

    Shape:
        ``{"x": (B, F)}`` -> ``(B, F)``.
    """

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = int(num_features)

    @staticmethod
    def preprocess(rows: Any) -> dict[str, torch.Tensor]:
        return {"x": torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32))}

    def forward_features(self, batch: dict[str, torch.Tensor], layer: int = -1) -> torch.Tensor:
        return batch["x"]


class AdaptNet(nn.Module):
    """``backbone features -> bottleneck (Linear, BatchNorm, ReLU, Dropout) -> Linear``.

    Args:
        backbone: a :class:`~transferkit.backbones.Backbone` or :class:`FeatureInput`.
        n_classes: classifier outputs.
        bottleneck_dim: bottleneck width; ``0`` puts the classifier on the features directly.
        layer: the backbone's feature layer.

    Shape:
        ``forward(inputs)``: a preprocessed batch -> ``(B, n_classes)`` logits;
        ``embed(inputs)`` -> ``(features (B, D), logits (B, n_classes))``.
    """

    def __init__(self, backbone: nn.Module, n_classes: int, bottleneck_dim: int = 256,
                 layer: int = -1) -> None:
        super().__init__()
        self.backbone = backbone
        self.layer = int(layer)
        in_f = int(backbone.num_features)
        if bottleneck_dim:
            self.bottleneck: nn.Module = nn.Sequential(
                nn.Linear(in_f, bottleneck_dim), nn.BatchNorm1d(bottleneck_dim), nn.ReLU(),
                nn.Dropout(0.5))
            self.out_features = int(bottleneck_dim)
        else:
            self.bottleneck = nn.Identity()
            self.out_features = in_f
        self.head = nn.Linear(self.out_features, n_classes)
        self.config = {"in_features": in_f, "n_classes": int(n_classes),
                       "bottleneck_dim": int(bottleneck_dim), "layer": self.layer}

    def embed(self, inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.bottleneck(self.backbone.forward_features(inputs, self.layer))
        return f, self.head(f)

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.embed(inputs)[1]

    def top_state(self) -> dict[str, torch.Tensor]:
        """Bottleneck and classifier weights (the backbone is saved by the run folder)."""
        return {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()
                if not k.startswith("backbone.")}


class _Embedder(nn.Module):
    """``inputs -> [bottleneck features | logits]`` of an :class:`AdaptNet`, one pass for
    both (validators ask for the two on the same rows)."""

    def __init__(self, net: AdaptNet) -> None:
        super().__init__()
        self.net = net
        self.train(net.training)  # inference restores this mode: the net's own

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat(self.net.embed(inputs), dim=1)


# ----------------------------------------------------------------------------- objectives


class _Objective(nn.Module):
    """Base: ``forward(f_s, f_t, logits_s, logits_t, target_labels) -> loss``.

    ``schedule`` says how the adaptation weight ``lambda(p)`` enters: ``"grl"`` (it is the
    gradient-reversal coefficient; the discriminator always learns at full strength),
    ``"ramp"`` (the loss is multiplied by it) or ``"constant"`` (not used).
    """

    schedule: ClassVar[str] = "ramp"
    needs_target_labels: ClassVar[bool] = False
    #: whether ``forward`` also takes ``source_domains`` (each source row's source index)
    needs_source_domains: ClassVar[bool] = False

    def __init__(self, in_features: int = 0, n_classes: int = 0, **_: Any) -> None:
        super().__init__()
        self.stats: dict[str, float] = {}

    def set_coeff(self, coeff: float) -> None:
        for m in self.modules():
            if hasattr(m, "grl"):
                m.grl.coeff = coeff


def _disc_hidden(in_features: int) -> int:
    """Discriminator width: 500 for LeNet-sized features (as TLlib's digits), 1024 above,
    64 for tiny inputs."""
    return 1024 if in_features > 1000 else 500 if in_features > 64 else 64


class SourceOnlyObjective(_Objective):
    """No adaptation: the source cross-entropy alone (the baseline of every deep method)."""

    schedule = "constant"

    def forward(self, f_s, f_t, logits_s, logits_t, target_labels=None) -> torch.Tensor:
        return f_s.new_zeros(())


class DANNObjective(_Objective):
    """:class:`~transferkit.adapt.losses.DomainAdversarialLoss` on the bottleneck features."""

    schedule = "grl"

    def __init__(self, in_features: int, n_classes: int, seed: int = 0, **_: Any) -> None:
        super().__init__(in_features, n_classes)
        self.loss = DomainAdversarialLoss(DomainDiscriminator(in_features,
                                                              _disc_hidden(in_features)))

    def forward(self, f_s, f_t, logits_s, logits_t, target_labels=None) -> torch.Tensor:
        out = self.loss(f_s, f_t)
        self.stats = {"domain_accuracy": float(self.loss.domain_accuracy)}
        return out


class CDANObjective(_Objective):
    """:class:`~transferkit.adapt.losses.ConditionalDomainAdversarialLoss` (CDAN+E)."""

    schedule = "grl"

    def __init__(self, in_features: int, n_classes: int, seed: int = 0,
                 entropy_conditioning: bool = True, randomized: bool | None = None,
                 **_: Any) -> None:
        super().__init__(in_features, n_classes)
        size = ConditionalDomainAdversarialLoss.map_size(in_features, n_classes, randomized)
        self.loss = ConditionalDomainAdversarialLoss(
            DomainDiscriminator(size, _disc_hidden(size)), in_features, n_classes,
            entropy_conditioning=entropy_conditioning, randomized=randomized, seed=seed)

    def forward(self, f_s, f_t, logits_s, logits_t, target_labels=None) -> torch.Tensor:
        out = self.loss(logits_s, f_s, logits_t, f_t)
        self.stats = {"domain_accuracy": float(self.loss.domain_accuracy)}
        return out


class MMDObjective(_Objective):
    """:class:`~transferkit.adapt.losses.MultipleKernelMMD` between the bottleneck features."""

    def __init__(self, in_features: int, n_classes: int, **_: Any) -> None:
        super().__init__(in_features, n_classes)
        self.loss = MultipleKernelMMD()

    def forward(self, f_s, f_t, logits_s, logits_t, target_labels=None) -> torch.Tensor:
        out = self.loss(f_s, f_t)
        self.stats = {"mmd": float(out.detach())}
        return out


class UnionObjective(_Objective):
    """Cross-entropy on the few labelled target rows, weighted by ``tradeoff``."""

    schedule = "constant"
    needs_target_labels = True

    def forward(self, f_s, f_t, logits_s, logits_t, target_labels=None) -> torch.Tensor:
        return F.cross_entropy(logits_t.float(), target_labels)


class MomentMatchingObjective(_Objective):
    """M3SDA's moment distance between every pair of domains, the sources kept apart
    (:func:`~transferkit.adapt.losses.moment_distance`)."""

    needs_source_domains = True

    def forward(self, f_s, f_t, logits_s, logits_t, target_labels=None,
                source_domains=None) -> torch.Tensor:
        out = moment_distance(f_s, source_domains, f_t)
        self.stats = {"moment_distance": float(out.detach())}
        return out


OBJECTIVES: dict[str, type[_Objective]] = {
    "source": SourceOnlyObjective, "dann": DANNObjective, "cdan": CDANObjective,
    "mmd": MMDObjective, "union": UnionObjective, "m3sda": MomentMatchingObjective,
}


# ----------------------------------------------------------------------------- data and task


class _ImageStub:
    """What binding the legacy ``RandomAffine`` needs to know: that it augments images."""

    modality = "image"
    name = "images"


_image_stub = _ImageStub()


class PairedData(ExampleData):
    """Training rows that are (source row, target row) pairs; one batch holds both halves.

    Row ``i`` of an epoch pairs source row ``ps[i mod Ns]`` with target row
    ``pt_e[i mod Nt]``, where ``pt_e`` is a permutation drawn from ``(seed, epoch)``; the
    engine shuffles ``i``. An epoch has ``max(Ns, Nt)`` rows unless ``length`` says otherwise,
    so every row of the larger domain is seen once per epoch. Source and target rows are
    preprocessed together (one padded text batch, one image tensor), so BatchNorm sees both.

    With ``augment`` (an :class:`~transferkit.data.augment.Augmenter`, or the older
    :class:`~transferkit.data.augment.RandomAffine`), both halves of every training batch are
    augmented (:mod:`transferkit.data.augment`), seeded by the engine per step, or from this
    object's own generator when a batch is asked for without a seed; inference never goes
    through this class.

    ``batch(idx)`` returns ``inputs`` (source rows first), ``labels`` (source), ``n_source``,
    optional ``weights`` (per source row) and, only when given, ``target_labels`` and
    ``source_domains`` (each source row's source, for multi-source objectives).
    """

    def __init__(self, source_inputs: Any, labels: np.ndarray, target_inputs: Any,
                 preprocess: Any, seed: int = 0, length: int | None = None,
                 weights: np.ndarray | None = None, target_labels: np.ndarray | None = None,
                 augment: Augmenter | RandomAffine | None = None,
                 source_domains: np.ndarray | None = None) -> None:
        if isinstance(augment, RandomAffine):  # geometric only: no backbone facts needed
            augment = bind_augmentation(augment, 1.0, _image_stub)
        super().__init__(source_inputs, labels, preprocess, augment=augment)
        self._aug_gen = torch.Generator().manual_seed(int(seed) + 7919)
        self.target_inputs = target_inputs
        self.ns, self.nt = len(source_inputs), len(target_inputs)
        self.length = int(length) if length else max(self.ns, self.nt)
        self.seed = int(seed)
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float32)
        self.target_labels = (None if target_labels is None
                              else np.asarray(target_labels, dtype=np.int64))
        self.source_domains = (None if source_domains is None
                               else np.asarray(source_domains, dtype=np.int64))
        self._ps = np.random.default_rng([self.seed, 1]).permutation(self.ns)
        self.set_epoch(0)

    def __len__(self) -> int:
        return self.length

    def set_epoch(self, epoch: int) -> None:
        self._pt = np.random.default_rng([self.seed, 2, int(epoch)]).permutation(self.nt)

    @staticmethod
    def _take(x: Any, idx: np.ndarray) -> Any:
        return x[idx] if isinstance(x, np.ndarray) else [x[i] for i in idx]

    def _preprocess_pair(self, xs: Any, xt: Any) -> dict[str, torch.Tensor]:
        if not isinstance(xs, np.ndarray):
            return self.preprocess(list(xs) + list(xt))  # text, paths: one padded batch
        if isinstance(xt, np.ndarray) and xs.shape[1:] == xt.shape[1:]:
            return self.preprocess(np.concatenate([xs, xt]))
        # Arrays of different shapes (28x28 MNIST, 16x16 USPS): the backbone's preprocess
        # brings each to its input size; then the tensors stack.
        a, b = self.preprocess(xs), self.preprocess(xt)
        return {k: torch.cat([a[k], b[k]]) for k in a}

    def batch(self, idx: Any, augment_seed: int | None = None) -> dict[str, Any]:
        idx = np.asarray(idx, dtype=np.int64)
        si = self._ps[idx % self.ns]
        ti = self._pt[idx % self.nt]
        xs, xt = self._take(self.inputs, si), self._take(self.target_inputs, ti)
        aug = self.augment
        if aug is not None and augment_seed is None:  # every batch of this class trains
            augment_seed = int(torch.randint(0, 2**62, (1,), generator=self._aug_gen))
        if aug is not None:
            xs, xt = aug.rows(xs, augment_seed), aug.rows(xt, augment_seed + 1)
        inputs = self._preprocess_pair(xs, xt)
        if aug is not None:
            inputs = aug.tensors(inputs, augment_seed)
        out: dict[str, Any] = {"inputs": inputs,
                               "labels": torch.from_numpy(self.labels[si]),
                               "n_source": int(len(si))}
        if self.weights is not None:
            out["weights"] = torch.from_numpy(self.weights[si])
        if self.target_labels is not None:
            out["target_labels"] = torch.from_numpy(self.target_labels[ti])
        if self.source_domains is not None:
            out["source_domains"] = torch.from_numpy(self.source_domains[si])
        return out


class AdaptModule(nn.Module):
    """The network and the objective in one module, so the engine moves and wraps both.

    ``forward`` computes the whole loss (inside the wrapped module, which is what
    multi-process training needs): source cross-entropy (optionally weighted per row) plus
    ``tradeoff`` times the objective, weighted by the schedule coefficient :attr:`coeff`,
    plus, when ``im_weight > 0``, information maximisation on the target predictions (also
    ramped by :attr:`coeff`).
    """

    def __init__(self, net: AdaptNet, objective: _Objective, tradeoff: float = 1.0,
                 im_weight: float = 0.0) -> None:
        super().__init__()
        self.net = net
        self.objective = objective
        self.tradeoff = float(tradeoff)
        self.im_weight = float(im_weight)
        self.coeff = 0.0

    def forward(self, inputs: dict[str, torch.Tensor], n_source: int, labels: torch.Tensor,
                weights: torch.Tensor | None = None,
                target_labels: torch.Tensor | None = None,
                source_domains: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        f, logits = self.net.embed(inputs)
        f_s, f_t = f[:n_source], f[n_source:]
        l_s, l_t = logits[:n_source], logits[n_source:]
        ce = F.cross_entropy(l_s.float(), labels, reduction="none")
        ce = (ce * weights).sum() / weights.sum().clamp(min=1e-12) if weights is not None \
            else ce.mean()
        schedule = self.objective.schedule
        if schedule == "grl":
            self.objective.set_coeff(self.coeff)
        extra = {"source_domains": source_domains} if self.objective.needs_source_domains \
            else {}
        transfer = self.objective(f_s, f_t, l_s, l_t, target_labels, **extra)
        weight = self.tradeoff * (self.coeff if schedule == "ramp" else 1.0)
        out = {"loss": ce + weight * transfer, "ce": ce.detach(), "transfer": transfer.detach()}
        if self.im_weight > 0 and len(l_t):
            # Ramped like the adversarial weight: early target predictions are noise, and
            # making noise confident would lock it in.
            im = information_maximization_loss(l_t)
            out["loss"] = out["loss"] + self.im_weight * self.coeff * im
            out["target_im"] = im.detach()
        return out


class AdaptTask(Task):
    """The engine task of a deep method: one paired batch in, the total loss out."""

    def __init__(self, module: AdaptModule, groups: list[dict[str, Any]], data: PairedData,
                 gamma: float = 10.0) -> None:
        self.module = module
        self.groups = groups
        self.data = data
        self.gamma = float(gamma)
        self.progress = 0.0
        self._sums: dict[str, float] = {}
        self._n = 0

    recalibrates_norms = True

    def param_groups(self) -> list[dict[str, Any]]:
        return self.groups

    def forward_inputs(self, module: nn.Module, batch: dict[str, Any]) -> Any:
        # The paired source + target batches training sees: the statistics match training's.
        return module.net.embed(batch["inputs"])

    def on_epoch_start(self, epoch: int) -> None:
        self.data.set_epoch(epoch)
        self._sums, self._n = {}, 0

    def training_step(self, model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        self.module.coeff = dann_lambda(self.progress, self.gamma)
        out = model(batch["inputs"], batch["n_source"], batch["labels"], batch.get("weights"),
                    batch.get("target_labels"), batch.get("source_domains"))
        stats = {"ce": float(out["ce"]), "transfer": float(out["transfer"]),
                 **self.module.objective.stats}
        if "target_im" in out:
            stats["target_im"] = float(out["target_im"])
        for k, v in stats.items():
            self._sums[k] = self._sums.get(k, 0.0) + v
        self._n += 1
        return out["loss"]

    def epoch_metrics(self) -> dict[str, float]:
        out = {k: v / max(self._n, 1) for k, v in self._sums.items()}
        out["lambda"] = float(self.module.coeff)
        return out


class TrackProgress(Callback):
    """Tell the task how far training has come (``p`` of the lambda schedule)."""

    def __init__(self, task: AdaptTask) -> None:
        self.task = task

    def on_fit_start(self, loop) -> None:
        self.task.progress = loop.global_step / max(loop.total_steps, 1)

    def on_train_batch_end(self, loop, loss) -> None:
        self.task.progress = loop.global_step / max(loop.total_steps, 1)
