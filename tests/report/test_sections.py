"""The report's sections: one template and one data function each. Every section renders from
a minimal record, a template fails on data it lacks, and hostile record strings come out
escaped in every section."""

from __future__ import annotations

import html
import re

import jinja2
import pytest
from markupsafe import escape

from transferkit.report import render_html
from transferkit.report.plots import Plot
from transferkit.report.sections import SECTIONS, SUMMARY
from transferkit.report.templating import environment, render
from transferkit.runs import RECORD_SCHEMA

# A class name that would run if it were not escaped, and a dataset name holding every
# character HTML escapes.
CLASS = "<script>alert(1)</script>"
DATASET = "\"&'<>"


def record(kind: str = "fit", **parts) -> dict:
    return {"schema_version": RECORD_SCHEMA, "kind": kind, **parts}


def section_html(page: str, anchor: str) -> str:
    found = re.search(rf'<section id="{re.escape(anchor)}"[^>]*>(.*?)</section>', page, re.S)
    assert found, f"no section {anchor!r} on the page"
    return found.group(1)


def text(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def test_every_template_compiles():
    env = environment()
    names = env.list_templates(filter_func=lambda n: n.endswith(".j2"))
    assert {f"sections/{s.anchor}.html.j2" for s in [SUMMARY, *SECTIONS]} <= set(names)
    for name in names:
        env.get_template(name)


def test_section_data_without_a_key_its_template_uses_fails():
    """StrictUndefined: a prepare function that forgets a key breaks the tests, not the page."""
    with pytest.raises(jinja2.UndefinedError, match="'suggestion' is undefined"):
        render("sections/lr-find.html.j2", plot=None, extra=[])
    with pytest.raises(jinja2.UndefinedError, match="has no attribute 'epoch'"):
        render("sections/training.html.j2", plot=Plot("data:,", "curves"),
               best={"key": "val_loss", "value": 0.4}, epochs=2, shown_each_end=20, cut=False,
               cols=[], rows=[])


# --- each section from a minimal record ----------------------------------------------------

MINIMAL = {
    "summary": ({"dataset": {"train": {"name": "tiny", "n": 1200, "n_classes": 3}}},
                ["3-class classification", "tiny (1,200 train)"]),
    "compare": ({"compare": {"table": [
        {"strategy": "finetune", "fraction": 0.5, "seed": 0, "accuracy": 0.8},
        {"strategy": "finetune", "fraction": 0.5, "seed": 1, "accuracy": 0.9},
        {"strategy": "scratch", "fraction": 0.5, "seed": 0, "accuracy": 0.6}]}},
        ["finetune 0.8500 ± 0.0707 (n=2)", "scratch 0.6000 ± 0 (n=1)", "All 3 runs"]),
    "rank": ({"rank": {"table": [{"backbone": "bb-a", "logme": 1.25, "seconds": 2.0}]}},
             ["bb-a 1.2500 2.0000", "Scoring took 2.0000 s in total."]),
    "shift": ({"shift": {"mmd": 0.0834, "verdict": "mild shift"}},
              ["Verdict: mild shift", "0.0834 MMD"]),
    "adapt": ({"adapt": {"method": "coral", "source_only_accuracy": 0.6,
                         "target_accuracy": 0.55}},
              ["Method: coral", "0.6000 source-only accuracy on target",
               "−0.0500 gain from adaptation"]),
    "drift": ({"monitor": {"windows": [
        {"window": w, "start": 100 * w, "stop": 100 * w + 100, "statistic": 0.1 * w,
         "p_value": 0.5 if w == 0 else 1e-4, "threshold": 5e-4, "detected": w == 1,
         "estimated_accuracy": 0.8, "average_confidence": 0.9, "true_accuracy": None}
        for w in (0, 1)]}}, ["2 windows; alarms at window(s) 1", "100-199"]),
    "readapt": ({"readapt": {"method": "l2sp", "parent": "runs/kitchen"}},
                ["method l2sp", "parent runs/kitchen"]),
    "tune": ({"tune": {"trials": [{"number": 0, "state": "complete", "value": 0.9,
                                   "params": {"lr": 0.001}}],
                       "best": {"number": 0, "value": 0.9, "params": {"lr": 0.001}},
                       "states": {"complete": 1}}},
             ["Trials: 1 (1 complete)", "Best trial: #0 (validation accuracy 0.9000)"]),
    "pretrain": ({"kind": "pretrain", "pretrain": {
        "objective": "tsdae", "steps": 8, "held_out_loss": {"before": 9.5, "best": 7.25},
        "lineage": [{"step": "base", "backbone": "minilm-l6"},
                    {"step": "pretrained", "objective": "tsdae", "data": "reviews", "n": 40}],
        "loss_curve": [{"step": 1, "loss": 9.0}, {"step": 8, "loss": 7.0}]}},
        ["minilm-l6 (as published) → pretrained with tsdae on reviews (40 unlabelled rows)",
         "Held-out pretext loss: 9.5000 before, 7.2500 at best."]),
    "multitask": ({"multitask": {"tasks": {"intent": {"n_classes": 3, "n_train": 10}},
                                 "grad_conflict": {"every_steps": 20, "fighting": ["intent ~ mood"],
                                                   "pairs": {"intent ~ mood": {
                                                       "mean_cosine": -0.1, "samples": 4}}}}},
                  ["intent 3 10", "sampled every 20 steps", "intent ~ mood -0.1000",
                   "Fighting: intent ~ mood"]),
    "metrics": ({"metrics": {"accuracy": 0.875, "n": 40}},
                ["0.8750 accuracy", "40 test examples"]),
    "training": ({"history": [{"epoch": 1, "val_loss": 0.5}, {"epoch": 2, "val_loss": 0.4}]},
                 ["Best epoch by val_loss: 2 (val_loss = 0.4000); 2 epochs run."]),
    "lr-find": ({"lr_find": {"suggestion": 3e-4}}, ["Suggested learning rate: 3.00e-04"]),
    "data": ({"dataset": {"train": {"name": "tiny", "n": 12}}}, ["train name tiny n 12"]),
    "setup": ({"seed": 3}, ["Seed: 3 (the same seed gives the same numbers)."]),
    "other": ({"probe_notes": {"a": 1}}, ['probe_notes { "a": 1 }']),
}


def test_every_section_has_a_minimal_case():
    assert set(MINIMAL) == {s.anchor for s in [SUMMARY, *SECTIONS]}


@pytest.mark.parametrize("anchor", list(MINIMAL))
def test_each_section_renders_from_a_minimal_record(anchor):
    part, expected = MINIMAL[anchor]
    page = render_html(record(**part), missing=[])
    body = text(section_html(page, anchor))
    for words in expected:
        assert words in body, f"{anchor}: {words!r} not in {body!r}"
    assert "could not be rendered" not in page
    assert f'<a href="#{anchor}">' in page


def test_a_section_without_data_is_left_out():
    page = render_html(record(), missing=[])
    assert re.findall(r'<section id="([^"]+)"', page) == ["summary"]
    assert re.findall(r'<a href="#([^"]+)"', page) == ["summary"]


# --- hostile record strings ----------------------------------------------------------------

def hostile_record() -> dict:
    labels = ["plain", CLASS]
    return record(
        "fit",
        config={"data": DATASET, "backbone": "minilm-l6"},
        seed=7,
        dataset={"train": {"name": DATASET, "n": 20, "n_classes": 2,
                           "class_counts": {"plain": 9, CLASS: 11}}},
        backbone={"name": DATASET, "num_params": 100},
        strategy={"name": CLASS, "head": DATASET},
        history=[{"epoch": 1, "val_loss": 0.5, "note": CLASS},
                 {"epoch": 2, "val_loss": 0.4, "note": DATASET}],
        lr_find={"suggestion": 1e-3, "data": DATASET},
        metrics={"accuracy": 0.5, "labels": labels, "confusion_matrix": [[3, 2], [1, 4]],
                 "per_class": {CLASS: {"precision": 0.5, "recall": 0.4, "f1": 0.44,
                                       "support": 5}}},
        compare={"table": [{"strategy": CLASS, "fraction": 1.0, "seed": 0, "accuracy": 0.7},
                           {"strategy": DATASET, "fraction": 1.0, "seed": 0, "accuracy": 0.6}],
                 "verdict": f"{CLASS} helps on {DATASET}"},
        rank={"table": [{"backbone": CLASS, "logme": 1.0}, {"backbone": DATASET, "logme": 0.5}],
              "readings": {CLASS: DATASET}},
        shift={"mmd": 0.1, "verdict": DATASET, "per_class": {CLASS: 0.2, DATASET: 0.1},
               "projection": {"method": "pca", CLASS: [[0, 0], [1, 1]],
                              DATASET: [[1, 0], [0, 1]]}},
        adapt={"method": DATASET, "source_only_accuracy": 0.5, "target_accuracy": 0.6,
               "validators": {CLASS: 0.3}},
        monitor={"method": CLASS, "reference": {"name": DATASET},
                 "windows": [{"window": 0, "start": 0, "stop": 10, "statistic": 0.1,
                              "p_value": 0.2, "threshold": 0.05, "detected": False,
                              "estimated_accuracy": 0.8, "average_confidence": 0.9}]},
        readapt={"method": CLASS, "parent": DATASET},
        tune={"trials": [{"number": 0, "state": "complete", "value": 0.5,
                          "params": {CLASS: DATASET}}],
              "best": {"number": 0, "value": 0.5, "params": {CLASS: DATASET}},
              "importances": {CLASS: 0.7, DATASET: 0.3}},
        pretrain={"objective": CLASS, "lineage": [{"step": "base", "backbone": DATASET}]},
        multitask={"tasks": {CLASS: {"n_classes": 2}, DATASET: {"n_classes": 3}},
                   "grad_conflict": {"every_steps": 5, "fighting": [f"{CLASS} ~ {DATASET}"],
                                     "pairs": {f"{CLASS} ~ {DATASET}": {"mean_cosine": -0.2}}}},
        custom_part={"label": CLASS, "data": DATASET},
    )


def test_hostile_record_strings_are_escaped_in_every_section():
    page = render_html(hostile_record(), missing=[])
    assert "could not be rendered" not in page
    assert "<script" not in page.lower()
    escaped = (str(escape(CLASS)), str(escape(DATASET)))
    assert escaped == ("&lt;script&gt;alert(1)&lt;/script&gt;", "&#34;&amp;&#39;&lt;&gt;")
    for sec in [SUMMARY, *SECTIONS]:
        fragment = section_html(page, sec.anchor)
        assert DATASET not in fragment and CLASS not in fragment, sec.anchor
        shown = text(fragment)
        assert CLASS in shown or DATASET in shown, f"{sec.anchor}: the record strings vanished"
        assert any(e in fragment for e in escaped), f"{sec.anchor}: nothing escaped shown"
    # the image descriptions carry record strings too (a split name here), escaped the same way
    for alt in re.findall(r'<img [^>]*alt="([^"]*)"', page):
        assert "<" not in alt and ">" not in alt


def test_a_failing_section_names_its_error_as_text():
    rec = record(metrics={"accuracy": 0.5, "confusion_matrix": [[1, 2], CLASS]})
    body = text(section_html(render_html(rec, missing=[]), "metrics"))
    assert body.startswith("Test metrics This part of the record could not be rendered (")
    assert "<script" not in render_html(rec, missing=[]).lower()
