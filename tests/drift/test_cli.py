"""``transferkit monitor`` and ``transferkit readapt`` end to end on real reviews."""

from __future__ import annotations

import csv
import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from transferkit.cli.main import main

pytestmark = [pytest.mark.real_weights, pytest.mark.real_data, pytest.mark.slow]


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def files(tmp_path_factory, kitchen_model, kitchen_parts, reviews):
    d = tmp_path_factory.mktemp("drift-cli")
    kitchen_model.save(d / "kitchen")
    _, ref, stream = kitchen_parts
    books = reviews["books"]
    pd.DataFrame({"text": ref.inputs, "label": ref.labels}).to_csv(d / "ref.csv", index=False)
    texts = stream.inputs + books.inputs[:100] + ["   "]  # the last row is corrupt
    labels = np.r_[stream.labels, books.labels[:100], 1]
    dates = pd.date_range("2024-01-01", periods=201, freq="h").astype(str).tolist()
    # Written shuffled: only the date column gives the order kitchen, then books.
    frame = pd.DataFrame({"text": texts, "label": labels, "date": dates})
    shuffled = frame.sample(frac=1.0, random_state=0)
    shuffled.to_csv(d / "stream.csv", index=False)
    # the corrupt row's number in the file, counted from 1 after the header
    (d / "bad_row").write_text(str(int(np.flatnonzero(shuffled.index == 200)[0]) + 1))
    frame.assign(date="someday").to_csv(d / "undated.csv", index=False)
    pd.DataFrame({"a": np.arange(60.0), "b": np.ones(60)}).to_csv(d / "table.csv", index=False)
    pool = books.subset(np.arange(100, 150))
    pd.DataFrame({"text": pool.inputs, "label": pool.labels}).to_csv(d / "pool.csv", index=False)
    return d


def test_monitor_orders_by_time_reports_bad_rows_and_writes_the_timeline(files, capsys):
    d = files
    args = ["monitor", d / "kitchen", d / "stream.csv", "--text-col", "text", "--label-col",
            "label", "--time-col", "date", "--window", 50, "--reference", d / "ref.csv"]
    bad = (d / "bad_row").read_text()
    code, _, err = cli(capsys, *args, "--out", d / "mon")
    assert code == 2 and f"row {bad}: empty or non-text 'text'" in err and "--skip-bad" in err
    assert not (d / "mon").exists()
    code, out, err = cli(capsys, *args, "--out", d / "mon", "--skip-bad")
    assert code == 0 and f"skipped row {bad}" in err
    with open(d / "mon" / "windows.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["detected"] for r in rows] == ["False", "False", "True", "True"]
    assert all(r["true_accuracy"] and r["estimated_accuracy"] for r in rows)
    rec = json.loads((d / "mon" / "record.json").read_text())
    assert rec["kind"] == "monitor" and rec["monitor"]["stream"]["skipped"] == 1
    assert rec["monitor"]["reference"]["n"] == 150
    assert "Drift timeline" in (d / "mon" / "report.html").read_text()


def test_monitor_refuses_unsortable_time_other_modality_and_too_big_a_window(files, capsys):
    d = files
    code, _, err = cli(capsys, "monitor", d / "kitchen", d / "undated.csv", "--text-col",
                       "text", "--time-col", "date", "--window", 50)
    assert code == 2 and "not sortable: expected dates or numbers" in err and "Fix" in err
    code, _, err = cli(capsys, "monitor", d / "kitchen", d / "table.csv", "--feature-cols",
                       "a,b", "--window", 20)
    assert code == 2 and "needs text inputs" in err and "tabular" in err
    code, _, err = cli(capsys, "monitor", d / "kitchen", d / "stream.csv", "--text-col",
                       "text", "--window", 150, "--skip-bad")
    assert code == 2 and "at least 300 rows for --window 150" in err and "got 200" in err


def test_readapt_writes_a_new_run_that_records_its_parent_and_leaves_the_old_one(files,
                                                                                 capsys):
    d = files

    def digest():
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in (d / "kitchen").iterdir() if p.is_file()}

    before = digest()
    code, out, _ = cli(capsys, "readapt", d / "kitchen", d / "pool.csv", "--budget", 20,
                       "--old", d / "ref.csv", "--text-col", "text", "--label-col", "label",
                       "--out", d / "kitchen-v2")
    assert code == 0 and "labelled 20 of 50 new rows" in out
    rec = json.loads((d / "kitchen-v2" / "record.json").read_text())
    assert rec["readapt"]["parent"] == str(d / "kitchen")
    assert len(rec["readapt"]["labelled_rows"]) == 20
    assert digest() == before
    code, _, err = cli(capsys, "readapt", d / "kitchen", d / "pool.csv", "--text-col", "text",
                       "--label-col", "label", "--out", d / "kitchen", "--overwrite")
    assert code == 2 and "never writes over the deployed run" in err
    assert digest() == before


def test_monitor_resumes_across_runs_and_marks_the_readapted_model(files, capsys,
                                                                   kitchen_parts, reviews):
    d = files
    kitchen, books = kitchen_parts[2], reviews["books"]
    texts, labels = kitchen.inputs + books.inputs[:100], np.r_[kitchen.labels, books.labels[:100]]
    for name, rows in (("a", slice(0, 125)), ("b", slice(125, 175)), ("c", slice(175, 200))):
        pd.DataFrame({"text": texts[rows], "label": labels[rows]}).to_csv(d / f"part-{name}.csv",
                                                                         index=False)
    cols = ["--text-col", "text", "--label-col", "label"]
    code, out, _ = cli(capsys, "monitor", d / "kitchen", d / "part-a.csv", *cols, "--window", 50,
                       "--reference", d / "ref.csv", "--out", d / "live")
    assert code == 0 and "the last 25 rows do not fill a window yet" in out
    code, _, err = cli(capsys, "monitor", d / "kitchen", d / "part-b.csv", *cols, "--resume",
                       d / "live", "--window", 100)
    assert code == 2 and "--window 100 (saved: 50)" in err and "Fix" in err
    # The same model, the next rows: window 2 (the 25 waiting kitchen rows and 25 books).
    code, out, _ = cli(capsys, "monitor", d / "kitchen", d / "part-b.csv", *cols, "--resume",
                       d / "live")
    assert code == 0 and "window 2 (rows 100-149)" in out
    code, _, _ = cli(capsys, "readapt", d / "kitchen", d / "pool.csv", "--budget", 20, "--old",
                     d / "ref.csv", *cols, "--out", d / "kitchen-v3")
    assert code == 0
    # The re-adapted run takes over, against a books reference; the moment is on the timeline.
    code, out, _ = cli(capsys, "monitor", d / "kitchen-v3", d / "part-c.csv", *cols, "--resume",
                       d / "live", "--reference", d / "pool.csv")
    assert code == 0 and "watched from window 3" in out and "20 labels" in out
    rec = json.loads((d / "live" / "record.json").read_text())
    mon = rec["monitor"]
    assert [w["window"] for w in mon["windows"]] == [0, 1, 2, 3]
    assert [s["path"][-10:] for s in mon["streams"]] == ["part-a.csv", "part-b.csv",
                                                         "part-c.csv"]
    (moment,) = mon["readaptations"]
    assert moment["after_window"] == 2 and moment["labelled"] == 20
    assert moment["parent"] == str(d / "kitchen") and moment["run"] == str(d / "kitchen-v3")
    assert mon["model"]["run"] == str(d / "kitchen-v3")
    assert "re-adapted 1 time(s), after window(s) <b>2</b>" in \
        (d / "live" / "report.html").read_text()
