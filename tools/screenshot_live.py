"""Screenshot the live view (`edgexai run --serve`) of a run, for the docs.

    python tools/screenshot_live.py --model DIR --source DRIVEBY --png docs/img/live-view.png

Starts `edgexai run --source SOURCE --loop --serve 127.0.0.1:0`, opens its page in the system's
headless Chromium (Playwright, no browser download), waits `--after` seconds, saves the page,
then stops the run with SIGINT.
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def find_chromium() -> str | None:
    """The system's Chromium (Debian's `chromium`), or None."""
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    return next((p for p in map(shutil.which, names) if p), None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--png", type=Path, required=True)
    ap.add_argument("--after", type=float, default=6.0, help="seconds of run before the shot")
    ap.add_argument("--log", default=None, help="the run's log (default: in a new temp folder)")
    a = ap.parse_args()
    chromium = find_chromium()
    if chromium is None:
        print("no Chromium found (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    cmd = ["edgexai", "run", "--source", a.source, "--loop", "--model", a.model, "--headless"]
    log = a.log or str(Path(tempfile.mkdtemp()) / "live.jsonl")  # never over a user's file
    cmd += ["--log", log, "--serve", "127.0.0.1:0"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        url = None
        while url is None:
            line = proc.stderr.readline()
            if not line:
                print("the run ended before serving", file=sys.stderr)
                return 1
            m = re.search(r"live view at (http://\S+)", line)
            url = m.group(1) if m else None
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(url)
            time.sleep(a.after)
            a.png.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(a.png), full_page=True)
            browser.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    print(f"screenshot {a.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
