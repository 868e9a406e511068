"""Shared helpers for Hugging Face backed backbones."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["quiet_hf_loading"]


@contextmanager
def quiet_hf_loading() -> Iterator[None]:
    """Hide transformers' weight-loading progress bar for the duration of a load, then restore it."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
