"""The no-transfer baselines behind ``strategy="baseline"``, one module each."""

from .cnn import SmallCNN
from .hgb import GradientBoosting
from .logmel import LogMelCNN, LogMelLogistic
from .pixels import PixelLogistic
from .tfidf import TfidfLogistic

__all__ = ["TfidfLogistic", "PixelLogistic", "SmallCNN", "GradientBoosting", "LogMelLogistic",
           "LogMelCNN"]
