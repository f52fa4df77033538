"""`edgexai run` under faults a vehicle meets (issue 17): undecodable or vanished folders with
--loop, a full disk under the log, outputs that cannot be written, runs where nothing decodes.
Each case ends in one line and a non-zero exit (or a clean summary), never a traceback or a
busy loop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import REPO
from support.pipeline import write_frames, write_onnx_build

from edgexai.deploy.pipeline.log import read_jsonl

pytest.importorskip("cv2")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return write_onnx_build(tmp_path_factory.mktemp("m") / "tiny-onnx-build")


def run_cmd(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "edgexai",
            "run",
            "--backend",
            "ort",
            "--headless",
            "--proposer",
            "colour",
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
        env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"},
    )


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0, proc.stderr[-1500:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("edgexai: error")]
    assert len(lines) == 1, proc.stderr[-1500:]
    return lines[0]


def test_loop_over_a_folder_where_nothing_decodes_stops_at_once(model, tmp_path):
    """Item 1: was a busy loop (81 MB of log in 11 s, --max-frames ignored)."""
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.jpg").write_text("not an image")
    (bad / "b.png").write_bytes(b"")
    t = time.monotonic()
    proc = run_cmd(
        "--source",
        str(bad),
        "--model",
        str(model),
        "--loop",
        "--max-frames",
        "5",
        "--log",
        str(tmp_path / "x.jsonl"),
        timeout=30,
    )
    assert time.monotonic() - t < 25
    assert "decodes" in one_line_error(proc)
    assert (tmp_path / "x.jsonl").stat().st_size < 10_000
    assert len(proc.stderr) < 5_000  # no flood of OpenCV warnings


def test_a_run_where_no_frame_decodes_exits_non_zero(model, tmp_path):
    """Item 10: it exited 0 with an empty summary."""
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.jpg").write_text("not an image")
    proc = run_cmd("--source", str(bad), "--model", str(model), "--log", str(tmp_path / "x.jsonl"))
    assert "no frame" in one_line_error(proc)
    summary = json.loads((tmp_path / "x.jsonl.summary.json").read_text())
    assert summary["frames"] == 0 and summary["source_stats"]["corrupt"] == 1


def test_loop_over_a_folder_deleted_during_the_run_stops(model, tmp_path):
    import shutil

    frames = write_frames(tmp_path / "f", 3)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edgexai",
            "run",
            "--backend",
            "ort",
            "--headless",
            "--proposer",
            "colour",
            "--source",
            str(frames),
            "--model",
            str(model),
            "--loop",
            "--log",
            str(tmp_path / "l.jsonl"),
        ],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
        not (tmp_path / "l.jsonl").exists() or (tmp_path / "l.jsonl").stat().st_size < 2000
    ):
        time.sleep(0.1)
    shutil.rmtree(frames)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "Traceback" not in err and "decodes" in err
    assert (tmp_path / "l.jsonl").stat().st_size < 200_000


def _mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("mounting a tmpfs needs root")


def test_a_full_disk_under_the_log_keeps_the_summary(model, tmp_path):
    """Item 2: ENOSPC ended in a chained traceback, a partial last line and no summary."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    small = tmp_path / "small"
    _mount_tmpfs(small, "64k")
    try:
        frames = write_frames(tmp_path / "f", 4)
        proc = run_cmd(
            "--source",
            str(frames),
            "--model",
            str(model),
            "--loop",
            "--min-score",
            "0",
            "--sign-threshold",
            "0",
            "--log",
            str(small / "run.jsonl"),
            "--log-max-mb",
            "100",
            "--summary",
            str(tmp_path / "summary.json"),
            timeout=120,
        )
        assert "No space left" in one_line_error(proc)
        summary = json.loads((tmp_path / "summary.json").read_text())
        assert summary["frames"] > 0 and "No space left" in summary["log_error"]
        raw = (small / "run.jsonl").read_bytes()
        assert raw.endswith(b"\n")  # the half-written line was cut off
        records, bad = read_jsonl(small / "run.jsonl")
        assert bad == 0 and records[0]["event"] == "start"
        assert "FPS" in proc.stderr  # and printed
    finally:
        subprocess.run(["umount", str(small)], check=False)


@pytest.mark.parametrize(
    "case",
    ["log-under-file", "log-is-dir", "summary-missing-dir", "summary-is-dir", "output-under-file"],
)
def test_outputs_that_cannot_be_written_are_refused_before_the_first_frame(model, tmp_path, case):
    """Item 7: tracebacks, the summary ones only after every frame was processed."""
    frames = write_frames(tmp_path / "f", 2)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    (tmp_path / "adir").mkdir()
    args = {
        "log-under-file": ["--log", str(a_file / "x.jsonl")],
        "log-is-dir": ["--log", str(tmp_path / "adir")],
        "summary-missing-dir": ["--summary", str(a_file / "s.json")],
        "summary-is-dir": ["--summary", str(tmp_path / "adir")],
        "output-under-file": ["--output", str(a_file / "v.mp4")],
    }[case]
    if "--log" not in args:
        args += ["--log", str(tmp_path / "ok.jsonl")]
    line = one_line_error(run_cmd("--source", str(frames), "--model", str(model), *args))
    assert args[1] in line
    if "--log" in args[0]:
        return
    log = tmp_path / "ok.jsonl"
    assert not log.exists() or not [r for r in read_jsonl(log)[0] if "frame" in r]


def test_read_only_log_folder_is_one_line(model, tmp_path):
    if os.geteuid() == 0:
        ro = tmp_path / "ro"
        _mount_tmpfs(ro, "64k")
        subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
    try:
        frames = write_frames(tmp_path / "f", 2)
        line = one_line_error(
            run_cmd("--source", str(frames), "--model", str(model), "--log", str(ro / "x.jsonl"))
        )
        assert "--log" in line
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(ro)], check=False)
