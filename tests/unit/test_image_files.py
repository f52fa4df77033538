"""The image pixel limit (issue 43, item 7): every decode reads the header's size first and refuses
an image above EDGEXAI_MAX_IMAGE_PIXELS in one line, without decoding it; normal images decode as
before; the limit can be raised; the `edgexai` command hands the same limit to OpenCV.

The call-site tests (datasets, frames, sources) name the variable as a string and watch
cv2.imread, so they fail on code without the limit rather than at an import."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from edgexai.core.errors import EdgexaiError  # noqa: E402

ENV = "EDGEXAI_MAX_IMAGE_PIXELS"
HUGE = (20000, 20000)  # the 389 KB PNG: 400 M pixels, 2.4 GB to decode


def _picture(w: int = 53, h: int = 37, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)


def _write(path: Path, img: np.ndarray | None = None) -> Path:
    assert cv2.imwrite(str(path), _picture() if img is None else img)
    return path


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A real small PNG whose IHDR says width × height (with a valid CRC, as a crafted file has)."""
    data = bytearray(_write(path.with_suffix(".png")).read_bytes())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return path


def jpeg_claiming(path: Path, width: int, height: int) -> Path:
    """A real small JPEG whose frame header (SOF0) says width × height."""
    ok, enc = cv2.imencode(".jpg", _picture())
    data = bytearray(enc.tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))
    return path


def ppm_claiming(path: Path, width: int, height: int) -> Path:
    path.write_bytes(b"P6\n# made by hand\n%d %d\n255\n" % (width, height) + bytes(300))
    return path


def bmp_claiming(path: Path, width: int, height: int) -> Path:
    """A BMP header (top-down rows: negative height) with a few bytes of pixels."""
    dib = struct.pack("<IiiHHIIiiII", 40, width, -height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    path.write_bytes(b"BM" + struct.pack("<IHHI", 54 + 300, 0, 0, 54) + dib + bytes(300))
    return path


def tiff_big_endian_claiming(path: Path, width: int, height: int) -> Path:
    entries = [(256, 4, 1, struct.pack(">I", width)), (257, 3, 1, struct.pack(">HH", height, 0))]
    ifd = struct.pack(">H", len(entries)) + b"".join(
        struct.pack(">HHI", tag, kind, n) + value for tag, kind, n, value in entries
    )
    path.write_bytes(b"MM\x00*" + struct.pack(">I", 8) + ifd + bytes(4))
    return path


CLAIMING = {
    "png": png_claiming,
    "jpg": jpeg_claiming,
    "ppm": ppm_claiming,
    "bmp": bmp_claiming,
    "tif": tiff_big_endian_claiming,
}


@pytest.fixture
def no_decode_of(monkeypatch):
    """cv2.imread as before, except that decoding a listed file fails the test."""
    real = cv2.imread
    refused: set[str] = set()
    calls: list[str] = []

    def imread(path, *args):
        calls.append(str(path))
        if os.path.realpath(str(path)) in refused:
            raise AssertionError(f"{path} was decoded despite its size")
        return real(path, *args)

    monkeypatch.setattr(cv2, "imread", imread)

    def watch(*paths: Path) -> list[str]:
        refused.update(os.path.realpath(p) for p in paths)
        return calls

    return watch


def _one_line(exc: pytest.ExceptionInfo, path: Path, size=HUGE) -> str:
    text = str(exc.value)
    assert "\n" not in text
    assert str(path.name) in text and f"{size[0]}×{size[1]}" in text and ENV in text
    return text


# --- the helper ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ext", ["png", "jpg", "bmp", "ppm", "pgm", "pbm", "pam", "pfm", "tif", "webp", "gif", "ras"]
)
def test_the_header_gives_the_size_opencv_decodes(tmp_path, ext):
    from edgexai.core.image_files import image_size

    img = _picture()
    if ext in ("pgm", "pbm"):
        img = img[..., 0]
    elif ext == "pfm":
        img = img.astype(np.float32) / 255
    path = _write(tmp_path / f"a.{ext}", img)
    assert image_size(path) == (53, 37) == cv2.imread(str(path), cv2.IMREAD_UNCHANGED).shape[1::-1]


