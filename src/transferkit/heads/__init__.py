"""Probe heads: small classifiers on frozen features (logistic, ridge, linear SVM, kNN)."""

from .base import HEADS, ProbeHead, register_head
from .knn import KNNHead
from .linear import LinearSVMHead, RidgeHead
from .logistic import LogisticHead

__all__ = ["HEADS", "ProbeHead", "register_head", "LogisticHead", "RidgeHead", "LinearSVMHead",
           "KNNHead"]
