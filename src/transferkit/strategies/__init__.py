"""Strategies: how a backbone becomes a classifier for the new task."""

from .base import STRATEGIES, FitContext, Strategy, register_strategy
from .probe import ProbeStrategy

__all__ = ["STRATEGIES", "FitContext", "Strategy", "register_strategy", "ProbeStrategy"]
