"""Image files decoded under a pixel limit that is checked from the file's header first.

Why: a 389 KB PNG can claim 20000×20000 px, and decoding it takes gigabytes; OpenCV's own limit
(OPENCV_IO_MAX_IMAGE_PIXELS, 2^30 px by default) still lets one such file take ~6 GB. Every file
edgexai decodes (datasets, GTSDB frames, folder sources of `run`, calibration lists) goes through
`read_image`, which reads the width and height from the header (PNG, JPEG, PPM/PGM/PBM/PAM/PFM,
BMP, TIFF, WebP, GIF, Sun raster) without decoding and refuses a file above the limit in one
line. For any other format OpenCV's own limit is the guard: `edgexai`'s entry point sets it to
the same value before OpenCV is imported (OpenCV reads the variable once, at import). Video
frames have the decoder's fixed size: `check_frame_size` checks the size a capture reports.

The limit: EDGEXAI_MAX_IMAGE_PIXELS (width × height), default 100,000,000 — an 8000×8000 photo
(64 MP) and a GTSDB frame (1360×800) pass; decoding one image at the limit takes 300–600 MB
(BGR, plus OpenCV's conversion buffers). numpy + OpenCV + stdlib only (the vehicle reads frames
with it).
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path
from typing import BinaryIO

import numpy as np

from edgexai.core.errors import EdgexaiError

MAX_PIXELS_ENV = "EDGEXAI_MAX_IMAGE_PIXELS"
OPENCV_ENV = "OPENCV_IO_MAX_IMAGE_PIXELS"
DEFAULT_MAX_PIXELS = 100_000_000
_SCAN_LIMIT = 1 << 20  # bytes of a PNM header read at most (comments)
_JPEG_SCAN_LIMIT = 1 << 24  # how far the frame header may lie behind APPn segments (seeked over)


class ImageTooLarge(EdgexaiError):
    """An image whose header claims more pixels than the limit (refused before decoding)."""


def max_pixels() -> int:
    """The current limit: EDGEXAI_MAX_IMAGE_PIXELS if set (read on every call), else the default."""
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise EdgexaiError(
            f"{MAX_PIXELS_ENV}={raw!r} is not a positive whole number of pixels "
            f"(the default is {DEFAULT_MAX_PIXELS})"
        )
    return value


def set_opencv_limit() -> None:
    """Give OpenCV's own limit (read once when cv2 is imported) edgexai's value, for formats
    whose header edgexai does not read. Only effective before cv2's import; an invalid
    EDGEXAI_MAX_IMAGE_PIXELS is left for the first decode to report in one line."""
    if "cv2" in sys.modules:
        return
    try:
        os.environ[OPENCV_ENV] = str(max_pixels())
    except EdgexaiError:
        pass


def _too_large(what: str, width: int, height: int, limit: int) -> ImageTooLarge:
    return ImageTooLarge(
        f"{what} is {width}×{height} px ({width * height:,} pixels), above the limit of "
        f"{limit:,} pixels per image; to decode it, raise the limit: "
        f"{MAX_PIXELS_ENV}={width * height}"
    )


def check_image_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """Raise ImageTooLarge if the header of `path` gives more pixels than the limit; returns the
    (width, height) read, or None when the header is not one of the formats read here (or is
    unreadable: the decoder then reports it)."""
    limit = max_pixels()
    size = image_size(path)
    if size is not None and size[0] * size[1] > limit:
        raise _too_large(str(path), size[0], size[1], limit)
    return size


def check_frame_size(width: int, height: int, what: str) -> None:
    """Raise ImageTooLarge if a video's frames (width × height) are above the limit."""
    limit = max_pixels()
    if width > 0 and height > 0 and width * height > limit:
        raise _too_large(what, int(width), int(height), limit)


def read_image(path: str | os.PathLike, flags: int | None = None) -> np.ndarray | None:
    """cv2.imread (IMREAD_COLOR unless `flags`), after the header's size is checked against the
    limit; None when the file cannot be decoded, ImageTooLarge when it is above the limit."""
    import cv2

    check_image_size(path)
    try:
        return cv2.imread(str(path), cv2.IMREAD_COLOR if flags is None else flags)
    except cv2.error as exc:
        if "CV_IO_MAX_IMAGE" not in str(exc):
            return None
        raise ImageTooLarge(
            f"{path} is above OpenCV's image size limit; raise {MAX_PIXELS_ENV} (now "
            f"{max_pixels():,}; the edgexai command passes it on to OpenCV as {OPENCV_ENV}, "
            "which a Python program must set before it imports cv2)"
        ) from None


