"""A search killed with SIGKILL mid-trial resumes from its SQLite study: every finished trial
is kept as it was, and only the missing ones run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import optuna
import pytest
from optuna.trial import TrialState

import transferkit as tk

SCRIPT = textwrap.dedent("""
    import pathlib, sys, time
    import numpy as np, torch
    from sklearn.datasets import load_digits
    import transferkit as tk
    from transferkit.tuning import objective

    torch.set_num_threads(1)
    marker = pathlib.Path(sys.argv[2])
    original = objective.Objective.__call__

    def call(self, trial):
        if trial.number == 2:  # two trials are stored: wait here to be killed
            marker.write_text("trial 2")
            time.sleep(600)
        return original(self, trial)

    objective.Objective.__call__ = call
    X, y = load_digits(return_X_y=True)
    est = tk.TransferClassifier(backbone="tabular-mlp", strategy="finetune", cache=False,
                                progress=False, epochs=2)
    tk.tune(est, tk.from_arrays(X[:400].astype(np.float32), y[:400]), n_trials=4,
            storage=sys.argv[1], space={"lr": {"low": 1e-3, "high": 3e-2, "log": True}})
""")


@pytest.mark.slow
def test_sigkill_mid_search_then_resume_keeps_finished_trials(tmp_path, mlp):
    storage, marker = f"sqlite:///{tmp_path / 'study.db'}", tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, storage, str(marker)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 50
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()[0][-2000:]
        assert time.time() < deadline, "the search never reached its third trial"
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed = optuna.load_study(study_name="transferkit", storage=storage)
    kept = [(t.number, t.params, t.value) for t in killed.trials if t.state == TrialState.COMPLETE]
    assert len(kept) == 2 and killed.trials[2].state == TrialState.RUNNING  # died mid-trial

    import numpy as np
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    _, study = tk.tune(mlp(epochs=2), tk.from_arrays(X[:400].astype(np.float32), y[:400]),
                       n_trials=4, storage=storage,
                       space={"lr": {"low": 1e-3, "high": 3e-2, "log": True}})
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(done) == 4  # the killed trial does not count: two more ran
    assert [(t.number, t.params, t.value) for t in done[:2]] == kept
