"""Choosing among adaptation methods without target labels."""

import numpy as np

from transferkit.adapt.validators import rank_select, validator_scores


def test_confident_but_wrong_target_predictions_do_not_win_the_default_rank():
    rng = np.random.default_rng(0)
    n = 400
    truth = rng.integers(0, 2, n)
    yv = rng.integers(0, 2, 200)
    # "honest": 80% right on the target, unsure where it is wrong; "confident": certain of
    # every target row but right on only 55%, and worse on the labelled source rows.
    honest_t = np.where(rng.random(n) < 0.8, truth, 1 - truth)
    confident_t = np.where(rng.random(n) < 0.55, truth, 1 - truth)

    def probs(labels, p):
        out = np.full((len(labels), 2), 1 - p)
        out[np.arange(len(labels)), labels] = p
        return out

    ones = np.ones(200)
    feats_v = np.c_[yv + rng.normal(0, 0.3, 200), rng.normal(0, 1, 200)]
    feats_t = np.c_[truth + rng.normal(0, 0.3, n), rng.normal(0, 1, n)]
    scores = {
        "honest": validator_scores(probs(honest_t, 0.75), probs(yv, 0.8), yv, ones,
                                   feats_t, feats_v),
        "confident": validator_scores(probs(confident_t, 0.999),
                                      probs(np.where(rng.random(200) < 0.7, yv, 1 - yv), 0.9),
                                      yv, ones, feats_t, feats_v),
    }
    # Every confidence validator prefers the confidently wrong model...
    for v in ("im", "entropy"):
        assert scores["confident"][v] > scores["honest"][v]
    # ...the source-label-anchored ones do not, and the default rank follows them.
    assert scores["honest"]["dev"] > scores["confident"]["dev"]
    assert scores["honest"]["rv"] > scores["confident"]["rv"]
    chosen, reason, _ = rank_select(scores)
    assert chosen == "honest" and "label-anchored" in reason and "['dev', 'rv']" in reason
    assert rank_select(scores, "rank-all")[1].startswith("best mean rank over the label-free")


def test_rank_falls_back_to_every_validator_without_source_labels():
    scores = {"a": {"im": 0.2, "entropy": -0.5, "snd": 1.0},
              "b": {"im": 0.1, "entropy": -0.6, "snd": 0.9}}
    chosen, reason, _ = rank_select(scores)
    assert chosen == "a" and "label-free" in reason


def test_adaptation_is_kept_only_when_it_beats_the_baseline_on_every_anchored_validator():
    from transferkit.adapt.validators import keep_baseline_unless_beaten

    scores = {"source": {"dev": -0.50, "rv": 0.80, "im": 0.1},
              "dann": {"dev": -0.40, "rv": 0.82, "im": 0.3},
              "selftrain": {"dev": -0.45, "rv": 0.79, "im": 0.6}}
    assert keep_baseline_unless_beaten("dann", "source", scores) == ("dann", "")
    kept, reason = keep_baseline_unless_beaten("selftrain", "source", scores)
    assert kept == "source" and "rv 0.79 vs 0.8" in reason and "dev" not in reason
    # Nothing to compare against: the winner stands.
    assert keep_baseline_unless_beaten("dann", None, scores)[0] == "dann"
    assert keep_baseline_unless_beaten("dann", "source", {"source": {}, "dann": {}})[0] == "dann"


def test_ensemble_agreement_scores_each_candidate_against_the_pool_consensus():
    from transferkit.adapt.validators import ensemble_agreement

    rng = np.random.default_rng(0)
    n, truth = 1000, rng.integers(0, 3, 1000)

    def noisy(acc):  # right on a share `acc` of the rows, confident either way
        lab = np.where(rng.random(n) < acc, truth, (truth + rng.integers(1, 3, n)) % 3)
        return np.eye(3)[lab] * 0.8 + 0.2 / 3

    pool = {"good": noisy(0.9), "fair": noisy(0.75), "fair2": noisy(0.75), "bad": noisy(0.4)}
    ens = ensemble_agreement(pool)
    # Independent errors cancel in the mean: the consensus sits nearest the best candidate,
    # so agreement orders the pool as its (unseen) accuracy does.
    assert ens["good"] > ens["fair"] > ens["bad"] and ens["fair2"] > ens["bad"]
    assert all(0 <= v <= 1 for v in ens.values())
    # A pool of one agrees with itself.
    assert ensemble_agreement({"only": pool["bad"]}) == {"only": 1.0}
    assert ensemble_agreement({}) == {}


def test_ensv_is_the_default_and_falls_back_to_rank_for_two_candidates():
    from transferkit.adapt.validators import DEFAULT_SELECTOR, choose_candidate

    assert DEFAULT_SELECTOR == "ensv"
    three = {"source": {"dev": -0.5, "rv": 0.8, "ensv": 0.90},
             "dann": {"dev": -0.4, "rv": 0.85, "ensv": 0.95},
             "selftrain": {"dev": -0.6, "rv": 0.7, "ensv": 0.85}}
    chosen, reason, _ = choose_candidate(three)
    assert chosen == "dann" and reason.startswith("highest ensv")
    two = {n: {k: v for k, v in s.items() if k != "ensv"} for n, s in three.items()
           if n != "selftrain"}
    chosen, reason, _ = choose_candidate(two)
    assert chosen == "dann" and "label-anchored" in reason
