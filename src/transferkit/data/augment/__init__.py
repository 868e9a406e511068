"""Training-time augmentation: registered policies for images, text and audio.

:mod:`.policy` holds the base class, the registry and the spec strings (``"randaugment,n=2,
m=9"``); :mod:`.images`, :mod:`.text` and :mod:`.audio` register the policies;
:mod:`.augmenter` binds one to a backbone and applies it, seeded, to training batches only.
:mod:`.affine` is the zoom / shift / rotation transform the adapter had before the registry.
"""

from . import audio, images, text  # noqa: F401  (registers the policies)
from .affine import RandomAffine, augment_inputs, parse_augment
from .augmenter import Augmenter, bind_augmentation, check_augment_prob, context_for
from .policy import (
    AUGMENTATIONS,
    AugmentContext,
    AugmentPolicy,
    Knob,
    list_augmentations,
    parse_policy,
    register_augmentation,
)

__all__ = ["AUGMENTATIONS", "AugmentContext", "AugmentPolicy", "Augmenter", "Knob",
           "RandomAffine", "augment_inputs", "bind_augmentation", "check_augment_prob",
           "context_for", "list_augmentations", "parse_augment", "parse_policy",
           "register_augmentation"]
