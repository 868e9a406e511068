"""transferkit: transfer learning you can measure."""

__version__ = "0.1.0"

from .backbones import (  # noqa: E402
    Backbone,
    create_backbone,
    list_backbones,
    register_backbone,
)
from .data import Dataset, DatasetSplits  # noqa: E402
from .exceptions import (  # noqa: E402
    BackboneError,
    ConfigError,
    DataError,
    NegativeTransferWarning,
    NotFittedError,
    RunError,
    TransferKitError,
)
from .features import extract_features  # noqa: E402
from .registry import Registry  # noqa: E402

__all__ = [
    "__version__",
    "Backbone",
    "BackboneError",
    "ConfigError",
    "DataError",
    "Dataset",
    "DatasetSplits",
    "NegativeTransferWarning",
    "NotFittedError",
    "Registry",
    "RunError",
    "TransferKitError",
    "create_backbone",
    "extract_features",
    "list_backbones",
    "register_backbone",
]
