"""The ``hf:`` prefix on tiny text and image models saved locally: loads offline, right
modality, sizes, features and layer groups; clear errors for folders and hub ids that are
not there."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch
import transformers

import transferkit as tk
from transferkit.backbones.hub import detect_modality
from transferkit.backbones.text import HFTextBackbone
from transferkit.backbones.vision import HFVisionBackbone
from transferkit.exceptions import BackboneError, DataError

HIDDEN = 32
WORDS = "the a cat dog sat on mat my card was declined how do i top up account".split()


def _tiny_tokenizer():
    """A BERT-style WordPiece tokenizer over a handful of words, built without any download."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]",
    ), len(vocab)


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-bert")
    tokenizer, vocab_size = _tiny_tokenizer()
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=vocab_size, hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=37, max_position_embeddings=64,
    )
    transformers.BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _save_vit(folder, with_pooler: bool) -> None:
    torch.manual_seed(0)
    config = transformers.ViTConfig(
        hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
        image_size=32, patch_size=8,
    )
    transformers.ViTModel(config, add_pooling_layer=with_pooler).save_pretrained(folder)
    transformers.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)


@pytest.fixture(scope="module")
def vit_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-vit")
    _save_vit(folder, with_pooler=True)
    return folder


@pytest.fixture(scope="module")
def vit_nopool_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-vit-nopool")
    _save_vit(folder, with_pooler=False)
    return folder


@pytest.fixture(scope="module")
def bert(bert_dir):
    return tk.create_backbone(f"hf:{bert_dir}")


@pytest.fixture(scope="module")
def vit(vit_dir):
    return tk.create_backbone(f"hf:{vit_dir}")


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, (5, 40, 48, 3), dtype=np.uint8)


def _covers_all(bb) -> bool:
    ids = [id(p) for _, m in bb.layer_groups() for p in m.parameters()]
    return len(ids) == len(set(ids)) and set(ids) == {id(p) for p in bb.parameters()}


# --- text ---------------------------------------------------------------------------------


def test_text_folder_loads_as_text_backbone(bert, bert_dir):
    assert isinstance(bert, HFTextBackbone)
    assert bert.modality == "text"
    assert bert.num_features == HIDDEN
    assert bert.name == f"hf:{bert_dir.resolve()}"
    assert bert.num_feature_layers == 3  # embeddings + 2 blocks


def test_text_features_are_masked_means(bert):
    texts = ["my card was declined", "the cat sat on the mat", "how do i top up my account"]
    feats = bert.features(texts, batch_size=2)
    assert feats.shape == (3, HIDDEN) and np.isfinite(feats).all()
    assert not np.allclose(feats[0], feats[1])
    # Batching and padding do not change a text's vector.
    alone = bert.features([texts[1]])
    np.testing.assert_allclose(feats[1], alone[0], atol=1e-5)
    for layer in range(bert.num_feature_layers):
        assert bert.features(texts, layer=layer).shape == (3, HIDDEN)


def test_text_layer_groups(bert):
    names = [n for n, _ in bert.layer_groups()]
    assert names == ["embeddings", "layer.0", "layer.1"]


