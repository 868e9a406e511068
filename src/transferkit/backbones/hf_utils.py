"""Shared helpers for Hugging Face backed backbones."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

__all__ = ["quiet_hf_loading", "reinit_hf_model"]


@contextmanager
def quiet_hf_loading() -> Iterator[None]:
    """Hide transformers' weight-loading progress bar during a load, then restore it."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def reinit_hf_model(model: nn.Module) -> None:
    """Re-draw every weight of a transformers model with its own ``_init_weights``.

    transformers >= 5 marks loaded tensors ``_is_hf_initialized`` and its initialisers skip
    them, so a plain ``model.apply(model._init_weights)`` after ``from_pretrained`` silently
    keeps the pre-trained weights. The marks are cleared first.
    """
    for m in model.modules():
        if getattr(m, "_is_hf_initialized", False):
            m._is_hf_initialized = False
    for t in [*model.parameters(), *model.buffers()]:
        if getattr(t, "_is_hf_initialized", False):
            t._is_hf_initialized = False
    model.apply(model._init_weights)
