"""The run loop and `edgexai run`: one engine call per frame, probe, log, summary, signals,
kill -9, log rotation, overlay video, and the whole command in a process where torch is blocked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from support.pipeline import FakeSession, start_run, write_frames, write_onnx_build, write_video

from edgexai.deploy.pipeline.config import RunConfig
from edgexai.deploy.pipeline.finders import ColourFinder
from edgexai.deploy.pipeline.log import JsonlLog, read_jsonl
from edgexai.deploy.pipeline.loop import run_pipeline as run
from edgexai.deploy.sign_classifier import ModelInfo, SignClassifier, model_info

pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def fake_model(tmp_path_factory) -> Path:
    """A real (hand-made, tiny) ONNX classifier build: the command runs it on ONNX Runtime."""
    return write_onnx_build(tmp_path_factory.mktemp("model") / "tiny-onnx-build")


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> Path:
    return write_frames(tmp_path_factory.mktemp("frames") / "f", 8, corrupt=(3,))


class CountingSession(FakeSession):
    def __init__(self):
        super().__init__()
        self.batch_sizes: list[int] = []

    def infer(self, batch):
        self.batch_sizes.append(len(batch))
        return super().infer(batch)


def test_one_engine_call_per_frame_probe_and_log_fields(frames, fake_model, tmp_path):
    sess = CountingSession()
    cfg = RunConfig(
        source=str(frames),
        finder="colour",
        log=str(tmp_path / "run.jsonl"),
        probe_every=2,
        min_score=0.0,
        sign_threshold=0.0,
        quiet=True,
    )
    result = run(cfg, classifier=SignClassifier(sess, model_info(fake_model, "test")))
    records, bad = read_jsonl(tmp_path / "run.jsonl")
    assert bad == 0
    start, per_frame, summary = records[0], [r for r in records if "frame" in r], records[-1]
    assert start["event"] == "start" and summary["event"] == "summary"
    assert result["frames"] == 7 and summary["frames"] == 7 and summary["reason"] == "end of source"
    assert summary["source_stats"]["corrupt"] == 1
    assert any(r.get("event") == "corrupt_frame" for r in records)
    assert [r["file"] for r in per_frame] == [f"{i:05d}.jpg" for i in (0, 1, 2, 4, 5, 6, 7)]
    with_dets = [r for r in per_frame if r["classified"]]
    probed = [r for r in with_dets if r["frame"] % 2 == 0 and r["detections"]]
    # one classification call per frame with crops, plus one probe call per probed frame
    assert len(sess.batch_sizes) == len(with_dets) + len(probed)
    for r in per_frame:
        assert set(r["ms"]) >= {"capture", "propose", "preprocess", "infer", "post", "render"}
        for d in r["detections"]:
            x1, y1, x2, y2 = d["box"]
            assert 0 <= x1 < x2 <= 320 and 0 <= y1 < y2 <= 200
            assert 0 <= d["class_id"] < 43 and d["class_name"] and 0 < d["confidence"] <= 1
            assert 0 <= d["gini"] <= 1
            assert ("probe" in d) == (r["frame"] % 2 == 0)
    assert probed, "the synthetic discs should give detections to probe"
    p = probed[0]["detections"][0]["probe"]
    assert set(p) == {"top_pct", "conf_removed", "drop", "drop_random"} and p["top_pct"] == 20.0
    s = json.loads((tmp_path / "run.jsonl.summary.json").read_text())
    assert set(s["stages_ms"]["infer"]) == {"p50", "p90", "p99", "mean"} and s["fps"] > 0
    assert sum(s["detections_per_class"].values()) == s["detections"]


def test_overlay_video_written(frames, fake_model, tmp_path):
    import cv2

    out = tmp_path / "overlay.avi"
    run(
        RunConfig(
            source=str(frames),
            finder="colour",
            output=str(out),
            log=str(tmp_path / "r.jsonl"),
            min_score=0.0,
            sign_threshold=0.0,
            quiet=True,
        ),
        classifier=SignClassifier(FakeSession(), model_info(fake_model, "test")),
    )
    cap = cv2.VideoCapture(str(out))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 7


def test_log_rotation_keeps_whole_lines(tmp_path):
    log = JsonlLog(tmp_path / "x.jsonl", max_bytes=2000, backups=3)
    for i in range(200):
        log.write({"frame": i, "pad": "x" * 50, "v": np.float32(0.5)})
    log.close()
    files = sorted(tmp_path.glob("x.jsonl*"))
    assert [f.name for f in files] == ["x.jsonl", "x.jsonl.1", "x.jsonl.2", "x.jsonl.3"]
    frames = []
    for f in files:
        assert f.stat().st_size <= 2000
        recs, bad = read_jsonl(f)
        assert bad == 0
        frames += [r["frame"] for r in recs]
    assert sorted(frames) == list(range(200 - len(frames), 200))  # the newest lines survive


def _wait_lines(path: Path, n: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if path.exists() and path.read_bytes().count(b"\n") >= n:
            return
        if proc.poll() is not None:
            raise AssertionError(f"run exited early: {proc.communicate()[1][-2000:]}")
        time.sleep(0.05)
    raise AssertionError("no log lines")


def test_run_command_without_torch_and_sigterm_writes_summary(frames, fake_model, tmp_path):
    log = tmp_path / "run.jsonl"
    proc = start_run(
        [
            "--source",
            str(frames),
            "--model",
            str(fake_model),
            "--backend",
            "ort",
            "--headless",
            "--loop",
            "--log",
            str(log),
            "--min-score",
            "0",
        ]
    )
    _wait_lines(log, 6, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "FPS" in err
    summary = json.loads((tmp_path / "run.jsonl.summary.json").read_text())
    assert summary["reason"] == "SIGTERM" and summary["frames"] >= 4
    records, bad = read_jsonl(log)
    assert bad == 0 and records[-1]["event"] == "summary"
    assert "torch" not in json.dumps(records[0])


def test_kill_9_then_every_complete_line_parses(frames, fake_model, tmp_path):
    log = tmp_path / "run.jsonl"
    proc = start_run(
        [
            "--source",
            str(frames),
            "--model",
            str(fake_model),
            "--backend",
            "ort",
            "--headless",
            "--loop",
            "--log",
            str(log),
            "--min-score",
            "0",
            "--log-max-mb",
            "0.01",
            "--log-backups",
            "50",
        ]
    )
    _wait_lines(log, 3, proc)
    deadline = time.monotonic() + 60  # until it has rotated once (slow on a loaded machine)
    while len(list(tmp_path.glob("run.jsonl.*"))) < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.2)  # and is writing the next part when killed
    proc.kill()
    proc.communicate(timeout=30)
    parts = sorted(tmp_path.glob("run.jsonl*"))
    total = 0
    for part in parts:
        raw = part.read_bytes()
        complete = raw[: raw.rfind(b"\n") + 1] if b"\n" in raw else b""
        for line in complete.splitlines():
            json.loads(line)  # every complete line parses
            total += 1
    assert total >= 3 and len(parts) >= 2  # it also rotated on the way
    assert not (tmp_path / "run.jsonl.summary.json").exists()


def test_run_command_errors_are_one_line(fake_model, tmp_path):
    proc = start_run(
        [
            "--source",
            str(tmp_path / "missing.mp4"),
            "--model",
            str(fake_model),
            "--backend",
            "ort",
            "--headless",
            "--log",
            str(tmp_path / "l.jsonl"),
        ]
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "not found" in err and "Traceback" not in err
    frames_dir = write_frames(tmp_path / "fr", 1)
    proc = start_run(
        [
            "--source",
            str(frames_dir),
            "--model",
            str(tmp_path / "nomodel"),
            "--headless",
            "--log",
            str(tmp_path / "l.jsonl"),
        ]
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "not a build folder" in err and "Traceback" not in err
    proc = start_run(
        ["--source", str(frames_dir), "--builds", str(tmp_path / "none"), "--headless"]
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "no classifier build folder" in err


def test_newest_build_is_chosen_and_named(fake_model, tmp_path):
    import shutil

    engines = tmp_path / "engines"
    shutil.copytree(fake_model, engines / "old")
    time.sleep(0.05)
    shutil.copytree(fake_model, engines / "new")
    os.utime(engines / "new" / "manifest.json")
    frames_dir = write_frames(tmp_path / "fr", 2)
    proc = start_run(
        [
            "--source",
            str(frames_dir),
            "--builds",
            str(engines),
            "--backend",
            "ort",
            "--headless",
            "--log",
            str(tmp_path / "l.jsonl"),
        ]
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"using the newest build, {engines / 'new'}" in err


def test_video_file_source_through_the_command(fake_model, tmp_path):
    video = write_video(tmp_path / "v.avi", 5)
    proc = start_run(
        [
            "--source",
            f"file://{video}",
            "--model",
            str(fake_model),
            "--backend",
            "ort",
            "--headless",
            "--log",
            str(tmp_path / "l.jsonl"),
            "--max-frames",
            "3",
        ]
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    s = json.loads((tmp_path / "l.jsonl.summary.json").read_text())
    assert s["frames"] == 3 and s["reason"] == "max frames"


def test_proposing_in_the_capture_thread_changes_nothing_but_timing(frames, fake_model, tmp_path):
    out = []
    for in_capture in (True, False):
        log = tmp_path / f"p{in_capture}.jsonl"
        run(
            RunConfig(
                source=str(frames),
                finder="colour",
                log=str(log),
                min_score=0.0,
                sign_threshold=0.0,
                prepare_in_capture=in_capture,
                quiet=True,
            ),
            classifier=SignClassifier(FakeSession(), model_info(fake_model, "test")),
        )
        recs, _ = read_jsonl(log)
        out.append([(r["proposals"], r["detections"]) for r in recs if "frame" in r])
    assert out[0] == out[1] and any(d for _, d in out[0])


def test_a_failing_proposer_in_the_capture_thread_is_an_error_not_an_end(
    frames, fake_model, tmp_path
):
    class Broken:
        def generate(self, frame):
            raise RuntimeError("proposer bug")

    with pytest.raises(RuntimeError, match="proposer bug"):
        run(
            RunConfig(
                source=str(frames), finder="colour", log=str(tmp_path / "e.jsonl"), quiet=True
            ),
            classifier=SignClassifier(FakeSession(), model_info(fake_model, "test")),
            finder=ColourFinder(generator=Broken()),
        )
    s = json.loads((tmp_path / "e.jsonl.summary.json").read_text())
    assert s["reason"].startswith("error: RuntimeError")


def test_probe_is_one_call_and_respects_an_engine_batch_limit():
    from edgexai.deploy.pipeline.stages import probe

    rng = np.random.default_rng(0)
    batch = rng.normal(size=(3, 3, 32, 32)).astype(np.float32)
    sess = CountingSession()
    logits, cams = sess.infer(batch)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    cls = p.argmax(1)
    info = ModelInfo("m", "m", 32, (0.5,) * 3, (0.5,) * 3, [str(i) for i in range(43)], "test")
    res = probe(SignClassifier(sess, info), batch, cams, cls, p.max(1), 20.0, seed=0)
    assert sess.batch_sizes == [3, 6] and len(res) == 3  # MoRF + random copies, one call
    assert all(-1 <= r["drop"] <= 1 and -1 <= r["drop_random"] <= 1 for r in res)
    sess.max_batch = 4  # an engine profile smaller than the copies: one call per 4 rows
    again = probe(SignClassifier(sess, info), batch, cams, cls, p.max(1), 20.0, seed=0)
    assert sess.batch_sizes[2:] == [4, 2] and again == res