def test_sentence_transformers_folder_keeps_its_pooling(bert_dir, tmp_path):
    import shutil

    folder = tmp_path / "st"
    shutil.copytree(bert_dir, folder)
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    modules = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    (folder / "modules.json").write_text(json.dumps([
        {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
        for i, (path, kind) in enumerate(modules)
    ]))
    (folder / "README.md").write_text("---\nlicense: apache-2.0\ntags: [x]\n---\n# card\n")
    bb = tk.create_backbone(f"hf:{folder}")
    assert bb.pooling == "cls" and bb.normalize and bb.license == "apache-2.0"
    np.testing.assert_allclose(np.linalg.norm(bb.features(["the cat"]), axis=1), 1.0, atol=1e-5)
    # Explicit arguments win over the folder's declaration.
    plain = tk.create_backbone(f"hf:{folder}", pooling="mean", normalize=False)
    assert plain.pooling == "mean" and not plain.normalize


# --- images -------------------------------------------------------------------------------


def test_image_folder_loads_as_vision_backbone(vit, vit_dir):
    assert isinstance(vit, HFVisionBackbone)
    assert vit.modality == "image"
    assert vit.num_features == HIDDEN
    assert vit.name == f"hf:{vit_dir.resolve()}"
    assert vit.num_feature_layers == 3  # embeddings, block 0, final (block 1 + norm + pooler)
    assert vit.info()["modality"] == "image"


def test_image_features_use_the_trained_pooler(vit, images):
    feats = vit.features(images, batch_size=2)
    assert feats.shape == (5, HIDDEN) and np.isfinite(feats).all()
    with torch.inference_mode():
        pixels = vit.preprocess(images)["pixel_values"]
        expected = vit.model(pixel_values=pixels).pooler_output.numpy()
    assert pixels.shape == (5, 3, 32, 32)
    np.testing.assert_allclose(feats, expected, atol=1e-5)


def test_untrained_pooler_is_not_used(vit_nopool_dir, images):
    bb = tk.create_backbone(f"hf:{vit_nopool_dir}")
    with torch.inference_mode():
        out = bb.model(pixel_values=bb.preprocess(images)["pixel_values"])
    np.testing.assert_allclose(
        bb.features(images), out.last_hidden_state.mean(dim=1).numpy(), atol=1e-5
    )


def test_image_intermediate_layers(vit, images):
    with torch.inference_mode():
        hidden = vit.model(
            pixel_values=vit.preprocess(images)["pixel_values"], output_hidden_states=True
        ).hidden_states
    for layer in range(vit.num_feature_layers - 1):
        np.testing.assert_allclose(
            vit.features(images, layer=layer), hidden[layer].mean(dim=1).numpy(), atol=1e-5
        )
    np.testing.assert_array_equal(vit.features(images, layer=2), vit.features(images))


def test_image_layer_groups_ordered_and_complete(vit):
    groups = vit.layer_groups()
    assert [n for n, _ in groups] == ["embeddings", "layer.0", "layer.1", "final"]
    assert _covers_all(vit)
    assert groups[0][1] is vit.model.embeddings
    final_params = {id(p) for p in groups[-1][1].parameters()}
    assert {id(p) for p in vit.model.layernorm.parameters()} <= final_params


def test_image_inputs_share_the_efficientnet_loading(vit, tmp_path):
    from PIL import Image

    path = tmp_path / "x.png"
    img = np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    Image.fromarray(img).save(path)
    np.testing.assert_array_equal(vit.features([str(path)]), vit.features(img[None]))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 nope")
    with pytest.raises(DataError, match="bad.jpg"):
        vit.features([str(bad)])


def test_random_prefix_reinitialises_hf_weights(vit, vit_dir, images):
    rnd = tk.create_backbone(f"random:hf:{vit_dir}")
    assert rnd.fingerprint() != vit.fingerprint()
    assert not rnd.rebuildable
    assert not np.allclose(rnd.features(images), vit.features(images))


# --- detection and errors -----------------------------------------------------------------


def test_modality_detection_from_configs():
    assert detect_modality(transformers.BertConfig()) == "text"
    assert detect_modality(transformers.ViTConfig()) == "image"
    assert detect_modality(transformers.ConvNextConfig()) == "image"
    with pytest.raises(BackboneError, match="two-tower"):
        detect_modality(transformers.CLIPConfig())


def test_missing_folder_fails_fast_with_a_helpful_message(tmp_path):
    start = time.monotonic()
    with pytest.raises(BackboneError, match="does not exist") as err:
        tk.create_backbone(f"hf:{tmp_path / 'no' / 'such' / 'model'}")
    assert time.monotonic() - start < 2
    assert "hub id" in str(err.value)


def test_folder_without_config_says_what_is_expected(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(BackboneError, match="config.json") as err:
        tk.create_backbone(f"hf:{tmp_path}")
    assert "weights.bin" in str(err.value) and "save_pretrained" in str(err.value)


def test_uncached_hub_id_offline_fails_fast(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(BackboneError, match="unreachable") as err:
        tk.create_backbone("hf:transferkit-tests/surely-not-cached-model")
    assert time.monotonic() - start < 5
    assert "hf download transferkit-tests/surely-not-cached-model" in str(err.value)


def test_bad_arguments_are_rejected(vit_dir, bert_dir):
    with pytest.raises(BackboneError, match="needs a model"):
        tk.create_backbone("hf:")
    with pytest.raises(BackboneError, match="modality"):
        tk.create_backbone(f"hf:{vit_dir}", modality="audio")
    with pytest.raises(BackboneError, match="'mean' or 'cls'"):
        tk.create_backbone(f"hf:{bert_dir}", pooling="pooler")


@pytest.mark.real_weights
def test_real_sentence_transformers_folder_matches_the_registered_backbone(minilm):
    """hf:<the bundled all-MiniLM-L6-v2 folder> reads its mean pooling, normalisation and
    licence from the folder and gives the registered 'minilm-l6' features exactly."""
    from transferkit.backbones.text import minilm_l6_path

    bb = tk.create_backbone(f"hf:{minilm_l6_path()}")
    assert isinstance(bb, HFTextBackbone)
    assert (bb.pooling, bb.normalize, bb.license) == ("mean", True, "apache-2.0")
    texts = ["my card was declined", "how do I top up my account?"]
    np.testing.assert_allclose(bb.features(texts), minilm.features(texts), atol=1e-6)
