"""ZeroShotClassifier: right labels with the real MiniLM, descriptions files, calibration,
multi-label, the scikit-learn contract, save/load, and clear errors."""

import json

import numpy as np
import pytest
from sklearn.base import clone
from torch import nn

import transferkit as tk
from transferkit import ConfigError, DataError, NotFittedError
from transferkit.fewshot import read_label_file

# Vocabulary neighbours from 1/40 of the vocabulary: seconds instead of minutes per session.
pytestmark = pytest.mark.usefixtures("small_vocab")

SENTENCES = ["I want to fly to Paris next week", "How long should I boil the pasta?",
             "The striker scored twice in the cup final", "Book me a hotel room in Rome",
             "Whisk the eggs with sugar and bake for 20 minutes", "Who won the tennis match?"]
TRUTH = ["travel", "cooking", "sports", "travel", "cooking", "sports"]


@pytest.mark.real_weights
@pytest.mark.slow
def test_picks_the_right_label_for_unambiguous_sentences(minilm):
    zs = tk.ZeroShotClassifier(backbone=minilm, labels=["travel", "cooking", "sports"])
    assert zs.fit() is zs
    assert list(zs.classes_) == ["cooking", "sports", "travel"]  # sorted, as scikit-learn does
    assert list(zs.predict(SENTENCES)) == TRUTH
    proba = zs.predict_proba(SENTENCES)
    assert proba.shape == (6, 3)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)
    assert zs.score(SENTENCES, TRUTH) == 1.0
    # The first prompt is the template with the label name, then the template ensemble.
    assert zs.prompts_["travel"][0] == "This is about travel."
    single = tk.ZeroShotClassifier(backbone=minilm, labels=["travel", "cooking", "sports"],
                                   prompt_ensemble=False, neighbors=0).fit()
    assert single.prompts_["travel"] == ["This is about travel."]
    assert list(single.predict(SENTENCES)) == TRUTH


@pytest.mark.real_weights
def test_descriptions_file_yaml_and_json_carry_the_meaning(minilm, tmp_path):
    # Opaque label names: only the descriptions can tell the classes apart.
    desc = {"L1": ["booking flights and hotels for a trip", "going on holiday abroad"],
            "L2": "recipes, cooking and baking food", "L3": "football, tennis and other sports"}
    (tmp_path / "labels.yaml").write_text(
        "template: 'Topic: {}.'\nlabels:\n"
        "  L1: [booking flights and hotels for a trip, going on holiday abroad]\n"
        "  L2: recipes, cooking and baking food\n  L3: football, tennis and other sports\n")
    (tmp_path / "labels.json").write_text(json.dumps(desc))
    spec, tpl = read_label_file(tmp_path / "labels.yaml")
    assert tpl == "Topic: {}." and spec["L1"] == desc["L1"] and spec["L2"] == [desc["L2"]]
    truth = [{"travel": "L1", "cooking": "L2", "sports": "L3"}[t] for t in TRUTH]
    for f in ("labels.yaml", "labels.json"):
        zs = tk.ZeroShotClassifier(backbone=minilm, descriptions=str(tmp_path / f)).fit()
        assert list(zs.predict(SENTENCES)) == truth, f
        assert zs.prompts_["L1"] == desc["L1"]  # descriptions replace the opaque name
    zs = tk.ZeroShotClassifier(backbone=minilm, descriptions=str(tmp_path / "labels.yaml")).fit()
    assert zs.template_ == "Topic: {}."  # the file's template (used for undescribed labels)
    # A dict works as well as a file, and labels without a description use their name.
    zs = tk.ZeroShotClassifier(backbone=minilm, labels=["travel", "cooking", "sports"],
                               descriptions={"sports": "football and tennis"}).fit()
    assert zs.prompts_["sports"] == ["football and tennis"]
    assert zs.prompts_["cooking"][0] == "This is about cooking."
    assert list(zs.predict(SENTENCES)) == TRUTH


@pytest.mark.real_weights
@pytest.mark.slow
def test_calibration_center_and_prior(minilm, banking20):
    _, test = banking20
    labels = [str(c) for c in np.unique(test.labels)]
    unlabelled = test.without_labels()
    prior = tk.ZeroShotClassifier(backbone=minilm, labels=labels, calibrate="prior")
    prior.fit(unlabelled)
    # Prior correction makes the mean prediction on the calibration text close to uniform.
    mean = prior.predict_proba(unlabelled).mean(0)
    np.testing.assert_allclose(mean, 1 / len(labels), atol=0.01)
    assert prior.calibration_ == {"method": "prior", "n": len(test)}
    center = tk.ZeroShotClassifier(backbone=minilm, labels=labels, calibrate="center")
    center.fit(list(unlabelled.inputs))
    # segment="auto" (the default) leaves these short queries whole.
    E = minilm.features(list(unlabelled.inputs))
    E = E / np.linalg.norm(E, axis=1, keepdims=True)
    np.testing.assert_allclose(center.center_, E.mean(0), atol=1e-5)
    raw = tk.ZeroShotClassifier(backbone=minilm, labels=labels).fit()
    accs = {m.calibrate: m.score(test) for m in (raw, prior, center)}
    # Zero-shot on 20 banking intents from names alone is far above chance (5%).
    assert min(accs.values()) > 0.3, accs
    with pytest.raises(ConfigError, match="needs unlabelled text"):
        tk.ZeroShotClassifier(backbone=minilm, labels=labels, calibrate="center").fit()


