"""Screenshot an HTML report with Debian's chromium (how docs/report-screenshot.png is made).

    python -m wattprint.report.screenshot report.html docs/report-screenshot.png [--width 1200]

Needs the ``playwright`` package and a chromium binary (``apt-get install chromium``); Playwright's own
browser download is not used, so this works offline.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def screenshot(html: str | Path, png: str | Path, width: int = 1200, full_page: bool = True,
               chromium: str | None = None) -> list[str]:
    """Render ``html`` and save a PNG; returns the console errors seen (empty when the page is clean).

    Raises FileNotFoundError without a chromium binary.
    """
    from playwright.sync_api import sync_playwright

    exe = chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        raise FileNotFoundError("no chromium: apt-get install chromium (or pass chromium=PATH)")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900}, device_scale_factor=1)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(Path(html).resolve().as_uri())
            page.screenshot(path=str(png), full_page=full_page)
        finally:
            browser.close()
    return errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html")
    ap.add_argument("png")
    ap.add_argument("--width", type=int, default=1200)
    ap.add_argument("--viewport-only", action="store_true", help="the first screen only, not the full page")
    a = ap.parse_args()
    errors = screenshot(a.html, a.png, a.width, not a.viewport_only)
    for e in errors:
        print("console error:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
