"""Issue 43, the `edgexai run` side: a run never writes over its own source (1) or an existing
video, log or summary without --overwrite / --append (2, 8); every logged frame is in the overlay
video, whatever its size (5); every rotated log file begins with the run's start record, and
`edgexai score` warns about a log of several runs (8); `edgexai demo` still runs twice in a row."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support.pipeline import FakeSession, road_frame, write_frames, write_onnx_build, write_video

from edgexai.cli import main
from edgexai.core.errors import EdgexaiError
from edgexai.deploy.pipeline.config import RunConfig
from edgexai.deploy.pipeline.log import JsonlLog, read_jsonl
from edgexai.deploy.pipeline.loop import run_pipeline
from edgexai.deploy.sign_classifier import SignClassifier, model_info

cv2 = pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return write_onnx_build(tmp_path_factory.mktemp("m") / "tiny-onnx-build")


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> Path:
    return write_frames(tmp_path_factory.mktemp("frames") / "f", 4)


def run(model: Path, source: Path | str, **kw):
    kw = {"finder": "colour", "quiet": True, "min_score": 0.0, "sign_threshold": 0.0, **kw}
    return run_pipeline(
        RunConfig(source=str(source), **kw),
        classifier=SignClassifier(FakeSession(), model_info(model, "test")),
    )


def cli(capsys, *argv: str) -> tuple[int, str]:
    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse
        rc = exc.code
    return rc, capsys.readouterr().err


def one_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def count_video_frames(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


# --- 1: never write over the source ----------------------------------------------------------


def test_run_output_onto_its_source_video_is_refused_and_the_video_kept(model, tmp_path, capsys):
    """Item 1: `run --source v --output v` made a 60-frame recording a 5-frame overlay, exit 0."""
    video = write_video(tmp_path / "v.avi", 6)
    before = video.read_bytes()
    common = ["--model", str(model), "--backend", "ort", "--headless", "--proposer", "colour"]
    (tmp_path / "link.avi").symlink_to(video)
    os.link(video, tmp_path / "hard.avi")
    for source, output, extra in [
        (video, video, []),
        (f"file://{video}", video, ["--overwrite"]),  # not even with --overwrite
        (video, tmp_path / "link.avi", ["--overwrite"]),  # a symlink to the source
        (video, tmp_path / "hard.avi", ["--overwrite"]),  # a hard link
    ]:
        log = tmp_path / "r.jsonl"
        rc, err = cli(capsys, "run", "--source", str(source), "--output", str(output), *common,
                      "--log", str(log), *extra)  # fmt: skip
        assert rc == 1 and "is the source" in one_line(err), err
        assert video.read_bytes() == before and not log.exists()


@pytest.mark.parametrize("flag", ["--log", "--summary"])
def test_log_or_summary_onto_the_source_is_refused(model, tmp_path, flag):
    video = write_video(tmp_path / "v.avi", 3)
    before = video.read_bytes()
    kw = {"log": str(tmp_path / "r.jsonl")}
    kw["log" if flag == "--log" else "summary"] = str(video)
    with pytest.raises(EdgexaiError, match=f"^{flag} .*is the source"):
        run(model, video, **kw)
    assert video.read_bytes() == before


def test_a_file_the_folder_reader_would_read_is_refused(model, frames, tmp_path):
    """A folder source: an output named as an image inside it would be read as a frame; one a
    frame links to would be overwritten while read; a log beside the frames is fine."""
    with pytest.raises(EdgexaiError, match="^--log .*inside the source folder"):
        run(model, frames, log=str(frames / "run.png"))
    with pytest.raises(EdgexaiError, match="^--summary .*inside the source folder"):
        run(model, frames, log=str(tmp_path / "r.jsonl"), summary=str(frames / "s.JPG"))
    linked = tmp_path / "linked"
    linked.mkdir()
    video = write_video(tmp_path / "out.avi", 2)
    (linked / "00000.jpg").symlink_to(frames / "00000.jpg")
    (linked / "00001.jpg").symlink_to(video)  # a "frame" that is the output
    with pytest.raises(EdgexaiError, match="^--output .*inside the source folder"):
        run(model, linked, output=str(video), overwrite=True, log=str(tmp_path / "l.jsonl"))
    assert not (frames / "run.png").exists() and not (tmp_path / "l.jsonl").exists()
    beside = frames.parent / "beside"
    beside.mkdir()
    (beside / "00000.jpg").write_bytes((frames / "00000.jpg").read_bytes())
    result = run(model, beside, log=str(beside / "run.jsonl"))  # not an image name: fine
    assert result["frames"] == 1


def test_two_outputs_that_are_one_file_are_refused(model, frames, tmp_path):
    with pytest.raises(EdgexaiError, match="^--summary .*same file as --log"):
        run(model, frames, log=str(tmp_path / "a.jsonl"), summary=str(tmp_path / "a.jsonl"))


# --- 2: an existing video needs --overwrite ----------------------------------------------------


def test_an_existing_output_is_refused_unless_overwrite(model, frames, tmp_path, capsys):
    """Item 2: `--output` replaced a finished 4K clip without a word."""
    out = tmp_path / "clip.avi"
    write_video(out, 9)
    before = out.read_bytes()
    args = ["run", "--source", str(frames), "--model", str(model), "--backend", "ort",
            "--headless", "--proposer", "colour", "--quiet", "--output", str(out)]  # fmt: skip
    rc, err = cli(capsys, *args, "--log", str(tmp_path / "a.jsonl"))
    assert rc == 1 and "--overwrite" in one_line(err) and str(out) in err
    assert out.read_bytes() == before and not (tmp_path / "a.jsonl").exists()
    rc, err = cli(capsys, *args, "--log", str(tmp_path / "b.jsonl"), "--overwrite")
    assert rc == 0, err
    assert count_video_frames(out) == 4


def test_run_help_names_the_flags(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--overwrite replace an existing --output video" in text
    assert "--append add this run to an existing log" in text and "letterboxed" in text


# --- 8: logs ------------------------------------------------------------------------------------


def starts(log: Path) -> list[dict]:
    return [r for r in read_jsonl(log)[0] if r.get("event") == "start"]


def test_an_existing_log_is_refused_appended_or_replaced_only_when_asked(model, frames, tmp_path):
    """Item 8: two runs with one --log appended into one file, and `score` read the old run."""
    log = tmp_path / "run.jsonl"
    run(model, frames, log=str(log))
    first = log.read_bytes()
    with pytest.raises(EdgexaiError, match=r"^--log .*exists.*--append.*--overwrite"):
        run(model, frames, log=str(log))
    assert log.read_bytes() == first
    run(model, frames, log=str(log), append=True)
    assert len(starts(log)) == 2 and log.read_bytes().startswith(first)
    (tmp_path / "run.jsonl.1").write_text('{"event":"start","old":1}\n')  # an old rotated part
    with pytest.raises(EdgexaiError, match="1 rotated part"):
        run(model, frames, log=str(log))
    run(model, frames, log=str(log), overwrite=True)
    assert len(starts(log)) == 1 and not (tmp_path / "run.jsonl.1").exists()
    # the summary alone (the log was deleted) is an earlier run's file too
    log.unlink()
    with pytest.raises(EdgexaiError, match="^--summary .*exists"):
        run(model, frames, log=str(log))


def test_every_rotated_log_file_begins_with_the_start_record(model, frames, tmp_path):
    """Item 8 (small things): after rotation no kept file held the `start` record."""
    log = tmp_path / "run.jsonl"
    run(
        model,
        frames,
        log=str(log),
        loop=True,
        max_frames=40,
        log_max_mb=0.004,
        log_backups=50,
        tracker="none",  # this min-score-0 run would make hundreds of sign events
    )
    files = [log, *sorted(tmp_path.glob("run.jsonl.[0-9]*"), key=lambda p: int(p.suffix[1:]))]
    assert len(files) >= 3
    heads = [read_jsonl(f)[0][0] for f in files]
    assert all(h["event"] == "start" for h in heads), [f.name for f in files]
    original = heads[-1]  # the oldest part holds the run's own start record
    assert "continued" not in original
    for h in heads[:-1]:
        assert h == {**original, "continued": True}


def test_the_log_rotation_repeats_the_start_record_and_respects_the_size(tmp_path):
    log = JsonlLog(tmp_path / "x.jsonl", max_bytes=600, backups=9)
    log.start({"event": "start", "time": 1.0})
    for i in range(40):
        log.write({"frame": i, "pad": "x" * 40})
    log.close()
    for f in tmp_path.glob("x.jsonl*"):
        recs, bad = read_jsonl(f)
        assert bad == 0 and recs[0]["event"] == "start" and f.stat().st_size <= 600


RUN_A = [{"event": "start", "time": 1.0}, {"frame": 0, "file": "00400.jpg", "detections": []}]
RUN_B = [
    {"event": "start", "time": 2.0},
    {"frame": 0, "file": "00400.jpg", "detections": []},
    {"frame": 1, "file": "00401.jpg", "detections": []},
]


def write_log(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_score_warns_about_a_log_of_several_runs(tmp_path, capsys):
    from edgexai.commands.score import load_frames

    write_log(tmp_path / "one.jsonl.1", RUN_B[:2])  # rotated: the run's start record, frame 400
    one = write_log(tmp_path / "one.jsonl", [{**RUN_B[0], "continued": True}, RUN_B[2]])
    assert set(load_frames(one)) == {"00400", "00401"}
    assert capsys.readouterr().err == ""  # one run, its start record repeated by rotation
    two = write_log(tmp_path / "two.jsonl", RUN_A + RUN_B)
    load_frames(two)
    line = one_line(capsys.readouterr().err)
    assert line.startswith("edgexai: warning:") and "2 runs" in line and "1 frame record" in line


# --- 5: every frame in the video ---------------------------------------------------------------


def test_frames_of_mixed_sizes_are_all_in_the_video(model, tmp_path, capsys):
    """Item 5: 8 frames logged, 4 in the video (OpenCV's writer drops a frame of another size)."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    sizes = [(320, 200), (200, 320), (320, 200), (640, 400), (100, 60), (320, 200)]
    for i, (w, h) in enumerate(sizes):
        cv2.imwrite(str(folder / f"{i:05d}.png"), road_frame(i, w=w, h=h))
    out = tmp_path / "o.avi"
    log = tmp_path / "o.jsonl"
    run(model, folder, output=str(out), log=str(log), quiet=False)
    logged = [r for r in read_jsonl(log)[0] if "frame" in r]
    assert len(logged) == len(sizes) == count_video_frames(out)
    assert "letterboxed" in capsys.readouterr().err
    cap = cv2.VideoCapture(str(out))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 1)
    ok, tall = cap.read()  # 200×320 letterboxed into 320×200: black side bars
    assert ok and tall.shape[:2] == (200, 320)
    assert tall[:, :40].max() < 40 and tall[:, 160].mean() > 60


