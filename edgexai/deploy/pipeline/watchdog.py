"""systemd notifications (READY=1, WATCHDOG=1, STOPPING=1) without the systemd Python package.

Why: the Jetson service (jetson/edgexai.service) is `Type=notify` with `WatchdogSec=`, so systemd
restarts `edgexai run` when frames stop flowing, not only when the process dies; `edgexai run`
(pipeline/loop.py) calls `Notifier` for that. The sd_notify
protocol is one datagram on the AF_UNIX socket named by $NOTIFY_SOCKET, so the standard library
suffices and the deployment image needs no extra package.

Two ways to use it:

- in the pipeline: ``wd = Notifier(); wd.ready()`` once the source is open, ``wd.ping()`` per
  frame (rate-limited to half the watchdog interval, so calling it every frame is cheap), and
  ``wd.stopping()`` on shutdown. Outside systemd (no $NOTIFY_SOCKET) every call is a no-op.
- as a supervisor, when the pipeline itself does not notify:
  ``python -m edgexai.deploy.pipeline.watchdog --progress-file LOG -- edgexai run ...`` runs the command,
  says READY=1 once it is running, and sends WATCHDOG=1 only while LOG (the per-frame JSON Lines
  log) keeps changing: a pipeline that hangs without exiting stops the pings and systemd restarts
  it. The supervisor forwards SIGTERM/SIGINT and exits with the child's status.

Stdlib only, Python 3.10 compatible (deployment side).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["Notifier", "notify", "watchdog_interval_s", "main"]


def _socket_address(name: str) -> str | bytes:
    """$NOTIFY_SOCKET as a socket address: '@name' is Linux's abstract namespace."""
    if name.startswith("@"):
        return b"\0" + name[1:].encode()
    return name


def notify(state: str, env: dict[str, str] | None = None) -> bool:
    """Send one sd_notify state string (e.g. 'READY=1'); False when not run by systemd.

    Never raises: a service must not die because its supervisor went away.
    """
    env = os.environ if env is None else env
    name = env.get("NOTIFY_SOCKET", "")
    if not name or not (name.startswith("/") or name.startswith("@")):
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(_socket_address(name))
            sock.sendall(state.encode())
    except OSError:
        return False
    return True


def watchdog_interval_s(env: dict[str, str] | None = None) -> float | None:
    """systemd's watchdog interval in seconds ($WATCHDOG_USEC), or None when no watchdog is set.

    $WATCHDOG_PID, when present, must name this process (systemd sets it for the main PID only).
    """
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC")
    if not usec:
        return None
    pid = env.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1e6 if value > 0 else None


class Notifier:
    """Rate-limited READY/WATCHDOG/STOPPING sender for one process; a no-op outside systemd."""

    def __init__(self, env: dict[str, str] | None = None, clock=time.monotonic) -> None:
        self._env = dict(os.environ if env is None else env)
        self._clock = clock
        interval = watchdog_interval_s(self._env)
        # Ping at half the interval, as sd_watchdog_enabled(3) advises; 1 s without a watchdog.
        self.min_gap_s = interval / 2 if interval else 1.0
        self.enabled = bool(self._env.get("NOTIFY_SOCKET"))
        self._last_ping = float("-inf")

    def ready(self, status: str | None = None) -> bool:
        """Tell systemd start-up is complete (Type=notify waits for this)."""
        msg = "READY=1" + (f"\nSTATUS={status}" if status else "")
        return notify(msg, self._env) if self.enabled else False

    def ping(self, force: bool = False) -> bool:
        """WATCHDOG=1, at most once per `min_gap_s`; cheap to call every frame."""
        if not self.enabled:
            return False
        now = self._clock()
        if not force and now - self._last_ping < self.min_gap_s:
            return False
        self._last_ping = now
        return notify("WATCHDOG=1", self._env)

    def status(self, text: str) -> bool:
        """A one-line status shown by `systemctl status`."""
        return notify(f"STATUS={text}", self._env) if self.enabled else False

    def stopping(self) -> bool:
        """Tell systemd a clean stop has begun (so it does not count as a hang)."""
        return notify("STOPPING=1", self._env) if self.enabled else False


def _progress_token(path: Path) -> tuple[int, int, int] | None:
    """What changes whenever the log gains a line or is rotated (inode, size, mtime)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def supervise(
    command: list[str],
    progress_file: Path | None,
    stall_s: float,
    grace_s: float = 120.0,
    notifier: Notifier | None = None,
    poll_s: float = 0.5,
) -> int:
    """Run `command`; ping the watchdog while `progress_file` changes; return the child's code.

    Until the file first changes, pings continue for `grace_s` (loading a model and opening a
    camera take a while). Without a progress file the child's being alive is the only signal.
    """
    wd = notifier or Notifier()
    child = subprocess.Popen(command)

    def forward(signum, _frame) -> None:
        wd.stopping()
        if child.poll() is None:
            child.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    wd.ready(status=f"running {Path(command[0]).name}")
    last_token = _progress_token(progress_file) if progress_file else None
    start = last_change = time.monotonic()
    progressed = False
    while True:
        code = child.poll()
        if code is not None:
            return code if code >= 0 else 128 - code
        now = time.monotonic()
        if progress_file is None:
            wd.ping()
        else:
            token = _progress_token(progress_file)
            if token != last_token:
                last_token, last_change, progressed = token, now, True
            alive = (now - last_change <= stall_s) if progressed else (now - start <= grace_s)
            if alive:
                wd.ping()
            else:
                wd.status(
                    f"no progress in {progress_file} for {now - last_change:.0f} s; "
                    "watchdog pings stopped"
                )
        time.sleep(poll_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m edgexai.deploy.pipeline.watchdog",
        description="Run a command under systemd's watchdog: READY=1 once started, WATCHDOG=1 "
        "while the progress file keeps changing.",
    )
    parser.add_argument(
        "--progress-file",
        type=Path,
        default=None,
        help="file whose growth proves liveness (the per-frame JSON Lines log)",
    )
    parser.add_argument(
        "--stall-s",
        type=float,
        default=None,
        help="seconds without progress before pings stop (default: the watchdog interval, else 30)",
    )
    parser.add_argument(
        "--grace-s",
        type=float,
        default=120.0,
        help="seconds allowed for start-up before the file first changes",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (put it after --)")
    stall = args.stall_s or watchdog_interval_s() or 30.0
    return supervise(command, args.progress_file, stall, grace_s=args.grace_s)


if __name__ == "__main__":
    sys.exit(main())
