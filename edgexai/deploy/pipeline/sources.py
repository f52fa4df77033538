"""Video sources from jetson-inference-style URIs, captured in their own thread.

Why a thread and a bounded queue: decoding overlaps classification (OpenCV releases the GIL), and
a live camera that produces faster than the pipeline consumes must not build up latency — the
oldest queued frame is dropped, so the loop always sees a recent one. Files and folders are not
live: the queue blocks instead, so every frame is processed (scoring needs them all).

Faults: a source that cannot be opened raises EdgexaiError at start; a live stream that stalls or
drops is reopened with exponential backoff, and the gap is reported; an undecodable frame is
skipped and counted.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from edgexai.core.errors import EdgexaiError

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp"}
LIVE_KINDS = {"v4l2", "csi", "rtsp", "gstreamer"}


@dataclass(frozen=True)
class SourceSpec:
    """A parsed source URI. `target` is what OpenCV opens (device index, path, URL, pipeline)."""

    kind: str  # v4l2 | csi | rtsp | gstreamer | video | image | folder
    target: str | int
    uri: str
    width: int | None = None
    height: int | None = None
    rate: float | None = None
    loop: bool = False

    @property
    def live(self) -> bool:
        return self.kind in LIVE_KINDS


def csi_pipeline(sensor: int, width: int | None, height: int | None, rate: float | None) -> str:
    """The nvarguscamerasrc pipeline jetson-inference builds for csi://N (BGR out to appsink)."""
    w, h, r = width or 1280, height or 720, int(rate or 30)
    return (
        f"nvarguscamerasrc sensor-id={sensor} ! "
        f"video/x-raw(memory:NVMM), width=(int){w}, height=(int){h}, "
        f"framerate=(fraction){r}/1, format=(string)NV12 ! "
        "nvvidconv flip-method=0 ! video/x-raw, format=(string)BGRx ! "
        "videoconvert ! video/x-raw, format=(string)BGR ! appsink drop=true max-buffers=1"
    )


STREAM_FIX = (
    "name the stream in full: rtsp://HOST[:PORT]/PATH (user:password@ before HOST if needed)"
)


def stream_host(uri: str) -> str:
    """HOST[:PORT] of a stream URL; a URL without a host (a bare rtsp://) or with a bad port can
    never open, so it is refused before any connection is tried."""
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    try:
        port = parts.port
    except ValueError:
        raise EdgexaiError(f"source {uri!r} has an invalid port; {STREAM_FIX}") from None
    if not parts.hostname:
        raise EdgexaiError(f"source {uri!r} names no host; {STREAM_FIX}")
    return f"{parts.hostname}:{port}" if port else parts.hostname


def parse_uri(
    uri: str | int,
    width: int | None = None,
    height: int | None = None,
    rate: float | None = None,
    loop: bool = False,
) -> SourceSpec:
    """Map a source URI to a SourceSpec, as jetson-inference's videoSource does.

    `0` / `/dev/video0` / `v4l2:///dev/video0` → V4L2; `csi://0` → nvarguscamerasrc pipeline;
    `rtsp://…`; a string with ' ! ' → raw GStreamer pipeline; `file://PATH` or PATH → video,
    image or folder of images (by what PATH is).
    """
    kw = {"width": width, "height": height, "rate": rate, "loop": loop}
    s = str(uri).strip()
    if not s:
        raise EdgexaiError(
            "empty --source: give a camera index, /dev/videoN, csi://N, a file, a "
            "folder of images, rtsp://… or a GStreamer pipeline"
        )
    if s.isdigit():
        return SourceSpec("v4l2", int(s), s, **kw)
    if s.startswith("v4l2://"):
        s2 = s[len("v4l2://") :]
        s = s2 if s2.startswith("/dev/") else "/dev/" + s2.lstrip("/")
    if s.startswith("/dev/video"):
        num = s[len("/dev/video") :]
        return SourceSpec("v4l2", int(num) if num.isdigit() else s, str(uri), **kw)
    if s.startswith("csi://"):
        num = s[len("csi://") :]
        if not num.isdigit():
            raise EdgexaiError(f"bad CSI source {s!r}: expected csi://N with N the sensor id")
        return SourceSpec("csi", csi_pipeline(int(num), width, height, rate), s, **kw)
    if s.startswith(("rtsp://", "rtsps://", "rtmp://", "http://", "https://")):
        stream_host(s)
        return SourceSpec("rtsp", s, s, **kw)
    if " ! " in s or s.startswith(("gst://", "gst:")):
        pipe = s.split(":", 1)[1].lstrip("/") if s.startswith("gst") else s
        return SourceSpec("gstreamer", pipe, s, **kw)
    path = Path(s[len("file://") :] if s.startswith("file://") else s).expanduser()
    if path.is_dir():
        return SourceSpec("folder", str(path), s, **kw)
    if not path.exists():
        raise EdgexaiError(
            f"source {s!r} not found (not a file, folder, device, csi://, rtsp:// "
            "or GStreamer pipeline)"
        )
    if path.suffix.lower() in IMAGE_EXTS:
        return SourceSpec("image", str(path), s, **kw)
    return SourceSpec("video", str(path), s, **kw)


