"""Training-time image augmentation: what the transform does, how specs parse, where it applies."""

import numpy as np
import pytest
import torch

from transferkit.data.augment import RandomAffine, augment_inputs, parse_augment
from transferkit.exceptions import ConfigError


def _square(side: int = 28, half: int = 4) -> torch.Tensor:
    x = torch.zeros(1, 1, side, side)
    c = side // 2
    x[..., c - half:c + half, c - half:c + half] = 1.0
    return x


def test_identity_settings_leave_the_image_unchanged():
    x = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    out = RandomAffine(scale=(1.0, 1.0), translate=0.0, degrees=0.0)(x)
    assert torch.allclose(out, x, atol=1e-5)


def test_zoom_enlarges_the_content_and_shift_moves_it():
    x = _square()
    zoomed = RandomAffine(scale=(2.0, 2.0), translate=0.0, degrees=0.0)(x)
    width = lambda img: int((img[0, 0, 14] > 0.5).sum())  # noqa: E731
    assert width(x) == 8 and 15 <= width(zoomed) <= 17
    g = torch.Generator().manual_seed(1)
    shifted = RandomAffine(scale=(1.0, 1.0), translate=0.2, degrees=0.0)(x.repeat(8, 1, 1, 1), g)
    centres = [float((torch.arange(28.0) * s[0].sum(0)).sum() / s[0].sum()) for s in shifted]
    assert max(abs(c - 13.5) for c in centres) > 1.5  # moved by up to 0.2 * 28 pixels
    assert all(abs(c - 13.5) <= 0.2 * 28 + 0.5 for c in centres)


def test_the_same_generator_seed_gives_the_same_batch():
    x = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    aug = RandomAffine()
    a = aug(x, torch.Generator().manual_seed(5))
    b = aug(x, torch.Generator().manual_seed(5))
    c = aug(x, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_specs_parse_and_bad_ones_say_how_to_fix_them():
    assert parse_augment(None) is None and parse_augment("none") is None
    assert parse_augment("affine") == RandomAffine()
    a = parse_augment("affine:scale=0.9-1.5,translate=0.05,degrees=5")
    assert a.scale == (0.9, 1.5) and a.translate == 0.05 and a.degrees == 5
    for bad, words in [("mixup", "'none' or 'affine'"), ("affine:zoom=2", "unknown key"),
                       ("affine:scale=big", "not a number"), ("affine:scale=1.5-0.9", "lo <= hi"),
                       ("affine:translate=2", "fraction")]:
        with pytest.raises(ConfigError, match=words):
            parse_augment(bad)


def test_only_image_tensors_are_augmented_and_text_batches_are_refused():
    batch = {"x": _square(), "mask": torch.ones(1, 28, dtype=torch.long)}
    out = augment_inputs(batch, RandomAffine(scale=(2.0, 2.0), translate=0.0, degrees=0.0))
    assert not torch.equal(out["x"], batch["x"]) and out["mask"] is batch["mask"]
    text = {"input_ids": torch.ones(2, 7, dtype=torch.long),
            "attention_mask": torch.ones(2, 7, dtype=torch.long)}
    with pytest.raises(ConfigError, match="augment='none' for text"):
        augment_inputs(text, RandomAffine())


def test_paired_training_batches_are_augmented_but_prediction_inputs_are_not():
    import transferkit as tk
    from transferkit.adapt.training import PairedData

    bb = tk.create_backbone("lenet", seed=0)
    rng = np.random.default_rng(0)
    xs = rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)
    xt = rng.integers(0, 256, (10, 16, 16), dtype=np.uint8)
    ys = np.arange(10) % 2
    plain_data = PairedData(xs, ys, xt, bb.preprocess, seed=0)
    plain = plain_data.batch(np.arange(4))
    aug = PairedData(xs, ys, xt, bb.preprocess, seed=0, augment=RandomAffine()
                     ).batch(np.arange(4))
    assert plain["inputs"]["x"].shape == aug["inputs"]["x"].shape == (8, 1, 28, 28)
    assert not torch.allclose(plain["inputs"]["x"], aug["inputs"]["x"])
    assert torch.equal(plain["labels"], aug["labels"])
    # The backbone's own preprocess (prediction, validators) is untouched.
    rows = plain_data._ps[:4]  # the source rows of the first four pairs
    assert torch.equal(bb.preprocess(xs[rows])["x"], plain["inputs"]["x"][:4])


def test_augment_on_frozen_features_is_a_clear_error():
    import transferkit as tk

    X = np.random.default_rng(0).normal(size=(40, 2)).astype(np.float32)
    y = np.arange(40) % 2
    model = tk.DomainAdapter(method="dann", backbone="test-identity-aug", augment="affine",
                             train_backbone=False, epochs=1, baseline=False, cache=False,
                             progress=False)
    if "test-identity-aug" not in tk.list_backbones():
        tk.register_module("test-identity-aug", lambda **kw: torch.nn.Identity(),
                           modality="tabular", num_features=2)
    with pytest.raises(ConfigError, match="train_backbone=True"):
        model.fit(tk.from_arrays(X, y), tk.from_arrays(X + 1.0, y).without_labels())
    with pytest.raises(ConfigError, match="unknown policy 'cutout'.*image: affine"):
        tk.DomainAdapter(method="dann", augment="cutout").fit(tk.from_arrays(X, y),
                                                              tk.from_arrays(X, y))