@pytest.mark.real_weights
def test_multi_label_thresholds_similarity(minilm):
    zs = tk.ZeroShotClassifier(backbone=minilm, labels=["travel", "cooking", "sports"],
                               multi_label=True, threshold=0.15).fit()
    pred = zs.predict(SENTENCES)
    sims = zs.similarities(SENTENCES)
    assert pred.shape == (6, 3) and set(np.unique(pred)) <= {0, 1}
    np.testing.assert_array_equal(pred, (sims >= 0.15).astype(int))
    assert pred[np.arange(6), [list(zs.classes_).index(t) for t in TRUTH]].all()
    with pytest.raises(ConfigError, match="multi_label"):
        zs.score(SENTENCES, TRUTH)


@pytest.mark.real_weights
@pytest.mark.slow
def test_save_load_round_trip(minilm, tmp_path):
    zs = tk.ZeroShotClassifier(backbone="minilm-l6", labels=["travel", "cooking", "sports"],
                               descriptions={"travel": "flights and hotels"},
                               calibrate="prior").fit(SENTENCES)
    path = zs.save(tmp_path / "zs", metrics={"accuracy": 1.0})
    meta = json.loads((tmp_path / "zs" / "model.json").read_text())
    assert meta["estimator"] == "ZeroShotClassifier"
    assert not (tmp_path / "zs" / "backbone.safetensors").exists()  # rebuilt from its spec
    rec = json.loads((tmp_path / "zs" / "record.json").read_text())
    assert rec["kind"] == "zeroshot" and rec["metrics"]["accuracy"] == 1.0
    back = tk.ZeroShotClassifier.load(path)
    np.testing.assert_allclose(back.predict_proba(SENTENCES), zs.predict_proba(SENTENCES),
                               atol=1e-5)
    assert back.get_params()["calibrate"] == "prior"
    assert list(back.classes_) == list(zs.classes_)


def test_params_stored_as_given_and_clone():
    zs = tk.ZeroShotClassifier(labels=["a", "b"], template=None, calibrate="center")
    assert zs.get_params()["labels"] == ["a", "b"] and zs.get_params()["template"] is None
    c = clone(zs)
    assert c.get_params() == zs.get_params() and c is not zs


@pytest.mark.parametrize("kwargs, match", [
    ({"labels": ["a", ""]}, "non-empty"),
    ({"labels": ["a", "b", "a"]}, "distinct"),
    ({"labels": ["only"]}, "at least two labels"),
    ({"labels": "a,b"}, "list of label names"),
    ({}, "needs labels"),
    ({"labels": ["a", "b"], "descriptions": {"c": "x"}}, "not in 'labels'"),
    ({"labels": ["a", "b"], "template": "no slot"}, "one '\\{\\}' slot"),
    ({"labels": ["a", "b"], "calibrate": "centre"}, "Did you mean 'center'"),
    ({"labels": ["a", "b"], "temperature": 0}, "temperature"),
    ({"labels": ["a", "b"], "backbone": tk.TorchBackbone(nn.Identity(), "tabular", 2)},
     "text backbone"),
])
def test_bad_parameters_raise_config_error(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        tk.ZeroShotClassifier(**kwargs).fit()


def test_label_file_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_label_file(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("a: [unclosed\n")
    with pytest.raises(DataError, match="Cannot parse"):
        read_label_file(tmp_path / "bad.yaml")
    (tmp_path / "dup.json").write_text('["x", "y", "x"]')
    with pytest.raises(ConfigError, match="distinct"):
        read_label_file(tmp_path / "dup.json")
    (tmp_path / "num.yaml").write_text("a: 3\nb: x\n")
    with pytest.raises(ConfigError, match="string or a list of strings"):
        read_label_file(tmp_path / "num.yaml")


def test_not_fitted_raises():
    with pytest.raises(NotFittedError, match="fit()"):
        tk.ZeroShotClassifier(labels=["a", "b"]).predict(["x"])


@pytest.mark.real_weights
def test_labels_not_matching_the_data_are_listed(minilm):
    zs = tk.ZeroShotClassifier(backbone=minilm, labels=["travel", "cooking"]).fit()
    with pytest.raises(DataError, match=r"not among the given labels: \['sports'\]"):
        zs.score(SENTENCES, TRUTH)


@pytest.mark.real_weights
@pytest.mark.slow
def test_cli_zeroshot_accuracy_predictions_and_mismatch(tmp_path, capsys, minilm):
    import pandas as pd

    from transferkit.cli.main import main

    pd.DataFrame({"text": SENTENCES, "label": TRUTH}).to_csv(tmp_path / "l.csv", index=False)
    pd.DataFrame({"text": SENTENCES}).to_csv(tmp_path / "u.csv", index=False)
    code = main(["zeroshot", str(tmp_path / "l.csv"), "--labels", "travel,cooking,sports",
                 "--out", str(tmp_path / "run")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "zero-shot accuracy 1.0000" in out.out
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["accuracy"] == 1.0
    # Unlabelled source: one prediction per line.
    code = main(["zeroshot", str(tmp_path / "u.csv"), "--labels", "travel,cooking,sports"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and len(lines) == 6 and lines[0].startswith("travel (")
    # Labels that do not match the data: both sides listed, exit code 2, before any encoding.
    code = main(["zeroshot", str(tmp_path / "l.csv"), "--labels", "travel,cooking,music"])
    err = capsys.readouterr().err
    assert code == 2 and "['sports']" in err and "['music']" in err
    code = main(["zeroshot", str(tmp_path / "l.csv"), "--labels", "travel,,sports"])
    assert code == 2 and "non-empty" in capsys.readouterr().err
    code = main(["zeroshot", str(tmp_path / "u.csv")])
    assert code == 2 and "--labels" in capsys.readouterr().err
