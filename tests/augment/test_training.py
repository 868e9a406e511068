"""Augmentation in the training engine: training batches only, seeded, recorded, and useful."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import transferkit as tk
from transferkit.data.augment import AugmentPolicy, register_augmentation
from transferkit.data.augment.policy import AUGMENTATIONS, Knob

SEEN: list[int] = []


@pytest.fixture(scope="module", autouse=True)
def _counting_policy():
    """An image policy that counts the examples it is given (and leaves them alone)."""
    if "test-count" not in AUGMENTATIONS:

        @register_augmentation("test-count", "image", "counts the examples it augments")
        class CountPolicy(AugmentPolicy):
            KNOBS = (Knob("unused", 0.0),)

            def augment_tensors(self, inputs, generator):
                SEEN.append(int(inputs["x"].shape[0]))
                return inputs

    yield
    AUGMENTATIONS.unregister("test-count")


def _digits(mnist, per_class: int, seed: int = 0):
    return tk.sample_shots(mnist.train, per_class, seed)


def _lenet(**kw):
    return tk.TransferClassifier(backbone="lenet", strategy="scratch", batch_size=64,
                                 cache=False, progress=False, **kw)


@pytest.mark.real_data
def test_only_training_batches_are_augmented_never_validation(mnist):
    train = _digits(mnist, 30)  # 300 rows: 10 % (30) held out for validation
    SEEN.clear()
    model = _lenet(epochs=2, augment="test-count").fit(train)
    assert "val_accuracy" in model.strategy_.history[-1]  # validation did run, each epoch
    assert sum(SEEN) == 2 * 270  # two epochs of the 270 training rows, no validation row
    SEEN.clear()
    model.predict(mnist.test.subset(np.arange(50)))
    assert SEEN == []  # nor prediction


@pytest.mark.real_data
def test_the_same_seed_trains_the_same_model_another_seed_another(mnist):
    train = _digits(mnist, 10)
    test = mnist.test.subset(np.arange(200))

    def probs(seed: int, augment: str | None = "randaugment,n=2,m=9"):
        m = _lenet(epochs=1, seed=seed, augment=augment).fit(train)
        return m.predict_proba(test), m

    a, model = probs(0)
    b, _ = probs(0)
    np.testing.assert_array_equal(a, b)
    plain, _ = probs(0, None)
    assert not np.allclose(a, plain, atol=1e-4)  # the policy did change the training
    c, _ = probs(1)
    assert not np.allclose(a, c, atol=1e-4)


@pytest.mark.slow  # ~8 s of training on an idle 2-core machine, plus the report page
@pytest.mark.real_data
def test_lenet_trained_with_randaugment_learns_mnist_and_the_record_names_the_policy(
        mnist, tmp_path):
    torch.manual_seed(0)
    model = _lenet(epochs=4, augment="randaugment,n=2,m=9", augment_prob=0.5, lr=2e-3)
    model.fit(_digits(mnist, 60))  # 600 real training digits
    acc = model.score(mnist.test.subset(np.arange(1000)))
    assert acc >= 0.82, acc  # 0.867 here (seeds 0 and 1: 0.867, 0.871); chance is 0.10
    model.save(tmp_path / "run")
    record = json.loads((tmp_path / "run" / "record.json").read_text())
    aug = record["strategy"]["augment"]
    assert aug["policy"] == "randaugment" and aug["params"] == {"n": 2, "m": 9}
    assert aug["prob"] == 0.5 and aug["modality"] == "image"
    assert tk.load(tmp_path / "run").score(mnist.test.subset(np.arange(1000))) == acc
    page = Path(tk.write_report(tmp_path / "run")).read_text(encoding="utf-8")
    assert "randaugment,n=2,m=9, each training example with probability 0.5" in page


@pytest.mark.real_data
def test_the_adapter_augments_both_domains_and_records_it(mnist):
    usps = tk.load_dataset("usps")
    src, tgt = _digits(mnist, 10), tk.sample_shots(usps.train, 10, 0).without_labels()
    SEEN.clear()
    model = tk.DomainAdapter(method="source-net", backbone="lenet", augment="test-count",
                             epochs=1, steps_per_epoch=3, batch_size=16, baseline=False,
                             cache=False, progress=False).fit(src, tgt)
    assert SEEN and all(n == 32 for n in SEEN)  # 16 source + 16 target rows per batch
    assert model.strategy_.summary["augment"]["policy"] == "test-count"


def test_text_finetune_with_eda_trains_on_edited_texts(tiny_text_backbone_name):
    texts = [f"{w} is great and lovely today" for w in ("film", "book", "song")] * 20 + \
            [f"{w} is awful and boring today" for w in ("film", "book", "song")] * 20
    y = [1] * 60 + [0] * 60
    model = tk.TransferClassifier(backbone=tiny_text_backbone_name, strategy="finetune",
                                  augment="eda,alpha=0.2", epochs=3, lr=1e-2, cache=False,
                                  progress=False).fit(texts, y)
    assert model.strategy_.summary["augment"]["policy"] == "eda"
    assert model.score(texts, y) >= 0.9
