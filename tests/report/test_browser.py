"""Open every kind of report in headless Chromium: it loads with no console errors and no
network request, every image decodes to a non-empty picture, and the key numbers are visible.

One full-page screenshot per report kind is kept in tests/report/artifacts/ (git-ignored by a
.gitignore the test writes there; override the folder with TRANSFERKIT_TEST_ARTIFACTS).

Needs a Chromium binary (Debian's ``chromium``; ``scripts/install_browser.sh`` installs it) and
Playwright's Python package (the ``dev`` extra); skips with the reason when either is missing.
Playwright only drives the system browser here: no ``playwright install`` download.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from transferkit.report import write_report

KINDS = ["fit", "fit_many", "lr_find", "compare", "rank", "shift", "adapt", "digits",
         "incomplete"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


def chromium_binary() -> str | None:
    env = os.environ.get("TRANSFERKIT_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def artifacts_dir() -> Path:
    d = Path(os.environ.get("TRANSFERKIT_TEST_ARTIFACTS")
             or Path(__file__).resolve().parent / "artifacts")
    d.mkdir(parents=True, exist_ok=True)
    ignore = d / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# screenshots written by tests/report/test_browser.py\n*\n")
    return d


pytestmark = pytest.mark.browser

@pytest.fixture(scope="module")
def browser():
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no Chromium binary found (install with scripts/install_browser.sh, or set "
                    "TRANSFERKIT_CHROMIUM=/path/to/chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="Playwright's Python package is missing (pip install -e '.[dev]')")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=binary, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.mark.parametrize("kind", KINDS)
def test_report_in_a_real_browser(browser, report_runs, kind):
    folder, keys = report_runs[kind]
    path = write_report(folder)
    url = path.resolve().as_uri()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems, requests = [], []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("request", lambda r: requests.append(r.url))
    try:
        response = page.goto(url, wait_until="load")
        assert response is None or response.ok
        page.wait_for_function("Array.from(document.images).every(i => i.complete)")
        assert problems == [], problems
        external = [u for u in requests if u != url and not u.startswith("data:")]
        assert external == [], f"the page must be self-contained; it requested {external}"

        imgs = page.evaluate("""Array.from(document.images).map(i => ({
            w: i.naturalWidth, h: i.naturalHeight, shown: i.getBoundingClientRect().width,
            alt: i.alt}))""")
        assert len(imgs) == path.read_text().count("<img")
        for img in imgs:
            assert img["w"] > 0 and img["h"] > 0, f"image did not decode: {img['alt']}"
            assert img["shown"] > 50, f"image not displayed: {img['alt']}"
        assert page.evaluate("document.scripts.length") == 0, "a record string became a script"

        visible = re.sub(r"\s+", " ", page.inner_text("body"))
        for key in keys:
            assert key in visible, f"{kind}: {key!r} is not visible on the page"
        assert page.title().startswith("transferkit")

        shot = artifacts_dir() / f"report-{kind}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        print(f"screenshot: {shot}")
    finally:
        page.close()
