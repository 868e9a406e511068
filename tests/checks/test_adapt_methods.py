"""The common checks over every registered adaptation method, through ``DomainAdapter``:
a method registered later is covered without a new test."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

import transferkit as tk
from transferkit.adapt import ADAPT_METHODS
from transferkit.exceptions import ConfigError

from .conftest import TABLE_BACKBONE, bad_value, moons, same_state, state

BUILT_IN = [n for n in ADAPT_METHODS.names() if not n.startswith("test")]
QUICK = {"epochs": 4, "n_estimators": 3, "subspace_dim": 2}


def make(name: str, **extra) -> tk.DomainAdapter:
    table = ADAPT_METHODS.get(name).PARAMS
    kw = {"backbone": TABLE_BACKBONE, "cache": False, "progress": False, "baseline": False,
          **{k: v for k, v in QUICK.items() if k in table}, **extra}
    if ADAPT_METHODS.info(name).get("needs_target_labels"):
        kw.setdefault("target_labels", 3)
    return tk.DomainAdapter(method=name, **kw)


@pytest.fixture(scope="module")
def domains():
    Xs, ys = moons(160, 0, 0)
    Xt, yt = moons(120, 30, 1)
    return tk.from_arrays(Xs, ys, name="moons"), tk.from_arrays(Xt, yt, name="moons-rot30")


def sources_for(name: str, src):
    """What ``fit`` takes as the source for method ``name``: two sources (the first and last
    80 rows) for the methods that weigh several, else the one source."""
    if ADAPT_METHODS.info(name).get("multi_source"):
        return [src.subset(np.arange(80), name="moons-a"),
                src.subset(np.arange(80, len(src)), name="moons-b")]
    return src


@pytest.fixture(scope="module")
def fits(domains):
    """One fit of each method, shared by every check that only reads a fitted model (fits
    dominate this module's time): ``{name: (model, what model.fit returned)}``."""
    src, tgt = domains
    out = {}
    for name in BUILT_IN:
        model = make(name)
        out[name] = (model, model.fit(sources_for(name, src), tgt))
    return out


@pytest.fixture(scope="module")
def fitted(fits):
    return {name: model for name, (model, _) in fits.items()}


@pytest.mark.parametrize("name", BUILT_IN)
def test_fit_returns_self_and_probabilities_are_sound(name, domains, fits):
    _, tgt = domains
    model, returned = fits[name]
    assert returned is model
    p = model.predict_proba(tgt)
    assert p.shape == (len(tgt), 2) and np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    assert model.adaptation_record()["method"] == name


@pytest.mark.parametrize("name", BUILT_IN)
def test_the_target_labels_are_never_read_unless_asked(name, domains, fitted):
    src, tgt = domains
    if ADAPT_METHODS.info(name).get("needs_target_labels"):  # refused without a few
        with pytest.raises(ConfigError, match="needs a few labelled target rows"):
            make(name, target_labels=None).fit(sources_for(name, src), tgt)
        return
    blind = make(name).fit(sources_for(name, src), tgt.without_labels())
    np.testing.assert_allclose(blind.predict_proba(tgt), fitted[name].predict_proba(tgt),
                               atol=1e-6)


@pytest.mark.parametrize("name", BUILT_IN)
def test_clone_save_load_and_seed(name, domains, fitted, tmp_path):
    src, tgt = domains
    model = fitted[name]
    assert clone(model).get_params() == model.get_params()
    back = tk.load(model.save(tmp_path / name))
    assert type(back) is tk.DomainAdapter
    np.testing.assert_allclose(back.predict_proba(tgt), model.predict_proba(tgt), atol=1e-6)
    again = make(name).fit(sources_for(name, src), tgt)
    np.testing.assert_allclose(again.predict_proba(tgt), model.predict_proba(tgt), atol=1e-6)


@pytest.mark.parametrize("name", BUILT_IN)
def test_the_backbone_object_given_is_left_as_it_was(name, domains):
    src, tgt = domains
    bb = tk.create_backbone(TABLE_BACKBONE)
    before = state(bb)
    make(name, backbone=bb).fit(sources_for(name, src), tgt)
    assert same_state(state(bb), before)


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_declared_bound_is_enforced_before_fitting(name, domains):
    src, tgt = domains
    for pname, p in ADAPT_METHODS.get(name).PARAMS.items():
        bad = bad_value(p)
        if bad is not None:
            with pytest.raises(ConfigError, match=pname):
                make(name, **{pname: bad}).fit(sources_for(name, src), tgt)


@pytest.mark.parametrize("name", BUILT_IN)
def test_a_keyword_no_fitted_method_reads_is_refused(name, domains):
    src, tgt = domains
    declared = set(ADAPT_METHODS.get(name).PARAMS)
    foreign = next(k for k in ("subspace_dim", "coral_eps", "threshold") if k not in declared)
    with pytest.raises(ConfigError, match=f"{foreign}=.*has no effect with method='{name}'"):
        make(name, **{foreign: 0.5}).fit(sources_for(name, src), tgt)
