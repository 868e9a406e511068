"""Real kitchen reviews (Amazon multi-domain, ../shared/datasets), short, for pre-training tests."""

from __future__ import annotations

import pandas as pd
import pytest

import transferkit as tk
from transferkit.data import find_shared_dataset
from transferkit.exceptions import DataError


@pytest.fixture(scope="session", autouse=True)
def _two_threads(two_torch_threads):
    """Every test in this folder runs torch on at most two threads."""


@pytest.fixture(scope="session")
def kitchen():
    """The 2,000 labelled kitchen reviews (labels are ignored by pre-training)."""
    try:
        find_shared_dataset("amazon_multidomain")
    except DataError:
        pytest.skip("../shared/datasets/amazon_multidomain is absent; set TRANSFERKIT_DATA to "
                    "the folder holding it to run the pre-training tests")
    return tk.load_dataset("amazon", domain="kitchen").train


@pytest.fixture(scope="session")
def short_reviews(kitchen):
    """48 real reviews cut to their first 200 characters (short steps on a CPU)."""
    return [t[:200] for t in kitchen.inputs[:48]]


@pytest.fixture(scope="session")
def reviews_csv(tmp_path_factory, short_reviews):
    path = tmp_path_factory.mktemp("data") / "kitchen_unlabelled.csv"
    pd.DataFrame({"review": short_reviews}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def usps():
    """Real USPS digits (16x16 gray), ../shared/datasets/usps."""
    try:
        find_shared_dataset("usps")
    except DataError:
        pytest.skip("../shared/datasets/usps is absent; set TRANSFERKIT_DATA to the folder "
                    "holding it to run the SimCLR tests")
    return tk.load_dataset("usps")
