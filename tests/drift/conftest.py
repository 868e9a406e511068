"""Real reviews for the drift tests: Amazon kitchen (the deployed model's domain) and books
(the drifted one), on frozen all-MiniLM-L6-v2 features encoded once per session."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

import transferkit as tk

#: characters kept per review: encoding stays within seconds on two busy cores
_CHARS = 160


@pytest.fixture(scope="session", autouse=True)
def _two_threads():
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def reviews(minilm):
    """``{"kitchen": 450 reviews, "books": 150}``, seeded, truncated, encoded (cached)."""
    from tests.conftest import shared_dataset

    shared_dataset("amazon_multidomain")
    rng = np.random.default_rng(0)
    out = {}
    for domain, n in (("kitchen", 450), ("books", 150)):
        ds = tk.load_dataset(f"amazon:domain={domain}").train
        # The file is sorted by label: a permutation, not sorted indices, mixes the classes.
        sub = ds.subset(rng.permutation(len(ds))[:n], name=domain)
        out[domain] = replace(sub, inputs=[t[:_CHARS] for t in sub.inputs])
    both = replace(out["kitchen"], inputs=out["kitchen"].inputs + out["books"].inputs,
                   labels=np.r_[out["kitchen"].labels, out["books"].labels], domains=None,
                   name="both")
    # One encode of all 600 reviews: every window and split below reads its rows.
    tk.extract_features(minilm, both, progress=False)
    return out


@pytest.fixture(scope="session")
def kitchen_parts(reviews):
    """(train 200, reference 150, stream 100) of the kitchen reviews."""
    k = reviews["kitchen"]
    return (k.subset(np.arange(200), name="kitchen-train"),
            k.subset(np.arange(200, 350), name="kitchen-reference"),
            k.subset(np.arange(350, 450), name="kitchen-stream"))


@pytest.fixture(scope="session")
def kitchen_model(minilm, kitchen_parts):
    """The deployed model: a logistic probe on 200 kitchen reviews."""
    return tk.TransferClassifier(backbone=minilm, C=1.0, label_prior=False,
                                 progress=False).fit(kitchen_parts[0])
