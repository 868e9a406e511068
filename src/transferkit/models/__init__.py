"""Model kinds: the estimators users fit, predict with, save and load.

Every kind shares one base, :class:`TransferModel` (scikit-learn's estimator contract, the
fitted check, ``predict / predict_proba / score / evaluate``, ``save / load``), and registers
itself with :mod:`transferkit.runs`, so that ``transferkit.load(path)`` restores any of them.
A new kind is one module here: a class on the base, decorated with ``@register_model_kind``.
"""

from .adapter import DomainAdapter
from .base import TransferModel
from .classifier import TransferClassifier
from .lr_find import lr_find
from .multitask import MultiTaskClassifier
from .zeroshot import ZeroShotClassifier

__all__ = ["DomainAdapter", "MultiTaskClassifier", "TransferClassifier", "TransferModel",
           "ZeroShotClassifier", "lr_find"]
