"""Evaluation: metrics, comparisons over data fractions and seeds, the negative-transfer verdict."""

from .metrics import classification_metrics
from .multilabel import label_sets, micro_f1, multi_hot, multilabel_metrics, sets_from_multi_hot

__all__ = ["classification_metrics", "label_sets", "micro_f1", "multi_hot",
           "multilabel_metrics", "sets_from_multi_hot"]
