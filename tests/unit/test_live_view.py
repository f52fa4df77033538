"""The live view (edgexai.deploy.live): what it serves, what it refuses, and that no viewer can slow
the pipeline down: every scenario runs beside a 30 FPS publisher (the pipeline's stand-in) whose
frame rate must stay ≥ 90 % of its rate with no viewer, and close() must return within 3 s.

No model: synthetic frames, port 0 (any free port), raw sockets where a browser would misbehave.
"""

from __future__ import annotations

import argparse
import errno
import http.client
import json
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

import cv2
import numpy as np
import pytest

from edgexai.core.errors import EdgexaiError
from edgexai.deploy.live import live_http
from edgexai.deploy.live.live_view import LiveView, _bind_error
from edgexai.deploy.live.serve_address import serve_address

FPS = 30
# noise, so JPEGs are large (~50 kB) and a viewer that never reads fills its buffers in seconds
BASE = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
MIN_WINDOW_S = 1.0  # the publisher's rate is measured over at least this long
CLOSE_LIMIT_S = 3.0


class Publisher:
    """The pipeline's stand-in, paced like a camera at 30 FPS (a tick over a frame late is lost, as
    a camera frame would be): each tick draws and hands a frame only when the view wants one, and
    every 6th publishes a state (~5/s)."""

    def __init__(self, view: LiveView, states: bool = True) -> None:
        self.view, self.states = view, states
        self.ticks = self.handed = 0
        self.slowest = 0.0  # the longest tick: a tick that waited on a viewer would show here
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.t0 = time.monotonic()

    def start(self) -> Publisher:
        self.t0 = time.monotonic()
        self._thread.start()
        return self

    def _run(self) -> None:
        period, due = 1.0 / FPS, self.t0
        while not self._stop.is_set():
            now = time.monotonic()
            if now < due:
                self._stop.wait(due - now)
                continue
            if now - due > period:
                due = now  # over a frame late: the frames in between are lost
            self._tick()
            due += period

    def _tick(self) -> None:
        start = time.perf_counter()
        if self.view.wants_frame():
            self.view.publish_frame(np.roll(BASE, 7 * self.ticks, axis=1))
            self.handed += 1
        if self.states and self.ticks % 6 == 0:
            self.view.publish_state(_state(self.ticks))
        self.slowest = max(self.slowest, time.perf_counter() - start)
        self.ticks += 1

    def rate(self) -> float:
        """Ticks per second so far (waiting out MIN_WINDOW_S first)."""
        time.sleep(max(0.0, self.t0 + MIN_WINDOW_S - time.monotonic()))
        return self.ticks / (time.monotonic() - self.t0)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)


def _state(frame: int) -> dict:
    return {
        "frame": frame,
        "fps": 30.0,
        "stages_ms": {"detect": 12.1, "infer": 8.0},
        "in_force": {"speed_limit": 60, "limit_track": 7, "bans": [], "warnings": []},
        "tracks": [{"track_id": 7, "class_name": "speed limit 60", "score": 0.93}],
        "events": [],
    }


@pytest.fixture(scope="module")
def baseline() -> float:
    """The publisher's rate beside a started view with no viewer."""
    view = LiveView("127.0.0.1", 0)
    view.start()
    pub = Publisher(view).start()
    time.sleep(1.5)
    rate = pub.rate()
    pub.stop()
    view.close()
    assert rate > 0.8 * FPS, rate
    return rate


@contextmanager
def served(baseline: float, states: bool = True, **options):
    """(view, port, publisher) for a scenario; then the publisher's rate and close()'s time."""
    view = LiveView("127.0.0.1", 0, **options)
    url = view.start()
    assert url == f"http://127.0.0.1:{view.port}/" and view.port > 0
    pub = Publisher(view, states).start()
    try:
        yield view, view.port, pub
        rate = pub.rate()
    finally:
        pub.stop()
        start = time.monotonic()
        view.close()
        took = time.monotonic() - start
    assert rate >= 0.9 * baseline, f"publisher at {rate:.1f} FPS, {baseline:.1f} with no viewer"
    assert pub.slowest < 0.5, f"a publisher tick took {pub.slowest:.3f} s"
    assert took < CLOSE_LIMIT_S, f"close() took {took:.2f} s"


