"""Drawing detections: box, label, and the detection's CAM as a heat-map inside its crop area.

Why inside the box: the CAM explains the classifier's input, which is the padded crop, so it is
warped back onto exactly that frame region — a driver or engineer sees which part of the sign the
class came from. Outputs: a window (needs OpenCV with GUI support), a video file, or nothing.
"""

from __future__ import annotations

import sys

import numpy as np

from edgexai.core.errors import EdgexaiError


def label_of(det: dict) -> tuple[str, tuple[int, int, int]]:
    """A detection's label and box colour: with a tracker, the track's voted class (grey "?"
    until the track is confirmed: a track never shows a class it has not confirmed)."""
    if "track_id" not in det:
        return f"{det['class_name']} {det['confidence']:.2f}", (0, 255, 0)
    if det["track_class_name"] is None:
        return f"#{det['track_id']} ?", (160, 160, 160)
    return f"#{det['track_id']} {det['track_class_name']}", (0, 255, 0)


def draw_in_force(out: np.ndarray, state: dict) -> None:
    """The signs in force, top left: the speed limit, bans, warnings (drawn in place)."""
    import cv2

    lines = []
    if state.get("speed_limit") is not None:
        lines.append(f"limit {state['speed_limit']}")
    lines += [b["name"] for b in state.get("bans", [])]
    lines += [f"! {w['name']}" for w in state.get("warnings", [])]
    for i, text in enumerate(lines or ["no limit known"]):
        y = 24 + 24 * i
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 2)
        cv2.rectangle(out, (6, y - th - 6), (14 + tw, y + 6), (255, 255, 255), -1)
        cv2.putText(out, text, (10, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 200), 2, cv2.LINE_AA)


def draw(
    frame_bgr: np.ndarray,
    detections: list[dict],
    cams: list[np.ndarray | None],
    crop_boxes: list[tuple[int, int, int, int]],
    alpha: float = 0.45,
    state: dict | None = None,
) -> np.ndarray:
    """A copy of the frame with every detection drawn (and the signs in force, when given)."""
    import cv2

    out = frame_bgr.copy()
    for det, cam, (x1, y1, x2, y2) in zip(detections, cams, crop_boxes, strict=True):
        if x2 > x1 and y2 > y1 and cam is not None:
            heat = cv2.applyColorMap(
                cv2.resize(
                    (np.clip(cam, 0, 1) * 255).astype(np.uint8),
                    (x2 - x1, y2 - y1),
                    interpolation=cv2.INTER_LINEAR,
                ),
                cv2.COLORMAP_JET,
            )
            roi = out[y1:y2, x1:x2]
            cv2.addWeighted(heat, alpha, roi, 1 - alpha, 0, dst=roi)
        bx1, by1, bx2, by2 = (int(round(v)) for v in det["box"])
        label, colour = label_of(det)
        cv2.rectangle(out, (bx1, by1), (bx2, by2), colour, 2)
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        ty = by1 - 4 if by1 - th - 6 > 0 else by2 + th + 4
        cv2.rectangle(out, (bx1, ty - th - 3), (bx1 + tw + 2, ty + 3), (0, 0, 0), -1)
        cv2.putText(
            out,
            label,
            (bx1 + 1, ty),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
    if state is not None:
        draw_in_force(out, state)
    return out


def letterbox(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`img` scaled to fit (w, h) = `size`, aspect kept, centred on black borders."""
    import cv2

    w, h = size
    ih, iw = img.shape[:2]
    scale = min(w / iw, h / ih)
    sw, sh = max(1, min(w, round(iw * scale))), max(1, min(h, round(ih * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    out = np.zeros((h, w, 3), np.uint8)
    x, y = (w - sw) // 2, (h - sh) // 2
    out[y : y + sh, x : x + sw] = cv2.resize(img, (sw, sh), interpolation=interp)
    return out


class Display:
    """Where rendered frames go: a window, a video file, both, or (headless) neither.

    A video has one frame size, the first frame's: a later frame of another size (a folder of
    mixed images) is letterboxed into it, since OpenCV's writer silently drops such frames."""

    def __init__(
        self, window: bool, output: str | None, fps: float = 15.0, quiet: bool = False
    ) -> None:
        self.window, self.output, self.fps, self.quiet = window, output, fps, quiet
        self.writer = None
        self.size: tuple[int, int] | None = None
        self.letterboxed = 0
        if window:
            import cv2

            try:
                cv2.namedWindow("edgexai", cv2.WINDOW_NORMAL)
            except cv2.error:
                raise EdgexaiError(
                    "this OpenCV has no window support (opencv-python-headless?); "
                    "use --headless, optionally with --output FILE"
                ) from None

    @property
    def active(self) -> bool:
        return self.window or bool(self.output)

    def show(self, frame_bgr: np.ndarray) -> bool:
        """Show/write one frame; False when the user closed the window (q or Esc)."""
        import cv2

        if self.output:
            if self.writer is None:
                h, w = frame_bgr.shape[:2]
                fourcc = cv2.VideoWriter_fourcc(
                    *("MJPG" if self.output.lower().endswith(".avi") else "mp4v")
                )
                self.writer = cv2.VideoWriter(self.output, fourcc, self.fps, (w, h))
                if not self.writer.isOpened():
                    raise EdgexaiError(
                        f"cannot write video to {self.output!r}: OpenCV's FFMPEG "
                        "could not open a writer for it"
                    )
                self.size = (w, h)
            frame_size = (frame_bgr.shape[1], frame_bgr.shape[0])
            if frame_size != self.size:
                if not self.letterboxed and not self.quiet:
                    print(
                        f"edgexai: note: a frame is {frame_size[0]}×{frame_size[1]}, the video "
                        f"{self.size[0]}×{self.size[1]} (the first frame's): frames of another "
                        "size are letterboxed into it",
                        file=sys.stderr,
                    )
                self.letterboxed += 1
                self.writer.write(letterbox(frame_bgr, self.size))
            else:
                self.writer.write(frame_bgr)
        if self.window:
            cv2.imshow("edgexai", frame_bgr)
            if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                return False
        return True

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
            self.writer = None
        if self.window:
            import cv2

            try:
                cv2.destroyAllWindows()
            except cv2.error:
                pass
