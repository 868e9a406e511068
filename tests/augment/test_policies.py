"""What each policy does to real inputs: seeded, shape- and range-preserving, label-keeping."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import transferkit as tk
from transferkit.data.augment import bind_augmentation, parse_policy
from transferkit.data.augment.text import eda_edit_budget
from transferkit.engine import ExampleData


@pytest.fixture(scope="module")
def lenet():
    return tk.create_backbone("lenet", seed=0)


@pytest.mark.real_data
@pytest.mark.parametrize("spec", ["randaugment,n=2,m=9", "trivialaugment",
                                  "crop-flip,scale=0.5-1.0,hflip=0.5", "affine"])
def test_same_seed_same_images_other_seed_other_images(lenet, digit_images, spec):
    aug = bind_augmentation(spec, 1.0, lenet)
    clean = lenet.preprocess(digit_images)
    a = aug.tensors(dict(clean), seed=11)["x"]
    b = aug.tensors(dict(clean), seed=11)["x"]
    c = aug.tensors(dict(clean), seed=12)["x"]
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    # Shape and value range of an un-augmented batch (lenet maps pixels to [-1, 1]).
    assert a.shape == clean["x"].shape == (64, 1, 28, 28) and a.dtype == clean["x"].dtype
    assert float(a.min()) >= -1.0 - 1e-5 and float(a.max()) <= 1.0 + 1e-5
    changed = (a != clean["x"]).flatten(1).any(1)
    assert int(changed.sum()) >= 32  # the policy really acts on most images


@pytest.mark.real_data
@pytest.mark.parametrize("spec", ["randaugment,n=2,m=9", "trivialaugment", "crop-flip"])
def test_kornia_policies_seed_only_the_cpu_generator(lenet, digit_images, spec, monkeypatch):
    """Kornia samples on the CPU. Seeding every device (``torch.manual_seed``) would reseed the
    training loop's GPU generators, which ``fork_rng(devices=[])`` does not restore."""
    seeded = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", seeded.append)
    state = torch.get_rng_state()
    bind_augmentation(spec, 1.0, lenet).tensors(lenet.preprocess(digit_images), seed=5)
    assert seeded == []
    assert torch.equal(torch.get_rng_state(), state)


def test_rgb_images_with_imagenet_style_normalisation_keep_their_range():
    bb = tk.create_backbone("efficientnet-lite0", pretrained=False, image_size=32)
    imgs = np.random.default_rng(0).integers(0, 256, (8, 40, 40, 3), dtype=np.uint8)
    clean = bb.preprocess(list(imgs))["pixel_values"]
    out = bind_augmentation("randaugment,n=3,m=15", 1.0, bb).tensors(
        {"pixel_values": clean}, seed=3)["pixel_values"]
    assert out.shape == clean.shape == (8, 3, 32, 32)
    assert float(out.min()) >= -1.0 - 1e-5 and float(out.max()) <= 1.0 + 1e-5


@pytest.mark.real_data
def test_augment_prob_changes_about_that_share_of_the_examples(lenet, digit_images):
    clean = lenet.preprocess(digit_images)["x"]
    for prob, lo, hi in [(0.0, 0, 0), (0.5, 20, 44), (1.0, 60, 64)]:
        out = bind_augmentation("affine,degrees=20", prob, lenet).tensors({"x": clean}, 5)["x"]
        n = int((out != clean).flatten(1).any(1).sum())
        assert lo <= n <= hi, (prob, n)


def _word_edit_distance(a: list[str], b: list[str]) -> int:
    d = list(range(len(b) + 1))
    for i, wa in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, wb in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (wa != wb))
    return d[-1]


