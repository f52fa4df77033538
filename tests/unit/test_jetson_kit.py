"""The Jetson kit, checked by every static means available here (no Jetson is attached to CI).

Runs tools/check_static.sh (shellcheck, systemd-analyze verify, hadolint, logrotate --debug,
vermin for Python 3.10), proves each check fails on a broken input, and exercises the sd_notify
watchdog that the systemd unit relies on, over a real datagram socket.
"""

from __future__ import annotations

import configparser
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import REPO

from edgexai.deploy.pipeline import watchdog

SCRIPT = REPO / "tools" / "check_static.sh"
JETSON = REPO / "jetson"
# Tools that come from pip (dev extra) must be there wherever their wheels exist; Debian ones
# (systemd-analyze, logrotate) may be absent on a developer's machine.
PIP_TOOLS = {"shellcheck", "dockerfile", "vermin"}


def _env() -> dict[str, str]:
    bindir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}


def static(check: str, **env: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        ["bash", str(SCRIPT), check],
        capture_output=True,
        text=True,
        env={**_env(), **env},
        timeout=120,
        cwd=REPO,
    )
    if proc.returncode == 3:
        if check in PIP_TOOLS and platform.machine() == "x86_64":
            pytest.fail(f"{check}: tool missing — pip install -e '.[dev]'\n{proc.stdout}")
        pytest.skip(proc.stdout.strip())
    return proc


@pytest.mark.parametrize("check", ["shellcheck", "systemd", "dockerfile", "logrotate", "vermin"])
def test_static_check_passes(check):
    proc = static(check)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_systemd_check_catches_a_bad_unit(tmp_path):
    unit = tmp_path / "bad.service"
    text = (JETSON / "edgexai.service").read_text()
    unit.write_text(text.replace("Restart=on-failure", "Restart=sometimes\nWatchDogSec=30"))
    proc = static("systemd", UNIT=str(unit))
    assert proc.returncode == 1 and "restart specifier" in proc.stdout, proc.stdout


