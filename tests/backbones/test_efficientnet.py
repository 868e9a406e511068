"""EfficientNet-Lite0/Lite2 with the real bundled ImageNet weights, offline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import transferkit as tk
from transferkit.backbones.efficientnet import (
    LITE_VARIANTS,
    EfficientNetLite,
    convert_tf_port_state_dict,
    imagenet_classes,
)
from transferkit.exceptions import BackboneError, DataError

skdata = pytest.importorskip("skimage.data")

pytestmark = pytest.mark.real_weights


@pytest.fixture(scope="module")
def lite0():
    return tk.create_backbone("efficientnet-lite0")


@pytest.fixture(scope="module")
def lite2():
    return tk.create_backbone("efficientnet-lite2")


@pytest.fixture(scope="module")
def photos():
    """Real photos shipped with scikit-image (uint8 RGB, or grayscale for the camera)."""
    return {
        "coffee": skdata.coffee(),
        "chelsea": skdata.chelsea(),
        "rocket": skdata.rocket(),
        "camera": skdata.camera(),
    }


# Acceptable ImageNet classes per photo; a correct model ranks one of them first and all
# of them high.
EXPECTED = {
    "coffee": {"espresso", "cup", "coffee mug", "eggnog", "consomme"},
    "chelsea": {"tabby", "tiger cat", "Egyptian cat"},
    "rocket": {"missile", "projectile", "space shuttle", "drilling platform"},
    "camera": {"tripod", "reflex camera", "Polaroid camera"},
}


def _top5(bb, images) -> list[list[str]]:
    names = bb.source_classes
    with torch.inference_mode():
        logits = bb.source_logits(bb.preprocess(images))
    return [[names[i] for i in row.topk(5).indices.tolist()] for row in logits]


def test_registered_with_info():
    cat = {c["name"]: c for c in tk.backbones.backbone_catalogue("efficientnet*")}
    assert set(cat) == {"efficientnet-lite0", "efficientnet-lite2"}
    for info in cat.values():
        assert info["modality"] == "image"
        assert info["num_features"] == 1280
        assert info["license"] == "Apache-2.0"
        assert info["description"]


@pytest.mark.parametrize("variant", ["lite0", "lite2"])
def test_converted_weights_load_strict_and_cover_every_tensor(variant):
    from transferkit.backbones.efficientnet import _weights_path

    state = torch.load(_weights_path(variant), map_location="cpu", weights_only=True)
    model = EfficientNetLite(LITE_VARIANTS[variant])
    converted = convert_tf_port_state_dict(state, LITE_VARIANTS[variant])
    assert len(converted) == len(state)  # renaming is one-to-one
    result = model.load_state_dict(converted, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_sizes_and_parameter_counts(lite0, lite2):
    assert lite0.num_features == lite2.num_features == 1280
    # Published sizes, classifier included: Lite0 4.65M, Lite2 6.09M.
    assert lite0.num_params == 4_652_008
    assert lite2.num_params == 6_092_072
    assert lite0.preprocess_config["image_size"] == 224
    assert lite2.preprocess_config["image_size"] == 260
    assert len(lite0.model.stages) == 7
    assert [len(s) for s in lite2.model.stages] == [1, 3, 3, 4, 4, 5, 1]


def test_imagenet_class_list():
    names = imagenet_classes()
    assert len(names) == 1000 == len(set(names))
    assert names[0] == "tench" and names[281] == "tabby" and names[967] == "espresso"
    assert names[999] == "toilet tissue"


@pytest.mark.parametrize("which", ["lite0", "lite2"])
def test_top5_on_real_photos(which, lite0, lite2, photos):
    bb = lite0 if which == "lite0" else lite2
    tops = _top5(bb, list(photos.values()))
    for (name, _), top in zip(photos.items(), tops, strict=True):
        wanted = EXPECTED[name]
        assert top[0] in wanted or (name == "rocket" and wanted & set(top[:3])), (name, top)
        assert len(wanted & set(top)) >= 2, (name, top)


def test_coffee_is_espresso_with_high_confidence(lite0, photos):
    with torch.inference_mode():
        probs = lite0.source_logits(lite0.preprocess([photos["coffee"]])).softmax(-1)[0]
    assert lite0.source_classes[int(probs.argmax())] == "espresso"
    assert float(probs.max()) > 0.8


def test_path_pil_array_and_float_inputs_give_the_same_features(lite0, photos, tmp_path):
    img = photos["chelsea"]
    path = tmp_path / "chelsea.png"  # lossless, so the decoded file equals the array
    Image.fromarray(img).save(path)
    from_path = lite0.features([str(path)])
    from_array = lite0.features(img[None])
    from_pil = lite0.features([Image.fromarray(img)])
    from_float = lite0.features((img / 255.0)[None])
    np.testing.assert_array_equal(from_path, from_array)
    np.testing.assert_array_equal(from_pil, from_array)
    np.testing.assert_allclose(from_float, from_array, atol=1e-5)
    assert from_path.shape == (1, 1280) and from_path.dtype == np.float32


def test_grayscale_is_repeated_to_rgb(lite0, photos):
    gray = photos["camera"]
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    np.testing.assert_array_equal(lite0.features(gray[None]), lite0.features(rgb[None]))
    batch = lite0.preprocess(gray[None])["pixel_values"]
    assert batch.shape == (1, 3, 224, 224)
    # Normalised to [-1, 1], as the TensorFlow Lite models were trained.
    assert batch.min() >= -1.0 and batch.max() <= 1.0


def test_preprocess_resizes_any_shape_to_the_model_resolution(lite2):
    wide = np.random.default_rng(0).integers(0, 256, (3, 90, 400, 3), dtype=np.uint8)
    assert lite2.preprocess(wide)["pixel_values"].shape == (3, 3, 260, 260)
    tiny = [np.zeros((8, 8), np.uint8), np.ones((300, 20, 4), np.uint8) * 255]
    assert lite2.preprocess(tiny)["pixel_values"].shape == (2, 3, 260, 260)


def test_batch_results_match_single_images(lite0, photos):
    imgs = [photos["coffee"], photos["chelsea"], photos["rocket"]]
    batched = lite0.features(imgs, batch_size=3)
    single = np.concatenate([lite0.features([im]) for im in imgs])
    np.testing.assert_allclose(batched, single, atol=1e-4)


def test_intermediate_layers_have_the_documented_sizes(lite0, lite2, photos):
    # Shapes do not depend on the resolution, so a small input keeps this cheap.
    batch = {"pixel_values": torch.randn(2, 3, 64, 64)}
    for bb, sizes in [
        (lite0, [16, 24, 40, 80, 112, 192, 320, 1280]),
        (lite2, [16, 24, 48, 88, 120, 208, 352, 1280]),
    ]:
        assert bb.num_feature_layers == 8
        assert bb.feature_sizes == sizes
        with torch.inference_mode():
            for layer, size in enumerate(sizes):
                assert bb.forward_features(batch, layer=layer).shape == (2, size)
    img = photos["coffee"][None]
    np.testing.assert_array_equal(lite0.features(img, layer=7), lite0.features(img, layer=-1))
    assert not np.allclose(lite0.features(img, layer=5)[:, :16], lite0.features(img, layer=0))
    with pytest.raises(BackboneError, match="feature layers"):
        lite0.features(img, layer=8)


def test_layer_groups_ordered_and_cover_all_parameters(lite0):
    groups = lite0.layer_groups()
    names = [n for n, _ in groups]
    assert names == ["stem", *[f"stage{i}" for i in range(1, 8)], "head"]
    ids = [id(p) for _, m in groups for p in m.parameters()]
    assert len(ids) == len(set(ids))  # no parameter in two groups
    assert set(ids) == {id(p) for p in lite0.parameters()}
    # Ordered input -> output: the stem sees 3 channels, the head ends in the classifier.
    assert groups[0][1].conv.in_channels == 3
    assert groups[-1][1]["classifier"].out_features == 1000
    assert lite0.info()["layer_groups"] == names


def test_batchnorm_layers_stay_batchnorm(lite0):
    bns = [m for m in lite0.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bns) == 2 + sum(3 if b.has_expand else 2 for s in lite0.model.stages for b in s)
    assert all(m.eps == 1e-3 for m in bns)


def test_features_backpropagate_to_every_stage():
    """The fine-tuning engine needs gradients through every group (train mode, BN batches)."""
    bb = tk.create_backbone("efficientnet-lite0")
    bb.train()
    x = torch.randn(2, 3, 64, 64)
    bb.forward_features({"pixel_values": x}).sum().backward()
    for name, group in bb.layer_groups()[:-1] + [("head.conv", bb.model.head)]:
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in group.parameters()), name


def test_unreadable_files_raise_data_error_naming_the_file(lite0, photos, tmp_path):
    good = tmp_path / "good.jpg"
    Image.fromarray(photos["coffee"]).save(good, quality=90)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"this is not an image at all" * 10)
    for bad in (truncated, garbage):
        with pytest.raises(DataError, match=bad.name):
            lite0.features([str(good), str(bad)])
    with pytest.raises(DataError, match="not found"):
        lite0.features([str(tmp_path / "missing.jpg")])


def test_bad_arrays_raise_data_error_saying_what_was_expected(lite0):
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        lite0.preprocess(np.full((1, 32, 32, 3), 255.0))
    with pytest.raises(DataError, match="Channels go last"):
        lite0.preprocess(np.zeros((2, 3, 32, 32), np.uint8))  # (N, C, H, W)
    with pytest.raises(DataError, match="Wrap it in a list"):
        lite0.preprocess("image.jpg")


def test_random_prefix_gives_fresh_weights(lite0, photos):
    rnd = tk.create_backbone("random:efficientnet-lite0")
    assert rnd.name == "random:efficientnet-lite0"
    assert "random init" in rnd.source
    assert rnd.fingerprint() != lite0.fingerprint()
    w_pre = lite0.model.stages[3][0].dw_conv.weight
    w_rnd = rnd.model.stages[3][0].dw_conv.weight
    assert not torch.allclose(w_pre, w_rnd)
    # BatchNorm statistics are reset too, and the features still come out finite.
    assert torch.all(rnd.model.head.bn.running_var == 1)
    feats = rnd.features(photos["coffee"][None])
    assert np.isfinite(feats).all()
    again = tk.create_backbone("random:efficientnet-lite0")
    torch.testing.assert_close(again.model.head.conv.weight, rnd.model.head.conv.weight)


def test_smaller_image_size_for_small_inputs_round_trips_through_a_run(tmp_path):
    bb = tk.create_backbone("efficientnet-lite0", image_size=64)
    batch = bb.preprocess([np.zeros((28, 28), np.uint8)])
    assert next(iter(batch.values())).shape[-2:] == (64, 64)
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 255, size=(20, 28, 28), dtype=np.uint8)
    imgs[10:, 8:20, 8:20] = 255  # two visibly different classes
    model = tk.TransferClassifier(backbone=bb, cache=False, progress=False).fit(
        imgs, np.repeat([0, 1], 10))
    back = tk.load(model.save(tmp_path / "run"))
    assert back.backbone_.transform.image_size == 64
    np.testing.assert_allclose(back.predict_proba(imgs), model.predict_proba(imgs), atol=1e-5)
    with pytest.raises(tk.BackboneError, match="too small"):
        tk.create_backbone("efficientnet-lite0", image_size=16)
