"""Bad augmentation input: one line that says what was expected, what came, and the fix."""

from __future__ import annotations

import numpy as np
import pytest

import transferkit as tk
from transferkit.cli.main import main
from transferkit.data.augment import bind_augmentation, parse_policy
from transferkit.exceptions import ConfigError


def _one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert "\n" not in msg and "Fix" in msg, msg
    return msg


def test_an_unknown_policy_lists_the_policies_of_every_modality():
    with pytest.raises(ConfigError) as e:
        parse_policy("randaugmnt")
    msg = _one_line(e)
    assert "unknown policy 'randaugmnt'" in msg and "Did you mean 'randaugment'" in msg
    assert "image: affine, crop-flip, randaugment, trivialaugment" in msg
    assert "text: eda, token-mask" in msg and "audio:" in msg and "specaugment" in msg


def test_a_policy_for_another_modality_names_the_right_ones(tiny_text_backbone_name):
    with pytest.raises(ConfigError) as e:
        bind_augmentation("eda", 1.0, tk.create_backbone("lenet"))
    msg = _one_line(e)
    assert "is a policy for text" in msg and "takes image inputs" in msg
    assert "Expected one of the image policies: affine, crop-flip, randaugment" in msg
    X, y = ["good film", "bad film"] * 5, [1, 0] * 5
    model = tk.TransferClassifier(backbone=tiny_text_backbone_name, strategy="finetune",
                                  augment="randaugment", epochs=1, progress=False, cache=False)
    with pytest.raises(ConfigError, match="Expected one of the text policies: eda, token-mask"):
        model.fit(X, y)


@pytest.mark.parametrize("spec, words", [
    ("randaugment,m=99", "m must be an int in [1, 29]; got 99"),
    ("randaugment,n=0", "n must be an int in [1, 15]; got 0"),
    ("randaugment,m=high", "m must be an int; got 'high'"),
    ("randaugment,size=3", "unknown parameter 'size'. Expected one of ['m', 'n']"),
    ("eda,alpha=0.9", "alpha must be a number in [0.0, 0.5]; got 0.9"),
    ("crop-flip,scale=1.0-0.5", "scale must be a range lo-hi in [0.01, 1.0] with lo <= hi"),
])
def test_bad_parameters_say_expected_got_and_fix(spec, words):
    with pytest.raises(ConfigError) as e:
        parse_policy(spec)
    msg = _one_line(e)
    assert words in msg and "Fix: e.g. --augment" in msg


def test_the_probe_refuses_augmentation_it_would_ignore():
    model = tk.TransferClassifier(strategy="probe", augment="eda")
    with pytest.raises(ConfigError) as e:
        model.fit(["a b c"] * 4, [0, 1, 0, 1])
    msg = str(e.value)
    assert "augment='eda' has no effect with strategy='probe'" in msg
    assert "'finetune', 'lora', 'scratch'" in msg and "Drop augment" in msg
    with pytest.raises(ConfigError, match="no effect with strategy='auto'"):
        tk.TransferClassifier(strategy="auto", augment="eda").fit(["a b"] * 4, [0, 1, 0, 1])


def test_augment_prob_must_be_a_probability():
    model = tk.TransferClassifier(backbone="lenet", strategy="scratch", augment="affine",
                                  augment_prob=1.5)
    X = np.zeros((4, 28, 28), dtype=np.uint8)
    with pytest.raises(ConfigError) as e:
        model.fit(X, [0, 1, 0, 1])
    assert "must be a probability in [0, 1]; got 1.5. Fix: e.g. augment_prob=0.5" in _one_line(e)


def test_the_command_line_says_it_in_one_line(capsys):
    code = main(["fit", "banking77", "--strategy", "finetune", "--augment", "randaugment,m=99",
                 "--out", "/nonexistent/never-written"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0
    assert err[-1].startswith("transferkit: error: augment policy 'randaugment': m must be")