def test_other_webp_and_jpeg_kinds_and_unknown_or_broken_headers(tmp_path):
    from edgexai.core.image_files import image_size

    lossless = tmp_path / "l.webp"
    cv2.imwrite(str(lossless), _picture(), [cv2.IMWRITE_WEBP_QUALITY, 101])
    alpha = tmp_path / "x.webp"
    cv2.imwrite(
        str(alpha), np.dstack([_picture(), _picture()[..., :1]]), [cv2.IMWRITE_WEBP_QUALITY, 80]
    )
    progressive = tmp_path / "p.jpg"
    cv2.imwrite(str(progressive), _picture(), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    for path, chunk in ((lossless, b"VP8L"), (alpha, b"VP8X"), (progressive, None)):
        assert chunk is None or path.read_bytes()[12:16] == chunk
        assert image_size(path) == (53, 37)
    (tmp_path / "t.txt").write_text("not an image")
    (tmp_path / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (tmp_path / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00")
    for name in ("t.txt", "cut.png", "cut.jpg", "missing.png"):
        assert image_size(tmp_path / name) is None


@pytest.mark.parametrize("ext", sorted(CLAIMING))
def test_an_image_above_the_limit_is_refused_in_one_line_before_decoding(
    tmp_path, ext, no_decode_of
):
    from edgexai.core.image_files import ImageTooLarge, image_size, read_image

    path = CLAIMING[ext](tmp_path / f"bomb.{ext}", *HUGE)
    assert path.stat().st_size < 10_000 and image_size(path) == HUGE
    calls = no_decode_of(path)
    with pytest.raises(ImageTooLarge) as exc:
        read_image(path)
    assert "400,000,000 pixels" in _one_line(exc, path) and "100,000,000" in str(exc.value)
    assert calls == []


def test_a_normal_image_decodes_exactly_as_cv2_imread_did(tmp_path):
    from edgexai.core.image_files import read_image
    from edgexai.core.preprocess import read_rgb

    for ext in ("png", "jpg", "ppm", "bmp"):
        path = _write(tmp_path / f"a.{ext}")
        before = cv2.imread(str(path), cv2.IMREAD_COLOR)
        assert np.array_equal(read_image(path), before)
        assert np.array_equal(read_rgb(str(path)), cv2.cvtColor(before, cv2.COLOR_BGR2RGB))
        grey = read_image(path, cv2.IMREAD_GRAYSCALE)
        assert np.array_equal(grey, cv2.imread(str(path), cv2.IMREAD_GRAYSCALE))
    (tmp_path / "junk.png").write_bytes(b"not a png at all")
    assert (
        read_image(tmp_path / "junk.png") is None and read_rgb(str(tmp_path / "junk.png")) is None
    )


def test_the_default_admits_8000_square_photos_and_the_limit_can_be_raised(
    tmp_path, monkeypatch, no_decode_of
):
    from edgexai.core.image_files import ImageTooLarge, check_image_size, read_image

    monkeypatch.delenv(ENV, raising=False)
    for size in ((8000, 8000), (1360, 800), (10000, 10000)):  # 10000² is the default, exactly
        assert check_image_size(png_claiming(tmp_path / "ok.png", *size)) == size
    bomb = png_claiming(tmp_path / "bomb.png", *HUGE)
    with pytest.raises(ImageTooLarge):
        check_image_size(bomb)
    monkeypatch.setenv(ENV, str(HUGE[0] * HUGE[1]))
    assert check_image_size(bomb) == HUGE  # raised: passes the check, on to the decoder
    monkeypatch.setenv(ENV, "1000")  # lowered: a 53×37 image is refused
    small = _write(tmp_path / "small.png")
    with pytest.raises(ImageTooLarge) as exc:
        read_image(small)
    _one_line(exc, small, (53, 37))
    assert no_decode_of() == []


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1.5"])
def test_a_bad_limit_is_one_line_naming_the_variable(tmp_path, monkeypatch, value):
    from edgexai.core.image_files import read_image

    monkeypatch.setenv(ENV, value)
    with pytest.raises(EdgexaiError, match=ENV) as exc:
        read_image(_write(tmp_path / "a.png"))
    assert "\n" not in str(exc.value)


def test_the_command_hands_the_limit_to_opencv_before_it_is_imported(tmp_path):
    """OpenCV reads OPENCV_IO_MAX_IMAGE_PIXELS once, at import: `edgexai`'s main sets it first,
    so formats whose header edgexai does not read (Radiance HDR here) are held to it too."""
    hdr = tmp_path / "a.hdr"
    assert cv2.imwrite(str(hdr), _picture().astype(np.float32) / 255)
    script = f"""
import contextlib, io, os, sys
from edgexai.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    main([])
print(os.environ["OPENCV_IO_MAX_IMAGE_PIXELS"])
from edgexai.core.image_files import image_size, read_image
assert image_size({str(hdr)!r}) is None
try:
    read_image({str(hdr)!r})
except Exception as exc:
    print(type(exc).__name__, exc)
"""
    env = {**os.environ, ENV: "1000"}
    env.pop("OPENCV_IO_MAX_IMAGE_PIXELS", None)
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    limit, refusal = out.stdout.splitlines()
    assert limit == "1000"
    assert refusal.startswith("ImageTooLarge") and "a.hdr" in refusal and ENV in refusal


# --- where edgexai decodes files (these fail on code without the limit) --------------------------


def test_a_dataset_with_one_bomb_is_refused_before_it_is_decoded(tmp_path, no_decode_of):
    from support.data import make_image_folder

    from edgexai.train.data.folder import DatasetError, load_arrays, scan

    root = make_image_folder(tmp_path / "d", ("a", "b"), per_class=3)
    bomb = png_claiming(root / "00001" / "zz_bomb.png", *HUGE)
    calls = no_decode_of(bomb)
    with pytest.raises(DatasetError) as exc:  # as an undecodable image: `build` exits 2
        load_arrays(scan(root), 32, progress=False)
    _one_line(exc, bomb)
    assert str(bomb) not in calls


def test_gtsrb_calibration_and_detector_frames_are_refused_before_decoding(tmp_path, no_decode_of):
    from edgexai.core.preprocess import read_rgb
    from edgexai.train.detector.data import load_frames
    from edgexai.train.rejector_train import _frame

    frames = tmp_path / "frames"
    frames.mkdir()
    _write(frames / "00000.jpg")
    bomb = jpeg_claiming(frames / "00001.jpg", *HUGE)
    calls = no_decode_of(bomb)
    for decode in (
        lambda: read_rgb(str(bomb)),  # GTSRB splits and calibration lists decode with read_rgb
        lambda: load_frames(sorted(frames.iterdir()), {}),
        lambda: _frame(frames, 1),
    ):
        with pytest.raises(EdgexaiError) as exc:
            decode()
        _one_line(exc, bomb)
    assert str(bomb) not in calls and _frame(frames, 0).shape == (37, 53, 3)


def test_a_folder_source_stops_at_a_bomb_in_one_line(tmp_path, no_decode_of):
    from support.pipeline import write_frames

    from edgexai.deploy.doctor.camera_checks import _decode_one
    from edgexai.deploy.pipeline.frame_readers import open_reader
    from edgexai.deploy.pipeline.source_uri import parse_uri

    folder = write_frames(tmp_path / "f", 2)
    bomb = png_claiming(folder / "00002.png", *HUGE)
    calls = no_decode_of(bomb)
    reader = open_reader(parse_uri(str(folder)))
    assert [reader.read()[1] for _ in range(2)] == ["00000.jpg", "00001.jpg"]
    with pytest.raises(EdgexaiError) as exc:
        reader.read()
    _one_line(exc, bomb)
    assert str(bomb) not in calls
    for f in ("00000.jpg", "00001.jpg"):
        (folder / f).unlink()
    check = _decode_one(str(folder), 3)  # `edgexai doctor --source`: a failed check, no traceback
    assert check.status == "fail" and "00002.png" in check.detail and ENV in check.detail


def test_a_video_whose_frames_are_above_the_limit_is_refused_at_open(tmp_path, monkeypatch):
    from support.pipeline import write_video

    from edgexai.deploy.pipeline.frame_readers import open_reader
    from edgexai.deploy.pipeline.source_uri import parse_uri

    video = write_video(tmp_path / "v.avi", 3, w=160, h=96)
    spec = parse_uri(str(video))
    monkeypatch.setenv(ENV, str(160 * 96))
    reader = open_reader(spec)  # exactly at the limit: plays
    assert reader.read()[0].shape == (96, 160, 3)
    reader.close()
    monkeypatch.setenv(ENV, str(160 * 96 - 1))
    with pytest.raises(EdgexaiError) as exc:
        open_reader(spec)
    text = str(exc.value)
    assert "\n" not in text and "v.avi" in text and "160×96" in text and ENV in text