@pytest.mark.real_data
def test_eda_keeps_the_label_and_edits_at_most_alpha_of_the_words(sst2_sentences):
    texts = sst2_sentences[:100]
    labels = np.arange(len(texts)) % 2
    bb = tk.create_backbone("tiny-chars")

    def texts_the_model_sees(data: ExampleData, seed: int) -> tuple[list[str], dict]:
        seen: list[str] = []
        data.preprocess = lambda rows: (seen.extend(rows), {"x": torch.zeros(len(rows), 1)})[1]
        return seen, data.batch(np.arange(len(texts)), augment_seed=seed)

    for alpha in (0.1, 0.2):
        aug = bind_augmentation(f"eda,alpha={alpha}", 1.0, bb)
        data = ExampleData(texts, labels, None, augment=aug)
        seen, batch = texts_the_model_sees(data, 7)
        assert torch.equal(batch["labels"], torch.as_tensor(labels))  # the label never changes
        edits = [_word_edit_distance(t.split(), s.split()) for t, s in zip(texts, seen,
                                                                          strict=True)]
        budgets = [eda_edit_budget(len(t.split()), alpha) for t in texts]
        assert all(e <= b for e, b in zip(edits, budgets, strict=True))
        assert all(e <= alpha * len(t.split()) for e, t in zip(edits, texts, strict=True))
        assert sum(e > 0 for e in edits) >= 90  # nearly every text was edited
        # Every word of an edited text comes from its own text (no vocabulary from elsewhere).
        assert all(set(s.split()) <= set(t.split()) for t, s in zip(texts, seen, strict=True))
    assert texts_the_model_sees(data, 7)[0] == seen  # the same seed, the same texts
    assert texts_the_model_sees(data, 8)[0] != seen  # another seed, other texts


class _MiniLMTokenizer:
    """MiniLM's own tokenizer (bundled, offline) without loading its weights: all that
    token masking reads from a text backbone."""

    modality, name = "text", "minilm-l6 tokenizer"

    def __init__(self) -> None:
        from transformers import AutoTokenizer

        from transferkit.backbones.text import minilm_l6_path

        self.tokenizer = AutoTokenizer.from_pretrained(str(minilm_l6_path()))

    def preprocess(self, texts):
        return dict(self.tokenizer(list(texts), padding=True, return_tensors="pt"))


@pytest.mark.real_data
def test_token_mask_uses_the_tokenizers_mask_token_on_real_tokens_only(sst2_sentences):
    bb = _MiniLMTokenizer()
    aug = bind_augmentation("token-mask,p=0.15", 1.0, bb)
    clean = bb.preprocess(sst2_sentences[:16])
    out = aug.tensors({k: v.clone() for k, v in clean.items()}, seed=1)
    masked = out["input_ids"] == bb.tokenizer.mask_token_id
    assert bb.tokenizer.mask_token == "[MASK]"
    real = clean["attention_mask"].bool() & ~torch.isin(
        clean["input_ids"], torch.tensor(bb.tokenizer.all_special_ids))
    assert bool((masked <= real).all())  # never CLS, SEP or padding
    want = (real.sum(1).float() * 0.15).round().clamp_min(1)
    assert torch.equal(masked.sum(1).float(), want)
    assert torch.equal(out["input_ids"][~masked], clean["input_ids"][~masked])


def test_audio_policies_keep_the_shape_and_are_seeded():
    bb = tk.create_backbone("logmel-cnn")
    t = torch.arange(16000) / 16000
    waves = torch.stack([torch.sin(2 * torch.pi * f * t) for f in (300, 800, 1500, 3000)])
    for spec in ("specaugment", "time-shift", "gain", "noise", "shift-gain-noise"):
        aug = bind_augmentation(spec, 1.0, bb)
        a = aug.tensors({"audio": waves.clone()}, seed=4)["audio"]
        b = aug.tensors({"audio": waves.clone()}, seed=4)["audio"]
        c = aug.tensors({"audio": waves.clone()}, seed=5)["audio"]
        assert a.shape == waves.shape and torch.equal(a, b) and not torch.equal(a, c), spec
    # SpecAugment's frequency masks cut whole bands out of the spectrum.
    only_freq = bind_augmentation("specaugment,freq_masks=1,freq_width=0.3,time_masks=0", 1.0,
                                  bb)
    out = only_freq.tensors({"audio": waves.clone()}, seed=0)["audio"]
    spectrum = torch.fft.rfft(out, dim=1).abs()
    assert int((spectrum < 1e-3).sum()) > 0.05 * spectrum.numel()


def test_specs_round_trip_and_record_every_parameter():
    p = parse_policy("randaugment,n=3,m=12")
    assert parse_policy(p.spec_string()) == p
    assert parse_policy("randaugment:n=3,m=12") == p  # the older "name:key=value" form
    assert p.spec() == {"policy": "randaugment", "modality": "image",
                        "params": {"n": 3, "m": 12}}
    assert parse_policy("none") is None and parse_policy(None) is None
    assert set(tk.list_augmentations("text")) == {"eda", "token-mask"}
    assert {"randaugment", "trivialaugment", "crop-flip"} <= set(tk.list_augmentations("image"))
    assert {"specaugment", "time-shift", "gain", "noise"} <= set(tk.list_augmentations("audio"))
