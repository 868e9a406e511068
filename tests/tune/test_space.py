"""Search spaces: the defaults come from the declarations; a space file is checked against
them, with one-line errors that say what was expected, what arrived and how to fix it."""

from __future__ import annotations

import pytest

import transferkit as tk
from transferkit.tuning import Dimension, default_space, load_space, parse_space


def test_default_finetune_space_follows_the_declarations():
    space = default_space(tk.TransferClassifier(strategy="finetune"), n_groups=7)
    dims = space.dimensions
    assert list(dims) == ["lr", "backbone_lr_mult", "layer_decay", "unfreeze", "epochs"]
    # lr: declared default 1e-3 -> a log range a decade either side
    assert dims["lr"] == Dimension("lr", pytest.approx(1e-4), pytest.approx(1e-2), log=True)
    # layer_decay is declared in (0, 1]: the range stops at 1
    assert dims["layer_decay"].high == 1.0 and dims["layer_decay"].low == 0.5
    assert dims["backbone_lr_mult"].high == 1.0 and dims["backbone_lr_mult"].log
    # epochs: declared 3 (int) -> 2..6 integer steps
    assert (dims["epochs"].low, dims["epochs"].high, dims["epochs"].integer) == (2, 6, True)
    # unfreeze: the head only, top 1-2 groups, half of the 7 groups, all
    assert dims["unfreeze"].choices == (0, 1, 2, 3, "all")


def test_parameters_set_on_the_estimator_are_held_not_searched():
    space = default_space(tk.TransferClassifier(strategy="finetune", epochs=2, lr=1e-3))
    assert "epochs" not in space.dimensions and "lr" not in space.dimensions
    assert "backbone_lr_mult" in space.dimensions
    with pytest.raises(tk.ConfigError, match=r"leaves none of the parameters a default search "
                       r"varies unset \(C\)\. Expected at least one; fix"):
        default_space(tk.TransferClassifier(strategy="probe", C=1.0))


def test_default_probe_space_is_C_on_a_log_scale():
    dims = default_space(tk.TransferClassifier(strategy="probe")).dimensions
    assert list(dims) == ["C"]
    assert dims["C"].log and dims["C"].low == pytest.approx(1e-3) and dims["C"].high == 100


def test_space_file_replaces_or_narrows(tmp_path):
    est = tk.TransferClassifier(strategy="finetune")
    path = tmp_path / "space.yaml"
    path.write_text("lr: {low: 1e-4, high: 1e-3, log: true}\nunfreeze: [0, 2]\nepochs: 4\n")
    space = load_space(path, est, n_groups=7)
    assert set(space.dimensions) == {"lr", "unfreeze"}  # replaced: only what the file names
    assert space.dimensions["lr"].low == pytest.approx(1e-4)  # YAML 1.1 text '1e-4' -> number
    assert space.fixed == {"epochs": 4}
    narrowed = parse_space({"include_defaults": True, "lr": {"low": 1e-3, "high": 2e-3}}, est)
    assert narrowed.dimensions["lr"].high == pytest.approx(2e-3)
    assert {"backbone_lr_mult", "layer_decay", "unfreeze", "epochs"} <= set(narrowed.dimensions)


@pytest.mark.parametrize("spec, expected", [
    ({"lrr": {"low": 1e-4, "high": 1e-2}},
     r"unknown parameter 'lrr' for TransferClassifier\(strategy='finetune'\)\. Did you mean "
     r"'lr'\? Expected one of its parameters: .*backbone_lr_mult.*Fix: rename or drop it"),
    ({"lr": {"low": 1e-2, "high": 1e-4}},
     r"parameter 'lr' has an empty range: expected low < high; got low=0.01, high=0.0001\. Fix"),
    ({"epochs": {"low": 3, "high": 3}}, r"'epochs' has an empty range"),
    ({"lr": {"low": 0, "high": 1e-2, "log": True}}, r"log scale, so expected low > 0; got low=0"),
    ({"unfreeze": []}, r"'unfreeze' has an empty list of choices\. Expected at least one value"),
    ({"layer_decay": {"low": 0.5, "high": 2.0}},
     r"'layer_decay': The 'layer_decay' parameter .* must be a float in the range \(0, 1\]\. "
     r"Got 2\.0 instead\. Fix"),
    ({"lr": {"low": 1e-4}}, r"expected \{low: \.\., high: \.\., log: true\|false\}; got keys"),
    ({"epochs": 5}, r"searches no parameter"),
    (["lr"], r"must be a mapping of parameter names to ranges; got list"),
])
def test_bad_spaces_fail_with_one_line_saying_expected_got_fix(spec, expected):
    with pytest.raises(tk.ConfigError, match=expected) as e:
        parse_space(spec, tk.TransferClassifier(strategy="finetune"))
    assert "\n" not in str(e.value)


def test_unreadable_space_file(tmp_path):
    bad = tmp_path / "space.yaml"
    bad.write_text("lr: {low: 1e-4, high: [\n")
    with pytest.raises(tk.ConfigError, match=r"is not valid YAML \(line \d+\)"):
        load_space(bad, tk.TransferClassifier(strategy="finetune"))
    with pytest.raises(tk.ConfigError, match="Cannot read the space file"):
        load_space(tmp_path / "missing.yaml", tk.TransferClassifier(strategy="finetune"))
