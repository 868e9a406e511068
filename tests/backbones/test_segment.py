"""Texts embedded sentence by sentence (``<backbone>+sentences``, zero-shot ``segment=``)."""

from __future__ import annotations

import numpy as np
import pytest

import transferkit as tk
from transferkit import BackboneError
from transferkit.backbones import SentenceMean
from transferkit.backbones.registry import declared_modality
from transferkit.backbones.segment import split_sentences


def test_split_sentences_at_ends_and_line_breaks():
    assert split_sentences("Great pan. It broke after a week! Would I buy it again? No.") == [
        "Great pan.", "It broke after a week!", "Would I buy it again?", "No."]
    assert split_sentences('He said "stop." Then left.\nFive stars') == [
        'He said "stop."', "Then left.", "Five stars"]
    # One sentence (or nothing to split) is the text itself, untouched.
    assert split_sentences("  one sentence without an end  ") == ["  one sentence without an end  "]
    assert split_sentences("") == [""]
    # Fragments too short to be sentences (bullets, stray marks) are dropped.
    assert split_sentences("Good. - \n. Sturdy and cheap.") == ["Good.", "Sturdy and cheap."]


def test_features_are_the_mean_of_the_sentence_features(tiny_text_backbone_name):
    inner = tk.create_backbone(tiny_text_backbone_name)
    seg = SentenceMean(inner)
    texts = ["Sharp knife. Dull after a month!", "one sentence only", "A. Bb. Ccc dd."]
    got = seg.features(texts)
    S = inner.features(["Sharp knife.", "Dull after a month!"])
    np.testing.assert_allclose(got[0], S.mean(0), rtol=1e-5, atol=1e-6)
    # A single sentence is encoded as the inner backbone encodes it (to float rounding).
    np.testing.assert_allclose(got[1], inner.features(["one sentence only"])[0], rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(got[2], inner.features(["Bb.", "Ccc dd."]).mean(0), rtol=1e-5)
    # Into a preallocated array (the feature cache's memory map), in blocks.
    out = np.zeros_like(got)
    assert seg.features(texts, out=out) is out
    np.testing.assert_array_equal(out, got)


def test_min_tokens_leaves_short_texts_whole(tiny_text_backbone_name):
    inner = tk.create_backbone(tiny_text_backbone_name)  # no tokenizer: words are counted
    seg = SentenceMean(inner, min_tokens=5)
    short, long = "Card lost. Help me.", "I lost my card abroad. Please send a new one."
    got = seg.features([short, long])
    np.testing.assert_allclose(got[0], inner.features([short])[0], rtol=1e-5, atol=1e-6)
    parts = inner.features(["I lost my card abroad.", "Please send a new one."])
    np.testing.assert_allclose(got[1], parts.mean(0), rtol=1e-5, atol=1e-6)
    assert seg.fingerprint() != SentenceMean(inner).fingerprint()


def test_spec_suffix_builds_the_wrapper_with_its_own_fingerprint(tiny_text_backbone_name):
    spec = f"{tiny_text_backbone_name}+sentences"
    bb = tk.create_backbone(spec)
    inner = tk.create_backbone(tiny_text_backbone_name)
    assert isinstance(bb, SentenceMean) and bb.name == spec
    assert bb.preprocess_config["segment"] == "sentences"
    # Other features: other cache entries and other run fingerprints.
    assert bb.fingerprint() != inner.fingerprint()
    assert declared_modality("minilm-l6+sentences@3") == "text"
    # Training strategies run the inner forward on whole texts; its layer groups are the inner's.
    assert [n for n, _ in bb.layer_groups()] == [n for n, _ in inner.layer_groups()]
    assert SentenceMean(bb).inner is bb.inner  # wrapping twice does not split twice


def test_a_probe_on_sentence_features_saves_and_loads(tiny_text_backbone_name, tmp_path):
    rng = np.random.default_rng(0)
    good, bad = ["Great. Works well.", "Love it. Sturdy."], ["Awful. Broke.", "Bad. Returned it."]
    X = [str(rng.choice(good if i % 2 else bad)) for i in range(40)]
    y = ["pos" if i % 2 else "neg" for i in range(40)]
    spec = f"{tiny_text_backbone_name}+sentences"
    model = tk.TransferClassifier(backbone=spec, strategy="probe", progress=False).fit(X, y)
    assert model.score(X, y) == 1.0
    model.save(tmp_path / "run")
    loaded = tk.load(tmp_path / "run")
    assert isinstance(loaded.backbone_, SentenceMean)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)


def test_a_backbone_that_is_not_text_cannot_be_split():
    with pytest.raises(BackboneError, match=r"needs a text backbone.*Drop '\+sentences'"):
        tk.create_backbone("lenet+sentences")


@pytest.mark.real_weights
@pytest.mark.slow
def test_zero_shot_sentiment_on_reviews_gains_from_sentences(minilm, small_vocab, tmp_path):
    """Amazon kitchen reviews, label names alone (with a thinned vocabulary for the
    neighbours), prior-calibrated on the same reviews without labels: whole 62.7 %, auto
    69.3 %, every review sentence by sentence 74.7 % on these 300 (benchmarks/
    bench_sentences.py measures all 1,000 test reviews with the full vocabulary)."""
    from tests.conftest import shared_dataset

    shared_dataset("amazon_multidomain")  # skips, saying so, where the data are absent
    ds = tk.load_dataset("amazon", domain="kitchen", test_size=0.5, seed=0)
    test = tk.data.sample_fraction(ds.test, 0.3, seed=0)
    acc = {}
    for segment in ("whole", "auto", "sentences"):
        zs = tk.ZeroShotClassifier(backbone=minilm, labels=["negative", "positive"],
                                   calibrate="prior", segment=segment, progress=False)
        acc[segment] = zs.fit(test.without_labels()).score(test)
    assert acc["sentences"] >= 0.72 and acc["sentences"] >= acc["whole"] + 0.08, acc
    assert acc["auto"] >= acc["whole"] + 0.04, acc  # the longer reviews alone are split
    # A saved run embeds as it was fitted: the resolved segmenting is stored with it.
    zs.save(tmp_path / "zs")
    loaded = tk.load(tmp_path / "zs")
    assert loaded.settings().segment == "sentences" and loaded.score(test) == acc["sentences"]
