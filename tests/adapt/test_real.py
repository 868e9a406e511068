"""A real small case: Amazon books -> kitchen reviews on frozen all-MiniLM-L6-v2 features."""

from dataclasses import replace

import numpy as np
import pytest

import transferkit as tk

pytestmark = [pytest.mark.real_weights, pytest.mark.real_data]


@pytest.fixture(scope="module")
def books_kitchen(minilm):
    from tests.conftest import shared_dataset

    shared_dataset("amazon_multidomain")
    rng = np.random.default_rng(0)
    out = []
    for domain in ("books", "kitchen"):
        ds = tk.load_dataset(f"amazon:domain={domain}").train
        idx = np.sort(np.concatenate([rng.choice(np.flatnonzero(ds.labels == c), 100,
                                                 replace=False) for c in (0, 1)]))
        sub = ds.subset(idx, name=f"amazon-{domain}")
        # Short inputs keep encoding within seconds on two busy cores.
        out.append(replace(sub, inputs=[t[:400] for t in sub.inputs]))
    return out


@pytest.mark.parametrize("method", ["coral", "reweight"])
def test_books_to_kitchen_on_frozen_minilm(books_kitchen, minilm, method):
    src, tgt = books_kitchen
    model = tk.DomainAdapter(method=method, backbone=minilm, progress=False)
    model.fit(src, tgt)
    rec = model.evaluate_target(tgt)
    # Frozen MiniLM carries sentiment from books to kitchen reviews well above chance.
    assert rec["source_only_accuracy"] > 0.65
    assert rec["target_accuracy"] > 0.55
    assert set(rec["validators"]) == {"dev", "im", "entropy", "snd", "rv"}
    assert rec["n_target_evaluated"] == 200 and rec["target_labels"] is None
    m = model.strategy_
    Xs = m.features(minilm, -1, src)
    Xt = m.features(minilm, -1, tgt)
    if method == "coral":
        # The re-coloured source covariance is much closer to the kitchen covariance.
        Ct = np.cov(Xt, rowvar=False)
        before = np.linalg.norm(np.cov(Xs, rowvar=False) - Ct)
        after = np.linalg.norm(np.cov(m.source_transform(Xs), rowvar=False) - Ct)
        assert after < 0.6 * before
    else:
        # Books and kitchen reviews are almost separable in MiniLM space: the density ratio
        # concentrates on few source reviews, and the record says so.
        w = m.summary["weights"]
        assert w["effective_sample_size"] < 0.8 * w["n_source"]
        assert w["max"] > 3 * max(w["min"], 1e-3)