@dataclass
class Frame:
    """One captured frame (BGR uint8) and where it came from."""

    index: int
    image: np.ndarray
    name: str | None  # the image file name for image/folder sources
    t_capture: float  # wall time when it was read
    capture_ms: float  # read + decode time in the capture thread
    work: Any = None  # what the capture thread's `work` callable returned for it
    work_ms: float = 0.0  # and how long it took
    cpu_ms: float = 0.0  # CPU time the capture thread spent on it (read + decode + work)


class EndOfStream(Exception):
    """A finite source has no more frames (and is not looping)."""


class Reader(Protocol):
    """A synchronous frame reader. `read` returns (image or None if undecodable, name);
    raises EndOfStream at the end of a finite source, OSError when a live stream fails."""

    def read(self) -> tuple[np.ndarray | None, str | None]: ...

    def close(self) -> None: ...


def _quiet_opencv() -> None:
    """OpenCV's own warnings would repeat our one-line errors (and flood stderr per frame)."""
    import cv2

    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    except AttributeError:
        pass


class FolderReader:
    """Images of a folder in name order (or a single image); loops when asked."""

    def __init__(self, spec: SourceSpec) -> None:
        p = Path(str(spec.target))
        if p.is_dir():
            self.files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_EXTS)
            if not self.files:
                raise EdgexaiError(
                    f"folder source {p} holds no images ({', '.join(sorted(IMAGE_EXTS))})"
                )
        else:
            self.files = [p]
        self.loop, self.size = spec.loop, (spec.width, spec.height)
        self.pos = 0
        self.decoded_in_pass = 0
        self.folder = p
        _quiet_opencv()

    def read(self) -> tuple[np.ndarray | None, str | None]:
        import cv2

        if self.pos >= len(self.files):
            if not self.loop:
                raise EndOfStream
            if not self.decoded_in_pass:  # looping over nothing would spin and flood the log
                raise EdgexaiError(
                    f"none of the {len(self.files)} image files of {self.folder} "
                    "decodes (or they are gone); nothing to loop over"
                )
            self.pos = self.decoded_in_pass = 0
        f = self.files[self.pos]
        self.pos += 1
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        self.decoded_in_pass += img is not None
        if img is not None and self.size[0] and self.size[1] and img.shape[1::-1] != self.size:
            img = cv2.resize(img, self.size, interpolation=cv2.INTER_AREA)
        return img, f.name

    def close(self) -> None:
        pass


