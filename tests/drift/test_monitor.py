"""DriftMonitor on real reviews: a kitchen model watching kitchen, then books."""

from __future__ import annotations

import numpy as np
import pytest

import transferkit as tk

# slow: MiniLM encodes hundreds of real reviews first; kept out of the fast loop (make test-fast)
pytestmark = [pytest.mark.real_weights, pytest.mark.real_data, pytest.mark.slow]


@pytest.fixture(scope="module")
def mmd_reports(kitchen_model, kitchen_parts, reviews):
    _, ref, stream = kitchen_parts
    monitor = tk.DriftMonitor(kitchen_model, window=50, reference=ref)
    books = reviews["books"].subset(np.arange(100))
    return monitor, monitor.monitor([stream, books])


def test_books_windows_raise_the_alarm_and_kitchen_windows_do_not(mmd_reports):
    monitor, reports = mmd_reports
    assert [r.detected for r in reports] == [False, False, True, True]
    # The alarm level is alpha spread over the horizon, and the permutations can reach it.
    assert reports[0].threshold == pytest.approx(0.05 / 100)
    assert 1 / (1 + monitor.n_permutations) < reports[0].threshold
    assert all(r.p_value > 0.01 for r in reports[:2])
    assert [(r.window, r.start, r.stop) for r in reports] == [(0, 0, 50), (1, 50, 100),
                                                              (2, 100, 150), (3, 150, 200)]
    # The MMD of a books window is far above a kitchen window's.
    assert min(r.statistic for r in reports[2:]) > 10 * max(abs(r.statistic)
                                                            for r in reports[:2])


def test_atc_estimate_follows_the_true_accuracy_in_domain_and_beats_plain_confidence(
        mmd_reports):
    _, reports = mmd_reports

    def mean(seg, key):
        return float(np.mean([getattr(r, key) for r in seg]))

    kitchen, books = reports[:2], reports[2:]
    assert abs(mean(kitchen, "estimated_accuracy") - mean(kitchen, "true_accuracy")) < 0.08
    # On books this small model is over-confident: ATC stays too high (by ~15 points here),
    # but much less so than the average confidence, which it corrects.
    truth = mean(books, "true_accuracy")
    assert abs(mean(books, "estimated_accuracy") - truth) < \
        abs(mean(books, "average_confidence") - truth) - 0.05
    assert mean(kitchen, "true_accuracy") - truth > 0.05


def test_reference_is_stored_with_its_calibrated_threshold(mmd_reports, kitchen_model,
                                                           kitchen_parts):
    monitor, _ = mmd_reports
    state = monitor.state()
    ref = state["reference"]
    assert ref["source"] == "given" and ref["n"] == 150
    # ATC's threshold leaves a share of the reference confidences above it equal to the
    # reference accuracy.
    proba = kitchen_model.predict_proba(kitchen_parts[1])
    above = np.mean(proba.max(1) > ref["threshold"])
    assert above == pytest.approx(ref["accuracy"], abs=0.01)
    assert kitchen_model.score(kitchen_parts[1]) == pytest.approx(ref["accuracy"])
    assert len(state["windows"]) == 4 and state["windows"][2]["detected"] is True


def test_label_shift_is_reported_beside_the_alarm(mmd_reports):
    _, reports = mmd_reports
    for r in reports:
        ls = r.label_shift
        assert ls is not None and sum(ls["priors"]) == pytest.approx(1.0, abs=1e-3)
        assert 0.0 <= ls["p_value"] <= 1.0


def test_domain_classifier_test_agrees_and_several_tests_combine(kitchen_model, kitchen_parts,
                                                                 reviews):
    _, ref, stream = kitchen_parts
    books = reviews["books"].subset(np.arange(50))
    mon = tk.DriftMonitor(kitchen_model, window=50, reference=ref,
                          method=["classifier", "bbsd"])
    reports = mon.monitor([stream.subset(np.arange(50)), books])
    assert [r.detected for r in reports] == [False, True]
    assert reports[1].statistic > 0.9  # the domain classifier's AUC on books
    for r in reports:
        assert r.p_value == pytest.approx(min(1.0, 2 * min(t["p_value"]
                                                           for t in r.tests.values())))


def test_batches_of_any_size_give_the_same_windows_and_the_first_can_be_the_reference(
        kitchen_model, kitchen_parts, reviews):
    _, _, stream = kitchen_parts
    books = reviews["books"].subset(np.arange(100))
    texts = stream.inputs + books.inputs
    labels = np.r_[stream.labels, books.labels]
    mon = tk.DriftMonitor(kitchen_model, window=100)
    assert mon.update((texts[:30], labels[:30])) is None
    out = [mon.update((texts[i:i + 45], labels[i:i + 45])) for i in range(30, 200, 45)]
    assert mon.reference_["source"] == "first window of the stream"
    assert mon.reference_["threshold"] is not None  # labelled: ATC calibrated on it
    assert [r for r in out if r is not None] == mon.reports_
    (books_report,) = mon.reports_
    assert books_report.window == 1 and books_report.detected
    assert books_report.true_accuracy == pytest.approx(kitchen_model.score(books))


def test_bad_inputs_say_what_was_expected_what_came_and_how_to_fix(kitchen_model,
                                                                   kitchen_parts):
    _, ref, stream = kitchen_parts
    with pytest.raises(tk.DataError, match=r"expects at least 300 stream rows.*got 200.*Fix"):
        tk.DriftMonitor(kitchen_model, window=300, reference=ref).monitor([stream, stream])
    one_class = ref.subset(np.flatnonzero(ref.labels == ref.labels[0]))
    with pytest.raises(tk.DataError, match=r"at least 2 classes.*got only class.*Fix"):
        tk.DriftMonitor(kitchen_model, window=100, reference=one_class)
    mon = tk.DriftMonitor(kitchen_model, window=50, reference=ref)
    with pytest.raises(tk.DataError, match=r"needs text inputs; got .*tabular.*Fix"):
        mon.update(np.zeros((20, 5), np.float32))
    with pytest.raises(tk.ConfigError, match="alarm_rule"):
        tk.DriftMonitor(kitchen_model, window=100, alarm_rule="always")
