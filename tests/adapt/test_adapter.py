"""DomainAdapter: the estimator contract, bad input, target-label policy, auto, collapse."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone

import transferkit as tk
from transferkit import ConfigError, DataError
from transferkit.adapt import ADAPT_METHODS, SourceCollapseWarning, register_adapt_method
from transferkit.adapt.feature_method import FeatureMethod

FAST = dict(backbone="test-identity2", cache=False, progress=False)


def _shifted(n=300, seed=0, labels=(0, 1)):
    rng = np.random.default_rng(seed)
    Xs = rng.normal(size=(n, 2)).astype(np.float32)
    ys = np.asarray(labels)[(Xs[:, 0] > 0).astype(int)]
    Xt = (rng.normal(size=(n, 2)) + [1.0, 0.0]).astype(np.float32)
    yt = np.asarray(labels)[(Xt[:, 0] > 1.0).astype(int)]
    return tk.from_arrays(Xs, ys, name="src"), tk.from_arrays(Xt, yt, name="tgt")


def test_estimator_contract_fit_returns_self_params_clone():
    S, T = _shifted()
    model = tk.DomainAdapter(method="coral", **FAST)
    assert model.fit(S, T) is model
    assert clone(model).get_params() == model.get_params()
    p = model.predict_proba(T)
    assert p.shape == (len(T), 2) and np.allclose(p.sum(1), 1) and np.isfinite(p).all()
    assert set(model.predict(T)) <= {0, 1}
    assert 0 <= model.score(T) <= 1 and model.evaluate(T)["n"] == len(T)
    assert model.strategy == "adapt:coral"


def test_target_labels_are_stripped_and_unused_by_default():
    S, T = _shifted()
    a = tk.DomainAdapter(method="reweight", **FAST).fit(S, T)
    b = tk.DomainAdapter(method="reweight", **FAST).fit(S, T.without_labels())
    np.testing.assert_array_equal(a.predict_proba(T), b.predict_proba(T))
    assert a.adaptation_record()["n_target_labelled"] == 0
    assert "target_accuracy" not in a.adaptation_record()  # until evaluate_target


def test_label_sets_target_subset_allowed_extra_target_labels_named():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2)).astype(np.float32)
    S = tk.from_arrays(X, np.array(["a", "b", "c"])[np.arange(300) % 3])
    T_sub = tk.from_arrays(X[:100] + 1, np.array(["a", "b"])[np.arange(100) % 2])
    model = tk.DomainAdapter(method="tradaboost", target_labels="all", **FAST).fit(S, T_sub)
    assert list(model.classes_) == ["a", "b", "c"]
    T_bad = tk.from_arrays(X[:100] + 1, np.array(["a", "d", "e"])[np.arange(100) % 3])
    with pytest.raises(DataError, match=r"2 label\(s\) the source lacks: 'd' .*'e'"):
        tk.DomainAdapter(method="tradaboost", target_labels="all", **FAST).fit(S, T_bad)
    fitted = tk.DomainAdapter(method="coral", **FAST).fit(S, T_bad)  # labels unused: fine
    with pytest.raises(DataError, match="'d'"):
        fitted.evaluate_target(T_bad)


def test_bad_input_is_a_clear_error():
    S, T = _shifted()
    with pytest.raises(DataError, match="same kind of inputs"):
        tk.DomainAdapter(method="coral", **FAST).fit(S, tk.from_arrays(["some text"] * 5))
    with pytest.raises(DataError, match="2 feature columns but target .* has 3"):
        tk.DomainAdapter(method="coral", backbone="tabular-mlp", cache=False).fit(
            S, tk.from_arrays(np.zeros((5, 3), np.float32)))
    with pytest.raises(DataError, match="target 'tgt:empty' is empty"):
        tk.DomainAdapter(method="coral", **FAST).fit(S, T.subset([], name="tgt:empty"))
    with pytest.raises(DataError, match="no labels"):
        tk.DomainAdapter(method="coral", **FAST).fit(S.without_labels(), T)
    with pytest.raises(ConfigError, match="needs a few labelled target rows"):
        tk.DomainAdapter(method="tradaboost", **FAST).fit(S, T)
    with pytest.raises(DataError, match="has no labels"):
        tk.DomainAdapter(method="tradaboost", target_labels=5, **FAST).fit(S, T.without_labels())
    with pytest.raises(ConfigError, match="Did you mean 'coral'"):
        tk.DomainAdapter(method="corall", **FAST).fit(S, T)
    with pytest.raises(ConfigError, match="'target_labels'"):
        tk.DomainAdapter(method="coral", target_labels="some", **FAST).fit(S, T)
    with pytest.raises(ConfigError, match="'tradeoff' parameter"):
        tk.DomainAdapter(method="dann", tradeoff=-1, **FAST).fit(S, T)
    with pytest.raises(tk.NotFittedError):
        tk.DomainAdapter().predict(T)


def test_few_target_labels_rows_used_for_training_are_not_evaluated():
    S, T = _shifted()
    model = tk.DomainAdapter(method="tradaboost", target_labels=5, **FAST).fit(S, T)
    rec = model.evaluate_target(T)
    assert rec["n_target_labelled"] == 10
    assert rec["n_target_evaluated"] == len(T) - 10


def test_auto_chooses_without_target_labels_and_reports_against_truth():
    S, T = _shifted()
    model = tk.DomainAdapter(method="auto", candidates=["source", "coral", "reweight"],
                             **FAST).fit(S, T)
    before = model.adaptation_record()
    assert before["chosen"] in {"source", "coral", "reweight"}
    assert "highest ensv" in before["reason"]
    # The pick agrees most with the pool's mean prediction.
    ensv = {n: c["ensv"] for n, c in before["candidates"].items()}
    assert before["chosen"] == max(ensv, key=ensv.get)
    assert set(before["candidates"]) == {"source", "coral", "reweight"}
    rec = model.evaluate_target(T)
    # The choice was made before any target label was read: evaluation does not change it.
    assert rec["chosen"] == before["chosen"] and rec["validators"] == before["validators"]
    assert all("target_accuracy" in c for c in rec["candidates"].values())
    assert rec["best_in_hindsight"] in rec["candidates"]
    assert isinstance(rec["choice_matches_best"], bool)
    assert set(rec["validator_picks"]) == {"dev", "im", "entropy", "snd", "rv", "ensv"}
    one = tk.DomainAdapter(method="auto", candidates=["source", "coral"], selector="snd",
                           **FAST).fit(S, T)
    assert "highest snd" in one.adaptation_record()["reason"]


class _ShuffledLabels(FeatureMethod):
    """A deliberately destructive method: trains its head on permuted source labels."""

    name = "test-collapse"

    def prepare(self, ctx, Xs, Xt):
        return Xs, np.random.default_rng(0).permutation(ctx.ys), None


def test_source_collapse_is_detected_warned_and_recorded(tmp_path):
    if "test-collapse" not in ADAPT_METHODS:
        register_adapt_method("test-collapse", deep=False)(_ShuffledLabels)
    S, T = _shifted()
    with pytest.warns(SourceCollapseWarning, match="dropped the accuracy on held-out source"):
        model = tk.DomainAdapter(method="test-collapse", **FAST).fit(S, T)
    col = model.adaptation_record()["source_collapse"]
    assert col["collapsed"] and col["source_accuracy_before"] > 0.9
    assert col["source_accuracy_after"] < 0.75
    rec = tk.runs.read_record(model.save(tmp_path / "bad"))
    assert rec["adapt"]["source_collapse"]["collapsed"] is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tk.DomainAdapter(method="coral", **FAST).fit(S, T)  # a sound method: no warning


@pytest.mark.parametrize("method", ["coral", "subspace", "kmm", "tradaboost", "mmd"])
def test_save_load_round_trip(tmp_path, method):
    S, T = _shifted()
    kw = {"target_labels": 3} if method == "tradaboost" else {}
    if method == "mmd":
        kw.update(epochs=2, baseline=False)
    if method == "subspace":
        kw.update(subspace_dim=2)
    model = tk.DomainAdapter(method=method, **kw, **FAST).fit(S, T)
    out = model.save(tmp_path / method)
    back = tk.DomainAdapter.load(out)
    np.testing.assert_allclose(back.predict_proba(T), model.predict_proba(T), atol=1e-6)
    assert not any(p.suffix in (".pkl", ".pt") for p in (tmp_path / method).iterdir())


def test_tk_load_restores_a_domain_adapter(tmp_path):
    S, T = _shifted()
    model = tk.DomainAdapter(method="coral", **FAST).fit(S, T)
    back = tk.load(model.save(tmp_path / "run"))
    assert isinstance(back, tk.DomainAdapter)
    np.testing.assert_allclose(back.predict_proba(T), model.predict_proba(T), atol=1e-6)


def test_auto_chooses_hyper_parameters_given_as_candidates():
    from transferkit.adapt.auto import parse_candidate

    assert parse_candidate("dann:tradeoff=0.3,epochs=5") == ("dann", {"tradeoff": 0.3,
                                                                      "epochs": 5})
    with pytest.raises(ConfigError, match="tunable keys"):
        parse_candidate("dann:backbone=lenet")
    S, T = _shifted()
    model = tk.DomainAdapter(method="auto", candidates=["coral:coral_eps=0.01",
                                                        "coral:coral_eps=1"], **FAST).fit(S, T)
    cands = model.adaptation_record()["candidates"]
    assert set(cands) == {"coral:coral_eps=0.01", "coral:coral_eps=1"}
    assert model.candidates_["coral:coral_eps=0.01"]["model"].summary["coral_eps"] == 0.01
    assert model.adaptation_record()["chosen"] in cands


def test_source_finetune_refuses_zero_groups_and_backbones_without_pretrained_weights():
    from transferkit.exceptions import ConfigError

    rng = np.random.default_rng(0)
    src = tk.from_arrays(rng.normal(size=(60, 4)), np.repeat([0, 1], 30), name="s")
    tgt = tk.from_arrays(rng.normal(size=(40, 4)), name="t")
    with pytest.raises(ConfigError, match="source_finetune.*got 0"):
        tk.DomainAdapter(method="coral", backbone="tabular-mlp", source_finetune=0).fit(src, tgt)
    with pytest.raises(ConfigError, match="no pre-trained weights.*Leave source_finetune unset"):
        tk.DomainAdapter(method="coral", backbone="tabular-mlp", source_finetune=1,
                         progress=False).fit(src, tgt)
    with pytest.raises(ConfigError, match="source_epochs"):
        tk.DomainAdapter(method="coral", source_finetune=1, source_epochs=0).fit(src, tgt)


@pytest.mark.slow
def test_source_finetune_is_cached_per_source_and_settings(moons, monkeypatch, tmp_path):
    from transferkit.strategies import FineTuneStrategy

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path))
    src, tgt = moons
    fits: list[int] = []
    real_fit = FineTuneStrategy.fit
    monkeypatch.setattr(FineTuneStrategy, "fit",
                        lambda self, ctx: fits.append(len(ctx.train)) or real_fit(self, ctx))

    def adapt(method: str, target, **kw):
        return tk.DomainAdapter(method=method, backbone="test-mlp2", source_finetune=1,
                                source_epochs=2, progress=False, **kw).fit(src, target)

    first = adapt("coral", tgt)
    assert fits == [270] and first.source_tune_["cached"] is False
    # Another method and another target reuse the tuning: the same weights, no training.
    second = adapt("source", tgt.subset(np.arange(100)))
    assert fits == [270] and second.source_tune_["cached"] is True
    for (k, a), b in zip(first.backbone_.state_dict().items(),
                         second.backbone_.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    assert second.source_tune_["val_accuracy"] == first.source_tune_["val_accuracy"]
    # Other settings, or cache=False, tune again.
    adapt("coral", tgt, seed=1)
    adapt("coral", tgt, cache=False)
    assert fits == [270, 270, 270]
    assert len(list((tmp_path / "source_tuned").glob("*.safetensors"))) == 2
    # A damaged entry is re-computed, not fatal.
    for f in (tmp_path / "source_tuned").glob("*.safetensors"):
        f.write_bytes(b"broken")
    assert adapt("coral", tgt).source_tune_["cached"] is False and len(fits) == 4
    # clear_cache empties the tuned encoders along with the features.
    entries = [*tmp_path.glob("source_tuned/*.safetensors"), *tmp_path.glob("features/*.npy")]
    assert len(entries) > 2 and tk.features.clear_cache() == len(entries)
    assert not any(f.exists() for f in entries)
    assert adapt("coral", tgt).source_tune_["cached"] is False and len(fits) == 5


def test_source_tuning_trains_exactly_what_a_finetuned_classifier_would(moons):
    """Source tuning runs the finetune strategy itself (no estimator inside the adapt layer):
    the weights are the ones TransferClassifier(strategy='finetune') gets, bit for bit."""
    from transferkit.adapt.source_tune import tune_on_source

    src, _ = moons
    bb = tk.create_backbone("test-mlp2")
    settings = {"source_finetune": 1, "source_epochs": 2, "batch_size": 32, "devices": 1,
                "precision": "auto", "seed": 3, "cache": False, "progress": False}
    tuned, record = tune_on_source(bb, src, settings)
    clf = tk.TransferClassifier(backbone=bb, strategy="finetune", unfreeze=1, epochs=2,
                                head_init="probe", batch_size=32, seed=3, cache=False,
                                progress=False).fit(src)
    want = clf.backbone_.state_dict()
    for k, v in tuned.state_dict().items():
        assert torch.equal(v, want[k]), k
    assert record["trainable_groups"] == clf.strategy_.summary["freezing"]["trainable_groups"]