class CaptureReader:
    """cv2.VideoCapture over a device, file, URL or GStreamer pipeline."""

    def __init__(self, spec: SourceSpec) -> None:
        import cv2

        self.spec = spec
        if spec.kind in ("csi", "gstreamer"):
            api = cv2.CAP_GSTREAMER
            info = cv2.getBuildInformation()
            if "GStreamer:" in info and "GStreamer:                   NO" in info:
                raise EdgexaiError(
                    f"{spec.uri!r} needs OpenCV built with GStreamer (this OpenCV "
                    "has none; on a Jetson use JetPack's OpenCV)"
                )
        elif spec.kind == "v4l2":
            api = cv2.CAP_V4L2 if os.name == "posix" else cv2.CAP_ANY
        elif spec.kind in ("rtsp", "video"):
            api = cv2.CAP_FFMPEG
        else:
            api = cv2.CAP_ANY
        params: list[int] = []
        if spec.kind == "rtsp":  # a stalled network stream must time out, not hang the thread
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 5000]
        _quiet_opencv()
        self.cap = cv2.VideoCapture(spec.target, api, params)
        if not self.cap.isOpened():
            what = {
                "v4l2": f"V4L2 camera {spec.target} (is it connected? see v4l2-ctl --list-devices)",
                "rtsp": "the stream (unreachable, or not a stream OpenCV's FFMPEG reads)",
                "video": "the video file (not a format OpenCV's FFMPEG decodes)",
            }
            raise OSError(f"could not open {what.get(spec.kind, spec.kind)}")
        if spec.kind == "v4l2":
            if spec.width and spec.height:
                self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, spec.width)
                self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, spec.height)
            if spec.rate:
                self.cap.set(cv2.CAP_PROP_FPS, spec.rate)
            self.cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self.count = int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if spec.kind == "video" else 0
        self.pos = 0
        self.bad_run = 0

    def read(self) -> tuple[np.ndarray | None, str | None]:
        import cv2

        ok, img = self.cap.read()
        if ok and img is not None:
            self.pos += 1
            self.bad_run = 0
            want = (self.spec.width, self.spec.height)
            if self.spec.kind != "v4l2" and want[0] and want[1] and img.shape[1::-1] != want:
                img = cv2.resize(img, want, interpolation=cv2.INTER_AREA)
            return img, None
        if self.spec.kind == "video":
            # a file: an unreadable frame before the known end is skipped; a run of them is the end
            self.pos += 1
            self.bad_run += 1
            if self.count and self.pos < self.count and self.bad_run < 50:
                return None, None
            if self.spec.loop and self.pos > self.bad_run:  # it did play frames: start again
                self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                self.pos = self.bad_run = 0
                return self.read()
            raise EndOfStream
        raise OSError(f"{self.spec.uri!r} returned no frame")

    def close(self) -> None:
        self.cap.release()


def open_reader(spec: SourceSpec) -> Reader:
    """The reader for a spec (EdgexaiError/OSError if it cannot be opened)."""
    if spec.kind in ("folder", "image"):
        return FolderReader(spec)
    return CaptureReader(spec)


@dataclass
class SourceStats:
    """Counters a run reports: frames read, undecodable frames skipped, stale frames dropped,
    reconnects and the total gap they cost."""

    read: int = 0
    corrupt: int = 0
    dropped: int = 0
    reconnects: int = 0
    gap_s: float = 0.0
    events: list[dict] = field(default_factory=list)


_END = object()


