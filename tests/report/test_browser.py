"""The HTML report in a real browser: headless Chromium (Debian's) driven by Playwright.

Skipped where Chromium or Playwright is missing, except in CI (CI=true), where .ci/run
installs both and a skip would hide a broken report.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from edgeprobe import report
from edgeprobe.result.files import parse_run
from tests.conftest import ROOT
from tests.needs import missing

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if not CHROMIUM or sync_playwright is None:
        missing("Chromium and Playwright", "scripts/setup test installs both")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A page plus everything it tried to do: console errors, requests, dialogs."""

    def __init__(self, browser, path, width):
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.errors, self.requests, self.dialogs = [], [], []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)
        self.page.wait_for_load_state("load")

    def js(self, code):
        return self.page.evaluate(code)


def _render(lab, tmp_path, name, **toml):
    # Playwright's sync API runs an event loop on this thread: probe from another one
    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(lambda: lab.probe(**toml)).result()
    path = tmp_path / f"{name}.html"
    report.write(parse_run(run), {"html": str(path)})
    return run, path


def test_failing_node_report(browser, lab, tmp_path):
    lab.fault("cdn-fremont-1", "s3_disabled")
    run, path = _render(lab, tmp_path, "demo", views=True)  # as `edgeprobe demo` probes
    shots = ROOT / "reports"
    shots.mkdir(exist_ok=True)
    for width, name in ((375, "phone"), (1280, "desktop")):
        page = Page(browser, path, width)
        assert page.errors == []
        assert page.requests == [page.url]  # nothing from any network
        assert page.js("document.getElementById('banner').dataset.verdict") == "failing"
        assert page.page.inner_text("#banner").startswith("FAILING")
        row = "#nodes tr[data-node='cdn-fremont-1']"
        assert page.page.get_attribute(row, "data-status") == "failing"
        assert "row-failing" in page.page.get_attribute(row, "class")
        assert page.page.get_attribute("[data-region='us-west']", "data-status") == "degraded"
        assert page.page.get_attribute("[data-region='eu-central']", "data-status") == "healthy"
        cells = page.js("document.querySelectorAll('#matrix td.cell').length")
        assert cells == run["counts"]["checks"] == 6 * len(lab.lab.paths)
        assert page.js("document.querySelectorAll('#matrix tr[data-node=\"cdn-fremont-1\"] "
                       "td.cell.missing').length") == len(lab.lab.paths)
        assert page.js("document.documentElement.scrollWidth") <= width  # no sideways scroll
        page.page.click("#matrix tr[data-node='cdn-fremont-1'] td.cell >> nth=0")
        detail = page.page.inner_text("#cell-detail")
        assert "verdict: missing" in detail and "curl --connect-to" in detail
        page.page.screenshot(path=str(shots / f"demo-{name}.png"), full_page=True)
        page.page.close()


def test_hostile_edge_cannot_run_script(browser, lab, tmp_path):
    lab.fault("cdn-fremont-1", "hostile")
    _, path = _render(lab, tmp_path, "hostile")
    raw = path.read_text()
    assert "<script>alert(1)</script>" not in raw and "<img src=x" not in raw
    page = Page(browser, path, 1280)
    page.page.click("#findings details summary")
    assert page.dialogs == [] and page.errors == []
    assert page.requests == [page.url]
    assert page.js("document.querySelectorAll('script').length") == 1  # ours only
    assert page.js("document.querySelectorAll('img').length") == 0
    text = page.page.inner_text("body")
    assert "<script>alert(1)</script>" in text  # shown as text, escaped
    assert '"><img src=x onerror=alert(1)>' in text
    page.page.click("#matrix tr[data-node='cdn-fremont-1'] td.cell >> nth=0")
    assert page.dialogs == []
    assert "<script>alert(1)</script>" in page.page.inner_text("#cell-detail")


def test_dark_scheme_and_print_render(browser, lab, tmp_path):
    _, path = _render(lab, tmp_path, "healthy")
    page = browser.new_page(color_scheme="dark")
    page.goto(path.resolve().as_uri())
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(13, 17, 23)"
    assert page.get_attribute("#banner", "data-verdict") == "healthy"
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('button') || document.body)"
                         ".display") in ("none", "block")
    page.close()


def test_long_unbreakable_strings_wrap_at_phone_width(browser, lab, tmp_path):
    """A long media URL, view name or subnet list (no space for 45+ characters) wraps in
    the HTML at 375 px instead of making the page scroll sideways (0.2 scrolled)."""
    lab.fault("cdn-fremont-1", "s3_disabled")
    run, _ = _render(lab, tmp_path, "long", views=True)
    long_path = "/system/media_attachments/files/" + "1" * 18 + "/original/" + "a" * 96 + ".png"
    run["objects"][0]["path"] = long_path
    for f in run["findings"]:
        f["summary"] += " " + long_path
    for view in run.get("views", []):
        view["name"] = "us-west-" + "x" * 72
        view["subnets"] = ["2001:0db8:0100:0000:0000:0000:0000:0000/56"]
    path = tmp_path / "long.html"
    report.write(parse_run(run), {"html": str(path)})
    page = Page(browser, path, 375)
    assert page.errors == []
    assert long_path in page.page.content()
    wide = page.js("""[...document.querySelectorAll('body *')].filter(
        e => e.getBoundingClientRect().right > 376).map(e => e.tagName + '.' + e.className + '#'
        + e.id).slice(0, 8)""")
    assert page.js("document.documentElement.scrollWidth") <= 375, wide
    # nor does the who-gets-which-edge table scroll inside its box (the wide tables of
    # nodes and checks may: they have many columns, not one long word)
    assert page.js("[...document.querySelectorAll('#who .scroll')].every("
                   "e => e.scrollWidth <= e.clientWidth + 1)")
    page.page.close()
