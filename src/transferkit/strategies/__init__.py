"""Strategies: how a backbone becomes a classifier for the new task."""

from .auto import AutoStrategy
from .base import STRATEGIES, FitContext, Strategy, register_strategy
from .baseline import BaselineStrategy
from .finetune import FineTuneStrategy
from .lora import LoRAStrategy
from .probe import ProbeStrategy
from .scratch import ScratchStrategy

__all__ = ["STRATEGIES", "FitContext", "Strategy", "register_strategy", "ProbeStrategy",
           "FineTuneStrategy", "LoRAStrategy", "ScratchStrategy", "AutoStrategy",
           "BaselineStrategy"]
