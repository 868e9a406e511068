"""A monitor saved and loaded mid-stream gives the same windows as one that never stopped;
a re-adapted model takes over the watch and the moment is kept."""

from __future__ import annotations

import numpy as np
import pytest

import transferkit as tk
from transferkit.runs import read_record

# slow: MiniLM encodes hundreds of real reviews first; kept out of the fast loop (make test-fast)
pytestmark = [pytest.mark.real_weights, pytest.mark.real_data, pytest.mark.slow]


@pytest.fixture(scope="module")
def stream(kitchen_parts, reviews):
    """100 kitchen then 100 books reviews, labelled, as (texts, labels)."""
    kitchen, books = kitchen_parts[2], reviews["books"].subset(np.arange(100))
    return kitchen.inputs + books.inputs, np.r_[kitchen.labels, books.labels]


def _fields(reports):
    return [(r.window, r.statistic, r.p_value, r.detected, r.estimated_accuracy,
             r.average_confidence, r.true_accuracy, r.label_shift) for r in reports]


def test_a_loaded_monitor_gives_the_same_next_windows_as_one_that_never_stopped(
        kitchen_model, kitchen_parts, stream, tmp_path):
    texts, labels = stream
    ref = kitchen_parts[1]
    whole = tk.DriftMonitor(kitchen_model, window=50, reference=ref, method=["mmd", "bbsd"])
    whole.monitor([(texts, labels)])
    # Stopped after 75 rows: one window tested, 25 rows waiting for the second.
    first = tk.DriftMonitor(kitchen_model, window=50, reference=ref, method=["mmd", "bbsd"])
    first.update((texts[:75], labels[:75]))
    first.save(tmp_path / "mon")
    resumed = tk.DriftMonitor.load(tmp_path / "mon", model=kitchen_model)
    assert resumed.state()["pending_rows"] == 25 and len(resumed.reports_) == 1
    np.testing.assert_array_equal(resumed.reference_["features"], first.reference_["features"])
    assert resumed.reference_["threshold"] == first.reference_["threshold"]
    resumed.update((texts[75:], labels[75:]))
    # Same statistics, p-values (the permutation seed follows the windows tested) and
    # estimates, to the last bit, on every window after the restart.
    assert _fields(resumed.reports_) == _fields(whole.reports_)
    assert [r.detected for r in resumed.reports_] == [False, False, True, True]
    assert resumed.reports_[2].statistic > 0.01  # a real number, not a default
    # The folder is a run of kind monitor, its windows in the record.
    rec = read_record(tmp_path / "mon")
    assert rec["kind"] == "monitor" and rec["monitor"]["windows"][0]["window"] == 0


def test_a_monitor_of_a_saved_run_finds_its_model_again(kitchen_model, kitchen_parts, stream,
                                                         tmp_path):
    texts, labels = stream
    kitchen_model.save(tmp_path / "kitchen")
    mon = tk.DriftMonitor(str(tmp_path / "kitchen"), window=50, reference=kitchen_parts[1])
    mon.update((texts[:100], labels[:100]))
    mon.save(tmp_path / "mon")
    again = tk.DriftMonitor.load(tmp_path / "mon")  # the model loaded from its run folder
    a, b = again.update((texts[100:150], labels[100:150])), \
        mon.update((texts[100:150], labels[100:150]))
    assert a.detected and (a.statistic, a.p_value) == (b.statistic, b.p_value)
    assert again.model_run == str((tmp_path / "kitchen").absolute())


def test_loading_refuses_another_model_another_kind_of_folder_and_an_existing_run(
        kitchen_model, kitchen_parts, reviews, stream, tmp_path):
    texts, labels = stream
    mon = tk.DriftMonitor(kitchen_model, window=50, reference=kitchen_parts[1])
    mon.update((texts[:50], labels[:50]))
    mon.save(tmp_path / "mon")
    other = tk.TransferClassifier(backbone=kitchen_model.backbone_, C=0.1, label_prior=False,
                                  progress=False).fit(kitchen_parts[1])
    with pytest.raises(tk.ConfigError, match=r"expects the model the monitor.*watched.*got "
                                             r"another model.*Fix"):
        tk.DriftMonitor.load(tmp_path / "mon", model=other)
    with pytest.raises(tk.ConfigError, match=r"saved without that model's run folder.*Fix"):
        tk.DriftMonitor.load(tmp_path / "mon")
    kitchen_model.save(tmp_path / "kitchen")
    with pytest.raises(tk.RunError, match=r"expects a monitor folder.*a run of kind.*Fix"):
        tk.DriftMonitor.load(tmp_path / "kitchen", model=kitchen_model)
    with pytest.raises(tk.RunError, match=r"already holds a finished run.*overwrite"):
        mon.save(tmp_path / "mon")


def test_a_readapted_model_takes_over_and_the_moment_is_kept(kitchen_model, kitchen_parts,
                                                             reviews, tmp_path):
    books = reviews["books"]
    pool, books_ref, books_stream = (books.subset(np.arange(60)), books.subset(np.arange(60, 100)),
                                     books.subset(np.arange(100, 150)))
    mon = tk.DriftMonitor(kitchen_model, window=50, reference=kitchen_parts[1])
    mon.monitor([kitchen_parts[2], books.subset(np.arange(50))])
    assert [r.detected for r in mon.reports_] == [False, False, True]
    new = tk.readapt(kitchen_model, pool, budget=30, old_data=kitchen_parts[1], seed=0,
                     parent="runs/kitchen", out=tmp_path / "kitchen-v2")
    moment = mon.readapted(new, run=tmp_path / "kitchen-v2", reference=books_ref)
    assert moment | {"run": None} == {
        "after_window": 2, "stream_row": 150, "parent": "runs/kitchen", "run": None,
        "method": "l2sp", "budget": 30, "labelled": 30, "reference": "given"}
    (after,) = mon.monitor([books_stream])
    # The new model is watched against the books reference: books is no drift any more, and
    # its accuracy is the new model's.
    assert after.window == 3 and not after.detected
    assert after.true_accuracy == pytest.approx(new.score(books_stream))
    mon.save(tmp_path / "mon")
    loaded = tk.DriftMonitor.load(tmp_path / "mon", model=new)
    assert loaded.readaptations_ == mon.readaptations_
    assert loaded.model_run == str((tmp_path / "kitchen-v2").absolute())
