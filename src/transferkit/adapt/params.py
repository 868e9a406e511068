"""Parameter checks of :class:`~transferkit.adapt.DomainAdapter`, run before any fitting.

Each bad value raises :class:`~transferkit.exceptions.ConfigError` naming the parameter, the
value that arrived and what it accepts, before a feature is extracted or a run folder written.
"""

from __future__ import annotations

from typing import Any

from ..backbones.base import Backbone
from ..data.augment import parse_augment
from ..engine.freezing import parse_unfreeze
from ..exceptions import ConfigError
from ..heads import HEADS
from ..utils.checks import check_choice, check_number
from .auto import parse_candidate
from .base import ADAPT_METHODS
from .validators import SELECTORS

__all__ = ["check_adapter_params"]


def check_adapter_params(est: Any) -> None:
    """Check every constructor parameter of a ``DomainAdapter`` ``est``."""
    owner = type(est).__name__
    if est.method != "auto":
        ADAPT_METHODS.get(est.method)  # unknown: ConfigError listing close matches
    check_choice(owner, "selector", est.selector, list(SELECTORS))
    HEADS.get(est.head)
    check_number(owner, "batch_size", est.batch_size, low=1, integer=True)
    check_number(owner, "seed", est.seed, low=0, integer=True)
    check_number(owner, "tradeoff", est.tradeoff, low=0)
    check_number(owner, "im_weight", est.im_weight, low=0)
    parse_augment(est.augment)  # a bad spec fails before any fitting
    check_number(owner, "threshold", est.threshold, low=0, high=1)
    check_number(owner, "n_estimators", est.n_estimators, low=1, integer=True)
    check_number(owner, "weight_clip", est.weight_clip, low=1)
    check_number(owner, "coral_eps", est.coral_eps, low=0, low_open=True)
    check_number(owner, "val_fraction", est.val_fraction, low=0, high=0.5)
    check_number(owner, "collapse_tolerance", est.collapse_tolerance, low=0, high=1)
    check_number(owner, "devices", est.devices, low=1, integer=True)
    for k in ("epochs", "steps_per_epoch", "subspace_dim"):
        if getattr(est, k) is not None:
            check_number(owner, k, getattr(est, k), low=1, integer=True)
    if est.bottleneck_dim is not None:
        check_number(owner, "bottleneck_dim", est.bottleneck_dim, low=0, integer=True)
    if est.lr is not None:
        check_number(owner, "lr", est.lr, low=0, low_open=True)
    if est.backbone_lr_mult is not None:
        check_number(owner, "backbone_lr_mult", est.backbone_lr_mult, low=0)
    if est.C is not None:
        check_number(owner, "C", est.C, low=0, low_open=True)
    if est.head_init is not None:
        check_choice(owner, "head_init", est.head_init, ["probe", "random"])
    if est.unfreeze is not None:
        parse_unfreeze(est.unfreeze)
    if est.source_finetune is not None:
        if est.source_finetune == 0:
            raise ConfigError(
                f"The 'source_finetune' parameter of {owner} names the layer groups to tune on "
                "the source before adapting; got 0 (none). Give K >= 1, 'all' or group names, or "
                "None to adapt the pre-trained features as they are.")
        parse_unfreeze(est.source_finetune)
    if est.source_epochs is not None:
        check_number(owner, "source_epochs", est.source_epochs, low=1, integer=True)
    if est.train_backbone not in (None, True, False):
        raise ConfigError(f"The 'train_backbone' parameter of {owner} must be None, True or "
                          f"False. Got {est.train_backbone!r} instead.")
    if est.candidates is not None:
        if isinstance(est.candidates, str):
            raise ConfigError(f"The 'candidates' parameter of {owner} must be a list of "
                              f"method names such as ['coral', 'dann']. Got a string "
                              f"{est.candidates!r} instead.")
        for c in est.candidates:
            parse_candidate(c)
    if not isinstance(est.backbone, str | Backbone):
        raise ConfigError(
            f"The 'backbone' parameter of {owner} must be a backbone name such as "
            f"'minilm-l6' or a Backbone instance. Got {type(est.backbone).__name__} instead.")