class FrameSource:
    """Runs a Reader in a daemon thread and hands frames out through a bounded queue.

    live=True: a full queue drops its oldest frame (the loop never lags a camera); a failing
    reader is reopened with backoff (backoff_s doubling up to backoff_max_s), the gap recorded.
    live=False: a full queue blocks the reader (every frame of a file is processed).
    `on_event` receives fault events (dicts) as they happen, from the capture thread.
    `work`, if given, runs on each decoded image in the capture thread (the run loop puts the
    sign proposer there, so proposing frame n+1 overlaps classifying frame n on a second core).
    """

    def __init__(
        self,
        spec: SourceSpec,
        *,
        opener: Callable[[SourceSpec], Reader] = open_reader,
        queue_size: int = 2,
        live: bool | None = None,
        backoff_s: float = 0.25,
        backoff_max_s: float = 8.0,
        max_reconnect_s: float | None = None,
        on_event: Callable[[dict], None] | None = None,
        work: Callable[[np.ndarray], Any] | None = None,
    ) -> None:
        self.spec, self.opener = spec, opener
        self.live = spec.live if live is None else live
        self.q: queue.Queue = queue.Queue(maxsize=max(1, queue_size))
        self.backoff_s, self.backoff_max_s = backoff_s, backoff_max_s
        self.max_reconnect_s = max_reconnect_s
        self.on_event = on_event
        self.work = work
        self.stats = SourceStats()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._index = 0
        self.error: BaseException | None = None  # what ended the capture thread, if it failed
        try:  # open once in the caller's thread: a source that cannot open is a clear error now
            self.reader: Reader | None = opener(spec)
        except OSError as exc:
            raise EdgexaiError(f"cannot open source {spec.uri!r}: {exc}") from None
        self.thread = threading.Thread(target=self._run, name="edgexai-capture", daemon=True)

    def start(self) -> FrameSource:
        self.thread.start()
        return self

    def _event(self, **ev) -> None:
        ev = {"event": ev.pop("event"), "time": time.time(), **ev}
        self.stats.events.append(ev)
        if self.on_event:
            self.on_event(ev)

    def _put(self, item) -> None:
        while not self._stop.is_set():
            if self.live and item is not _END:
                try:
                    self.q.put_nowait(item)
                    return
                except queue.Full:
                    try:
                        self.q.get_nowait()
                        with self._lock:
                            self.stats.dropped += 1
                    except queue.Empty:
                        pass
            else:
                try:
                    self.q.put(item, timeout=0.1)
                    return
                except queue.Full:
                    continue

    def _reconnect(self, reason: str) -> bool:
        """Reopen a failed live source with backoff; False if stopped or out of patience."""
        t_lost = time.time()
        self._event(event="stream_lost", reason=reason)
        if self.reader is not None:
            try:
                self.reader.close()
            except Exception:  # noqa: BLE001 - a broken device may fail to close; reopen anyway
                pass
            self.reader = None
        delay, attempts = self.backoff_s, 0
        while not self._stop.is_set():
            if self.max_reconnect_s is not None and time.time() - t_lost > self.max_reconnect_s:
                self._event(
                    event="stream_gave_up", gap_s=round(time.time() - t_lost, 3), attempts=attempts
                )
                return False
            self._stop.wait(delay)
            attempts += 1
            try:
                self.reader = self.opener(self.spec)
            except (OSError, EdgexaiError):
                delay = min(delay * 2, self.backoff_max_s)
                continue
            gap = time.time() - t_lost
            with self._lock:
                self.stats.reconnects += 1
                self.stats.gap_s += gap
            self._event(event="reconnected", gap_s=round(gap, 3), attempts=attempts)
            return True
        return False

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self.reader is None and not self._reconnect("not open"):
                    break
                t0 = time.perf_counter()
                c0 = time.thread_time()
                try:
                    img, name = self.reader.read()  # type: ignore[union-attr]
                except EndOfStream:
                    break
                except OSError as exc:
                    if not self.live or not self._reconnect(str(exc)):
                        break
                    continue
                ms = (time.perf_counter() - t0) * 1000
                if img is None:
                    with self._lock:
                        self.stats.corrupt += 1
                    self._event(event="corrupt_frame", name=name, position=self._index)
                    continue
                with self._lock:
                    self.stats.read += 1
                frame = Frame(self._index, img, name, time.time(), ms)
                if self.work is not None:
                    t1 = time.perf_counter()
                    frame.work = self.work(img)
                    frame.work_ms = (time.perf_counter() - t1) * 1000
                frame.cpu_ms = (time.thread_time() - c0) * 1000
                self._put(frame)
                self._index += 1
        except Exception as exc:  # noqa: BLE001 - handed to the loop, which re-raises it
            self.error = exc
            self._event(event="capture_error", error=f"{type(exc).__name__}: {exc}")
        finally:
            self._put(_END)

    def get(self, timeout: float | None = None) -> Frame | None:
        """The next frame; None at the end of the source. Raises queue.Empty on timeout."""
        item = self.q.get(timeout=timeout)
        if item is _END:
            self.q.put_nowait(_END) if not self.q.full() else None  # keep answering None
            return None
        return item

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=2.0)
        if self.reader is not None:
            try:
                self.reader.close()
            except Exception:  # noqa: BLE001
                pass
