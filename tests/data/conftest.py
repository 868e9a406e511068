"""Shared fixtures for the data-layer tests: tiny files written to tmp_path, real-data lookup."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from transferkit.data import find_shared_dataset
from transferkit.exceptions import DataError


def shared_or_skip(folder: str) -> Path:
    """The local copy of a shared dataset, or skip the test saying how to provide it."""
    try:
        return find_shared_dataset(folder)
    except DataError:
        pytest.skip(
            f"../shared/datasets/{folder} is absent; set TRANSFERKIT_DATA to the folder holding "
            f"'{folder}/' to run this test"
        )


@pytest.fixture
def shared():
    """``shared("mnist")``: the local copy of a shared dataset, or skip the test."""
    return shared_or_skip


@pytest.fixture
def write_png():
    """Write a small RGB PNG (or JPEG by suffix) with a given colour."""
    from PIL import Image

    def _write(path: Path, value: int = 128, size: tuple[int, int] = (12, 10)) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        arr = np.full((size[1], size[0], 3), value, dtype=np.uint8)
        Image.fromarray(arr).save(path)
        return path

    return _write
