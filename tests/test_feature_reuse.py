"""Features are computed once: the weights' hash is reused until a weight changes, and a
sample of an encoded text set takes its rows from it, even after small sets were encoded."""

import numpy as np
import torch

import transferkit as tk
from transferkit import features
from transferkit.backbones import base
from transferkit.utils import fingerprint


def test_weights_are_hashed_again_only_when_one_changed(monkeypatch, tiny_text_backbone_name):
    bb = tk.create_backbone(tiny_text_backbone_name)
    calls = []
    real = fingerprint.hash_state_dict
    monkeypatch.setattr(base, "hash_state_dict", lambda s: calls.append(1) or real(s))
    first = bb.fingerprint()
    assert bb.fingerprint() == first and len(calls) == 1  # nothing changed: not hashed again
    weight = next(bb.parameters())
    before = weight.detach().clone()
    with torch.no_grad():
        weight.add_(0.5)  # an optimiser step: in place
    moved = bb.fingerprint()
    assert moved != first and len(calls) == 2
    with torch.no_grad():
        weight.copy_(before)
    assert bb.fingerprint() == first  # the same weights give the same fingerprint
    other = tk.create_backbone(tiny_text_backbone_name)
    with torch.no_grad():
        next(other.parameters()).mul_(2.0)
    bb.load_state_dict(other.state_dict())
    assert bb.fingerprint() == other.fingerprint() != first


def test_a_sample_reuses_the_encoded_set_after_label_names(monkeypatch, tmp_path,
                                                          tiny_text_backbone_name):
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path))
    monkeypatch.setattr(features, "_TEXT_ROWS", {})
    bb = tk.create_backbone(tiny_text_backbone_name)
    rng = np.random.default_rng(0)
    texts = ["".join(rng.choice(list("abcdefgh "), 20)) + f" {i}" for i in range(400)]
    full = tk.from_arrays(texts, np.arange(400) % 4)
    X = np.asarray(tk.extract_features(bb, full, progress=False))
    for names in (["alpha", "beta"], ["gamma", "delta"], ["one", "two"], ["a", "b"], ["x"]):
        tk.extract_features(bb, tk.from_arrays(names, list(range(len(names)))), progress=False)
    encoded = []
    real = type(bb).features
    monkeypatch.setattr(type(bb), "features",
                        lambda self, inputs, **kw: encoded.append(len(inputs))
                        or real(self, inputs, **kw))
    idx = rng.permutation(400)[:100]
    sample = full.subset(idx)
    got = tk.extract_features(bb, sample, progress=False)
    assert encoded == []  # no text encoded again
    np.testing.assert_array_equal(got, X[idx])
