"""Source URIs, jetson-inference style: what `--source` names and how OpenCV opens it.

Why apart from the readers: the grammar needs no OpenCV, so the CLI, the run loop and
`edgexai doctor` can check a URI (a bare rtsp:// with no host, a csi:// without a sensor id, a
path that does not exist) before anything is opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

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


def _file_path(s: str) -> Path:
    """PATH, or a `file://` URI's path with its %XX escapes decoded, as a file manager writes
    it (file:///data/my%20drive.mp4 → /data/my drive.mp4; file://localhost/… too). A name that
    really holds a '%' sequence is kept when only it exists."""
    if not s.startswith("file://"):
        return Path(s).expanduser()
    raw = s[len("file://") :]
    if raw.startswith("localhost/"):
        raw = raw[len("localhost") :]
    decoded = Path(unquote(raw)).expanduser()
    return decoded if decoded.exists() or not Path(raw).expanduser().exists() else Path(raw)


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
    path = _file_path(s)
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
