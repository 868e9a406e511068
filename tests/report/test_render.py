"""Rendering run records of every kind: key numbers in the text, images present and non-empty,
escaping, incomplete runs and newer schemas."""

from __future__ import annotations

import base64
import html
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import transferkit as tk
from transferkit.exceptions import RunError
from transferkit.report import load_run, render_html, write_report
from transferkit.report.sections.evaluation import top_confusions

KINDS = ["fit", "fit_many", "lr_find", "compare", "rank", "shift", "adapt", "digits",
         "incomplete"]
# How many plots each page must carry, at least.
MIN_IMAGES = {"fit": 3, "fit_many": 3, "lr_find": 4, "compare": 1, "rank": 1, "shift": 3,
              "adapt": 2, "digits": 2, "incomplete": 0}


def page_text(page: str) -> str:
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def images(page: str) -> list[Image.Image]:
    out = []
    for data in re.findall(r'<img [^>]*src="data:image/png;base64,([^"]+)"', page):
        img = Image.open(io.BytesIO(base64.b64decode(data)))
        img.load()
        out.append(img)
    return out


@pytest.fixture(scope="module")
def written(report_runs):
    """``written(kind)``: ``(path, page)`` of that run's report, written once for this module
    (drawing the plots is most of its time) and shared by the tests that only read the page."""
    pages: dict[str, tuple[Path, str]] = {}

    def get(kind: str) -> tuple[Path, str]:
        if kind not in pages:
            path = write_report(report_runs[kind][0])
            pages[kind] = (path, path.read_text(encoding="utf-8"))
        return pages[kind]

    return get


@pytest.mark.parametrize("kind", KINDS)
def test_report_shows_key_numbers_and_plots(report_runs, written, kind):
    folder, keys = report_runs[kind]
    path, page = written(kind)
    assert path == folder / "report.html"
    text = page_text(page)
    for key in keys:
        assert key in text, f"{kind}: {key!r} missing from the page text"
    imgs = images(page)
    assert len(imgs) >= MIN_IMAGES[kind], f"{kind}: {len(imgs)} images"
    assert page.count("<img") == len(imgs), "every image must be an inline PNG"
    for img in imgs:
        assert img.width > 100 and img.height > 50
        px = np.asarray(img.convert("L"), dtype=float)
        assert px.std() > 5, "a plot must not be blank"
    assert "could not be rendered" not in text
    # self-contained: no external resources, no scripts
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()


def test_strings_from_the_record_are_escaped(written):
    _, page = written("fit")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; $a$" in page


def test_summary_card_and_sections_per_kind(written):
    _, fit = written("fit")
    summary = page_text(fit.split('<section id="summary"')[1].split("</section>")[0])
    for word in ("5-class text classification", "banking-sample", "minilm-l6", "finetune",
                 "test accuracy", "head start", "linear probe on the frozen features (LP-FT)"):
        assert word in summary
    assert 'id="training"' in fit and 'id="metrics"' in fit and 'id="setup"' in fit
    assert "Best epoch by val_loss" in page_text(fit)

    _, cmp_page = written("compare")
    card = page_text(cmp_page.split('<section id="summary"')[1].split("</section>")[0])
    assert "verdict (transfer vs scratch)" in card and "transfer helps" in card
    assert "best mean accuracy" in card and "finetune" in card
    assert "&plusmn;" in cmp_page, "the comparison table shows mean ± std"


def test_many_classes_list_top_confusions(report_runs, written):
    folder, _ = report_runs["fit_many"]
    rec = json.loads((folder / "record.json").read_text())
    m = rec["metrics"]
    worst = top_confusions(m["confusion_matrix"], m["labels"], n=1)[0]
    text = page_text(written("fit_many")[1])
    assert f"{worst[0]} {worst[1]} {worst[2]}" in re.sub(r"\s+", " ", text)
    assert "Showing the first and last" not in text  # 12 epochs: all rows shown


def test_top_confusions_order():
    cm = [[5, 2, 0], [7, 1, 1], [0, 0, 9]]
    rows = top_confusions(cm, ["a", "b", "c"], n=5)
    assert rows[0][:3] == ("b", "a", 7) and rows[1][:3] == ("a", "b", 2)
    assert rows[0][3] == pytest.approx(7 / 9)
    assert all(r[2] > 0 for r in rows) and len(rows) == 3


def test_incomplete_run_says_what_is_missing(report_runs, tmp_path):
    folder, _ = report_runs["incomplete"]
    rec, missing = load_run(folder)
    assert rec["metrics"]["accuracy"] == 0.4321
    assert "record.json is missing" in missing[0] and "config.yaml" in missing[0]
    text = page_text(write_report(folder).read_text())
    assert "This run is incomplete" in text

    # a record missing sections: rendered, with the gaps named
    good = json.loads((report_runs["fit"][0] / "record.json").read_text())
    del good["metrics"], good["environment"]
    text = page_text(render_html(good))
    assert "The record has no 'metrics'" in text and "The record has no 'environment'" in text
    assert "Learning curves" in text, "what exists is still rendered"

    # a half-written record.json: render from the other files and say so
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "record.json").write_text('{"schema_version": 1, "kind": "fi')
    (broken / "metrics.json").write_text('{"accuracy": 0.5}')
    text = page_text(write_report(broken).read_text())
    assert "record.json is unreadable" in text and "0.5000" in text


def test_not_a_run_folder_and_newer_schema(tmp_path, report_runs):
    with pytest.raises(RunError, match="No run folder"):
        write_report(tmp_path / "nope")
    with pytest.raises(RunError, match="not a transferkit run folder"):
        write_report(tmp_path)
    rec = json.loads((report_runs["fit"][0] / "record.json").read_text())
    rec["schema_version"] = 99
    newer = tmp_path / "newer"
    newer.mkdir()
    (newer / "record.json").write_text(json.dumps(rec))
    with pytest.raises(RunError, match="schema 99.*Upgrade transferkit"):
        write_report(newer)
    with pytest.raises(RunError, match="schema 99"):
        render_html(rec)
    assert not (newer / "report.html").exists()


def test_rendering_is_from_the_record_alone(report_runs, tmp_path):
    """Only record.json is needed: a copy of it alone re-renders the same page."""
    folder, _ = report_runs["digits"]
    copy = tmp_path / "digits-probe"
    copy.mkdir()
    (copy / "record.json").write_bytes((folder / "record.json").read_bytes())
    assert tk.render_report(copy) == tk.render_report(folder)


def test_an_odd_part_costs_only_its_section(report_runs):
    rec = json.loads((report_runs["fit"][0] / "record.json").read_text())
    rec["metrics"]["confusion_matrix"] = [[1, 2], "not a row"]
    text = page_text(render_html(rec))
    assert "could not be rendered" in text
    assert "Learning curves" in text and "Environment" in text
