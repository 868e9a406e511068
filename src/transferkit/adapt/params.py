"""Declarations of the parameters adaptation methods read (:mod:`transferkit.utils.params`).

``FEATURE_HEAD`` is read by the feature-level methods (their probe head), ``DEEP`` by every
method trained on the engine; each method's ``PARAMS`` composes these with its own. The
estimator-level table of :class:`~transferkit.DomainAdapter` lives with it.
"""

from __future__ import annotations

from typing import Any

from ..engine.params import ENGINE_PARAMS, check_groups, parse_groups
from ..exceptions import ConfigError
from ..strategies.head_init import HEAD_INITS
from ..strategies.params import AUGMENT, COMMON, PROBE_HEAD
from ..utils.params import Param, Params

__all__ = ["ADAPT_COMMON", "FEATURE_HEAD", "DEEP", "WEIGHT_CLIP", "parse_optional_bool"]


def parse_optional_bool(text: str) -> bool | None:
    """A command-line ``true`` / ``false`` / ``none`` (``None``: decide from context)."""
    t = text.strip().lower()
    if t in ("none", "auto", ""):
        return None
    if t in ("true", "yes", "1"):
        return True
    if t in ("false", "no", "0"):
        return False
    raise ConfigError(f"Expected true, false or none; got {text!r}.")


def _check_optional_bool(owner: str, value: Any) -> None:
    if value not in (None, True, False):
        raise ConfigError(f"The 'train_backbone' parameter of {owner} must be None, True or "
                          f"False. Got {value!r} instead.")


#: every method reads the encoding batch size, seed, cache and progress settings
ADAPT_COMMON = COMMON

#: caps importance weights (reweight, KMM's bound B) and the DEV validator's weights
WEIGHT_CLIP = Param("weight_clip", "largest importance weight relative to the mean (reweight; "
                    "KMM's bound B; the DEV validator's weights)", 10.0, "float", low=1)

#: the feature-level methods' probe head
FEATURE_HEAD = PROBE_HEAD.with_("head", help="probe head of the feature-level methods: "
                                "'logistic', 'ridge', 'svm' or 'knn'")

DEEP = Params(
    Param("train_backbone", "deep methods train the backbone end to end (True) or only a "
          "bottleneck and classifier on frozen features (False); None trains randomly "
          "initialised backbones (lenet, tabular-mlp) and freezes pre-trained ones", None,
          "any", check=_check_optional_bool, parse=parse_optional_bool),
    Param("epochs", "training epochs of the deep methods (None: 20 on frozen features, 10 end "
          "to end)", None, "int", low=1),
    Param("lr", "learning rate of the deep methods' head", 1e-3, "float", low=0, low_open=True),
    Param("backbone_lr_mult", "the backbone's learning rate as a fraction of lr when it trains "
          "(None: 1 for randomly initialised backbones, 0.1 for pre-trained ones)", None,
          "float", low=0),
    Param("unfreeze", "the backbone layer groups the deep methods train: an int K (the top K), "
          "'all' or group names (any of these also turns train_backbone=None into training), "
          "0 (none: frozen features), or None (every group when the backbone trains)", None,
          "any", check=check_groups, parse=parse_groups, metavar="K|all|GROUPS"),
    Param("head_init", "how the classifier starts when a pre-trained encoder tunes: 'probe' "
          "(None, the default: the same method first fits on the frozen features and tuning "
          "starts from its bottleneck and classifier; LP-FT) or 'random'", None,
          choices=HEAD_INITS),
    Param("steps_per_epoch", "deep methods' steps per epoch (None: one pass over the larger "
          "domain)", None, "int", low=1),
    Param("tradeoff", "weight of the adaptation loss (DANN, CDAN, MMD, self-training) or of the "
          "target loss (union)", 1.0, "float", low=0),
    Param("im_weight", "weight of information maximisation on the deep methods' target "
          "predictions (confident rows, classes kept balanced; ramped up like the adversarial "
          "weight); 0 leaves it out", 0.0, "float", low=0),
    AUGMENT.with_("augment", help="augmentation policy for the training inputs of deep methods "
                  "that train the backbone, both domains alike (never the validators' or test "
                  "inputs): 'none', an image policy ('randaugment', 'randaugment,n=2,m=9', "
                  "'trivialaugment', 'crop-flip', 'affine,scale=0.9-1.5'), text ('eda', "
                  "'token-mask') or audio ('specaugment', 'shift-gain-noise', ...)"),
    Param("bottleneck_dim", "width of the deep methods' bottleneck (None: 256, but none for a "
          "randomly initialised backbone that trains, such as lenet)", None, "int", low=0),
    ENGINE_PARAMS.without("epochs", "lr_schedule", "warmup", "weight_decay", "patience",
                          "grad_accum", "checkpoint_dir", "resume"),
)
