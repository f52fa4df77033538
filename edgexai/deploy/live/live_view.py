"""`edgexai run --serve`: the in-vehicle live view, a page with the overlay video (MJPEG), the signs
in force with their thumbnails, the last sign events, the tracks and the stage timings (SSE).

Served by the standard library's `http.server.ThreadingHTTPServer` (live_http.py): it runs on
JetPack 6's Python 3.10 with no extra dependency. The view is read-only (GET/HEAD, nothing a
request sends changes anything), so it needs no token; it listens on loopback unless the user
names a host (serve_address.py).

The pipeline never waits for a viewer: `publish_frame` and `publish_state` swap a reference under
a lock and notify; one encoder thread and the viewers' threads do the rest, and a slow viewer
only skips frames and states (the newest replaces what it has not taken).
"""

from __future__ import annotations

import errno
import json
import socket
import threading
import time
from collections import OrderedDict
from importlib import resources
from typing import Any

import numpy as np

from edgexai.core.errors import EdgexaiError
from edgexai.core.strict_json import json_safe
from edgexai.deploy.live.frame_slot import FrameSlot, encode_jpeg
from edgexai.deploy.live.live_http import LatestState, LiveServer

THUMBS_KEPT = 64
THUMB_PX = 160  # thumbnails are shrunk to this width at most: a sign, not a frame
CLOSE_S = 2.0  # close() waits this long at most for all its threads together


class LiveView:
    """The live view: `start()`, then publish frames, states and thumbnails; `close()` (or use it
    as a context manager, which starts it)."""

    def __init__(
        self,
        host: str,
        port: int,
        fps_cap: float = 15.0,
        max_viewers: int = 64,
        quality: int = 75,
        max_width: int = 960,
    ) -> None:
        self.host, self.port = host, port
        self.max_viewers = max_viewers
        self.quality = quality
        self.url = ""  # set by start()
        self._frames = FrameSlot(fps_cap, quality, max_width)
        self._states = LatestState()
        self._thumbs: OrderedDict[int, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._closed = False
        self._server: LiveServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> str:
        """Listen and serve; returns the page's URL (with the real port when 0 was asked).
        Bind failures are one-line EdgexaiErrors. Starting again returns the same URL."""
        if self._closed:
            raise EdgexaiError("the live view was closed; make a new one")
        if self._server is not None:
            return self.url
        family, address = _resolve(self.host, self.port)
        try:
            server = LiveServer(
                address,
                family,
                page=_page(),
                frames=self._frames,
                states=self._states,
                thumb=self._thumb,
                max_viewers=self.max_viewers,
            )
        except OSError as e:
            raise EdgexaiError(_bind_error(self.host, self.port, e)) from None
        self._server, self.port = server, server.server_address[1]
        self.url = f"http://{_shown(self.host, self.port)}/"
        self._frames.start()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="live-http"
        )
        self._thread.daemon = True
        self._thread.start()
        return self.url

    def close(self) -> None:
        """Stop listening, disconnect every viewer and join the threads (≤ 2 s); idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        deadline = time.monotonic() + CLOSE_S
        self._frames.close(timeout=0)  # wakes the encoder and every viewer waiting for a frame
        self._states.close()
        threads = [self._thread, self._frames.thread]
        if self._server is not None:
            if self._thread is not None and self._thread.is_alive():
                self._server.shutdown()  # returns within serve_forever's poll interval
            self._server.server_close()
            threads += self._server.hang_up()
        for t in threads:
            if t is not None and t is not threading.current_thread():
                t.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> LiveView:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the pipeline's side -----------------------------------------------------------------
    @property
    def viewers(self) -> int:
        """Connected video viewers."""
        return self._frames.viewers

    def wants_frame(self) -> bool:
        """Draw and hand a frame only when True: a video viewer is connected, the encoder is
        idle and the frame-rate cap allows. With no viewer the view costs the pipeline nothing."""
        return self._frames.wants_frame()

    def publish_frame(self, image_bgr: np.ndarray) -> None:
        """Hand the overlay frame; never blocks. Kept by reference until encoded: do not draw on
        it afterwards."""
        self._frames.publish(image_bgr)

    def publish_state(self, state: dict[str, Any]) -> None:
        """The page's data (frame, fps, stages_ms, in_force, tracks, events). Serialised here, so
        the caller may change its dict afterwards; NaN/inf become null, numpy numbers plain."""
        payload = json.dumps(json_safe(state), separators=(",", ":"), allow_nan=False)
        self._states.publish(payload.encode())

    def publish_thumb(self, track_id: int, image_bgr: np.ndarray) -> None:
        """The crop of the sign that set something in force, at `/thumb/<track_id>.jpg`; the
        newest 64 are kept. Encoded here, once: a crop shrunk to ≤ 160 px wide costs well under
        a millisecond and comes once per sign, and a reference kept instead could pin a whole
        frame (a crop is a view of it) or change under the pipeline's drawing."""
        jpeg = encode_jpeg(image_bgr, self.quality, THUMB_PX)
        if jpeg is None:
            return
        with self._lock:
            self._thumbs[int(track_id)] = jpeg
            self._thumbs.move_to_end(int(track_id))
            while len(self._thumbs) > THUMBS_KEPT:
                self._thumbs.popitem(last=False)

    def _thumb(self, track_id: int) -> bytes | None:
        with self._lock:
            return self._thumbs.get(track_id)


def _page() -> bytes:
    try:
        return resources.files(__package__).joinpath("page.html").read_bytes()
    except OSError as e:
        raise EdgexaiError(f"the live view's page is missing from the installation ({e})") from None


def _shown(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _resolve(host: str, port: int) -> tuple[int, tuple]:
    """(address family, socket address) to listen on: an IPv6 host needs an AF_INET6 socket."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise EdgexaiError(
            f"--serve {_shown(host, port)}: cannot listen there ({reason})"
        ) from None
    family, _, _, _, address = infos[0]
    return family, address


def _bind_error(host: str, port: int, e: OSError) -> str:
    where = f"--serve {_shown(host, port)}"
    if e.errno == errno.EADDRINUSE:
        return f"{where}: the port is in use; choose another (or 0 for any free port)"
    if e.errno in (errno.EACCES, errno.EPERM) and 0 < port < 1024:
        return (
            f"{where}: permission denied: ports below 1024 need root (CAP_NET_BIND_SERVICE); "
            "choose a port from 1024 up"
        )
    return f"{where}: cannot listen there ({e.strerror or e})"
