"""Shared helpers for the pipeline tests: synthetic road-ish frames, folders, videos."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def road_frame_and_signs(seed: int, w: int = 320, h: int = 200, signs: int = 2
                         ) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """A grey-green BGR frame with a few red-ring discs (sign-like) at seeded places, and their
    boxes (x1, y1, x2, y2, inclusive, as in GTSDB's gt.txt)."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.clip(rng.normal(110, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    img[: h // 3] = (200, 170, 150)  # sky
    boxes = []
    for _ in range(signs):
        r = int(rng.integers(10, 22))
        cx, cy = int(rng.integers(r + 2, w - r - 2)), int(rng.integers(r + 2, h - r - 2))
        cv2.circle(img, (cx, cy), r, (255, 255, 255), -1)
        cv2.circle(img, (cx, cy), r, (30, 30, 210), max(2, r // 4))
        boxes.append((cx - r, cy - r, cx + r, cy + r))
    return img, boxes


def road_frame(seed: int, w: int = 320, h: int = 200, signs: int = 2) -> np.ndarray:
    return road_frame_and_signs(seed, w, h, signs)[0]


def write_gt_frames(folder: Path, n: int, class_id: int = 2, **kw) -> Path:
    """Frames plus a GTSDB-style gt.txt (`file;x1;y1;x2;y2;class`) of their discs."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        img, boxes = road_frame_and_signs(i, **kw)
        cv2.imwrite(str(folder / f"{i:05d}.jpg"), img)
        lines += [f"{i:05d}.ppm;{x1};{y1};{x2};{y2};{class_id}" for x1, y1, x2, y2 in boxes]
    (folder / "gt.txt").write_text("\n".join(lines) + "\n")
    return folder


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
