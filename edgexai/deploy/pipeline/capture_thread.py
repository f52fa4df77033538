"""Video sources captured in their own thread (source_uri parses them, frame_readers reads them).

Why a thread and a bounded queue: decoding overlaps classification (OpenCV releases the GIL), and
a live camera that produces faster than the pipeline consumes must not build up latency — the
oldest queued frame is dropped, so the loop always sees a recent one. Files and folders are not
live: the queue blocks instead, so every frame is processed (scoring needs them all).

Faults: a source that cannot be opened raises EdgexaiError at start; a live stream that stalls or
drops is reopened with exponential backoff, and the gap is reported; an undecodable frame is
skipped and counted.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgexai.core.errors import EdgexaiError
from edgexai.deploy.pipeline.frame_readers import EndOfStream, Reader, open_reader
from edgexai.deploy.pipeline.source_uri import SourceSpec


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
