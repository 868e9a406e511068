"""Datasets: the in-memory form, loaders per source kind, splits, and built-in datasets."""

from .dataset import MODALITIES, Dataset, DatasetSplits

__all__ = ["Dataset", "DatasetSplits", "MODALITIES"]
