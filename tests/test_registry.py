import pytest

from transferkit import ConfigError, Registry
from transferkit.backbones import create_backbone, list_backbones, parse_backbone_spec
from transferkit.exceptions import BackboneError


def test_register_create_and_list():
    reg = Registry("widget")

    @reg.register("alpha", colour="red")
    def make_alpha(size=1):
        return ("alpha", size)

    assert reg.create("alpha", size=3) == ("alpha", 3)
    assert reg.names() == ["alpha"]
    assert reg.info("alpha") == {"colour": "red"}
    assert "alpha" in reg and "beta" not in reg


def test_duplicate_name_raises():
    reg = Registry("widget")
    reg.register("alpha")(lambda: 1)
    with pytest.raises(ConfigError, match="already registered"):
        reg.register("alpha")(lambda: 2)


def test_unknown_name_suggests_close_matches():
    reg = Registry("widget")
    for n in ("efficientnet-lite0", "efficientnet-lite2", "minilm-l6"):
        reg.register(n)(lambda: None)
    with pytest.raises(ConfigError) as e:
        reg.get("efficientnet-lite1")
    msg = str(e.value)
    assert "Did you mean" in msg and "'efficientnet-lite0'" in msg
    assert "Registered widgets:" in msg


def test_pattern_filter():
    assert "minilm-l6" in list_backbones("minilm*")
    assert all(n.startswith("minilm") for n in list_backbones("minilm*"))


def test_backbone_spec_parsing():
    assert parse_backbone_spec("minilm-l6@2") == ("minilm-l6", 2)
    assert parse_backbone_spec("minilm-l6") == ("minilm-l6", -1)
    assert parse_backbone_spec("hf:./models/bert@3") == ("hf:./models/bert", 3)
    assert parse_backbone_spec("hf:user/model-v1") == ("hf:user/model-v1", -1)


def test_unknown_backbone_message_names_alternatives():
    with pytest.raises(BackboneError) as e:
        create_backbone("minilm-l7")
    assert "minilm-l6" in str(e.value) and "hf:" in str(e.value)
