"""Signs over time in the run loop: track ids, the voted class, sign events (log and --events),
the signs in force, the summary, `--tracker none`, and the --events output rules."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
from support.pipeline import OneClassSession, write_drive_frames, write_onnx_build

from edgexai.core.errors import EdgexaiError
from edgexai.deploy.pipeline.config import RunConfig
from edgexai.deploy.pipeline.log import read_jsonl
from edgexai.deploy.pipeline.loop import run_pipeline
from edgexai.deploy.sign_classifier import SignClassifier, model_info
from edgexai.deploy.tracking.box_tracker import TrackerSettings

pytest.importorskip("cv2")

SPEED_60 = 3


@pytest.fixture(scope="module")
def info(tmp_path_factory):
    return model_info(write_onnx_build(tmp_path_factory.mktemp("m") / "tiny"), "test")


@pytest.fixture(scope="module")
def drive(tmp_path_factory) -> Path:
    return write_drive_frames(tmp_path_factory.mktemp("drive") / "d", 24)


def _run(drive, info, tmp_path, session=None, log="run.jsonl", **kw):
    cfg = RunConfig(
        source=str(drive),
        finder="colour",
        log=str(tmp_path / log),
        quiet=True,
        min_score=0.0,
        **kw,
    )
    session = session or OneClassSession(SPEED_60)
    return run_pipeline(cfg, classifier=SignClassifier(session, info))


def test_one_sign_driven_past_is_one_track_one_event_and_the_limit_in_force(drive, info, tmp_path):
    events = tmp_path / "events.jsonl"
    summary = _run(drive, info, tmp_path, events=str(events))
    records, bad = read_jsonl(tmp_path / "run.jsonl")
    assert bad == 0
    frames = [r for r in records if "frame" in r and "event" not in r]
    dets = [d for r in frames for d in r["detections"]]
    on_sign = [d for d in dets if d["sign_score"] > 0.9]  # the disc (the cascade adds bits)
    assert len(on_sign) == 24 and len({d["track_id"] for d in on_sign}) == 1
    first = next(i for i, d in enumerate(on_sign) if d["confirmed"])
    assert first == 1  # confirmed at its second frame (min frames 2): no class before
    assert on_sign[0]["track_class_name"] is None
    assert {d["track_class_name"] for d in on_sign[first:]} == {"speed limit 60"}
    signs = [r for r in records if r.get("event") == "sign"]
    track = on_sign[0]["track_id"]
    (ev,) = [e for e in signs if e["track_id"] == track]
    assert ev["class_name"] == "speed limit 60" and ev["vote_share"] == 1.0
    assert ev["frames_seen"] == 24 and ev["first_frame"] == 0 and ev["last_frame"] == 23
    assert ev["score_max"] >= ev["score_mean"] > 0 and ev["best"]["file"].endswith(".jpg")
    st = ev["stability"]
    assert st["pairs"] == st["frames"] - 1 == 23 and -1 <= st["cam_pearson"] <= 1
    assert 0 <= st["cam_top20_iou"] <= 1 and 0 <= st["cam_peak_outside"] <= 1
    (change,) = [r for r in records if r.get("event") == "in_force"]
    assert change["changes"] == ["speed limit 60"] and change["state"]["speed_limit"] == 60
    assert change["at_frame"] == frames[1]["frame"]
    # the events file holds the same events and state changes, nothing else
    ev_file, bad = read_jsonl(events)
    assert bad == 0 and ev_file == [r for r in records if r.get("event") in ("sign", "in_force")]
    assert summary["signs"] == len(signs) and summary["signs_per_class"]["speed limit 60"] >= 1
    assert summary["tracker"] == {"tracker": "iou", **asdict(TrackerSettings())}
    assert summary["cam_stability"]["cam_pearson"] is not None
    assert "track" in summary["stages_ms"]


def test_tracker_none_is_frame_by_frame(drive, info, tmp_path):
    summary = _run(drive, info, tmp_path, tracker="none")
    records, _ = read_jsonl(tmp_path / "run.jsonl")
    dets = [d for r in records if "frame" in r and "event" not in r for d in r["detections"]]
    assert dets and not any("track_id" in d for d in dets)
    assert not any(r.get("event") in ("sign", "in_force") for r in records)
    assert "signs" not in summary and "track" not in summary["stages_ms"]
    assert records[0]["tracker"] is None


def test_events_file_follows_the_output_rules(drive, info, tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text('{"mine": 1}\n')
    with pytest.raises(EdgexaiError, match="--events .*exists.*--append.*--overwrite"):
        _run(drive, info, tmp_path, events=str(events), max_frames=2)
    assert events.read_text() == '{"mine": 1}\n'
    with pytest.raises(EdgexaiError, match="same file as"):
        _run(drive, info, tmp_path, events=str(tmp_path / "run.jsonl"), max_frames=2)
    _run(drive, info, tmp_path, events=str(events), append=True, overwrite=True)
    lines = events.read_text().splitlines()
    assert json.loads(lines[0]) == {"mine": 1} and len(lines) > 1  # appended, not replaced
    _run(drive, info, tmp_path, events=str(events), overwrite=True)
    assert json.loads(events.read_text().splitlines()[0])["event"] == "in_force"


def test_a_users_own_classes_get_tracks_and_events_but_no_signs_in_force(drive, tmp_path):
    own = model_info(write_onnx_build(tmp_path / "own", classes=[f"c{i}" for i in range(5)]), "t")
    summary = _run(drive, own, tmp_path, session=OneClassSession(3, 5), log="o.jsonl")
    records, _ = read_jsonl(tmp_path / "o.jsonl")
    assert summary["signs_per_class"].get("c3", 0) >= 1
    assert not any(r.get("event") == "in_force" for r in records)


def test_kill_9_loses_only_the_open_tracks(drive, tmp_path):
    """Each event is one write(2): after kill -9 every complete event line parses, and the events
    file and the log hold the same sign events."""
    import signal
    import time

    from support.pipeline import looped_drive_args, start_run

    model = write_onnx_build(tmp_path / "tiny")
    events, log = tmp_path / "events.jsonl", tmp_path / "run.jsonl"
    proc = start_run(looped_drive_args(drive, model, log) + ["--events", str(events)])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        if events.exists() and events.read_bytes().count(b'"event":"sign"') >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    ev, bad = read_jsonl(events)
    assert bad == 0 and sum(r["event"] == "sign" for r in ev) >= 3
    logged = [r for r in read_jsonl(log)[0] if r.get("event") == "sign"]
    assert [r["track_id"] for r in logged] == [r["track_id"] for r in ev if r["event"] == "sign"]
    assert not Path(str(log) + ".summary.json").exists()
