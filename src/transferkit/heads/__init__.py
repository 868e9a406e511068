"""Probe heads: small classifiers on frozen features (logistic, ridge, linear SVM, kNN)."""

from .base import HEADS, ProbeHead, make_probe_head, probe_head_kwargs, register_head
from .knn import KNNHead
from .linear import LinearSVMHead, RidgeHead
from .logistic import LogisticHead

__all__ = ["HEADS", "ProbeHead", "register_head", "LogisticHead", "RidgeHead", "LinearSVMHead",
           "KNNHead", "make_probe_head", "probe_head_kwargs"]
