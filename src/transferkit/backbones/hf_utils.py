"""Shared helpers for Hugging Face backed backbones."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

__all__ = ["quiet_hf_loading", "reinit_hf_model", "HF_LOAD_ERRORS", "unsafe_weights_hint"]

#: what ``from_pretrained`` raises for a missing, damaged or refused model folder
HF_LOAD_ERRORS = (OSError, ValueError, KeyError, pickle.UnpicklingError)


def unsafe_weights_hint(e: BaseException) -> str:
    """A sentence for a weights file torch refused to unpickle (it may hold code), else ''."""
    if not isinstance(e, pickle.UnpicklingError):
        return ""
    return ("Its pytorch_model.bin is a pickle that torch refuses to load safely "
            "(weights_only=True), so it was not loaded: it may hold code. If you trust it, "
            "convert it to model.safetensors (model.save_pretrained(folder, "
            "safe_serialization=True)) on a machine where loading it is safe. ")


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
