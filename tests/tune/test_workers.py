"""Several local processes on one journal-file study: together they run exactly N trials."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

import transferkit as tk
from transferkit.tuning.workers import shares


def test_trials_are_shared_out_evenly():
    assert shares(5, 2) == [3, 2]
    assert shares(1, 3) == [1]  # never a worker with nothing to do
    assert sum(shares(30, 4)) == 30


@pytest.mark.slow
def test_two_worker_processes_on_a_journal_file_complete_n_trials(digits_split, mlp, tmp_path):
    train, test = digits_split
    journal = tmp_path / "study.journal"
    space = {"lr": {"low": 1e-3, "high": 3e-2, "log": True}, "epochs": 2}
    best, study = tk.tune(mlp(seed=0), train, space=space, n_trials=4, pruner="none",
                          storage=f"journal:{journal}", workers=2, study_name="digits")
    assert journal.stat().st_size > 0
    # the study as any other process sees it, re-read from the file
    stored = optuna.load_study(study_name="digits", storage=tk.tuning.open_storage(
        f"journal:{journal}"))
    done = stored.get_trials(states=(TrialState.COMPLETE,))
    assert len(done) == 4 == len(stored.trials)
    # two processes ran them, each sampler seeded differently: no repeated proposal
    assert len({t.params["lr"] for t in done}) == 4
    assert best.score(test) > 0.8
