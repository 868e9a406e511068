"""The ``lenet`` backbone: one input space for 28x28 and 16x16 digits, trainable from scratch."""

import numpy as np
import pytest
import torch

import transferkit as tk


def test_lenet_is_registered_and_maps_any_digit_size_to_500_features():
    bb = tk.create_backbone("lenet", seed=0).eval()
    assert "lenet" in tk.list_backbones() and bb.modality == "image" and not bb.rebuildable
    assert [n for n, _ in bb.layer_groups()] == ["conv1", "conv2", "fc"]
    rng = np.random.default_rng(0)
    for shape in [(3, 28, 28), (3, 16, 16), (3, 8, 8), (3, 16, 16, 1), (3, 20, 20, 3)]:
        x = rng.integers(0, 256, size=shape, dtype=np.uint8)
        batch = bb.preprocess(x)
        assert batch["x"].shape == (3, 1, 28, 28)
        assert -1.0 <= float(batch["x"].min()) and float(batch["x"].max()) <= 1.0
        with torch.no_grad():
            assert bb.forward_features(batch).shape == (3, 500)
            assert bb.forward_features(batch, layer=0).shape == (3, 800)


def test_lenet_uint8_and_unit_float_inputs_agree():
    bb = tk.create_backbone("lenet").eval()
    x = np.random.default_rng(1).integers(0, 256, size=(2, 16, 16), dtype=np.uint8)
    a = bb.preprocess(x)["x"]
    b = bb.preprocess(x.astype(np.float32) / 255.0)["x"]
    assert torch.allclose(a, b, atol=1e-6)


def test_lenet_seed_gives_the_same_weights_and_a_new_seed_others():
    a, b, c = (tk.create_backbone("lenet", seed=s) for s in (0, 0, 1))
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


@pytest.mark.slow
def test_lenet_learns_digits_from_scratch():
    ds = tk.load_dataset("digits")  # 8x8 scikit-learn digits, resized to 28x28
    model = tk.DomainAdapter(method="source-net", backbone="lenet", epochs=4, batch_size=32,
                             lr=3e-3, cache=False, progress=False, seed=0)
    model.fit(ds.train.subset(np.arange(600)), ds.test)
    assert model.score(ds.test) > 0.8


def test_lenet_channels_last_layout_gives_the_same_features_as_the_plain_layout():
    bb = tk.create_backbone("lenet", seed=0).eval()
    assert bb.conv1[0].weight.is_contiguous(memory_format=torch.channels_last)
    x = bb.preprocess(np.random.default_rng(2).integers(0, 256, (4, 28, 28), dtype=np.uint8))
    with torch.no_grad():
        fast = bb.forward_features(x)
        conv = [bb.conv1, bb.conv2]
        h = x["x"]
        for block in conv:  # the same layers on contiguous NCHW tensors and weights
            layer = block[0]
            h = torch.nn.functional.conv2d(h, layer.weight.contiguous(), layer.bias)
            for m in list(block)[1:]:
                h = m(h)
        plain = bb.fc(h.flatten(1))
    assert torch.allclose(fast, plain, atol=1e-5)
    # A state dict saved from this layout loads into a fresh network unchanged.
    other = tk.create_backbone("lenet", seed=1).eval()
    other.load_state_dict(bb.state_dict())
    with torch.no_grad():
        assert torch.allclose(other.forward_features(x), fast, atol=1e-6)


@pytest.mark.real_data
@pytest.mark.slow
def test_zoom_augmentation_carries_mnist_digits_to_usps():
    # MNIST digits fill the centre 20x20 of their frame, USPS digits the whole frame: random
    # zoom on the training images lets a network trained on MNIST read USPS.
    from tests.conftest import shared_dataset

    shared_dataset("mnist")
    shared_dataset("usps")
    mnist, usps = tk.load_dataset("mnist"), tk.load_dataset("usps")
    rng = np.random.default_rng(0)
    src = mnist.train.subset(np.sort(rng.choice(len(mnist.train), 3000, replace=False)))
    tgt = usps.train.subset(np.sort(rng.choice(len(usps.train), 1000, replace=False)))
    acc = {}
    for augment in ("none", "affine:scale=0.9-1.5"):
        model = tk.DomainAdapter(method="source-net", backbone="lenet", augment=augment,
                                 epochs=4, steps_per_epoch=100, batch_size=32, seed=0,
                                 baseline=False, val_fraction=0.05, cache=False,
                                 progress=False)
        model.fit(src, tgt.without_labels())
        acc[augment] = model.score(usps.test)
        recorded = model.strategy_.summary["augment"]
        if augment == "none":
            assert recorded is None
        else:
            assert recorded["policy"] == "affine" and recorded["modality"] == "image"
            p = recorded["params"]
            assert (tuple(p["scale"]), p["translate"], p["degrees"]) == ((0.9, 1.5), 0.05, 10.0)
    assert acc["affine:scale=0.9-1.5"] >= acc["none"] + 0.05, acc
    assert acc["affine:scale=0.9-1.5"] > 0.8, acc


@pytest.mark.real_data
def test_tuning_a_pretrained_encoder_on_augmented_images_starts_from_the_probe():
    # LP-FT with augmentation: the start is fitted on the frozen features of the images as
    # they are; the tuning after it sees them augmented.
    from tests.conftest import shared_dataset

    shared_dataset("mnist")
    shared_dataset("usps")
    mnist, usps = tk.load_dataset("mnist"), tk.load_dataset("usps")
    src, tgt = mnist.train.subset(np.arange(600)), usps.train.subset(np.arange(300))
    bb = tk.create_backbone("lenet", seed=0)
    bb.rebuildable = True  # stands in for a pre-trained encoder
    model = tk.DomainAdapter(method="source-net", backbone=bb, augment="affine",
                             unfreeze="all", epochs=1, steps_per_epoch=5, batch_size=32,
                             baseline=False, cache=False, progress=False)
    model.fit(src, tgt.without_labels())
    s = model.strategy_.summary
    assert s["head_init"]["mode"] == "probe" and s["augment"]["policy"] == "affine"
    assert s["train_backbone"] and s["steps"] == 5
