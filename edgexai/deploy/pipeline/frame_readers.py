"""Synchronous frame readers over a parsed source: image folders, and cv2.VideoCapture for
devices, files, streams and GStreamer pipelines.

Why apart from the capture thread: a reader only reads (one frame per call, None for an
undecodable one, EndOfStream at the end of a file, OSError when a live stream fails); the thread
decides what to do about it. `edgexai doctor` opens a file source with the very same reader.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

from edgexai.core.errors import EdgexaiError
from edgexai.core.image_files import check_frame_size, read_image
from edgexai.deploy.pipeline.source_uri import IMAGE_EXTS, SourceSpec


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
        img = read_image(f)  # an image above the pixel limit stops the run, in one line
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
        try:  # the decoder's frame size, from the container or device, before any frame
            check_frame_size(
                int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
                int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
                f"a frame of {spec.uri!r}",
            )
        except EdgexaiError:
            self.cap.release()
            raise
        self.count = int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if spec.kind == "video" else 0
        self.pos = 0
        self.bad_run = 0

    def read(self) -> tuple[np.ndarray | None, str | None]:
        import cv2

        ok, img = self.cap.read()
        if ok and img is not None:
            check_frame_size(img.shape[1], img.shape[0], f"a frame of {self.spec.uri!r}")
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