def truncated_jpeg(path: str | os.PathLike) -> bool:
    """A JPEG cut short (a copy or download that stopped): no end-of-image marker after its first
    scan. OpenCV decodes such a file anyway, grey below the cut, with only libjpeg's warning on
    stderr, so training data is checked here. Bytes after the marker (camera trailers) are fine:
    0xFFD9 cannot occur inside entropy-coded data, where every 0xFF is stuffed."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"\xff\xd8"):
        return False
    scan = data.find(b"\xff\xda")
    return scan < 0 or data.find(b"\xff\xd9", scan) < 0


def image_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """(width, height) from the file's header without decoding, or None (unknown format,
    unreadable or truncated header)."""
    try:
        with open(Path(path), "rb") as f:
            head = f.read(32)
            for magic, reader in _READERS:
                if head.startswith(magic):
                    size = reader(f, head)
                    return size if size and size[0] >= 0 and size[1] >= 0 else None
    except (OSError, struct.error, ValueError, IndexError):
        return None
    return None


def _png(f: BinaryIO, head: bytes) -> tuple[int, int] | None:
    if head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(f: BinaryIO, head: bytes) -> tuple[int, int] | None:
    """Walk the marker segments from SOI to the first SOF (frame header: P, Y, X)."""
    f.seek(2)
    stray = 0
    while f.tell() < _JPEG_SCAN_LIMIT and stray < 65536:
        byte = f.read(1)
        if not byte:
            return None
        if byte != b"\xff":
            stray += 1  # bytes between segments: libjpeg skips them too (with a warning)
            continue
        marker = f.read(1)
        while marker == b"\xff" and f.tell() < _JPEG_SCAN_LIMIT:  # fill bytes
            marker = f.read(1)
        if not marker or marker == b"\xff":
            return None
        m = marker[0]
        if m == 0x00:  # a stuffed 0xFF, not a marker
            stray += 2
            continue
        if m == 0xD8 or m == 0x01 or 0xD0 <= m <= 0xD7:
            continue  # markers without a length
        if m in (0xD9, 0xDA):
            return None  # end of image, or scan data before any frame header
        (length,) = struct.unpack(">H", f.read(2))
        if length < 2:
            return None
        if m in _SOF:
            _precision, height, width = struct.unpack(">BHH", f.read(5))
            return (width, height) if height else None  # height 0: given later (DNL)
        f.seek(length - 2, os.SEEK_CUR)
    return None


def _tokens(f: BinaryIO, start: int, count: int) -> list[bytes]:
    """`count` whitespace-separated tokens of a PNM header from `start` ('#' comments skipped)."""
    f.seek(start)
    out: list[bytes] = []
    token = b""
    comment = False
    while len(out) < count and f.tell() < _SCAN_LIMIT:
        c = f.read(1)
        if not c:
            break
        if comment:
            comment = c not in b"\r\n"
        elif c == b"#":
            comment = True
        elif c.isspace():
            if token:
                out.append(token)
                token = b""
        else:
            token += c
            if len(token) > 20:
                return []
    return out if len(out) == count else []


def _pnm(f: BinaryIO, head: bytes) -> tuple[int, int] | None:
    if head[1:2] not in b"123456fF" or not head[2:3].isspace():
        return None
    tokens = _tokens(f, 2, 2)
    return (int(tokens[0]), int(tokens[1])) if tokens else None


def _pam(f: BinaryIO, head: bytes) -> tuple[int, int] | None:
    if not head[2:3].isspace():
        return None
    f.seek(3)
    fields: dict[bytes, int] = {}
    for _ in range(1000):
        line = f.readline(4096)
        words = line.split()
        if not line or words[:1] == [b"ENDHDR"]:
            break
        if len(words) >= 2 and words[0] in (b"WIDTH", b"HEIGHT"):
            fields[words[0]] = int(words[1])
    return (fields[b"WIDTH"], fields[b"HEIGHT"]) if len(fields) == 2 else None


def _bmp(f: BinaryIO, head: bytes) -> tuple[int, int] | None:
    (dib,) = struct.unpack("<I", head[14:18])
    if dib == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
        return struct.unpack("<HH", head[18:22])
    width, height = struct.unpack("<ii", head[18:26])
    return abs(width), abs(height)  # a negative height: rows top-down


def _tiff(f: BinaryIO, head: bytes) -> tuple[int, int] | None:
    """The first directory's ImageWidth (256) and ImageLength (257), as OpenCV reads page 1."""
    e = "<" if head[:2] == b"II" else ">"  # BigTIFF ('+' for '*') is left to OpenCV's limit
    (offset,) = struct.unpack(e + "I", head[4:8])
    f.seek(offset)
    (n,) = struct.unpack(e + "H", f.read(2))
    found: dict[int, int] = {}
    for _ in range(min(n, 4096)):
        tag, kind, _count, value = struct.unpack(e + "HHI4s", f.read(12))
        if tag in (256, 257):
            fmt = {3: "H", 4: "I", 8: "h", 9: "i"}.get(kind)
            if fmt is None:
                return None
            (found[tag],) = struct.unpack_from(e + fmt, value)
    return (found[256], found[257]) if len(found) == 2 else None


def _webp(f: BinaryIO, head: bytes) -> tuple[int, int] | None:
    if head[8:12] != b"WEBP":
        return None
    chunk = head[12:16]
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and head[20] == 0x2F:
        (bits,) = struct.unpack("<I", head[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return (
            int.from_bytes(head[24:27], "little") + 1,
            int.from_bytes(head[27:30], "little") + 1,
        )
    return None


def _gif(f: BinaryIO, head: bytes) -> tuple[int, int] | None:
    return struct.unpack("<HH", head[6:10])


def _sun_raster(f: BinaryIO, head: bytes) -> tuple[int, int] | None:
    return struct.unpack(">II", head[4:12])


_READERS = (
    (b"\x89PNG\r\n\x1a\n", _png),
    (b"\xff\xd8", _jpeg),
    (b"P7", _pam),
    (b"P", _pnm),
    (b"BM", _bmp),
    (b"II*\x00", _tiff),
    (b"MM\x00*", _tiff),
    (b"RIFF", _webp),
    (b"GIF87a", _gif),
    (b"GIF89a", _gif),
    (b"\x59\xa6\x6a\x95", _sun_raster),
)
