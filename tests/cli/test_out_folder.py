"""--out never loses anything: a user's own folder, a finished run, a run being written by
another process, or the earlier run while a replacement is killed half-way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import transferkit as tk
from transferkit.cli.main import main
from transferkit.exceptions import RunError

EXE = [sys.executable, "-m", "transferkit.cli.main"]


@pytest.fixture(scope="module")
def digits_csv(tmp_path_factory):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    df = pd.DataFrame(X, columns=[f"p{i}" for i in range(64)])
    df["digit"] = y
    path = tmp_path_factory.mktemp("out") / "digits.csv"
    df.to_csv(path, index=False)
    return path


def fit_args(csv: Path, out: Path, *extra: str) -> list[str]:
    return ["fit", str(csv), "--label-col", "digit", "--backbone", "tabular-mlp",
            "--out", str(out), "--no-report", *extra]


def run_cli(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_folder_of_the_users_own_is_refused_and_kept(capsys, digits_csv, tmp_path):
    own = tmp_path / "mine"
    (own / "sub").mkdir(parents=True)
    (own / "notes.txt").write_text("my notes")
    (own / "sub" / "y.csv").write_text("a,b\n1,2\n")
    before = tree(own)
    code, _, err = run_cli(capsys, fit_args(digits_csv, own))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "notes.txt" in err and "sub/" in err and "did not write" in err
    code, _, err = run_cli(capsys, fit_args(digits_csv, own, "--overwrite"))
    assert code == 2, "--overwrite replaces runs, never a folder of the user's own"
    assert tree(own) == before


def test_a_finished_run_is_replaced_only_with_overwrite(capsys, digits_csv, tmp_path):
    out = tmp_path / "run"
    assert run_cli(capsys, fit_args(digits_csv, out))[0] == 0
    first = tree(out)
    code, _, err = run_cli(capsys, fit_args(digits_csv, out, "--head", "knn"))
    assert code == 2 and "--overwrite" in err and "already holds a finished run" in err
    assert tree(out) == first
    assert run_cli(capsys, fit_args(digits_csv, out, "--head", "knn", "--overwrite"))[0] == 0
    assert tk.load(out).strategy_params()["head"] == "knn"


def test_out_naming_a_file_is_one_line(capsys, digits_csv, tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("keep me")
    code, _, err = run_cli(capsys, fit_args(digits_csv, target))
    assert code == 2 and "is an existing file" in err and len(err.strip().splitlines()) == 1
    assert target.read_text() == "keep me"


def test_library_save_refuses_a_finished_run_and_a_foreign_folder(tmp_path):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    model = tk.TransferClassifier(backbone="tabular-mlp", cache=False).fit(X[:300], y[:300])
    model.save(tmp_path / "r")
    with pytest.raises(RunError, match="overwrite=True"):
        model.save(tmp_path / "r")
    model.save(tmp_path / "r", overwrite=True)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "data.npy").write_bytes(b"x")
    with pytest.raises(RunError, match=r"data\.npy"):
        model.save(tmp_path / "mine", overwrite=True)
    assert (tmp_path / "mine" / "data.npy").read_bytes() == b"x"


def test_an_interrupted_run_asks_for_resume_or_overwrite(capsys, digits_csv, tmp_path):
    out = tmp_path / "crashed"
    (out / "checkpoints").mkdir(parents=True)
    code, _, err = run_cli(capsys, fit_args(digits_csv, out))
    assert code == 2 and "--resume" in err and "interrupted" in err
    assert (out / "checkpoints").is_dir()


# A fit that sleeps in its third epoch, so another process can find it mid-run.
SLOW_FIT = textwrap.dedent("""
    import pathlib, sys, time
    from transferkit.engine import task as task_mod
    from transferkit.cli.main import main

    marker = pathlib.Path(sys.argv[1])
    original = task_mod.ClassificationTask.on_epoch_start

    def on_epoch_start(self, epoch):
        original(self, epoch)
        if epoch == 2 and not marker.exists():
            marker.write_text("epoch 3")
            time.sleep(float(sys.argv[2]))

    task_mod.ClassificationTask.on_epoch_start = on_epoch_start
    sys.exit(main(sys.argv[3:]))
