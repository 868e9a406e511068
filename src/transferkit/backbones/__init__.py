"""Pre-trained encoders: the contract, the registry, and the built-in backbones."""

from .base import Backbone
from .registry import (
    BACKBONES,
    backbone_catalogue,
    backbone_for_data,
    create_backbone,
    list_backbones,
    parse_backbone_spec,
    register_backbone,
)

# Importing the modules registers their backbones.
from . import custom, tabular, text  # noqa: E402,F401  isort: skip
from . import efficientnet, hub, vision  # noqa: E402,F401  isort: skip
from . import lenet  # noqa: E402,F401  isort: skip
from . import none  # noqa: E402,F401  isort: skip
from . import logmel_cnn, speech_embedding  # noqa: E402,F401  isort: skip

from .custom import TorchBackbone, register_module  # noqa: E402
from .segment import SentenceMean  # noqa: E402

__all__ = [
    "Backbone",
    "SentenceMean",
    "TorchBackbone",
    "register_module",
    "BACKBONES",
    "backbone_catalogue",
    "backbone_for_data",
    "create_backbone",
    "list_backbones",
    "parse_backbone_spec",
    "register_backbone",
]
