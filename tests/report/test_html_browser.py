"""The HTML report in a real headless browser (Debian's chromium driven by Playwright)."""

import pytest

from wattprint.report.formats import ReportOptions, render

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)>"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture
def report_file(tmp_path, record):
    specs = [("text-classification", "tiny-bert", 4e6, [36.0, 38.0]),
             ("text-classification", HOSTILE, 1e8, [900.0]),
             ("text-classification", "mid-bert", 3e7, [200.0, 210.0, 190.0]),
             ("image-generation", "tiny-unet", 2e7, [36000.0, 35000.0]),
             ("image-generation", "big-unet", 9e8, [720000.0])]
    recs = [record(t, m, e, repeat=i, parameters=int(p), model_kind="task-specific")
            for t, m, p, es in specs for i, e in enumerate(es)]
    path = tmp_path / "report.html"
    path.write_text(render("html", recs, ReportOptions()), encoding="utf-8")
    return path


@pytest.fixture
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=ARGS)
        yield b
        b.close()


def _open(browser, path, width=1200):
    page = browser.new_page(viewport={"width": width, "height": 900})
    seen = {"errors": [], "dialogs": [], "requests": []}
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, seen


def test_renders_with_visible_charts_and_no_errors(browser, report_file):
    page, seen = _open(browser, report_file)
    assert seen["errors"] == []
    assert [u for u in seen["requests"] if not u.startswith("file:")] == []  # nothing fetched from anywhere
    charts = page.locator("svg.chart")
    assert charts.count() == 3  # the strip chart and one energy-vs-parameters chart per task
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100
    strip = charts.nth(0)
    assert strip.locator(".pt").count() == 5  # one point per model
    dot = strip.locator(".pt").first.bounding_box()
    assert dot and dot["width"] > 3 and dot["height"] > 3


def test_a_table_sorts_on_header_click(browser, report_file):
    page, _ = _open(browser, report_file)
    table = page.locator("table#summary")
    header = table.get_by_role("columnheader", name="Median", exact=False).first
    col = [h.inner_text() for h in table.locator("th").all()].index(header.inner_text())

    def values():
        return [float(c.get_attribute("data-v")) for c in table.locator(f"tbody tr td:nth-child({col + 1})").all()]

    header.click()
    assert values() == sorted(values())
    header.click()
    assert values() == sorted(values(), reverse=True)
    lb = page.locator("table[id^='lb-text-classification']")
    names = lambda: [t.inner_text().split("\n")[0] for t in lb.locator("tbody .model").all()]  # noqa: E731
    lb.locator("th").nth(1).click()  # "Model"
    assert names() == sorted(names())


def test_html_in_a_model_name_is_text(browser, report_file):
    page, seen = _open(browser, report_file)
    page.wait_for_timeout(200)
    assert seen["dialogs"] == []
    assert page.locator("img").count() == 0
    assert page.get_by_text(HOSTILE, exact=True).count() >= 1


def test_readable_on_a_phone(browser, report_file):
    page, seen = _open(browser, report_file, width=390)
    assert seen["errors"] == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 391  # wide tables scroll in their box
    # the strip chart keeps a readable size and scrolls sideways inside its panel; the page itself does not
    panel = page.locator(".panel.wide").first
    assert panel.evaluate("e => e.clientWidth") <= 390 < panel.evaluate("e => e.scrollWidth")
    assert page.locator("svg.chart").first.bounding_box()["width"] >= 600
    # the energy-vs-parameters charts fit the width
    box = page.locator("svg.chart").nth(1).bounding_box()
    assert box and 300 <= box["width"] <= 390
