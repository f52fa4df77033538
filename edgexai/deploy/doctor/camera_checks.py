"""Doctor's video-input checks: OpenCV, its GStreamer support, camera devices and the source.

Why: pip's OpenCV (no GStreamer) shadowing JetPack's, a missing /dev/video*, or a file no frame of
which decodes each stop `edgexai run`; a file source is opened with run's own reader so doctor
and run agree. OpenCV is probed, never required at import; never torch.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path
from typing import Any

from edgexai.core.errors import EdgexaiError
from edgexai.deploy.doctor.findings import FAIL, OK, SKIP, VENV_HINT, WARN, Check, try_import


def opencv_gstreamer(build_info: str) -> tuple[bool, str]:
    """(has GStreamer, the 'GStreamer:' line) from cv2.getBuildInformation()."""
    m = re.search(r"^\s*GStreamer:\s*(.+)$", build_info, re.MULTILINE)
    if not m:
        return False, "GStreamer not listed in the build information"
    value = m.group(1).strip()
    return value.upper().startswith("YES"), f"GStreamer: {value}"


def _pip_opencv() -> list[str]:
    """pip-installed OpenCV wheels (they have no GStreamer and shadow JetPack's cv2)."""
    from importlib import metadata

    found = []
    for dist in (
        "opencv-python",
        "opencv-python-headless",
        "opencv-contrib-python",
        "opencv-contrib-python-headless",
    ):
        try:
            found.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    return found


def check_opencv() -> tuple[Check, Any | None]:
    cv2, why = try_import("cv2")
    if cv2 is None:
        return Check(
            "opencv",
            FAIL,
            f"cv2 not importable ({why})",
            "on a Jetson: sudo apt-get install nvidia-opencv (JetPack's OpenCV, with "
            "GStreamer); " + VENV_HINT + "; elsewhere pip install -e '.[deploy]'",
        ), None
    where = Path(getattr(cv2, "__file__", "?") or "?").parent
    return Check("opencv", OK, f"OpenCV {cv2.__version__} ({where})"), cv2


def check_gstreamer(cv2: Any | None, need: str) -> Check:
    """need: 'required', 'optional' or 'unused' for the chosen source."""
    if cv2 is None:
        return Check("gstreamer", FAIL if need == "required" else SKIP, "OpenCV is not importable")
    has, line = opencv_gstreamer(cv2.getBuildInformation())
    if has:
        return Check("gstreamer", OK, f"OpenCV built with {line}")
    wheels = _pip_opencv()
    hint = "CSI cameras (csi://N) and raw pipelines need OpenCV built with GStreamer: "
    if wheels:
        hint += (
            f"pip's {', '.join(wheels)} has none and shadows the system cv2 — "
            f"pip uninstall {' '.join(w.split()[0] for w in wheels)}, then use JetPack's "
            "OpenCV (sudo apt-get install nvidia-opencv) through --system-site-packages"
        )
    else:
        hint += "sudo apt-get install nvidia-opencv (JetPack) or python3-opencv (Ubuntu)"
    status = {"required": FAIL, "optional": WARN}.get(need, SKIP)
    return Check("gstreamer", status, f"OpenCV has no GStreamer ({line})", hint)


def video_devices(pattern: str = "/dev/video*") -> list[str]:
    return sorted(glob.glob(pattern), key=lambda p: (len(p), p))


def classify_source(source: str | None) -> tuple[str, str | None]:
    """(kind, camera device it needs) for a `run --source`; kind decides what doctor requires."""
    if source is None:
        return "camera", None
    if re.fullmatch(r"\d+", source):
        return "v4l2", f"/dev/video{source}"
    if re.fullmatch(r"/dev/video\d+", source):
        return "v4l2", source
    m = re.fullmatch(r"csi://(\d+)", source)
    if m:
        return "csi", None
    if source.startswith(STREAM_SCHEMES):
        return "stream", None
    if "!" in source:
        return "gstreamer", None
    return "file", None


STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://")  # as source_uri
SOURCE_READS = 100  # frames doctor reads past (undecodable) before it stops looking


def check_source(source: str | None, reads: int = SOURCE_READS) -> Check:
    """What `run --source` will read: a file, image or folder is opened with run's own reader
    (edgexai.deploy.pipeline: source_uri.parse_uri, frame_readers.open_reader) and one frame is
    decoded; a stream URL must name a host. Cameras are not opened here (check_camera looks for
    the device; a running pipeline may hold it)."""
    kind, _ = classify_source(source)
    if kind == "stream":
        return check_stream_uri(str(source))
    if kind != "file":
        return Check("source", SKIP, f"a live {kind} source: not opened by doctor")
    path = Path(source[len("file://") :] if source.startswith("file://") else source)
    if not path.exists():
        return Check("source", SKIP, f"{path} does not exist (see camera)")
    return _decode_one(source, reads)


def check_stream_uri(uri: str) -> Check:
    """A stream URL names a host (and a valid port): a bare rtsp:// can never open (the rule is
    the run's own, edgexai.deploy.pipeline.source_uri.stream_host)."""
    from edgexai.deploy.pipeline.source_uri import STREAM_FIX, stream_host

    try:
        where = stream_host(uri)
    except EdgexaiError as exc:
        return Check("source", FAIL, f"{exc}: `run` cannot open it", STREAM_FIX)
    scheme = uri.partition(":")[0]
    return Check(
        "source",
        SKIP,
        f"{scheme} stream on {where}: not opened by doctor (run reconnects with backoff)",
    )


def _decode_one(source: str, reads: int) -> Check:
    """Open `source` as `run` does and read until one frame decodes."""
    try:
        from edgexai.deploy.pipeline.frame_readers import EndOfStream, open_reader
        from edgexai.deploy.pipeline.source_uri import parse_uri

        spec = parse_uri(source)
        reader = open_reader(spec)
    except ImportError as exc:
        return Check("source", SKIP, f"not opened: {exc.name or exc} is missing (see opencv)")
    except (EdgexaiError, OSError) as exc:
        return Check("source", FAIL, f"`run` cannot open {source!r}: {exc}", _SOURCE_FIX)
    n, ended = 0, False
    try:
        while n < reads:
            n += 1
            try:
                img, _ = reader.read()
            except EndOfStream:
                ended = True
                break
            except (OSError, EdgexaiError) as exc:  # EdgexaiError: a frame above the pixel limit
                return Check(
                    "source", FAIL, f"{source!r} opens but reading fails: {exc}", _SOURCE_FIX
                )
            if img is not None:
                return Check(
                    "source",
                    OK,
                    f"{spec.kind} {source}: a frame decodes ({img.shape[1]}×{img.shape[0]})",
                )
    finally:
        reader.close()
    if ended:
        return Check(
            "source",
            FAIL,
            f"no frame of {spec.kind} {source!r} decodes (`run` would process nothing)",
            _SOURCE_FIX,
        )
    return Check(
        "source", WARN, f"none of the first {reads} frames of {source!r} decodes", _SOURCE_FIX
    )


_SOURCE_FIX = (
    "pass a video OpenCV's FFMPEG decodes (.mp4, .avi, …), an image, or a folder of "
    "images; check the file was copied completely"
)


def check_camera(source: str | None, devices: list[str] | None = None) -> Check:
    kind, device = classify_source(source)
    devices = video_devices() if devices is None else devices
    listed = ", ".join(devices) if devices else "none"
    if kind in ("stream", "gstreamer"):
        return Check("camera", SKIP, f"source is a {kind}; video devices: {listed}")
    if kind == "file":
        path = Path(source[len("file://") :] if source.startswith("file://") else source)
        if path.exists():
            return Check(
                "camera", SKIP, f"source is a file/folder ({path}); video devices: {listed}"
            )
        return Check(
            "camera",
            FAIL,
            f"source {path} does not exist",
            "pass an existing video file, image, folder, /dev/videoN or csi://N",
        )
    if device is not None:
        if device in devices:
            return Check("camera", OK, f"{device} present (all: {listed})")
        return Check(
            "camera",
            FAIL,
            f"{device} not found (video devices: {listed})",
            "plug the USB camera in (ls /dev/video*; v4l2-ctl --list-devices) and add "
            "the service user to the 'video' group",
        )
    if devices:
        return Check("camera", OK, f"video devices: {listed}")
    return Check(
        "camera",
        FAIL,
        "no /dev/video* device",
        "connect a CSI camera (ribbon cable, then sudo /opt/nvidia/jetson-io/jetson-io.py "
        "if the module needs an overlay) or a USB camera; or run with --source FILE",
    )
