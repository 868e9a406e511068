"""The contract every model kind shares (one base): the fitted check, predict / score /
evaluate, save / load by ``tk.load``, scikit-learn's clone. A kind registered without a recipe
here fails ``test_every_registered_kind_has_a_recipe``."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.base import clone

import transferkit as tk
from transferkit.exceptions import NotFittedError
from transferkit.runs import MODEL_KINDS

from .conftest import TABLE_BACKBONE, TEXT_BACKBONE, moons, text_data


def _classifier():
    data = text_data(0)
    return tk.TransferClassifier(backbone=TEXT_BACKBONE, cache=False, progress=False), (data,), \
        text_data(1, per_class=5)


def _adapter():
    Xs, ys = moons(160, 0, 0)
    Xt, yt = moons(120, 30, 1)
    src, tgt = tk.from_arrays(Xs, ys), tk.from_arrays(Xt, yt)
    return tk.DomainAdapter(method="coral", backbone=TABLE_BACKBONE, cache=False,
                            progress=False), (src, tgt), tgt


def _zeroshot():
    return tk.ZeroShotClassifier(backbone=TEXT_BACKBONE, labels=["apple", "kiwi", "mango"],
                                 template=None, cache=False, progress=False), (), \
        text_data(1, per_class=5)


def _multitask():
    Xs, ys = moons(160, 0, 0)
    Xt, yt = moons(120, 0, 1)
    return tk.MultiTaskClassifier(backbone=TABLE_BACKBONE, epochs=2, cache=False,
                                  progress=False), ({"moons": tk.from_arrays(Xs, ys)},), \
        tk.from_arrays(Xt, yt)


RECIPES = {"TransferClassifier": _classifier, "DomainAdapter": _adapter,
           "ZeroShotClassifier": _zeroshot, "MultiTaskClassifier": _multitask}


def test_every_registered_kind_has_a_recipe():
    assert set(MODEL_KINDS.names()) <= set(RECIPES), (
        "a new model kind: add how to fit it on tiny data to RECIPES")


@pytest.mark.parametrize("kind", sorted(RECIPES))
def test_every_call_before_fit_names_the_fit_to_make(kind):
    model, _, test = RECIPES[kind]()
    for call in (lambda: model.predict(test), lambda: model.predict_proba(test),
                 lambda: model.score(test), lambda: model.evaluate(test),
                 lambda: model.save("never-written")):
        with pytest.raises(NotFittedError, match=r"not fitted yet\. Call fit\("):
            call()


@pytest.mark.parametrize("kind", sorted(RECIPES))
def test_fit_predict_score_evaluate_agree(kind):
    model, args, test = RECIPES[kind]()
    assert model.fit(*args) is model
    proba = model.predict_proba(test)
    pred = model.predict(test)
    assert list(pred) == list(model.classes_[proba.argmax(1)])
    metrics = model.evaluate(test)
    assert metrics["accuracy"] == pytest.approx(model.score(test))
    assert metrics["n"] == len(test) and len(metrics["per_class"]) == len(model.classes_)


@pytest.mark.parametrize("kind", sorted(RECIPES))
def test_save_load_and_clone(kind, tmp_path):
    model, args, test = RECIPES[kind]()
    model.fit(*args)
    path = model.save(tmp_path / kind)
    for back in (tk.load(path), type(model).load(path)):
        assert type(back) is type(model)
        np.testing.assert_allclose(back.predict_proba(test), model.predict_proba(test),
                                   atol=1e-6)
    assert clone(model).get_params() == model.get_params()


@pytest.mark.parametrize("kind", sorted(RECIPES))
def test_defaults_are_written_once(kind):
    """A declared parameter's default lives in its declaration; the signature says None."""
    cls = MODEL_KINDS.get(kind)
    sig = inspect.signature(cls.__init__).parameters
    declared = set(cls.PARAMS) | cls.method_param_names()
    restated = [n for n in declared & set(sig)
                if sig[n].default is not None and n not in ("backbone", "strategy", "method",
                                                            "template")]
    assert not restated, f"{kind} restates the defaults of {restated}"
    missing = [n for n in set(sig) - {"self", "params"} if n not in declared]
    assert not missing, f"{kind} takes undeclared keywords {missing}"
