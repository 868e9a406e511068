"""kill -9 during epoch 3, then resume: the final model equals an uninterrupted run."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import transferkit as tk

SCRIPT = textwrap.dedent("""
    import pathlib, sys, time
    import numpy as np
    from sklearn.datasets import load_digits
    import transferkit as tk
    from transferkit.engine import task as task_mod

    marker = pathlib.Path(sys.argv[2])
    original = task_mod.ClassificationTask.on_epoch_start

    def on_epoch_start(self, epoch):
        original(self, epoch)
        if epoch == 2:                # the third epoch has begun: wait to be killed
            marker.write_text("epoch 3")
            time.sleep(600)

    task_mod.ClassificationTask.on_epoch_start = on_epoch_start
    X, y = load_digits(return_X_y=True)
    tk.TransferClassifier(backbone="tabular-mlp", strategy="finetune", epochs=4, cache=False,
                          progress=False, checkpoint_dir=sys.argv[1]).fit(
        X[:500].astype(np.float32), y[:500])
""")


@pytest.mark.slow
def test_sigkill_during_epoch_3_then_resume_equals_uninterrupted(digits, tmp_path):
    X, y = digits
    ckpt, marker = tmp_path / "ckpt", tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(ckpt), str(marker)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 240
        while not marker.exists():
            assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
            assert time.time() < deadline, "the training process never reached epoch 3"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert tk.engine.load_checkpoint(ckpt / "last.ckpt")["epoch"] == 2

    kw = dict(backbone="tabular-mlp", strategy="finetune", epochs=4, cache=False, progress=False)
    resumed = tk.TransferClassifier(checkpoint_dir=str(ckpt), resume=str(ckpt), **kw)
    resumed.fit(X[:500], y[:500])
    full = tk.TransferClassifier(**kw).fit(X[:500], y[:500])
    assert resumed.strategy_.summary["resumed_from"] == 2
    np.testing.assert_allclose(resumed.predict_proba(X[500:]), full.predict_proba(X[500:]),
                               rtol=0, atol=1e-6)
    h1 = [(r["epoch"], r["train_loss"], r["val_loss"]) for r in resumed.strategy_.history]
    h2 = [(r["epoch"], r["train_loss"], r["val_loss"]) for r in full.strategy_.history]
    np.testing.assert_allclose(np.array(h1), np.array(h2), rtol=1e-6)
