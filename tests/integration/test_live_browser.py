"""The live view in a real browser: headless Chromium (the system's, driven by Playwright) opens
the page of an `edgexai run --serve` on a short drive, sees the video advance and the panel name
the sign the run confirmed. Skipped, with the reason, where Chromium or Playwright is absent
(`.ci/run` installs Chromium)."""

from __future__ import annotations

import json
import re
import signal
import sys
import time

import pytest
from support import REPO
from support.pipeline import looped_drive_args, start_run, write_drive_frames, write_onnx_build

from edgexai.deploy.pipeline.log import read_jsonl

pytest.importorskip("cv2")


def _chromium() -> str:
    sys.path.insert(0, str(REPO / "tools"))
    from screenshot_report import find_chromium

    pytest.importorskip("playwright", reason="Playwright is not installed (the dev extra has it)")
    path = find_chromium()
    if path is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    return path


def _url(proc) -> str:
    """The page's address, from the run's first stderr lines."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        m = re.search(r"live view at (http://\S+)", line)
        if m:
            return m.group(1)
    proc.kill()
    raise AssertionError(f"no live view address; stderr: {proc.communicate()[1][-2000:]}")


def test_the_page_shows_the_video_advancing_and_names_the_sign(tmp_path):
    from playwright.sync_api import sync_playwright

    chromium = _chromium()
    drive = write_drive_frames(tmp_path / "drive", 24)
    model = write_onnx_build(tmp_path / "tiny")
    log = tmp_path / "run.jsonl"
    proc = start_run(
        looped_drive_args(drive, model, log) + ["--input-rate", "15", "--serve", "127.0.0.1:0"]
    )
    try:
        url = _url(proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(url)
                page.wait_for_function(
                    "document.getElementById('video').naturalWidth > 0", timeout=30000
                )
                page.wait_for_function(
                    "document.getElementById('tracks').textContent.trim().length > 0 || "
                    "document.getElementById('events').textContent.trim().length > 0",
                    timeout=30000,
                )
                first = page.locator("#video").screenshot()
                time.sleep(1.0)
                second = page.locator("#video").screenshot()
                panel = (
                    page.locator("#tracks").text_content() + page.locator("#events").text_content()
                )
                stats = page.locator("#stats").text_content()
            finally:
                browser.close()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert first != second, "the video did not advance"
    assert re.search(r"\d", stats), stats  # FPS and stage latency are shown
    records, _ = read_jsonl(log)
    confirmed = {
        d["track_class_name"]
        for r in records
        if "frame" in r and "event" not in r
        for d in r["detections"]
        if d.get("track_class_name")
    }
    assert confirmed and any(name in panel for name in confirmed), (panel, confirmed)
    summary = json.loads((tmp_path / "run.jsonl.summary.json").read_text())
    assert summary["reason"] == "SIGINT" and summary["frames"] > 24
