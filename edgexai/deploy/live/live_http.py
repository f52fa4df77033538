"""The live view's HTTP side: routes, viewer limits, timeouts and the two streams (MJPEG video,
server-sent events), on the standard library's `http.server.ThreadingHTTPServer` (JetPack 6's
Python 3.10 has it; nothing to install on the vehicle).

Read-only: only GET and HEAD are served and no request changes anything, so no token guards it.
Each connection has a socket timeout: a viewer that stops reading, or a request that never ends
(slowloris), is dropped and its thread ends. The stdlib's own limits answer an oversized request
line (414) and too many headers (431); a malformed one gets 400.
"""

from __future__ import annotations

import re
import socket
import socketserver
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from edgexai.deploy.live.frame_slot import FrameSlot

CONNECTION_TIMEOUT_S = 10.0  # a viewer that neither reads nor sends for this long is dropped
HEARTBEAT_S = 5.0  # an SSE comment when no state came for this long (finds dead viewers)
THUMB_PATH = re.compile(r"/thumb/(\d{1,9})\.jpg")
PAGE_CSP = (
    "default-src 'none'; img-src 'self'; connect-src 'self'; "
    "style-src 'unsafe-inline'; script-src 'unsafe-inline'; frame-ancestors 'none'"
)


class LatestState:
    """The newest state as JSON bytes, with a version counter: an SSE viewer waits for a version
    newer than the one it sent, so a slow one skips to the newest instead of queueing."""

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self.version, self.payload, self.closed = 0, b"null", False

    def publish(self, payload: bytes) -> None:
        with self._ready:
            self.version, self.payload = self.version + 1, payload
            self._ready.notify_all()

    def newer_than(self, version: int, timeout: float) -> tuple[int, bytes] | None:
        with self._ready:
            self._ready.wait_for(lambda: self.closed or self.version > version, timeout)
            return None if self.closed or self.version <= version else (self.version, self.payload)

    def close(self) -> None:
        with self._ready:
            self.closed = True
            self._ready.notify_all()


class LiveServer(ThreadingHTTPServer):
    """One thread per connection (daemon threads: a viewer never keeps the process alive); knows
    its connections so `hang_up` can wake and end every one of them."""

    daemon_threads = True
    block_on_close = False  # LiveView.close hangs up on viewers and joins with a deadline itself

    def __init__(
        self,
        address: tuple,
        family: int,
        *,
        page: bytes,
        frames: FrameSlot,
        states: LatestState,
        thumb: Callable[[int], bytes | None],
        max_viewers: int,
    ) -> None:
        self.address_family = family
        self.page, self.frames, self.states, self.thumb = page, frames, states, thumb
        self.max_viewers = max_viewers
        self._lock = threading.Lock()
        self._conns: dict[socket.socket, threading.Thread] = {}
        self._streams = 0
        self._hung_up = False
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer's own looks the host's name up (socket.getfqdn): a DNS wait on a vehicle
        # with no network, for a name nobody reads
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def track(self, sock: socket.socket) -> None:
        """Remember a connection (hung up on at once if `hang_up` came first)."""
        with self._lock:
            if not self._hung_up:
                self._conns[sock] = threading.current_thread()
                return
        _hang_up(sock)

    def untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._conns.pop(sock, None)

    def hang_up(self) -> list[threading.Thread]:
        """Shut every connection down (a thread blocked writing to a viewer that stopped reading
        wakes with an error); returns their threads to join."""
        with self._lock:
            self._hung_up = True
            conns = list(self._conns.items())
        for sock, _ in conns:
            _hang_up(sock)
        return [t for _, t in conns]

    def open_stream(self) -> bool:
        """Count a video or SSE stream in; False when `max_viewers` are open already."""
        with self._lock:
            if self._streams >= self.max_viewers:
                return False
            self._streams += 1
            return True

    def close_stream(self) -> None:
        with self._lock:
            self._streams -= 1


class _Handler(BaseHTTPRequestHandler):
    """GET/HEAD of `/`, `/video.mjpg`, `/state`, `/events`, `/thumb/N.jpg`; 404 otherwise, 405
    for the other methods (501 for a method HTTP does not define)."""

    server: LiveServer
    server_version = "edgexai-live"
    # a request line too broken to name its version is answered as HTTP/1.0 (with a status
    # line), not as HTTP/0.9's bare body
    default_request_version = "HTTP/1.0"

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        self.timeout = CONNECTION_TIMEOUT_S
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:  # the viewer left, timed out, or close() hung up: nothing to report
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: a vehicle's log is not an access log."""

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def do_GET(self) -> None:
        self._route(body=True)

    def do_HEAD(self) -> None:
        self._route(body=False)

    def _not_allowed(self) -> None:
        self.send_response(405)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")  # a request body, if any, is never read
        self.end_headers()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed

    def _route(self, body: bool) -> None:
        server = self.server
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            csp = ("Content-Security-Policy", PAGE_CSP)
            self._send(body, "text/html; charset=utf-8", server.page, csp)
        elif path == "/state":
            self._send(body, "application/json", server.states.payload)
        elif path in ("/video.mjpg", "/events"):
            self._stream(body, path)
        elif (m := THUMB_PATH.fullmatch(path)) and (jpeg := server.thumb(int(m[1]))) is not None:
            self._send(body, "image/jpeg", jpeg)
        else:
            self.send_error(404)

    def _send(self, body: bool, ctype: str, data: bytes, *headers: tuple[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _stream(self, body: bool, path: str) -> None:
        if not self.server.open_stream():
            self.send_error(503, "too many viewers")
            return
        try:
            self.send_response(200)
            if path == "/events":
                self.send_header("Content-Type", "text/event-stream")
            else:
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            if body and path == "/events":
                self._send_states()
            elif body:
                self._send_frames()
        finally:
            self.server.close_stream()

    def _send_frames(self) -> None:
        frames = self.server.frames
        frames.add_viewer()
        try:
            seq = 0
            while not frames.closed:
                got = frames.newer_than(seq, HEARTBEAT_S)
                if got is None:
                    if self._peer_gone():
                        return
                    continue
                seq, jpeg = got
                head = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                self.wfile.write(head % len(jpeg) + jpeg + b"\r\n")
        finally:
            frames.remove_viewer()

    def _send_states(self) -> None:
        states = self.server.states
        self.wfile.write(b"retry: 2000\n\n")
        version = 0
        while not states.closed:
            got = states.newer_than(version, HEARTBEAT_S)
            if got is None:
                if not states.closed:
                    self.wfile.write(b": heartbeat\n\n")
                continue
            version, payload = got
            self.wfile.write(b"data: " + payload + b"\n\n")

    def _peer_gone(self) -> bool:
        """The viewer closed its end (readable, nothing to read): found while no frame flows."""
        try:
            self.connection.setblocking(False)
            try:
                return self.connection.recv(1, socket.MSG_PEEK) == b""
            finally:
                self.connection.settimeout(self.timeout)
        except BlockingIOError:
            return False
        except OSError:
            return True


def _hang_up(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