# --- raw HTTP helpers ------------------------------------------------------------------------
def _connect(port: int, path: str, rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
    return sock


def _read_head(stream) -> bytes:
    """The status line (headers read past)."""
    status = stream.readline()
    while stream.readline() not in (b"\r\n", b""):
        pass
    return status


def _read_frames(stream, n: int) -> list[bytes]:
    """The next `n` JPEGs of a multipart/x-mixed-replace stream (fewer if it ends)."""
    frames: list[bytes] = []
    while len(frames) < n:
        line = stream.readline()
        if not line:
            break
        if line.strip() != b"--frame":
            continue
        length = 0
        while (header := stream.readline().strip()) != b"":
            if header.lower().startswith(b"content-length:"):
                length = int(header.split(b":")[1])
        frames.append(stream.read(length))
    return frames


def _exchange(port: int, data: bytes) -> bytes:
    """Everything the server answers to `data`, until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it answered (and closed) before reading it all
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except ConnectionResetError:
            pass  # closed with part of the request unread: what came before still counts
        return out


def _get(port: int, path: str, method: str = "GET") -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def _wait(condition, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


# --- viewers that misbehave ------------------------------------------------------------------
def test_viewers_that_disconnect_mid_stream_end_quietly(baseline):
    with served(baseline) as (view, port, _):
        reset = _connect(port, "/video.mjpg")
        stream = reset.makefile("rb")
        _read_head(stream)
        assert len(_read_frames(stream, 1)) == 1
        stream.close()
        reset.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        reset.close()  # RST: the server's next write gets ConnectionResetError / BrokenPipeError
        halfway = _connect(port, "/video.mjpg")
        assert halfway.recv(300)  # inside the first frame
        halfway.close()
        assert _wait(lambda: view.viewers == 0), view.viewers
        with _connect(port, "/video.mjpg") as again, again.makefile("rb") as stream:
            assert _read_head(stream).startswith(b"HTTP/1.0 200")
            assert len(set(_read_frames(stream, 2))) == 2


def test_a_viewer_that_never_reads_is_dropped_and_stalls_no_one(baseline, monkeypatch):
    monkeypatch.setattr(live_http, "CONNECTION_TIMEOUT_S", 1.0)
    with served(baseline) as (view, port, _):
        stuck = _connect(port, "/video.mjpg", rcvbuf=1024)
        assert _wait(lambda: view.viewers == 1)
        seen: list[bytes] = []

        def watch() -> None:
            with _connect(port, "/video.mjpg") as sock, sock.makefile("rb") as stream:
                _read_head(stream)
                while frame := _read_frames(stream, 1):
                    seen.extend(frame)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        assert _wait(lambda: view.viewers == 2)
        # the stuck viewer's buffers fill, its write times out, and its thread ends
        assert _wait(lambda: view.viewers == 1, timeout=15), view.viewers
        assert len(seen) >= 10  # meanwhile the other viewer kept getting frames
        stuck.close()
    watcher.join(2.0)
    assert not watcher.is_alive()  # close() hung up on it


def test_fifty_concurrent_viewers_each_get_distinct_frames(baseline):
    with served(baseline) as (view, port, _):
        connected = threading.Barrier(51, timeout=20)
        leave = threading.Event()
        got: list[list[bytes]] = []

        def viewer() -> None:
            with _connect(port, "/video.mjpg") as sock, sock.makefile("rb") as stream:
                _read_head(stream)
                got.append(_read_frames(stream, 2))
                connected.wait()  # all 50 connected at once ...
                leave.wait(20)  # ... until counted

        threads = [threading.Thread(target=viewer, daemon=True) for _ in range(50)]
        for t in threads:
            t.start()
        connected.wait()
        assert view.viewers == 50
        leave.set()
        for t in threads:
            t.join(10)
        assert len(got) == 50
        assert all(len(set(frames)) == 2 for frames in got)
        assert all(f.startswith(b"\xff\xd8") and f.endswith(b"\xff\xd9") for fs in got for f in fs)


def test_a_slow_request_is_dropped_after_the_socket_timeout(baseline, monkeypatch):
    monkeypatch.setattr(live_http, "CONNECTION_TIMEOUT_S", 0.5)
    with served(baseline) as (_, port, _):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
            start = time.monotonic()
            assert sock.recv(100) == b""  # the server hung up
            assert time.monotonic() - start < 3


def test_more_streams_than_max_viewers_get_503(baseline):
    with served(baseline, max_viewers=2) as (view, port, _):
        video = _connect(port, "/video.mjpg")
        events = _connect(port, "/events")
        assert _wait(lambda: view.viewers == 1)
        assert _exchange(port, b"GET /events HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.0 503")
        assert _exchange(port, b"GET /video.mjpg HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.0 503")
        assert _get(port, "/state")[0] == 200  # not a stream: not counted
        video.close()
        events.close()


# --- requests the stdlib refuses -------------------------------------------------------------
def test_a_malformed_request_line_gets_400(baseline):
    with served(baseline) as (_, port, _):
        assert _exchange(port, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.0 400")


def test_an_oversized_request_line_gets_414_and_too_many_headers_431(baseline):
    with served(baseline) as (_, port, _):
        long_line = b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n"
        assert _exchange(port, long_line).startswith(b"HTTP/1.0 414")
        headers = b"".join(b"X-Header-%d: v\r\n" % i for i in range(200))
        answer = _exchange(port, b"GET / HTTP/1.1\r\n" + headers + b"\r\n")
        assert answer.startswith(b"HTTP/1.0 431")


def test_unknown_paths_get_404_and_other_methods_405(baseline):
    with served(baseline) as (_, port, _):
        for path in ("/nope", "/thumb/x.jpg", "/video.mjpg/x", "/../etc/passwd"):
            status, headers, _ = _get(port, path)
            assert status == 404, path
            assert headers["Cache-Control"] == "no-store"
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            status, headers, _ = _get(port, "/state", method)
            assert status == 405, method
            assert headers["Allow"] == "GET, HEAD"


# --- what it serves --------------------------------------------------------------------------
def test_the_page_is_self_contained_and_sets_text_only(baseline):
    with served(baseline) as (_, port, _):
        status, headers, page = _get(port, "/")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert headers["Cache-Control"] == "no-store"
        for part in (b'id="video" src="/video.mjpg"', b'id="in-force"', b'id="events"'):
            assert part in page
        for part in (b'id="tracks"', b'id="stats"', b'EventSource("/events")', b"/thumb/"):
            assert part in page
        assert b"http://" not in page and b"https://" not in page  # nothing from outside
        assert b"innerHTML" not in page and b"insertAdjacentHTML" not in page
        status, headers, body = _get(port, "/", "HEAD")
        assert status == 200 and body == b"" and int(headers["Content-Length"]) == len(page)


def test_state_returns_the_last_published_state(baseline):
    with served(baseline, states=False) as (view, port, _):
        assert _get(port, "/state")[2] == b"null"
        state = _state(123) | {"fps": float("nan"), "stages_ms": {"detect": np.float32(1.5)}}
        view.publish_state(state)
        view.publish_state(state | {"frame": 124})
        status, headers, body = _get(port, "/state")
        assert status == 200 and headers["Content-Type"] == "application/json"
        got = json.loads(body)
        assert got["frame"] == 124 and got["fps"] is None and got["stages_ms"] == {"detect": 1.5}
        assert got["in_force"]["speed_limit"] == 60


def test_events_deliver_a_newly_published_state_and_heartbeats(baseline, monkeypatch):
    monkeypatch.setattr(live_http, "HEARTBEAT_S", 0.3)
    with served(baseline, states=False) as (view, port, _):
        view.publish_state({"frame": 1})
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/events")
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("Content-Type") == "text/event-stream"
        assert resp.readline() == b"retry: 2000\n" and resp.readline() == b"\n"
        assert resp.readline() == b'data: {"frame":1}\n'  # the state in force, at once
        assert resp.readline() == b"\n"
        assert resp.readline() == b": heartbeat\n"  # nothing new for HEARTBEAT_S
        assert resp.readline() == b"\n"
        view.publish_state({"frame": 2, "events": [{"class_name": "stop"}]})
        lines = [resp.readline() for _ in range(4)]
        assert b'data: {"frame":2,"events":[{"class_name":"stop"}]}\n' in lines
        conn.close()


def test_thumbnails_are_served_and_only_the_newest_64_kept(baseline):
    with served(baseline) as (view, port, _):
        view.publish_thumb(7, np.full((200, 300, 3), 90, np.uint8))
        status, headers, body = _get(port, "/thumb/7.jpg")
        assert status == 200 and headers["Content-Type"] == "image/jpeg"
        image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (107, 160, 3)  # shrunk to 160 px wide
        assert _get(port, "/thumb/8.jpg")[0] == 404
        for track_id in range(100, 164):
            view.publish_thumb(track_id, BASE[:40, :40])
        assert _get(port, "/thumb/7.jpg")[0] == 404  # the oldest went
        assert _get(port, "/thumb/163.jpg")[0] == 200


def test_no_viewer_no_frame_wanted(baseline):
    with served(baseline) as (view, port, pub):
        assert _get(port, "/state")[0] == 200  # a page or state reader is not a video viewer
        pub.rate()
        assert not view.wants_frame() and pub.handed == 0 and view.viewers == 0
        with _connect(port, "/video.mjpg") as sock, sock.makefile("rb") as stream:
            _read_head(stream)
            assert len(_read_frames(stream, 1)) == 1
            assert pub.handed > 0
        assert _wait(lambda: view.viewers == 0)  # found gone at the next frame it was sent
        handed = pub.handed
        time.sleep(0.3)
        assert pub.handed == handed and not view.wants_frame()


def test_the_frame_rate_cap_limits_the_frames_handed(baseline):
    with served(baseline, fps_cap=5.0) as (view, port, pub):
        with _connect(port, "/video.mjpg") as sock, sock.makefile("rb") as stream:
            _read_head(stream)
            _read_frames(stream, 1)
            start, handed = time.monotonic(), pub.handed
            _read_frames(stream, 5)
            rate = (pub.handed - handed) / (time.monotonic() - start)
        assert 3.0 <= rate <= 6.5, rate


# --- listening -------------------------------------------------------------------------------
def test_a_port_in_use_is_one_line_error(baseline):
    with served(baseline) as (_, port, _):
        other = LiveView("127.0.0.1", port)
        with pytest.raises(EdgexaiError) as caught:
            other.start()
        message = str(caught.value)
        assert message == (
            f"--serve 127.0.0.1:{port}: the port is in use; choose another (or 0 for any free port)"
        )
        other.close()


def test_an_address_not_on_this_machine_is_one_line_error():
    with pytest.raises(EdgexaiError, match=r"^--serve 192\.0\.2\.1:0: cannot listen there \("):
        LiveView("192.0.2.1", 0).start()  # TEST-NET-1: on no machine


def test_a_privileged_port_says_why():
    message = _bind_error("0.0.0.0", 80, OSError(errno.EACCES, "Permission denied"))
    assert "permission denied" in message and "1024" in message and "\n" not in message


def test_ipv6_loopback_serves_or_says_why():
    view = LiveView("::1", 0)
    try:
        url = view.start()
    except EdgexaiError as e:  # a machine with IPv6 off
        assert "cannot listen there" in str(e) and "\n" not in str(e)
    else:
        assert url == f"http://[::1]:{view.port}/"
        assert urllib.request.urlopen(url + "state", timeout=5).read() == b"null"
    finally:
        view.close()


def test_close_is_idempotent_and_stops_listening():
    with LiveView("127.0.0.1", 0) as view:
        port = view.port
        assert urllib.request.urlopen(view.url, timeout=5).status == 200
    view.close()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
    with pytest.raises(EdgexaiError):
        view.start()


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("8080", ("127.0.0.1", 8080)),
        ("0", ("127.0.0.1", 0)),
        ("0.0.0.0:8080", ("0.0.0.0", 8080)),
        ("[::1]:8080", ("::1", 8080)),
        ("jetson.local:65535", ("jetson.local", 65535)),
    ],
)
def test_serve_address_accepts(text, address):
    assert serve_address(text) == address


@pytest.mark.parametrize("text", ["abc", "70000", "-1", "host:", ":8080", "::1:8080", "[::1]", ""])
def test_serve_address_refuses(text):
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        serve_address(text)
    assert repr(text) in str(caught.value) and "\n" not in str(caught.value)
    if text == "abc":
        assert str(caught.value) == "expected [HOST:]PORT, e.g. 8080 or 0.0.0.0:8080, got 'abc'"