def test_letterbox_keeps_the_aspect():
    import numpy as np

    from edgexai.deploy.pipeline.overlay import letterbox

    img = np.full((100, 50, 3), 200, np.uint8)
    out = letterbox(img, (200, 100))
    assert out.shape == (100, 200, 3)
    assert out[:, 75:125].min() == 200 and out[:, :74].max() == 0 and out[:, 126:].max() == 0


# --- demo: its own files, replaced on a re-run -------------------------------------------------


def test_demo_runs_twice_and_replaces_its_pipeline_files(model, tmp_path, monkeypatch, capsys):
    import shutil

    import edgexai.study.bench.bench_job as bench_job

    out = tmp_path / "demo"
    shutil.copytree(model, out / "builds" / "resnet20-layered-tuned-s0")
    write_frames(tmp_path / "data" / "gtsdb", 3)
    (tmp_path / "data" / "gtsdb" / "gt.txt").write_text("00000.ppm;1;1;20;20;1\n")
    monkeypatch.setattr(bench_job, "run_bench", lambda o: (Path(o.report), {"cells": {}}))
    for _ in range(2):
        rc, err = cli(capsys, "demo", "--out", str(out), "--data-root", str(tmp_path / "data"),
                      "--frames", "2", "--no-progress")  # fmt: skip
        assert rc == 0, err
        assert len(starts(out / "pipeline.jsonl")) == 1
        assert count_video_frames(out / "pipeline.mp4") == 2
