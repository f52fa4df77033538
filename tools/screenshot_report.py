"""Render a bench report.html in headless Chromium, check every image loaded, save a screenshot.

    python tools/screenshot_report.py bench-report/report.html [--png shot.png]

Uses the system's Chromium (Debian package `chromium`, or --chromium PATH) through Playwright, so
no browser is downloaded. Exit 0 when every <img> decoded (complete and naturalWidth > 0).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def render(html: Path, png: Path, chromium: str, width: int = 1280) -> list[dict]:
    """Load the page from disk (no network), screenshot it whole; per-image load status and
    the width it is shown at (shown_width / width scales the figure's fonts)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(html.resolve().as_uri())
            page.wait_for_load_state("load")
            images = page.evaluate(
                "Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete, "
                "width: i.naturalWidth, height: i.naturalHeight, shown_width: i.clientWidth}))"
            )
            page.screenshot(path=str(png), full_page=True)
        finally:
            browser.close()
    return images


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html", type=Path)
    ap.add_argument("--png", type=Path, default=None, help="default: beside the html")
    ap.add_argument("--chromium", default=None)
    a = ap.parse_args()
    chromium = a.chromium or find_chromium()
    if chromium is None:
        print("no Chromium found (apt-get install chromium, or --chromium PATH)", file=sys.stderr)
        return 2
    png = a.png or a.html.with_name("report-screenshot.png")
    images = render(a.html, png, chromium)
    broken = [i for i in images if not (i["complete"] and i["width"] > 0)]
    small = illegible(images)
    print(
        f"{len(images)} images, {len(broken)} broken, {len(small)} shown too small; "
        f"screenshot {png}"
    )
    for i in broken:
        print(f"  broken: {i['alt']}")
    for i in small:
        print(f"  shown at {i['shown_width']} of {i['width']} px: {i['alt']}")
    return 0 if images and not broken and not small else 1


def illegible(images: list[dict]) -> list[dict]:
    """Images shown so much smaller than saved that the figures' smallest font drops below 9 pt."""
    from edgexai.study.bench.plot_style import MIN_FONT_PT

    return [
        i
        for i in images
        if i["width"] > 0 and MIN_FONT_PT * min(1.0, i["shown_width"] / i["width"]) < 9
    ]


if __name__ == "__main__":
    sys.exit(main())
