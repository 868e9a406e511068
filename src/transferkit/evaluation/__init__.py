"""Evaluation: metrics, comparisons over data fractions and seeds, the negative-transfer verdict."""

from .metrics import classification_metrics

__all__ = ["classification_metrics"]
