"""tk.tune on real small data: the tuned model beats a bad default, pruning prunes, a stored
study resumes where it stopped, and bad arguments fail with one line."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

import transferkit as tk
from transferkit.tuning import study_record

optuna.logging.set_verbosity(optuna.logging.WARNING)

# Every trial trains from a random head, so a poor learning rate shows.
WIDE_LR = {"lr": {"low": 1e-5, "high": 3e-2, "log": True}, "epochs": 3, "head_init": "random"}


def test_tuned_model_beats_a_bad_default_on_held_out_digits(digits_split, mlp):
    train, test = digits_split
    bad = mlp(lr=1e-5, epochs=3, head_init="random", seed=0)
    bad_acc = tk.TransferClassifier(**bad.get_params()).fit(train).score(test)
    best, study = tk.tune(bad, train, space=WIDE_LR, n_trials=8, seed=0)
    tuned_acc = best.score(test)
    assert bad_acc < 0.5  # lr=1e-5 barely moves a random head in 3 epochs
    assert tuned_acc >= 0.85 and tuned_acc >= bad_acc + 0.3
    # the returned model is refitted with the best trial's parameters
    assert best.lr == pytest.approx(study.best_params["lr"]) and best.head_init == "random"
    assert study.best_value == max(t.value for t in study.trials if t.value is not None)
    # validation rows come from the training data only: 25 % of 400, stratified
    assert study.user_attrs["validation"] == {"fit_rows": 300, "val_rows": 100,
                                              "val_size": 0.25, "seed": 0}


def test_median_pruning_stops_trailing_trials_and_saves_epochs(digits_split, mlp):
    train, _ = digits_split
    space = {**WIDE_LR, "lr": {"low": 1e-6, "high": 3e-2, "log": True}, "epochs": 5}
    _, study = tk.tune(mlp(seed=0), train, space=space, n_trials=12, seed=1, pruner="median")
    pruned = study.get_trials(states=(TrialState.PRUNED,))
    assert len(pruned) >= 3
    for t in pruned:  # stopped before the last epoch, with the epochs it ran recorded
        assert t.user_attrs["epochs_run"] < 5 == t.user_attrs["epochs_planned"]
        assert len(t.intermediate_values) == t.user_attrs["epochs_run"]
    saved = study_record(study)["pruning"]
    assert saved["trials_pruned"] == len(pruned)
    assert saved["epochs_planned"] == 5 * 12
    assert saved["epochs_saved"] == sum(5 - t.user_attrs["epochs_run"] for t in pruned) > 0
    # without a pruner every trial runs all its epochs
    _, full = tk.tune(mlp(seed=0), train, space=space, n_trials=4, seed=1, pruner="none")
    assert all(t.state == TrialState.COMPLETE for t in full.trials)


def test_stored_study_resumes_and_keeps_its_trials(digits_split, mlp, tmp_path):
    train, _ = digits_split
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    _, first = tk.tune(mlp(seed=0), train, space=WIDE_LR, n_trials=3, storage=storage)
    before = [(t.number, t.params) for t in first.trials]
    _, again = tk.tune(mlp(seed=0), train, space=WIDE_LR, n_trials=5, storage=storage)
    assert [t.number for t in again.trials] == [0, 1, 2, 3, 4]  # 2 more, numbering continues
    assert [(t.number, t.params) for t in again.trials[:3]] == before
    # the resumed sampler does not replay the first run's proposals
    assert {t.params["lr"] for t in again.trials[3:]}.isdisjoint(p["lr"] for _, p in before)
    _, same = tk.tune(mlp(seed=0), train, space=WIDE_LR, n_trials=5, storage=storage)
    assert len(same.trials) == 5  # already complete: nothing more runs


@pytest.mark.slow
@pytest.mark.real_weights
def test_probe_search_over_C(banking_subset):
    train, test = banking_subset(5, 12, "b77-5")
    best, study = tk.tune(tk.TransferClassifier(strategy="probe", progress=False), train,
                          n_trials=4, seed=0)
    assert set(study.best_params) == {"C"} and 1e-3 <= best.C <= 100
    assert all(t.user_attrs["epochs_planned"] is None for t in study.trials)  # one-step fit
    assert best.score(test) > 0.6


@pytest.mark.parametrize("kwargs, expected", [
    ({"n_trials": 0}, r"The 'n_trials' parameter of tune must be an int in the range \[1, inf\]"
                      r"\. Got 0 instead"),
    ({"workers": 2}, r"workers=2 needs a storage every process can open; got memory\. "
                     r"Expected storage='journal:PATH'"),
    ({"storage": "study.db"}, r"has no known form\. Expected journal:PATH .* Fix: write "
                              r"journal:study.db"),
    ({"storage": "postgresql://tk:secret@127.0.0.1:1/none"},
     r"Cannot open the study storage 'postgresql://tk:\*\*\*@127\.0\.0\.1:1/none': .*Fix: check"),
    ({"pruner": "mean"}, r"Unknown pruner 'mean'\. Expected one of median, halving"),
    ({"sampler": "grid"}, r"Unknown sampler 'grid'\. Expected one of tpe, random"),
    ({"space": {"lrr": {"low": 1, "high": 2}}}, r"unknown parameter 'lrr'"),
])
def test_bad_arguments_fail_before_any_trial(digits_split, mlp, kwargs, expected):
    train, _ = digits_split
    with pytest.raises(tk.ConfigError, match=expected) as e:
        tk.tune(mlp(), train, **kwargs)
    assert "\n" not in str(e.value) and "secret" not in str(e.value)


def test_a_file_that_is_not_a_database_is_refused(digits_split, mlp, tmp_path):
    junk = tmp_path / "study.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(tk.ConfigError, match=r"Cannot open the study storage 'sqlite:///"):
        tk.tune(mlp(), digits_split[0], space=WIDE_LR, storage=f"sqlite:///{junk}")