def test_dockerfile_check_catches_findings(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM ubuntu\nRUN apt-get install curl\n")
    proc = static("dockerfile", DOCKERFILE=str(bad))
    assert proc.returncode == 1 and "DL3006" in proc.stdout, proc.stdout


def test_logrotate_check_catches_a_bad_rule(tmp_path):
    bad = tmp_path / "edgexai"
    bad.write_text("/var/log/edgexai/*.log {\n    missingok\n    rotat 3\n}\n")
    proc = static("logrotate", LOGROTATE=str(bad))
    assert proc.returncode == 1, proc.stdout


def test_vermin_flags_code_newer_than_python_310(tmp_path):
    vermin = shutil.which("vermin", path=_env()["PATH"])
    if vermin is None:
        pytest.fail("vermin missing — pip install -e '.[dev]'")
    src = tmp_path / "new.py"
    src.write_text("import tomllib\n")
    proc = subprocess.run(
        [vermin, "--target=3.10-", "--no-tips", "--violations", str(src)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "tomllib" in proc.stdout


def _unit() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in systemd
    parser.read(JETSON / "edgexai.service")
    return parser


def test_unit_restarts_watches_and_logs():
    svc = _unit()["Service"]
    assert svc["Restart"] == "on-failure"
    assert svc["Type"] == "notify" and int(svc["WatchdogSec"]) > 0
    assert svc["LogsDirectory"] == "edgexai"
    assert "/var/log/edgexai/" in svc["StandardOutput"]
    start = svc["ExecStart"]
    assert start.startswith("/opt/edgexai/.venv/bin/edgexai run ")
    assert "--log ${EDGEXAI_LOG}" in start and "--headless" in start
    assert "--append" in start  # a restart adds to the log; without it run refuses the log
    assert svc["NotifyAccess"] == "main"  # edgexai run itself sends READY/WATCHDOG
    assert svc.get("PrivateTmp", "no") == "no"  # CSI cameras need the host's /tmp/argus_socket
    assert "edgexai doctor" in svc["ExecStartPre"]


def test_doctor_before_start_checks_exactly_what_run_opens():
    """Issue 13 #1: the service's doctor gets run's model, detector, source, backend and
    precision, so it reports on the engines run will ask for; the env file carries the
    precision."""
    svc = _unit()["Service"]

    def options(line: str) -> dict[str, str]:
        words = line.split()
        return {
            w: words[i + 1]
            for i, w in enumerate(words[:-1])
            if w.startswith("--") and not words[i + 1].startswith("--")
        }

    run_opts, doctor_opts = options(svc["ExecStart"]), options(svc["ExecStartPre"])
    for flag in ("--model", "--detector", "--source", "--backend", "--precision"):
        assert run_opts[flag] == doctor_opts[flag], flag
    env = dict(
        line.split("=", 1)
        for line in (JETSON / "edgexai.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert env["EDGEXAI_PRECISION"] in ("fp32", "fp16", "int8")
    assert "--precision fp16" in (JETSON / "setup.sh").read_text()


def test_edgexai_run_speaks_sd_notify(notify_socket, tmp_path):
    """The contract Type=notify relies on: the real `edgexai run` sends READY, WATCHDOG, STOPPING."""
    pytest.importorskip("onnxruntime")
    helpers = pytest.importorskip("support.pipeline")
    build = helpers.write_onnx_build(tmp_path / "build")
    frames = helpers.write_frames(tmp_path / "frames", 12)
    sock, path = notify_socket
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"}
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgexai",
            "run",
            "--model",
            str(build),
            "--backend",
            "ort",
            "--source",
            str(frames),
            "--headless",
            "--quiet",
            "--log",
            str(tmp_path / "f.jsonl"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    msgs = _drain(sock)
    assert msgs and msgs[0].startswith("READY=1"), msgs
    assert "WATCHDOG=1" in msgs and msgs[-1] == "STOPPING=1", msgs


def test_env_template_sets_what_the_unit_uses():
    unit_vars = set(re.findall(r"\$\{?(EDGEXAI_[A-Z_]+)", (JETSON / "edgexai.service").read_text()))
    env_vars = {
        line.split("=", 1)[0]
        for line in (JETSON / "edgexai.env").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert unit_vars and unit_vars <= env_vars


def _pins() -> dict[str, str]:
    """name → version of every `name==version` line of the JetPack 6 constraints."""
    pins = {}
    for line in (JETSON / "constraints-jetpack6.txt").read_text().splitlines():
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s;#]+)", line.strip())
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def test_constraints_keep_jetpack_numpy_and_opencv():
    text = (JETSON / "constraints-jetpack6.txt").read_text()
    assert _pins()["numpy"].startswith("1.") and "opencv-python-headless<0" in text


def test_jetpack6_versions_are_pinned_and_stated_in_the_readme():
    """Issue 13: the exact cuda-python / onnxruntime / numpy for JetPack 6.2, in the constraints
    the installers use and in jetson/README with the reasons; cuda-python below 12.9 (12.9 links a
    CUDA 12.9 runtime, JetPack 6's driver is 12.6) and never 13."""
    pins = _pins()
    assert {"cuda-python", "onnxruntime", "numpy"} <= set(pins), pins
    cuda = tuple(int(p) for p in pins["cuda-python"].split(".")[:2])
    assert (12, 6) <= cuda < (12, 9), pins["cuda-python"]
    readme = (JETSON / "README.md").read_text()
    section = readme[readme.index("### Versions on JetPack 6.2") :]
    section = section[: section.index("\n## ")]
    for name in ("cuda-python", "onnxruntime", "numpy"):
        assert re.search(rf"`{name}` \| \*\*{re.escape(pins[name])}\*\* \| \S", section), name
    for installer in ("setup.sh", "Dockerfile"):
        installs = [
            ln
            for ln in (JETSON / installer).read_text().splitlines()
            if "pip install" in ln and " -c " in ln
        ]
        assert installs and all("[jetson]" in ln for ln in installs), (installer, installs)


def test_dockerfile_installs_no_l4t_package():
    """nvidia-l4t-* packages pull nvidia-l4t-core, whose preinst fails under `docker build`; the
    NVIDIA runtime mounts the host's camera and GStreamer plugins."""
    lines = [
        ln
        for ln in (JETSON / "Dockerfile").read_text().splitlines()
        if not ln.lstrip().startswith("#")
    ]
    assert not re.search(r"\bnvidia-l4t-[a-z-]+", "\n".join(lines))


def test_readme_covers_the_path_and_says_what_was_not_verified():
    readme = (JETSON / "README.md").read_text()
    for needle in (
        "git clone",
        "jetson/setup.sh",
        "python3-libnvinfer",
        "--system-site-packages",
        "edgexai engine",
        "--precision int8",
        "csi://0",
        "/dev/video0",
        "nvpmodel",
        "jetson_clocks",
        "trtexec",
        "--useCudaGraph",
        "--noDataTransfers",
        "--stronglyTyped",
        "--fp16",
        "systemctl",
        "edgexai doctor",
        "logrotate",
        "Not verified on real hardware",
    ):
        assert needle in readme, needle
    for ref in re.findall(
        r"jetson/[\w.-]+\.(?:sh|md|conf|service|env|txt)|jetson/Dockerfile", readme
    ):
        assert (REPO / ref).exists(), ref


# --- the watchdog helper over a real sd_notify socket --------------------------------------


@pytest.fixture
def notify_socket(tmp_path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.1)
    yield sock, str(path)
    sock.close()


def _drain(sock: socket.socket, seconds: float = 0.0) -> list[str]:
    out, end = [], time.monotonic() + seconds
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except TimeoutError:
            if time.monotonic() >= end:
                return out


def test_notifier_speaks_sd_notify(notify_socket):
    sock, path = notify_socket
    now = [100.0]
    wd = watchdog.Notifier(
        env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "4000000"}, clock=lambda: now[0]
    )
    assert wd.min_gap_s == 2.0
    assert wd.ready(status="camera open")
    assert wd.ping() and not wd.ping()  # rate-limited to half the watchdog interval
    now[0] += 2.5
    assert wd.ping()
    assert wd.stopping()
    assert _drain(sock) == ["READY=1\nSTATUS=camera open", "WATCHDOG=1", "WATCHDOG=1", "STOPPING=1"]


def test_notifier_is_a_no_op_outside_systemd():
    wd = watchdog.Notifier(env={})
    assert not wd.enabled and not wd.ready() and not wd.ping(force=True)
    assert watchdog.notify("READY=1", env={"NOTIFY_SOCKET": "/nonexistent/socket"}) is False
    assert watchdog.watchdog_interval_s({"WATCHDOG_USEC": "1", "WATCHDOG_PID": "1"}) is None


def test_supervisor_pings_only_while_the_log_grows(notify_socket, tmp_path):
    """A child that logs 4 lines then hangs: pings stop after the stall window, not before."""
    sock, path = notify_socket
    log = tmp_path / "frames.jsonl"
    child = (
        "import sys, time\n"
        "for i in range(4):\n"
        "    open(sys.argv[1], 'a').write('{}\\n'); time.sleep(0.3)\n"
        "time.sleep(3)\nsys.exit(7)\n"
    )
    env = {**os.environ, "NOTIFY_SOCKET": path, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edgexai.deploy.pipeline.watchdog",
            "--progress-file",
            str(log),
            "--stall-s",
            "0.8",
            "--grace-s",
            "5",
            "--",
            sys.executable,
            "-c",
            child,
            str(log),
        ],
        env=env,
        cwd=REPO,
    )
    msgs, t0 = [], time.monotonic()
    while proc.poll() is None and time.monotonic() - t0 < 20:
        msgs.extend(_drain(sock))
    msgs.extend(_drain(sock))
    assert proc.wait(timeout=20) == 7  # the child's exit status, for Restart=on-failure
    assert msgs[0].startswith("READY=1"), msgs
    stalled = next(i for i, m in enumerate(msgs) if "no progress" in m)
    assert "WATCHDOG=1" in msgs[:stalled]  # pinged while the log grew
    assert "WATCHDOG=1" not in msgs[stalled:]  # and never again once it stopped growing


def test_supervisor_forwards_sigterm(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edgexai.deploy.pipeline.watchdog",
            "--",
            sys.executable,
            "-c",
            "import signal, sys, time\n"
            "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\ntime.sleep(30)\n",
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO,
    )
    time.sleep(1.0)
    proc.terminate()
    assert proc.wait(timeout=10) == 0  # the child stopped cleanly and its status came back
