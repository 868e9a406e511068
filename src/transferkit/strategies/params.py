"""Declarations of the parameters strategies read (:mod:`transferkit.utils.params`).

``COMMON`` is read by every strategy (and by the estimators that hand it over); the others are
composed into each strategy's ``PARAMS`` table, with the defaults that strategy uses.
"""

from __future__ import annotations

from ..data.augment import check_augment_prob, parse_policy
from ..engine.params import ENGINE_PARAMS, FREEZING_PARAMS
from ..exceptions import ConfigError
from ..heads import HEADS
from ..heads.torch_heads import TORCH_HEADS
from ..utils.defaults import BATCH_SIZE as DEFAULT_BATCH_SIZE
from ..utils.params import Param, Params
from .head_init import HEAD_INITS

__all__ = ["BATCH_SIZE", "COMMON", "PROBE_HEAD", "TORCH_HEAD", "TRAINING", "SEED", "CACHE",
           "PROGRESS", "LAYER", "AUGMENT", "check_torch_head"]

#: inputs per forward pass when encoding; examples per optimiser step when training
BATCH_SIZE = Param(
    "batch_size", "inputs per forward pass when encoding; when training by gradient, examples "
    "per optimiser step (summed over devices and accumulation steps)", DEFAULT_BATCH_SIZE, "int",
    low=1)
SEED = Param("seed", "seeds every random choice; the same seed gives the same model", 0, "int",
             low=0)
CACHE = Param("cache", "keep extracted features in the on-disk cache", True, "bool")
PROGRESS = Param("progress", "show progress bars (only ever in a terminal)", True, "bool",
                 cli=False)
LAYER = Param("layer", "which feature layer to use (-1: the last; a '@k' suffix on the backbone "
              "spec wins)", -1, "int")

COMMON = Params(BATCH_SIZE, SEED, CACHE, PROGRESS)

#: the probe heads, fitted on frozen features
PROBE_HEAD = Params(
    Param("head", "probe head: 'logistic', 'ridge', 'svm' or 'knn'", "logistic",
          choices=HEADS),
    Param("C", "inverse regularisation of the logistic / SVM head; None chooses it on held-out "
          "data", None, "float", low=0, low_open=True),
)

def check_torch_head(owner: str, head: str) -> None:
    if head not in TORCH_HEADS:
        raise ConfigError(
            f"The 'head' parameter of {owner}: strategies that train by gradient train a torch "
            f"head, one of {TORCH_HEADS.names()}; got {head!r} (a probe-only head). Use "
            "head='linear' (the default for fine-tuning; 'logistic' means the same) or "
            "head='mlp'."
        )


#: a head trained by gradient with the backbone
TORCH_HEAD = Param("head", "head trained by gradient: 'linear' ('logistic' means the same) or "
                   "'mlp'", "linear", check=check_torch_head)

def _check_augment(owner: str, value: object) -> None:
    parse_policy(value)  # an unknown policy or a bad parameter fails before any fitting


#: on-the-fly augmentation of training batches (:mod:`transferkit.data.augment`)
AUGMENT = Params(
    Param("augment", "augmentation policy for training batches only (never validation or "
          "test data): 'none'; images 'randaugment' ('randaugment,n=2,m=9'), 'trivialaugment', "
          "'crop-flip', 'affine'; text 'eda' ('eda,alpha=0.1'), 'token-mask'; audio "
          "'specaugment', 'time-shift', 'gain', 'noise', 'shift-gain-noise'", None, "any",
          check=_check_augment, metavar="POLICY"),
    Param("augment_prob", "share of training examples the augment policy changes (each drawn "
          "independently, seeded), in [0, 1]", 1.0, "any", check=check_augment_prob,
          parse=float, metavar="P"),
)

TRAINING = Params(
    AUGMENT,
    FREEZING_PARAMS,
    ENGINE_PARAMS,
    TORCH_HEAD,
    Param("lr", "learning rate of the head; backbone groups get lr * backbone_lr_mult", 1e-3,
          "float", low=0, low_open=True),
    Param("l2sp", "L2-SP strength alpha: penalise the backbone's distance from its pre-trained "
          "weights (and the head's norm, with alpha/10); None or 0: off", None, "float", low=0,
          metavar="ALPHA"),
    Param("head_init", "how a linear head starts: 'probe' (fitted first as a logistic probe on "
          "the frozen features, LP-FT) or 'random'", "probe", choices=HEAD_INITS),
)
