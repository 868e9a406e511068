"""The common backbone contract over every registered backbone: declared info, features of the
declared width, deterministic, ordered layer groups, a stable fingerprint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import transferkit as tk
from transferkit.backbones.registry import BACKBONES
from transferkit.exceptions import BackboneError

BUILT_IN = [n for n in BACKBONES.names() if not n.startswith(("test", "checks", "tiny"))]


def inputs_for(bb, n: int = 3):
    rng = np.random.default_rng(0)
    if bb.modality == "text":
        return ["a short sentence", "another one, a little longer than the first", "third"][:n]
    if bb.modality == "image":
        side = 28 if bb.name == "lenet" else 64
        shape = (n, side, side) if bb.name == "lenet" else (n, side, side, 3)
        return rng.integers(0, 256, shape, dtype=np.uint8)
    if bb.modality == "audio":  # clips of different lengths at the backbone's own rate
        return [0.1 * rng.normal(size=int(bb.sample_rate * sec)).astype(np.float32)
                for sec in (0.5, 1.3, 0.9)][:n]
    return rng.normal(size=(n, 5)).astype(np.float32)


def build(name: str):
    info = BACKBONES.info(name)
    kwargs = {"in_features": 5} if info.get("modality") == "tabular" else {}
    try:
        return tk.create_backbone(name, **kwargs)
    except BackboneError as e:  # an optional extra (speech-embedding: transferkit[audio])
        if "not installed" in str(e):
            pytest.skip(str(e))
        raise


def refuses_training(bb) -> bool:
    """A backbone declared not trainable (ONNX weights) says so when asked to train."""
    if BACKBONES.info(bb.name).get("trainable", True):
        return False
    for train in (bb.layer_groups, bb.reinitialize):
        with pytest.raises(BackboneError, match="cannot train"):
            train()
    return True


@pytest.mark.parametrize("name", BUILT_IN)
def test_declared_info_is_what_the_zoo_shows(name):
    info = BACKBONES.info(name)
    assert info["modality"] in ("text", "image", "tabular", "audio")
    assert isinstance(info["num_features"], int) and info["num_features"] > 0
    assert info.get("license"), f"{name} declares no licence for `transferkit zoo`"


@pytest.mark.parametrize("name", BUILT_IN)
def test_features_have_the_declared_width_and_are_deterministic(name):
    bb = build(name)
    assert bb.num_features == BACKBONES.info(name)["num_features"]
    x = inputs_for(bb)
    with torch.no_grad():
        a = bb.features(x, batch_size=2)
        b = bb.features(x, batch_size=3)
    assert a.shape == (3, bb.num_features) and a.dtype == np.float32
    assert np.isfinite(a).all()
    np.testing.assert_allclose(a, b, atol=1e-5)  # batching does not change a row


@pytest.mark.parametrize("name", BUILT_IN)
def test_layer_groups_run_from_input_to_output_and_cover_the_weights(name):
    bb = build(name)
    if refuses_training(bb):
        return
    groups = bb.layer_groups()
    names = [g for g, _ in groups]
    assert names and len(set(names)) == len(names)
    in_groups = {id(p) for _, m in groups for p in m.parameters()}
    weights = [p for p in bb.parameters() if p.requires_grad]
    covered = sum(p.numel() for p in weights if id(p) in in_groups)
    assert covered >= 0.9 * sum(p.numel() for p in weights)


@pytest.mark.parametrize("name", BUILT_IN)
def test_the_fingerprint_names_the_weights(name):
    a, b = build(name), build(name)
    if a.rebuildable:
        assert a.fingerprint() == b.fingerprint()
    if refuses_training(b):
        return
    b.reinitialize(seed=1)
    assert b.fingerprint() != a.fingerprint() and not b.rebuildable
