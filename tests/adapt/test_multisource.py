"""Several sources, one target: the union, the mixture-weighted ensemble, source selection,
M3SDA, the per-source record, rank_sources, and the errors."""

import json

import numpy as np
import pandas as pd
import pytest
from torch import nn

import transferkit as tk
from transferkit.cli.common import split_data_specs
from transferkit.cli.main import main
from transferkit.exceptions import ConfigError, DataError

if "test-identity8" not in tk.list_backbones():
    tk.register_module("test-identity8", lambda **kw: nn.Identity(), modality="tabular",
                       num_features=8)


def _domain(n: int, offset: float, axis: int, angle: float, seed: int):
    """Two Gaussian classes along a direction ``angle`` degrees from the first axis, the whole
    domain moved ``offset`` along ``axis`` (the domain's signature, which a domain classifier
    sees)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    t = np.deg2rad(angle)
    direction = np.zeros(8)
    direction[0], direction[1] = np.cos(t), np.sin(t)
    X = rng.normal(size=(n, 8)) + np.outer(2 * y - 1, direction) * 1.5
    X[:, axis] += offset
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def three_sources():
    """Source 'near' labels like the target and sits next to it; 'far' and 'odd' sit elsewhere
    and their labels follow a direction turned 70 degrees: pooling them hurts."""
    near = tk.from_arrays(*_domain(400, 4.0, 3, 0, 0), name="near")
    far = tk.from_arrays(*_domain(400, 4.0, 4, 70, 1), name="far")
    odd = tk.from_arrays(*_domain(400, 4.0, 5, 70, 2), name="odd")
    target = tk.from_arrays(*_domain(400, 4.4, 3, 0, 3), name="target")
    return [near, far, odd], target


def _fit(method, sources, target, **kw):
    model = tk.DomainAdapter(method=method, backbone="test-identity8", cache=False,
                             progress=False, **kw)
    model.fit(sources, target.without_labels())
    return model, model.evaluate_target(target)


def test_the_ensemble_weighs_the_source_the_target_resembles_and_beats_the_union(three_sources):
    sources, target = three_sources
    _, union = _fit("source", sources, target, baseline=False)
    model, rec = _fit("ensemble", sources, target)
    src = rec["sources"]
    assert list(src) == ["near", "far", "odd"]
    # The target looks like 'near' (same offset axis): most of the mixture and the weight.
    assert src["near"]["mixture_weight"] > 0.8
    assert src["near"]["in_chosen_method"]["weight"] > 0.8
    assert src["near"]["proxy_a_distance"] < min(src["far"]["proxy_a_distance"],
                                                 src["odd"]["proxy_a_distance"])
    # 10 % of the source rows are held out for the validators: 1,080 of 1,200 fit.
    assert sum(s["rows"] for s in src.values()) == 1080
    # What each source contributed, once target labels were there: 'near' alone nearly
    # matches the ensemble, and the ensemble loses most without it.
    assert src["near"]["target_accuracy_alone"] > src["far"]["target_accuracy_alone"] + 0.1
    assert src["near"]["target_accuracy_without"] < rec["target_accuracy"] - 0.05
    # Pooling two sources whose labels follow another direction costs the union accuracy.
    assert rec["target_accuracy"] > union["target_accuracy"] + 0.05
    assert rec["target_accuracy"] > 0.85


def test_the_source_classifier_is_fitted_once_per_fit(three_sources, monkeypatch):
    from transferkit.adapt import multisource

    fits = []
    real = multisource._fit_source_classifier
    monkeypatch.setattr(multisource, "_FITTED", type(multisource._FITTED)())
    monkeypatch.setattr(multisource, "_fit_source_classifier",
                        lambda *a: fits.append(a[-1]) or real(*a))
    sources, target = three_sources
    _, rec = _fit("ensemble", sources, target, seed=3)
    # The sources table and the ensemble (its validators too) share one classifier.
    assert fits == [3], fits
    assert rec["sources"]["near"]["mixture_weight"] > 0.8
    _fit("ensemble", sources, target, seed=4)  # another seed: another held-out split
    assert fits == [3, 4]


def test_select_drops_the_sources_the_target_does_not_resemble_and_says_why(three_sources):
    sources, target = three_sources
    _, rec = _fit("select", sources, target)
    use = {n: s["in_chosen_method"] for n, s in rec["sources"].items()}
    assert use["near"]["kept"] is True
    assert use["far"]["kept"] is False and use["odd"]["kept"] is False
    assert "mixture weight" in use["far"]["dropped_because"]
    assert rec["target_accuracy"] > 0.85


def test_single_source_methods_fit_on_the_union_and_the_record_shows_each_share(three_sources):
    sources, target = three_sources
    _, rec = _fit("coral", sources, target)
    shares = [s["in_chosen_method"]["pooled_share"] for s in rec["sources"].values()]
    assert abs(sum(shares) - 1) < 1e-3 and all(0.3 < s < 0.37 for s in shares)


def test_m3sda_pulls_the_domains_moments_together(three_sources):
    sources, target = three_sources
    model, rec = _fit("m3sda", sources, target, epochs=6, baseline=False)
    hist = model.strategy_.history
    assert hist[-1]["moment_distance"] < 0.8 * hist[0]["moment_distance"]
    assert rec["target_accuracy"] > 0.6


def test_auto_adds_the_multi_source_candidates_and_a_saved_ensemble_predicts_the_same(
        three_sources, tmp_path):
    sources, target = three_sources
    model, rec = _fit("auto", sources, target, candidates=["source", "coral", "ensemble",
                                                           "select"])
    assert set(rec["candidates"]) == {"source", "coral", "ensemble", "select"}
    for method in ("ensemble", "select"):
        m, _ = _fit(method, sources, target)
        m.save(tmp_path / method)
        back = tk.load(tmp_path / method)
        np.testing.assert_allclose(back.predict_proba(target), m.predict_proba(target),
                                   atol=1e-6)
        assert back.adaptation_record()["sources"] == m.adaptation_record()["sources"]


def test_multi_source_errors_say_what_to_do(three_sources):
    sources, target = three_sources
    with pytest.raises(ConfigError, match="weighs several source domains.*got one source"):
        _fit("ensemble", sources[0], target)
    with pytest.raises(ConfigError, match="got one source"):
        _fit("auto", sources[0], target, candidates=["source", "m3sda"])
    other = tk.from_arrays(sources[1].inputs, np.where(sources[1].labels == 1, "x", "y"),
                           name="relabelled")
    with pytest.raises(DataError, match="'relabelled' shares no label with the other sources"):
        _fit("ensemble", [sources[0], other, sources[2]], target)
    with pytest.raises(DataError, match="sources 'near' and 'relabelled' share no label"):
        _fit("ensemble", [sources[0], other], target)
    text = tk.from_arrays(["a review"] * 20, [0, 1] * 10, name="texts")
    with pytest.raises(DataError, match="The sources mix kinds of data"):
        _fit("ensemble", [sources[0], text], target)
    with pytest.raises(DataError, match="two or more sources; got 1"):
        tk.rank_sources(target, [sources[0]], backbone="test-identity8", cache=False)


def test_rank_sources_puts_the_resembled_source_first_and_checks_it_with_target_labels(
        three_sources):
    sources, target = three_sources
    df = tk.rank_sources(target, sources, backbone="test-identity8", cache=False)
    assert list(df["source"])[0] == "near" and list(df["rank"]) == [1, 2, 3]
    assert df["mixture_weight"].is_monotonic_decreasing
    acc = dict(zip(df["source"], df["target_accuracy"], strict=True))
    assert acc["near"] > max(acc["far"], acc["odd"]) + 0.1


def test_split_data_specs_keeps_commas_inside_option_values(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x\n")
    b.write_text("x\n")
    assert split_data_specs("amazon:domain=books,amazon:domain=dvd") == [
        "amazon:domain=books", "amazon:domain=dvd"]
    assert split_data_specs(f"{a}:label_col=q,p,{b}") == [f"{a}:label_col=q,p", str(b)]
    assert split_data_specs([str(a), str(b)]) == [str(a), str(b)]


def _csv(path, X, y):
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    df["label"] = y
    df.to_csv(path, index=False)
    return path


def test_adapt_and_rank_sources_commands_take_several_sources(three_sources, tmp_path, capsys):
    sources, target = three_sources
    paths = [_csv(tmp_path / f"{s.name}.csv", s.inputs, s.labels) for s in sources]
    tgt = _csv(tmp_path / "target.csv", target.inputs, target.labels)
    out = tmp_path / "run"
    rc = main(["adapt", "--source", ",".join(map(str, paths)), "--target", str(tgt),
               "--backbone", "test-identity8", "--method", "ensemble", "--out", str(out),
               "--no-cache"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "near + far + odd" in text and "mixture" in text and "weight 0.9" in text
    rec = json.loads((out / "record.json").read_text())
    assert rec["adapt"]["sources"]["near"]["mixture_weight"] > 0.8
    assert rec["adapt"]["target_accuracy"] > 0.85
    html = (out / "report.html").read_text()
    assert "Sources" in html and "ensemble weight" in html and "ensemble without it" in html
    rc = main(["rank-sources", str(tgt), "--sources", str(paths[1]), "--sources",
               f"{paths[0]},{paths[2]}", "--backbone", "test-identity8", "--no-cache",
               "--json"])
    ranking = json.loads(capsys.readouterr().out)
    assert rc == 0 and ranking[0]["source"] == "near" and ranking[0]["rank"] == 1


@pytest.mark.slow
@pytest.mark.real_weights
@pytest.mark.real_data
def test_amazon_three_sources_to_kitchen_on_frozen_minilm(minilm):
    """Real reviews: books, dvd and electronics -> kitchen. Kitchen reviews resemble
    electronics reviews most (appliances and gadgets), and the record says so."""
    from dataclasses import replace

    from tests.conftest import shared_dataset

    shared_dataset("amazon_multidomain")
    rng = np.random.default_rng(0)
    parts = {}
    for domain in ("books", "dvd", "electronics", "kitchen"):
        ds = tk.load_dataset(f"amazon:domain={domain}").train
        idx = np.sort(np.concatenate([rng.choice(np.flatnonzero(ds.labels == c), 80,
                                                 replace=False) for c in (0, 1)]))
        sub = ds.subset(idx, name=domain)
        # Short inputs keep the encoding of 640 reviews to seconds.
        parts[domain] = replace(sub, inputs=[t[:300] for t in sub.inputs])
    sources = [parts[d] for d in ("books", "dvd", "electronics")]
    model = tk.DomainAdapter(method="ensemble", backbone=minilm, progress=False)
    model.fit(sources, parts["kitchen"].without_labels())
    rec = model.evaluate_target(parts["kitchen"])
    weights = {n: s["mixture_weight"] for n, s in rec["sources"].items()}
    assert max(weights, key=weights.get) == "electronics", weights
    assert rec["sources"]["electronics"]["proxy_a_distance"] < rec["sources"]["books"][
        "proxy_a_distance"]
    assert rec["target_accuracy"] > 0.72, rec["target_accuracy"]