""")


def wait_for(path: Path, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.communicate()[0][-2000:]
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.1)


@pytest.mark.slow
def test_two_processes_on_one_out_one_fails_at_once_and_wait_queues(digits_csv, tmp_path):
    out, marker = tmp_path / "run", tmp_path / "marker"
    args = fit_args(digits_csv, out, "--strategy", "finetune", "--epochs", "4")
    first = subprocess.Popen([sys.executable, "-c", SLOW_FIT, str(marker), "8", *args],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(marker, first)
        t0 = time.time()
        second = subprocess.run([*EXE, *args], capture_output=True, text=True)
        assert second.returncode == 2, second.stderr
        assert time.time() - t0 < 60, "the second fit must fail at once, not wait"
        assert f"pid {first.pid}" in second.stderr and "--wait" in second.stderr
        assert "Traceback" not in second.stderr
        queued = subprocess.Popen([*EXE, *args, "--wait", "--overwrite", "--seed", "1"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out1, _ = first.communicate(timeout=300)
        assert first.returncode == 0 and "saved run to" in out1
        out2, _ = queued.communicate(timeout=300)
        assert queued.returncode == 0, out2
    finally:
        for p in (first,):
            if p.poll() is None:
                p.kill()
    assert json.loads((out / "record.json").read_text())["seed"] == 1, "the queued fit ran last"
    assert not (out / "checkpoints").exists()
    assert tk.load(out).predict(np.zeros((1, 64), dtype=np.float32)).shape == (1,)


@pytest.mark.slow
def test_killed_replacements_keep_the_old_run_and_resume_to_the_same_result(digits_csv,
                                                                            tmp_path):
    """kill -9 at random moments of a fit that replaces a finished run (seeded points: before
    training, mid-training, around the save): the old run stays whole, with no checkpoints in
    it, until the new one is saved; resuming ends with the uninterrupted run's metrics."""
    out, clean = tmp_path / "run", tmp_path / "clean"
    new = ("--strategy", "finetune", "--epochs", "8", "--batch-size", "32", "--seed", "3")
    t0 = time.time()
    assert subprocess.run([*EXE, *fit_args(digits_csv, clean, *new)],
                          capture_output=True).returncode == 0
    full_seconds = time.time() - t0
    expected = json.loads((clean / "metrics.json").read_text())
    rng = np.random.default_rng(0)
    staged = tmp_path / ".run.next" / "checkpoints" / "last.ckpt"
    assert subprocess.run([*EXE, *fit_args(digits_csv, out)], capture_output=True).returncode == 0
    resumed = 0
    for attempt in range(3):
        old = tree(out)  # the earlier run: a probe, then the result of the attempt before
        proc = subprocess.Popen([*EXE, *fit_args(digits_csv, out, *new, "--overwrite")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if attempt == 0:  # anywhere in the run, imports included
            time.sleep(rng.uniform(0.3, 0.9) * full_seconds)
        else:  # once training has written a checkpoint
            wait_for(staged, proc)
            time.sleep(rng.uniform(0.0, 1.5))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        now = tree(out)
        if now != old:  # killed after the new run was swapped in whole
            assert json.loads((out / "metrics.json").read_text()) == expected
            continue
        assert not (out / "checkpoints").exists()
        assert tk.load(out).predict(np.zeros((1, 64), dtype=np.float32)).shape == (1,)
        again = ["--resume", str(out)] if staged.exists() else ["--overwrite"]
        resumed += staged.exists()
        r = subprocess.run([*EXE, *fit_args(digits_csv, out, *new, *again)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-2000:]
        got = json.loads((out / "metrics.json").read_text())
        assert got["accuracy"] == expected["accuracy"]
        np.testing.assert_allclose(got["log_loss"], expected["log_loss"], rtol=1e-6)
        assert not staged.parent.parent.exists(), "the replacement's checkpoints are cleaned up"
        assert not (out / "checkpoints").exists()
    assert resumed >= 1, "no kill landed between the first checkpoint and the save"
