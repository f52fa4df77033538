"""Sources: URI parsing, folders/videos, corrupt frames, live stalls with reconnect, stale drops."""

from __future__ import annotations

import time

import numpy as np
import pytest
from support.pipeline import write_frames, write_video

from edgexai.core.errors import EdgexaiError
from edgexai.deploy.pipeline.capture_thread import FrameSource
from edgexai.deploy.pipeline.frame_readers import CaptureReader, EndOfStream, open_reader
from edgexai.deploy.pipeline.source_uri import parse_uri

pytest.importorskip("cv2")


def test_uri_parsing(tmp_path):
    assert parse_uri("0").kind == "v4l2" and parse_uri("0").target == 0
    assert parse_uri("/dev/video2").target == 2 and parse_uri("/dev/video2").live
    assert parse_uri("v4l2:///dev/video1").target == 1
    csi = parse_uri("csi://1", width=1920, height=1080, rate=30)
    assert csi.kind == "csi" and "nvarguscamerasrc sensor-id=1" in csi.target
    assert "width=(int)1920" in csi.target and csi.target.endswith(
        "appsink drop=true max-buffers=1"
    )
    assert parse_uri("rtsp://cam.local:8554/stream").kind == "rtsp"
    gst = parse_uri("videotestsrc ! videoconvert ! appsink")
    assert gst.kind == "gstreamer" and gst.target.startswith("videotestsrc")
    write_frames(tmp_path / "f", 1)
    assert parse_uri(str(tmp_path / "f")).kind == "folder"
    assert parse_uri(f"file://{tmp_path / 'f' / '00000.jpg'}").kind == "image"
    (tmp_path / "v.mp4").write_bytes(b"x")
    v = parse_uri(str(tmp_path / "v.mp4"), loop=True)
    assert v.kind == "video" and v.loop and not v.live
    with pytest.raises(EdgexaiError, match="not found"):
        parse_uri(str(tmp_path / "nope.mp4"))
    with pytest.raises(EdgexaiError, match="csi://N"):
        parse_uri("csi://x")


def test_source_that_fails_to_open_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(EdgexaiError, match="cannot open source"):
        FrameSource(parse_uri(str(bad)))
    with pytest.raises(EdgexaiError, match="holds no images"):
        FrameSource(parse_uri(str(tmp_path)))


def _drain(src: FrameSource, timeout: float = 10.0) -> list:
    out, t0 = [], time.time()
    while time.time() - t0 < timeout:
        f = src.get(timeout=timeout)
        if f is None:
            return out
        out.append(f)
    raise AssertionError("source did not end")


def test_folder_skips_and_counts_corrupt_frames_and_loops(tmp_path):
    folder = write_frames(tmp_path / "frames", 6, corrupt=(2, 4))
    events = []
    src = FrameSource(parse_uri(str(folder)), on_event=events.append).start()
    frames = _drain(src)
    src.stop()
    assert [f.name for f in frames] == ["00000.jpg", "00001.jpg", "00003.jpg", "00005.jpg"]
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert src.stats.corrupt == 2 and src.stats.read == 4
    assert [e["name"] for e in events if e["event"] == "corrupt_frame"] == [
        "00002.jpg",
        "00004.jpg",
    ]
    looped = FrameSource(parse_uri(str(folder), loop=True)).start()
    names = [looped.get(timeout=5).name for _ in range(9)]
    looped.stop()
    assert names[:4] == names[4:8]


def test_video_file_reads_every_frame_and_loops(tmp_path):
    video = write_video(tmp_path / "v.avi", 12)
    src = FrameSource(parse_uri(str(video))).start()
    frames = _drain(src)
    src.stop()
    assert len(frames) == 12 and frames[0].image.shape == (200, 320, 3)
    src = FrameSource(parse_uri(str(video), loop=True, width=160, height=100)).start()
    frames = [src.get(timeout=5) for _ in range(30)]
    src.stop()
    assert all(f is not None and f.image.shape == (100, 160, 3) for f in frames)


class FlakyCamera:
    """A 'camera' over a real video file that dies after `die_after` frames; reopening fails
    `refuse` times (unplugged), then it works again (replugged)."""

    def __init__(self, video, die_after=5, refuse=2):
        self.video, self.die_after, self.refuse = video, die_after, refuse
        self.opens = 0

    def open(self, spec):
        self.opens += 1
        if 1 < self.opens <= 1 + self.refuse:
            raise OSError("no such device")
        reader = CaptureReader(parse_uri(self.video, loop=True))
        limit = self.die_after if self.opens == 1 else 10**9

        class R:
            n = 0

            def read(self_inner):
                if self_inner.n >= limit:
                    raise OSError("camera returned no frame")
                self_inner.n += 1
                return reader.read()

            def close(self_inner):
                reader.close()

        return R()


def test_live_source_that_stops_and_resumes_reconnects_with_backoff(tmp_path):
    video = str(write_video(tmp_path / "v.avi", 10))
    cam = FlakyCamera(video, die_after=5, refuse=2)
    events = []
    spec = parse_uri("/dev/video7")
    src = FrameSource(
        spec, opener=cam.open, backoff_s=0.05, on_event=events.append, queue_size=64
    ).start()
    frames = [src.get(timeout=10) for _ in range(12)]
    src.stop()
    assert all(f is not None for f in frames)
    assert [f.index for f in frames] == list(range(12))  # indices continue across the gap
    kinds = [e["event"] for e in events]
    assert kinds[:2] == ["stream_lost", "reconnected"]
    rec = events[1]
    assert rec["attempts"] == 3 and rec["gap_s"] >= 0.05 + 0.1 + 0.2 - 0.01  # 0.05, 0.1, 0.2 s
    assert src.stats.reconnects == 1 and src.stats.gap_s == pytest.approx(rec["gap_s"], abs=1e-3)


def test_live_source_drops_stale_frames_instead_of_lagging():
    class Fast:
        def __init__(self):
            self.i = 0

        def read(self):
            self.i += 1
            if self.i > 200:
                raise EndOfStream
            return np.full((4, 4, 3), self.i % 255, np.uint8), None

        def close(self):
            pass

    src = FrameSource(parse_uri("0"), opener=lambda s: Fast(), queue_size=2).start()
    time.sleep(0.3)  # a slow consumer
    got = []
    while (f := src.get(timeout=5)) is not None:
        got.append(f.index)
    src.stop()
    assert src.stats.dropped > 150 and len(got) <= 3 and got[-1] == 199


def test_open_reader_for_single_image(tmp_path):
    folder = write_frames(tmp_path / "f", 1)
    r = open_reader(parse_uri(str(folder / "00000.jpg")))
    img, name = r.read()
    assert img.shape == (200, 320, 3) and name == "00000.jpg"
    with pytest.raises(EndOfStream):
        r.read()


def test_a_file_uri_with_escapes_names_the_file(tmp_path):
    """Issue 43: file:///…/my%20drive.mp4 (as a file manager copies it) was 'not found'."""
    from edgexai.deploy.pipeline.source_uri import parse_uri

    video = tmp_path / "my drive.mp4"
    video.write_bytes(b"\0")
    uri = "file://" + str(video).replace(" ", "%20")
    assert parse_uri(uri).target == str(video)
    assert parse_uri("file://localhost" + str(video).replace(" ", "%20")).target == str(video)
    odd = tmp_path / "100%20.mp4"  # a name that really holds the escape
    odd.write_bytes(b"\0")
    assert parse_uri("file://" + str(odd)).target == str(odd)
