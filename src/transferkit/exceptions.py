"""The one small tree of user-facing errors.

Every error a user can cause derives from :class:`TransferKitError`, so the CLI can turn
it into a one-line message with exit code 2 instead of a traceback. Each message says what
was expected, what arrived, and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "TransferKitError",
    "DataError",
    "ConfigError",
    "BackboneError",
    "RunError",
    "NotFittedError",
    "NegativeTransferWarning",
    "SourceCollapseWarning",
]


class TransferKitError(Exception):
    """Base class of every error transferkit raises for bad input or bad configuration."""


class DataError(TransferKitError, ValueError):
    """The data cannot be used as given (missing file or column, bad labels, unreadable inputs)."""


class ConfigError(TransferKitError, ValueError):
    """A parameter is out of range, of the wrong type, or contradicts another one."""


class BackboneError(TransferKitError, ValueError):
    """A backbone cannot be found, loaded, or used for the requested job."""


class RunError(TransferKitError, OSError):
    """A run folder is missing, incomplete, or from an incompatible version."""


class NotFittedError(TransferKitError, AttributeError):
    """A model was used before ``fit`` was called."""


class NegativeTransferWarning(UserWarning):
    """Transfer from the pre-trained model did worse than training from scratch, beyond noise."""


class SourceCollapseWarning(NegativeTransferWarning):
    """Domain adaptation cost the model much of its accuracy on held-out source data."""
