"""The audio CLI end to end in a temporary folder: zoo, fit, predict a wav, --group-by."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from transferkit.cli.main import main


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_zoo_lists_speech_embedding_with_its_licences(capsys):
    code, out, _ = run_cli(capsys, "zoo", "speech*")
    assert code == 0
    line = next(ln for ln in out.splitlines() if ln.startswith("speech-embedding"))
    assert "audio" in line and "CC BY-NC-SA 4.0" in line and "Apache-2.0" in line


@pytest.mark.real_weights
@pytest.mark.real_data
@pytest.mark.slow
def test_fit_fsdd_then_predict_a_wav(capsys, fsdd, speech_embedding, tmp_path, make_wav):
    out_dir = tmp_path / "runs" / "fsdd"
    code, out, err = run_cli(capsys, "fit", "fsdd", "--backbone", "speech-embedding",
                             "--strategy", "probe", "--shots", "20", "--out", out_dir)
    assert code == 0, err
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert metrics["accuracy"] >= 0.9 and metrics["n"] == 300  # measured 0.97
    # a clip of the test split, written at 16 kHz: the run resamples what it is given
    from transferkit.data import resample

    i = int(np.flatnonzero(fsdd.test.labels == 7)[0])
    wav = make_wav(tmp_path / "seven.wav", resample(fsdd.test.inputs[i], 8000, 16000),
                   rate=16000)
    code, out, err = run_cli(capsys, "predict", out_dir, wav, "--json")
    assert code == 0, err
    pred = json.loads(out.splitlines()[0])
    assert pred["input"] == str(wav) and pred["predictions"][0]["label"] == "7", pred


@pytest.mark.real_weights
@pytest.mark.real_data
@pytest.mark.slow
def test_fit_group_by_speaker_on_a_table_reports_folds(capsys, fsdd, speech_embedding,
                                                       tmp_path):
    # two clips per digit and speaker as a CSV of paths; --group-by makes the table's
    # 'speaker' column its group column without --domain-col
    import pandas as pd

    root = Path(fsdd.train.meta["source"])
    index = pd.read_csv(root / "index.csv")
    rows = index[index["index"].isin([10, 11])]
    table = pd.DataFrame({"path": [str(root / "recordings" / f) for f in rows["file"]],
                          "label": rows["digit"], "speaker": rows["speaker"]})
    table.to_csv(tmp_path / "clips.csv", index=False)
    out_dir = tmp_path / "runs" / "loso"
    code, out, err = run_cli(capsys, "fit", tmp_path / "clips.csv", "--backbone",
                             "speech-embedding", "--group-by", "speaker", "--out", out_dir)
    assert code == 0, err
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert metrics["protocol"] == "leave-one-speaker-out" and metrics["n"] == 120
    assert sorted(f["group"] for f in metrics["folds"]) == sorted(set(fsdd.train.domains))
    assert all(f["n"] == 20 for f in metrics["folds"])
    assert metrics["accuracy"] >= 0.7  # 8 clips per digit from 5 other speakers


def test_group_by_a_missing_column_fails_in_one_line(capsys, tmp_path, make_wav, make_tone):
    for lab, f in (("a", 300.0), ("b", 900.0)):
        for k in range(3):
            make_wav(tmp_path / "clips" / lab / f"{k}.wav", make_tone(f, seed=k))
    code, _, err = run_cli(capsys, "fit", tmp_path / "clips", "--strategy", "baseline",
                           "--group-by", "speaker", "--out", tmp_path / "run")
    assert code == 2
    assert "group column 'speaker'" in err and "Fix" in err
