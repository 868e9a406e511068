"""The common checks over every registered strategy (as scikit-learn's
``parametrize_with_checks``): a strategy registered later is covered without a new test."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

import transferkit as tk
from transferkit.exceptions import ConfigError
from transferkit.strategies import STRATEGIES

from .conftest import TEXT_BACKBONE, bad_value, same_state, state, text_data

BUILT_IN = [n for n in STRATEGIES.names() if not n.startswith("test")]
# Quick settings, given only to the strategies that declare them.
QUICK = {"epochs": 40, "num_iterations": 2, "max_pairs": 60}


def make(name: str, **extra) -> tk.TransferClassifier:
    table = STRATEGIES.get(name).PARAMS
    kw = {"backbone": TEXT_BACKBONE, "cache": False, "progress": False,
          **{k: v for k, v in QUICK.items() if k in table}, **extra}
    return tk.TransferClassifier(strategy=name, **kw)


@pytest.fixture(scope="module")
def data():
    return text_data(0), text_data(1, per_class=5)


@pytest.fixture(scope="module")
def fits(data):
    """One fit of each strategy, shared by every check that only reads a fitted model (fits
    dominate this module's time): ``{name: (model, what model.fit returned)}``."""
    train, _ = data
    out = {}
    for name in BUILT_IN:
        model = make(name)
        out[name] = (model, model.fit(train))
    return out


@pytest.fixture(scope="module")
def fitted(fits):
    return {name: model for name, (model, _) in fits.items()}


@pytest.mark.parametrize("name", BUILT_IN)
def test_fit_returns_self_and_probabilities_are_sound(name, data, fits):
    _, test = data
    model, returned = fits[name]
    assert returned is model
    p = model.predict_proba(test)
    assert p.shape == (len(test), 3) and np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    assert list(model.classes_) == ["apple", "kiwi", "mango"]
    assert 0.0 <= model.score(test) <= 1.0


@pytest.mark.parametrize("name", BUILT_IN)
def test_learns_the_letters(name, fitted, data):
    _, test = data
    # Three classes that the letters separate: every strategy beats chance (1/3) clearly.
    assert fitted[name].score(test) >= 0.6, fitted[name].strategy_.summary


@pytest.mark.parametrize("name", BUILT_IN)
def test_clone_and_get_params_round_trip(name, fitted):
    model = fitted[name]
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert not hasattr(twin, "strategy_")


@pytest.mark.parametrize("name", BUILT_IN)
def test_save_load_gives_the_same_predictions(name, fitted, data, tmp_path):
    _, test = data
    model = fitted[name]
    back = tk.load(model.save(tmp_path / name))
    assert type(back) is tk.TransferClassifier and back.get_params() == model.get_params()
    np.testing.assert_allclose(back.predict_proba(test), model.predict_proba(test), atol=1e-6)


@pytest.mark.parametrize("name", BUILT_IN)
def test_the_same_seed_gives_the_same_numbers(name, fitted, data):
    train, test = data
    again = make(name).fit(train)
    np.testing.assert_allclose(again.predict_proba(test), fitted[name].predict_proba(test),
                               atol=1e-6)


@pytest.mark.parametrize("name", BUILT_IN)
def test_a_backbone_the_strategy_does_not_train_does_not_move(name, data):
    train, _ = data
    bb = tk.create_backbone(TEXT_BACKBONE)
    before = state(bb)
    model = make(name, backbone=bb).fit(train)
    assert same_state(state(bb), before), "fit changed the backbone object it was given"
    if not model.strategy_.uses_backbone:
        # A no-transfer baseline: no encoder is loaded, let alone trained.
        assert not state(model.backbone_) and model.backbone_.num_features == 0
    elif not model.strategy_.trains_backbone:
        assert same_state(state(model.backbone_), before)


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_declared_bound_is_enforced_before_fitting(name, data):
    train, _ = data
    checked = 0
    for pname, p in STRATEGIES.get(name).PARAMS.items():
        bad = bad_value(p)
        if bad is None:
            continue
        with pytest.raises(ConfigError, match=pname):
            make(name, **{pname: bad}).fit(train)
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("name", BUILT_IN)
def test_a_keyword_the_strategy_does_not_read_is_refused(name, data):
    train, _ = data
    declared = set(STRATEGIES.get(name).PARAMS)
    foreign = next(k for k in ("lora_r", "shrinkage", "pair_batch_size", "C")
                   if k not in declared)
    with pytest.raises(ConfigError, match=f"{foreign}=.*has no effect with strategy='{name}'"):
        make(name, **{foreign: 2}).fit(train)
