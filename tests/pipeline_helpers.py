"""Shared helpers for the pipeline tests: synthetic road-ish frames, folders, videos."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def road_frame(seed: int, w: int = 320, h: int = 200, signs: int = 2) -> np.ndarray:
    """A grey-green BGR frame with a few red-ring discs (sign-like) at seeded places."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.clip(rng.normal(110, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    img[: h // 3] = (200, 170, 150)  # sky
    for _ in range(signs):
        r = int(rng.integers(10, 22))
        cx, cy = int(rng.integers(r + 2, w - r - 2)), int(rng.integers(r + 2, h - r - 2))
        cv2.circle(img, (cx, cy), r, (255, 255, 255), -1)
        cv2.circle(img, (cx, cy), r, (30, 30, 210), max(2, r // 4))
    return img


def write_frames(folder: Path, n: int, corrupt: tuple[int, ...] = (), **kw) -> Path:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        path = folder / f"{i:05d}.jpg"
        if i in corrupt:
            path.write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
        else:
            cv2.imwrite(str(path), road_frame(i, **kw))
    return folder


def write_video(path: Path, n: int, fps: float = 10.0, **kw) -> Path:
    import cv2

    frames = [road_frame(i, **kw) for i in range(n)]
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()
    return path
